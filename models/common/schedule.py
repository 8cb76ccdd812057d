r"""Optimiser and learning-rate schedule: AdamW, linear warm-up, then cosine decay or reduce-on-plateau.

For step ``s`` of ``S`` optimiser steps, ``w = max(1, floor(warmup · S))`` warm-up steps and base rate
``η``:

.. math::
    \eta(s) = \eta \cdot \frac{s + 1}{w} \quad (s < w), \qquad
    \eta(s) = \eta \left(f + (1 - f)\,\frac{1 + \cos(\pi t)}{2}\right), \quad
    t = \min\!\left(1, \frac{s - w}{\max(1, S - w)}\right)

for ``"cosine"`` (``f`` = ``min_lr``, the final fraction of ``η``); ``"constant"`` keeps ``η`` after the
warm-up; ``"plateau"`` multiplies it by ``plateau_factor`` whenever the monitored validation metric has
not improved for ``patience`` epochs, down to ``min_lr · η``.
"""

from __future__ import annotations

import math
from typing import Any

import torch

__all__ = ["SCHEDULES", "LRSchedule", "make_optimizer"]

SCHEDULES = ("cosine", "plateau", "constant")


class LRSchedule:
    """Sets the learning rate of every parameter group of ``optimizer`` at each :meth:`step`.

    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = LRSchedule(opt, total_steps=100, warmup=0.02, kind="cosine", min_lr=0.01)
    >>> [round(sched.factor(s), 3) for s in (0, 1, 2, 51, 100)]
    [0.5, 1.0, 1.0, 0.505, 0.01]
    """

    def __init__(self, optimizer: torch.optim.Optimizer, total_steps: int, *, warmup: float = 0.02,
                 kind: str = "cosine", min_lr: float = 0.01, patience: int = 3,
                 plateau_factor: float = 0.5, mode: str = "min") -> None:
        if kind not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {kind!r}")
        if not 0.0 <= warmup < 1.0:
            raise ValueError(f"warmup must be a fraction in [0, 1), got {warmup}")
        if not 0.0 <= min_lr <= 1.0 or not 0.0 < plateau_factor < 1.0:
            raise ValueError(f"need 0 <= min_lr <= 1 and 0 < plateau_factor < 1, got {min_lr}, "
                             f"{plateau_factor}")
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.optimizer, self.kind, self.min_lr, self.mode = optimizer, kind, min_lr, mode
        self.total = max(1, int(total_steps))
        self.warmup_steps = max(1, math.floor(warmup * self.total + 1e-9))
        self.patience, self.plateau_factor = patience, plateau_factor
        self.base = [g["lr"] for g in optimizer.param_groups]
        self.steps, self.scale, self.best, self.bad_epochs = 0, 1.0, None, 0
        self._apply()

    def factor(self, step: int) -> float:
        """The multiplier of the base rate at optimiser step ``step`` (before any plateau scaling)."""
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        if self.kind != "cosine":
            return 1.0
        t = min(1.0, (step - self.warmup_steps) / max(1, self.total - self.warmup_steps))
        return self.min_lr + (1 - self.min_lr) * 0.5 * (1 + math.cos(math.pi * t))

    def _apply(self) -> None:
        f = self.factor(self.steps) * self.scale
        for group, base in zip(self.optimizer.param_groups, self.base, strict=True):
            group["lr"] = base * f

    def step(self) -> None:
        """Advance by one optimiser step."""
        self.steps += 1
        self._apply()

    def epoch_end(self, metric: float | None) -> None:
        """Plateau bookkeeping with the monitored validation metric (no-op for other schedules)."""
        if self.kind != "plateau" or metric is None or math.isnan(metric):
            return
        better = self.best is None or (metric < self.best if self.mode == "min" else metric > self.best)
        if better:
            self.best, self.bad_epochs = metric, 0
            return
        self.bad_epochs += 1
        if self.bad_epochs > self.patience:
            self.scale, self.bad_epochs = max(self.scale * self.plateau_factor, self.min_lr), 0
            self._apply()

    @property
    def lr(self) -> float:
        """The current learning rate of the first parameter group."""
        return float(self.optimizer.param_groups[0]["lr"])

    def state_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "scale": self.scale, "best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps, self.scale = int(state["steps"]), float(state["scale"])
        self.best, self.bad_epochs = state["best"], int(state["bad_epochs"])
        self._apply()


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW over the trainable parameters of ``model``."""
    if not lr > 0:
        raise ValueError(f"learning rate must be positive, got {lr}")
    if weight_decay < 0:
        raise ValueError(f"weight decay must be >= 0, got {weight_decay}")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
