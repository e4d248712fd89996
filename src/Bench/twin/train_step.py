#!/usr/bin/env python3
"""The PyTorch twin of VideoSsl's training step: the same encoder, batched augmentation, masked symmetric InfoNCE
and AdamW on a synthetic batch, timed the same way as `videossl bench --train-only` (warm-up, then the mean of the
timed steps). Float32, and with --mixed the best mixed precision PyTorch offers on the device (bf16 autocast).
Prints one JSON object."""
import argparse, json, os, sys, time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import augment, encoder, info_nce, project, MEAN, STD  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--size", type=int, default=96)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--steps", type=int, default=20)
p.add_argument("--device", default="cpu")
p.add_argument("--mixed", action="store_true")
args = p.parse_args()
device = torch.device(args.device)
torch.manual_seed(1)
model = encoder().to(device)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
n = args.batch
frames = torch.randint(0, 256, (2 * n, args.size, args.size, 3), dtype=torch.uint8)
mask = torch.zeros(n, n, dtype=torch.bool, device=device)
mean, std = MEAN.to(device), STD.to(device)


def step():
    x = frames.to(device, non_blocking=True).permute(0, 3, 1, 2).float().div_(255)
    views = torch.cat([augment(x[:n]), augment(x[n:])])
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.mixed):
        z = project(model, (views - mean) / std)
        loss = info_nce(z[:n].float(), z[n:].float(), mask)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss


for _ in range(5):
    step()
if device.type == "cuda":
    torch.cuda.synchronize()
started = time.perf_counter()
for _ in range(args.steps):
    loss = step()
if device.type == "cuda":
    torch.cuda.synchronize()
seconds = (time.perf_counter() - started) / args.steps
print(json.dumps({"framework": f"pytorch {torch.__version__}", "device": str(device), "mixed": args.mixed, "size": args.size,
                  "batch": n, "step_seconds": seconds, "frames_per_second": 2 * n / seconds, "loss": float(loss)}))
