"""Scatter-sum with ``index_add_`` (no torch_scatter dependency)."""

from __future__ import annotations

import torch

__all__ = ["scatter_sum"]


def scatter_sum(src: torch.Tensor, index: torch.Tensor, dim_size: int) -> torch.Tensor:
    """``out[n] = Σ_{e : index[e] = n} src[e]`` along the first axis; ``out`` has ``dim_size`` rows.

    >>> scatter_sum(torch.tensor([[1.0], [2.0], [4.0]]), torch.tensor([0, 2, 0]), 3).flatten()
    tensor([5., 0., 2.])
    """
    if index.ndim != 1 or index.shape[0] != src.shape[0]:
        raise ValueError(f"scatter_sum: index must have shape ({src.shape[0]},), got {tuple(index.shape)}")
    out = src.new_zeros(dim_size, *src.shape[1:])
    return out.index_add(0, index.long(), src)
