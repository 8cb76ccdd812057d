r"""Rotating an irreps field on a voxel grid: ``(R f)(x) = D(R) f(R^{-1} x)`` about the grid's centre.

Voxel ``(i, j, k)`` of a ``(batch, dim, D, H, W)`` field sits at ``(x, y, z) = (i, j, k) - centre`` (the
convention of :mod:`lie_nn.nn._voxel_convolution`).  A rotation that maps the grid to itself (a signed
permutation of the axes on a cube) is applied exactly, by gathering voxels; any other rotation resamples
the field trilinearly (``mode="bilinear"``) or by nearest neighbour (label maps), with zeros outside.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lie_nn._src.rotations import wigner_D
from lie_nn.nn._layout import as_irreps

__all__ = ["field_rotation_matrix", "is_grid_symmetry", "rotate_field"]


def field_rotation_matrix(irreps: Any, rotation: np.ndarray) -> np.ndarray:
    """Block-diagonal ``D(R)`` ``(dim, dim)`` acting on the channels of a field of ``irreps`` (float64).

    >>> field_rotation_matrix("2x0e + 1o", -np.eye(3)).diagonal().tolist()
    [1.0, 1.0, -1.0, -1.0, -1.0]
    """
    irreps = as_irreps(irreps, "irreps", "rotate_field")
    out = np.zeros((irreps.dim, irreps.dim))
    for item, sl in zip(irreps, irreps.slices(), strict=True):
        d = wigner_D(item.ir, rotation)
        for u in range(item.mul):
            start = sl.start + u * item.ir.dim
            out[start: start + item.ir.dim, start: start + item.ir.dim] = d
    return out


def is_grid_symmetry(rotation: np.ndarray, shape: tuple[int, int, int]) -> bool:
    """True when ``rotation`` is a signed permutation matrix that maps a grid of ``shape`` to itself.

    >>> is_grid_symmetry(np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1.0]]), (4, 4, 6))
    True
    """
    r = np.asarray(rotation, dtype=np.float64)
    if r.shape != (3, 3) or not np.all(np.isin(np.round(r, 12), (-1.0, 0.0, 1.0))):
        return False
    if not np.allclose(np.abs(r).sum(0), 1) or not np.allclose(np.abs(r).sum(1), 1):
        return False
    perm = np.abs(np.round(r)).argmax(1)  # output axis a reads input axis perm[a]
    return all(shape[a] == shape[perm[a]] for a in range(3))


def _source_points(shape: tuple[int, int, int], rotation: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    """``R^{-1} x`` for every voxel ``x`` of the grid, centred coordinates ``(D, H, W, 3)``."""
    axes = [torch.arange(n, dtype=torch.float64) - (n - 1) / 2 for n in shape]
    points = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)
    return (points @ torch.as_tensor(rotation, dtype=torch.float64)).to(dtype)  # x^T R = (R^T x)^T


def rotate_field(x: torch.Tensor, irreps: Any, rotation: Any, *, mode: str = "bilinear") -> torch.Tensor:
    r"""``(R f)(p) = D(R) f(R^{-1} p)`` for a field ``x (batch, dim, D, H, W)`` of ``irreps``.

    Exact (a gather) for grid symmetries (:func:`is_grid_symmetry`); otherwise
    :func:`torch.nn.functional.grid_sample` with ``mode`` (``"bilinear"``: trilinear, ``"nearest"``),
    zeros outside the grid.  ``irreps=None`` rotates voxels only (e.g. a label map ``(batch, 1, ...)``).

    >>> x = torch.arange(8.0).reshape(1, 1, 2, 2, 2)
    >>> rotate_field(x, "0e", np.diag([1.0, -1.0, -1.0])).flatten().tolist()
    [3.0, 2.0, 1.0, 0.0, 7.0, 6.0, 5.0, 4.0]
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 5:
        raise ValueError("rotate_field: x must be a 5D tensor (batch, channels, D, H, W)")
    rotation = np.asarray(rotation, dtype=np.float64)
    if rotation.shape != (3, 3) or not np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-9):
        raise ValueError(f"rotate_field: rotation must be an orthogonal 3x3 matrix, got {rotation.tolist()}")
    if mode not in ("bilinear", "nearest"):
        raise ValueError(f"rotate_field: mode must be 'bilinear' or 'nearest', got {mode!r}")
    shape = tuple(x.shape[2:])
    if is_grid_symmetry(rotation, shape):
        src = _source_points(shape, rotation, torch.float64)
        centre = torch.tensor([(n - 1) / 2 for n in shape], dtype=torch.float64)
        idx = torch.round(src + centre).long()
        flat = (idx[..., 0] * shape[1] + idx[..., 1]) * shape[2] + idx[..., 2]
        out = x.flatten(2).index_select(2, flat.reshape(-1).to(x.device)).reshape(x.shape)
    else:
        src = _source_points(shape, rotation, x.dtype if x.is_floating_point() else torch.float64)
        half = torch.tensor([max((n - 1) / 2, 1e-9) for n in shape], dtype=src.dtype)
        grid = (src / half).flip(-1).unsqueeze(0).expand(x.shape[0], *shape, 3).to(x.device)
        values = x if x.is_floating_point() else x.double()
        out = torch.nn.functional.grid_sample(values, grid, mode=mode, padding_mode="zeros",
                                              align_corners=True).to(x.dtype)
    if irreps is None:
        return out
    d = torch.as_tensor(field_rotation_matrix(irreps, rotation), dtype=out.dtype, device=out.device)
    if d.shape[0] != x.shape[1]:
        raise ValueError(f"rotate_field: x has {x.shape[1]} channels but irreps {irreps} have dimension "
                         f"{d.shape[0]}")
    return torch.einsum("ij,bj...->bi...", d, out)
