#!/usr/bin/env python3
"""The Python twin of VideoSsl's training pipeline, written the way a PyTorch user would write it: a decode thread
(PyAV), a ring buffer of recent frames, anchor/positive pairs at the same spacing, the same encoder, the same batched
augmentation, the same masked symmetric InfoNCE and AdamW, the same batch, size and number of steps.
`videossl bench --twin` runs it and VideoSsl on the same clip, process start to exit, and reports the ratio."""
import argparse, math, queue, random, threading, time
from collections import OrderedDict

import av
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--clip", required=True)
p.add_argument("--size", type=int, default=96)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--steps", type=int, default=60)
p.add_argument("--pos-window", type=float, default=0.1)
p.add_argument("--neg-gap", type=float, default=0.5)
p.add_argument("--threads", type=int, default=0)
args = p.parse_args()
if args.threads:
    torch.set_num_threads(args.threads)
torch.manual_seed(1234)
random.seed(1234)


def decode(path, size, out):
    """Decode thread: every frame scaled to size x size rgb24 (area filter), with its time in seconds."""
    with av.open(path) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate)
        for i, frame in enumerate(container.decode(stream)):
            out.put((i / rate, frame.reformat(width=size, height=size, format="rgb24", interpolation="AREA").to_ndarray()))
    out.put(None)


def encoder(channels=(32, 64, 128, 256), hidden=256, dim=128):
    blocks, c_in = [], 3
    for i, c in enumerate(channels):
        blocks += [(f"conv{i}", nn.Conv2d(c_in, c, 3, 2, 1, bias=False)), (f"norm{i}", nn.BatchNorm2d(c)), (f"relu{i}", nn.ReLU(inplace=True))]
        c_in = c
    model = nn.Module()
    model.backbone = nn.Sequential(OrderedDict(blocks))
    model.head = nn.Sequential(OrderedDict([("fc1", nn.Linear(c_in, hidden, bias=False)), ("norm", nn.BatchNorm1d(hidden)),
                                            ("relu", nn.ReLU(inplace=True)), ("fc2", nn.Linear(hidden, dim))]))
    return model


def project(model, x):
    return F.normalize(model.head(model.backbone(x).mean((2, 3))), dim=1)


MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
LUMA = torch.tensor([0.299, 0.587, 0.114])


def augment(x, min_scale=0.7, jitter=0.2):
    b = x.shape[0]
    area = torch.rand(b) * (1 - min_scale) + min_scale
    log_aspect = (torch.rand(b) * 2 - 1) * torch.clamp(-area.log(), max=math.log(4 / 3))
    aspect = log_aspect.exp()
    w, h = (area * aspect).sqrt(), (area / aspect).sqrt()
    cx, cy = (torch.rand(b) * 2 - 1) * (1 - w), (torch.rand(b) * 2 - 1) * (1 - h)
    zero = torch.zeros(b)
    theta = torch.stack([w, zero, cx, zero, h, cy], 1).view(b, 2, 3)
    x = F.grid_sample(x, F.affine_grid(theta, list(x.shape), align_corners=False), padding_mode="border", align_corners=False)
    brightness = 1 + (torch.rand(b) * 2 - 1) * jitter
    contrast = 1 + (torch.rand(b) * 2 - 1) * jitter
    saturation = 1 + (torch.rand(b) * 2 - 1) * jitter
    x = x * brightness.view(b, 1, 1, 1)
    mean = (x * LUMA.view(1, 3, 1, 1)).sum(1, keepdim=True).mean((1, 2, 3), keepdim=True)
    x = (x - mean) * contrast.view(b, 1, 1, 1) + mean
    luma = (x * LUMA.view(1, 3, 1, 1)).sum(1, keepdim=True)
    return ((x - luma) * saturation.view(b, 1, 1, 1) + luma).clamp(0, 1)


def info_nce(a, p, mask, temperature=0.1):
    logits = (a @ p.t() / temperature).masked_fill(mask, float("-inf"))
    target = torch.arange(a.shape[0])
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2


frames = queue.Queue(maxsize=64)
threading.Thread(target=decode, args=(args.clip, args.size, frames), daemon=True).start()
model = encoder()
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
ring, spacing = [], args.neg_gap + args.pos_window
ring_seconds = args.batch * spacing + args.pos_window
step, started = 0, time.time()
while step < args.steps:
    item = frames.get()
    if item is None:
        break
    ring.append(item)
    while ring[-1][0] - ring[0][0] > ring_seconds:
        ring.pop(0)
    # anchors on a grid with a random phase, one per spacing, each with a positive within pos-window
    times = np.array([t for t, _ in ring])
    phase = random.random() * spacing
    slots = [int(np.abs(times - t).argmin()) for t in np.arange(times[0] + phase, times[-1], spacing)]
    if len(slots) < args.batch:
        continue
    slots = random.sample(slots, args.batch)
    pairs = []
    for a in slots:
        near = [i for i in range(len(ring)) if i != a and abs(times[i] - times[a]) <= args.pos_window]
        pairs.append((a, random.choice(near)))
    images = np.stack([ring[a][1] for a, _ in pairs] + [ring[q][1] for _, q in pairs])
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    n = args.batch
    anchor_times = torch.tensor([times[a] for a, _ in pairs])
    positive_times = torch.tensor([times[q] for _, q in pairs])
    mask = (anchor_times.view(-1, 1) - positive_times.view(1, -1)).abs() < args.neg_gap
    mask.fill_diagonal_(False)
    views = torch.cat([augment(x[:n]), augment(x[n:])])
    z = project(model, (views - MEAN) / STD)
    loss = info_nce(z[:n], z[n:], mask)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    step += 1
print(f"steps {step} loss {loss.item():.4f} seconds {time.time() - started:.2f}")
