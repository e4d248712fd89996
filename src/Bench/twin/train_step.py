#!/usr/bin/env python3
"""The PyTorch twin of VideoSsl's training step: the same encoder, batched augmentation, masked symmetric InfoNCE
and AdamW on a synthetic batch, timed the same way as `videossl bench --train-only` (warm-up, then the mean of the
timed steps). Float32, and with --mixed the best mixed precision PyTorch offers on the device (bf16 autocast).
Prints one JSON object."""
import argparse, json, os, sys, time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import augment, encoder, info_nce, project, resnet_encoder, MEAN, STD  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--size", type=int, default=96)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--steps", type=int, default=20)
p.add_argument("--device", default="cpu")
p.add_argument("--mixed", action="store_true")
p.add_argument("--backbone", choices=["small", "resnet18"], default="small")
p.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's choice)")
p.add_argument("--freeze-stages", type=int, default=0)
p.add_argument("--backbone-lr-scale", type=float, default=1.0)
p.add_argument("--batchnorm", choices=["adapted", "frozen"], default="adapted")
args = p.parse_args()
device = torch.device(args.device)
if args.threads > 0:
    torch.set_num_threads(args.threads)
torch.manual_seed(1)
if args.backbone == "resnet18":
    # VideoSsl's adaptation: the first stages frozen (no gradient, statistics fixed), BatchNorm frozen or not, the
    # backbone at a share of the head's rate. Weights are random here: the step costs the same as with ImageNet's.
    model = resnet_encoder().to(device)
    stages = [["stem_conv", "stem_norm", "layer1_"], ["layer2_"], ["layer3_"], ["layer4_"]]
    frozen = [prefix for stage in stages[:args.freeze_stages] for prefix in stage]
    trained = []
    for name, parameter in model.backbone.named_parameters():
        parameter.requires_grad = not any(name.startswith(prefix) for prefix in frozen)
        if parameter.requires_grad:
            trained.append(parameter)
    frozen_modules = [m for name, m in model.backbone.named_modules()
                      if isinstance(m, torch.nn.BatchNorm2d) and (args.batchnorm == "frozen" or any(name.startswith(p) for p in frozen))]
    groups = ([{"params": trained, "lr": 1e-3 * args.backbone_lr_scale}] if trained else []) + [{"params": model.head.parameters(), "lr": 1e-3}]
    optimizer = torch.optim.AdamW(groups, lr=1e-3, weight_decay=0.01)

    def project(model, x):  # noqa: F811 - the resnet18 projection
        for x in model.backbone.stages(x):
            pass
        return torch.nn.functional.normalize(model.head(x.mean((2, 3))), dim=1)
else:
    model = encoder().to(device)
    frozen_modules = []
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
n = args.batch
frames = torch.randint(0, 256, (2 * n, args.size, args.size, 3), dtype=torch.uint8)
mask = torch.zeros(n, n, dtype=torch.bool, device=device)
mean, std = MEAN.to(device), STD.to(device)


def step():
    model.train()
    for module in frozen_modules:
        module.eval()
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
                  "batch": n, "backbone": args.backbone, "threads": torch.get_num_threads(), "step_seconds": seconds, "frames_per_second": 2 * n / seconds, "loss": float(loss)}))
