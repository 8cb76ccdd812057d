r"""Geometry shared by the models and the metrics: vector layout, rotations, symmetric-atom losses, RMSD.

lie_nn's ``SO3(1)`` basis orders a vector ``(x, y, z)`` as ``(y, z, x)`` (``Y_1 ∝ (y, z, x)``, see
:func:`lie_nn.nn.spherical_harmonics`); :func:`to_l1` / :func:`from_l1` convert.

Symmetric atoms (:mod:`~models.protein_autoencoder.residues`): the per-residue squared error is

.. math:: e_i = \min_{\pi \in \{1, s_{t_i}\}} \sum_k m_{ik} \, \lVert \hat x_{ik} - x_{i \pi(k)} \rVert^2,

with ``s_t`` the swap of residue type ``t`` (the identity for residues without symmetric atoms), so
a reconstruction with OD1 and OD2 exchanged costs nothing.

>>> v = torch.tensor([[1.0, 2.0, 3.0]])
>>> to_l1(v).tolist(), from_l1(to_l1(v)).tolist()
([[2.0, 3.0, 1.0]], [[1.0, 2.0, 3.0]])
"""

from __future__ import annotations

import math

import numpy as np
import torch

from models.protein_autoencoder.residues import swap_permutations

__all__ = [
    "ca_rmsd",
    "from_l1",
    "heavy_atom_rmsd",
    "random_rotations",
    "superpose",
    "symmetric_squared_error",
    "to_l1",
]

CA = 1  # slot of the alpha carbon
_SWAPS = torch.as_tensor(swap_permutations())


def to_l1(v: torch.Tensor) -> torch.Tensor:
    """Cartesian ``(..., 3)`` → lie_nn ``SO3(1)`` components ``(y, z, x)``."""
    return v[..., [1, 2, 0]]


def from_l1(f: torch.Tensor) -> torch.Tensor:
    """lie_nn ``SO3(1)`` components ``(..., 3)`` → Cartesian ``(x, y, z)``."""
    return f[..., [2, 0, 1]]


def random_rotations(
    n: int, *, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """``(n, 3, 3)`` rotations uniform on SO(3) (QR of Gaussian matrices, signs fixed, det +1).

    >>> r = random_rotations(4, generator=torch.Generator().manual_seed(0))
    >>> bool(torch.allclose(r @ r.transpose(1, 2), torch.eye(3, dtype=r.dtype).expand(4, 3, 3)))
    True
    >>> bool(torch.allclose(torch.linalg.det(r), torch.ones(4, dtype=r.dtype)))
    True
    """
    a = torch.randn(n, 3, 3, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)
    q[:, :, 0] *= torch.sign(torch.linalg.det(q)).unsqueeze(-1)
    return q.to(dtype)


def symmetric_squared_error(
    pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, types: torch.Tensor
) -> torch.Tensor:
    """Per-residue summed squared error ``(..., L)`` over present atoms, minimised over the symmetric
    swap of each residue (module docstring).  ``pred, target (..., L, 14, 3)``, ``mask (..., L, 14)``.

    >>> t = torch.zeros(1, 14, 3); t[0, 6, 0], t[0, 7, 0] = 1.0, -1.0   # ASP OD1, OD2
    >>> p = t.clone(); p[0, [6, 7]] = t[0, [7, 6]]
    >>> m = torch.ones(1, 14, dtype=torch.bool); asp = torch.tensor([3])
    >>> float(symmetric_squared_error(p, t, m, asp))
    0.0
    """
    maskf = mask.to(pred.dtype)
    direct = ((pred - target).square().sum(-1) * maskf).sum(-1)
    perm = _SWAPS.to(types.device)[types]  # (..., L, 14)
    swapped_t = torch.gather(target, -2, perm.unsqueeze(-1).expand(target.shape))
    swapped_m = torch.gather(maskf, -1, perm)
    swapped = ((pred - swapped_t).square().sum(-1) * swapped_m).sum(-1)
    return torch.minimum(direct, swapped)


def heavy_atom_rmsd(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    types: torch.Tensor,
    residue_mask: torch.Tensor | None = None,
) -> float:
    """Root mean square over all present heavy atoms of the symmetric error, no superposition (Å)."""
    err = symmetric_squared_error(pred, target, mask, types)
    count = mask.sum(-1).to(err.dtype)
    if residue_mask is not None:
        err, count = err * residue_mask, count * residue_mask
    return math.sqrt(float(err.sum() / count.sum()))


def ca_rmsd(pred: torch.Tensor | np.ndarray, target: torch.Tensor | np.ndarray) -> float:
    """Cα RMSD without superposition; ``(..., L, 14, 3)`` atom14 arrays or ``(..., L, 3)`` Cα arrays."""
    pred, target = torch.as_tensor(pred), torch.as_tensor(target)
    if pred.ndim >= 3 and pred.shape[-2] == 14:
        pred, target = pred[..., CA, :], target[..., CA, :]
    return math.sqrt(float((pred - target).square().sum(-1).mean()))


def superpose(coords: np.ndarray, mobile: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``coords (..., 3)`` moved by the proper rotation and translation that best superpose the points
    ``mobile (n, 3)`` on ``target (n, 3)`` (Kabsch, least squares).

    >>> x = np.random.default_rng(0).normal(size=(6, 3))
    >>> r = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))[0]; r *= np.linalg.det(r)
    >>> bool(np.allclose(superpose(x @ r.T + 2.0, x @ r.T + 2.0, x), x))
    True
    """
    mc, tc = mobile.mean(0), target.mean(0)
    u, _, vt = np.linalg.svd((mobile - mc).T @ (target - tc))
    d = np.sign(np.linalg.det(u @ vt))
    rot = u @ np.diag([1.0, 1.0, d]) @ vt
    return (coords - mc) @ rot + tc
