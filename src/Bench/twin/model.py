"""What both Python twins share with VideoSsl: the encoder, the batched augmentation and the masked InfoNCE."""
import math
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F


def encoder(channels=(32, 64, 128, 256), hidden=256, dim=128, centre=False):
    blocks, c_in = [], 3
    for i, c in enumerate(channels):
        blocks += [(f"conv{i}", nn.Conv2d(c_in, c, 3, 2, 1, bias=False)), (f"norm{i}", nn.BatchNorm2d(c)), (f"relu{i}", nn.ReLU(inplace=True))]
        c_in = c
    model = nn.Module()
    model.backbone = nn.Sequential(OrderedDict(blocks))
    model.head = nn.Sequential(OrderedDict([("fc1", nn.Linear(c_in, hidden, bias=False)), ("norm", nn.BatchNorm1d(hidden)),
                                            ("relu", nn.ReLU(inplace=True)), ("fc2", nn.Linear(hidden, dim))]))
    if centre:
        model.register_buffer("centre", torch.zeros(sum(channels)))
    return model


def embed(model, x):
    """What VideoSsl's embed writes: every block's pooled features, each L2-normalised (less its centre and normalised
    again, when the model keeps one), side by side, unit length."""
    parts, offset = [], 0
    for layer in model.backbone:
        x = layer(x)
        if isinstance(layer, nn.ReLU):
            part = F.normalize(x.mean((2, 3)), dim=1)
            if hasattr(model, "centre"):
                part = F.normalize(part - model.centre[offset:offset + part.shape[1]], dim=1)
            offset += part.shape[1]
            parts.append(part)
    return torch.cat(parts, 1) / len(parts) ** 0.5


def project(model, x):
    return F.normalize(model.head(model.backbone(x).mean((2, 3))), dim=1)


MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
LUMA = torch.tensor([0.299, 0.587, 0.114])


def augment(x, min_scale=0.7, jitter=0.2):
    b, d = x.shape[0], x.device
    area = torch.rand(b, device=d) * (1 - min_scale) + min_scale
    log_aspect = (torch.rand(b, device=d) * 2 - 1) * torch.clamp(-area.log(), max=math.log(4 / 3))
    aspect = log_aspect.exp()
    w, h = (area * aspect).sqrt(), (area / aspect).sqrt()
    cx, cy = (torch.rand(b, device=d) * 2 - 1) * (1 - w), (torch.rand(b, device=d) * 2 - 1) * (1 - h)
    zero = torch.zeros(b, device=d)
    theta = torch.stack([w, zero, cx, zero, h, cy], 1).view(b, 2, 3)
    x = F.grid_sample(x, F.affine_grid(theta, list(x.shape), align_corners=False), padding_mode="border", align_corners=False)
    brightness = 1 + (torch.rand(b, device=d) * 2 - 1) * jitter
    contrast = 1 + (torch.rand(b, device=d) * 2 - 1) * jitter
    saturation = 1 + (torch.rand(b, device=d) * 2 - 1) * jitter
    weights = LUMA.to(d).view(1, 3, 1, 1)
    x = x * brightness.view(b, 1, 1, 1)
    mean = (x * weights).sum(1, keepdim=True).mean((1, 2, 3), keepdim=True)
    x = (x - mean) * contrast.view(b, 1, 1, 1) + mean
    luma = (x * weights).sum(1, keepdim=True)
    return ((x - luma) * saturation.view(b, 1, 1, 1) + luma).clamp(0, 1)


def info_nce(a, p, mask, temperature=0.1):
    logits = (a @ p.t() / temperature).masked_fill(mask, float("-inf"))
    target = torch.arange(a.shape[0], device=a.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2




class _Block(nn.Module):
    """VideoSsl's ResidualBlock: conv-BN-ReLU, conv-BN, plus the shortcut (1x1 stride-2 projection where the map shrinks), ReLU."""

    def __init__(self, c_in, c, stride):
        super().__init__()
        self.conv1, self.norm1 = nn.Conv2d(c_in, c, 3, stride, 1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.norm2 = nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c)
        if stride != 1 or c_in != c:
            self.down_conv, self.down_norm = nn.Conv2d(c_in, c, 1, stride, bias=False), nn.BatchNorm2d(c)
        else:
            self.down_conv = None

    def forward(self, x):
        y = self.norm2(self.conv2(F.relu(self.norm1(self.conv1(x)))))
        return F.relu(y + (x if self.down_conv is None else self.down_norm(self.down_conv(x))))


class ResNetBackbone(nn.Module):
    """VideoSsl's resnet18 backbone (ML.NET's ImageNet ResNet-18: 2, 2, 2, 3 blocks), with the same parameter names."""

    BLOCKS, CHANNELS = (2, 2, 2, 3), (64, 128, 256, 512)

    def __init__(self):
        super().__init__()
        self.stem_conv, self.stem_norm = nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64)
        self.register_buffer("mean_image", torch.zeros(1, 3, 224, 224))
        c_in = 64
        for s, (blocks, c) in enumerate(zip(self.BLOCKS, self.CHANNELS)):
            for b in range(blocks):
                setattr(self, f"layer{s + 1}_{b}", _Block(c_in, c, 2 if s > 0 and b == 0 else 1))
                c_in = c

    def stages(self, x):
        """Each stage's map in turn; x is RGB standardised with MEAN and STD, converted to the ONNX model's BGR 0-255 minus its mean image."""
        mean = self.mean_image if x.shape[2:] == (224, 224) else F.interpolate(self.mean_image, size=x.shape[2:], mode="bilinear", align_corners=False)
        x = x.flip(1) * (STD.flip(1) * 255) + MEAN.flip(1) * 255 - mean
        x = F.max_pool2d(F.relu(self.stem_norm(self.stem_conv(x))), 3, 2, 1)
        for s, blocks in enumerate(self.BLOCKS):
            for b in range(blocks):
                x = getattr(self, f"layer{s + 1}_{b}")(x)
            yield x


def resnet_encoder(hidden=256, dim=128, keep_imagenet=False, centre=False):
    model = nn.Module()
    model.backbone = ResNetBackbone()
    if keep_imagenet:
        model.imagenet = ResNetBackbone()
    if centre:
        # Every stage's mean unit vector over the training frames, the adapted backbone's, then the kept copy's.
        model.register_buffer("centre", torch.zeros(sum(ResNetBackbone.CHANNELS) * (2 if keep_imagenet else 1)))
    model.head = nn.Sequential(OrderedDict([("fc1", nn.Linear(512, hidden, bias=False)), ("norm", nn.BatchNorm1d(hidden)),
                                            ("relu", nn.ReLU(inplace=True)), ("fc2", nn.Linear(hidden, dim))]))
    return model


def resnet_embed(model, x, pooled_stages):
    """What VideoSsl's embed writes with the resnet18 backbone: the pooled stages (1-based), then the kept ImageNet
    copy's, each L2-normalised (less its centre and normalised again, when the model keeps one), unit length."""
    parts, offset = [], 0
    for backbone in [model.backbone] + ([model.imagenet] if hasattr(model, "imagenet") else []):
        for s, x_s in enumerate(backbone.stages(x)):
            width = ResNetBackbone.CHANNELS[s]
            if s + 1 in pooled_stages:
                part = F.normalize(x_s.mean((2, 3)), dim=1)
                if hasattr(model, "centre"):
                    part = F.normalize(part - model.centre[offset:offset + width], dim=1)
                parts.append(part)
            offset += width
    return torch.cat(parts, 1) / len(parts) ** 0.5
