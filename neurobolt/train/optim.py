"""Interim optimiser recipe (AdamW, warm-up + cosine); replaced by the full recipe (layer-wise lr
decay, per-group weight decay) from the modelreg branch."""
from __future__ import annotations
import math
from dataclasses import dataclass
import torch
from .._configbase import Config

@dataclass
class OptimConfig(Config):
    lr: float = 3e-4
    weight_decay: float = 0.05
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    layer_decay: float = 0.65
    warmup_epochs: int = 5
    min_lr: float = 1e-6
    grad_clip: float | None = None

def build_optimizer(model, config):
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (no_decay if p.ndim <= 1 or "embed" in n or "token" in n else decay).append(p)
    groups = [dict(params=decay, weight_decay=config.weight_decay, lr_scale=1.0, name="decay"),
              dict(params=no_decay, weight_decay=0.0, lr_scale=1.0, name="no_decay")]
    return torch.optim.AdamW(groups, lr=config.lr, betas=config.betas, eps=config.eps)

def learning_rate(step, steps_per_epoch, epochs, config):
    warm = config.warmup_epochs * steps_per_epoch
    total = epochs * steps_per_epoch
    if step < warm:
        return config.lr * (step + 1) / warm
    t = (step - warm) / max(1, total - warm - 1)
    return config.min_lr + 0.5 * (config.lr - config.min_lr) * (1 + math.cos(math.pi * min(t, 1.0)))

def set_learning_rate(optimizer, lr):
    for g in optimizer.param_groups:
        g["lr"] = lr * g.get("lr_scale", 1.0)
