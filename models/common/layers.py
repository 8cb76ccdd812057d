"""Small torch building blocks shared by the models (not equivariant: for invariant channels and peers)."""

from __future__ import annotations

import torch

__all__ = ["mlp"]


def mlp(sizes: list[int], dtype: torch.dtype | None = None, *, act: type[torch.nn.Module] = torch.nn.SiLU,
        last_act: bool = False) -> torch.nn.Sequential:
    """``Linear`` layers ``sizes[0] → sizes[1] → …`` with ``act`` between them (and after the last if
    ``last_act``); the state-dict keys are ``"0.weight"``, ``"2.weight"``, … in order.

    >>> net = mlp([3, 8, 1])
    >>> [type(m).__name__ for m in net], net(torch.zeros(2, 3)).shape
    (['Linear', 'SiLU', 'Linear'], torch.Size([2, 1]))
    >>> len(mlp([3, 8, 1], act=torch.nn.ReLU, last_act=True))
    4
    """
    mods: list[torch.nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        mods += [torch.nn.Linear(a, b, dtype=dtype), act()]
    return torch.nn.Sequential(*(mods if last_act else mods[:-1]))
