#!/usr/bin/env python3
"""The Python twin of VideoSsl's training pipeline, written the way a PyTorch user would write it: a decode thread
(PyAV), a ring buffer of recent frames, anchor/positive pairs at the same spacing, the same encoder, the same batched
augmentation, the same masked symmetric InfoNCE and AdamW, the same batch, size and number of steps.
`videossl bench --twin` runs it and VideoSsl on the same clip, process start to exit, and reports the ratio."""
import argparse, queue, random, threading, time

import os, sys

import av
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import augment, encoder, info_nce, project, MEAN, STD  # noqa: E402

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
