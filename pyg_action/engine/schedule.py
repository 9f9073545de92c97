"""Optimiser and learning-rate schedule (linear warm-up, then cosine or step decay)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn


def build_optimizer(model: nn.Module, spec: dict[str, Any]) -> torch.optim.Optimizer:
    """SGD (momentum, Nesterov) or AdamW; no weight decay on biases and norm parameters."""
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim <= 1 and "importance" not in name else decay).append(param)
    groups = [
        {"params": decay, "weight_decay": float(spec.get("weight_decay", 0.0))},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    name = spec.get("name", "sgd").lower()
    lr = float(spec["lr"])
    if name == "sgd":
        return torch.optim.SGD(
            groups,
            lr=lr,
            momentum=float(spec.get("momentum", 0.9)),
            nesterov=bool(spec.get("nesterov", True)),
        )
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}; choose sgd or adamw")


def lr_factor(
    step: int, total_steps: int, warmup_steps: int, spec: dict[str, Any], steps_per_epoch: int
) -> float:
    """Multiplier of the base learning rate at optimisation step ``step``."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    name = spec.get("name", "cosine")
    if name == "cosine":
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    if name == "step":
        epoch = step // steps_per_epoch
        passed = sum(epoch >= m for m in spec.get("milestones", []))
        return float(spec.get("gamma", 0.1)) ** passed
    if name == "constant":
        return 1.0
    raise ValueError(f"unknown scheduler {name!r}; choose cosine, step or constant")


def build_scheduler(
    optimizer: torch.optim.Optimizer, spec: dict[str, Any], epochs: int, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-step :class:`~torch.optim.lr_scheduler.LambdaLR` following :func:`lr_factor`."""
    total = epochs * steps_per_epoch
    warmup = int(float(spec.get("warmup_epochs", 0)) * steps_per_epoch)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, total, warmup, spec, steps_per_epoch)
    )
