r"""O(3)-invariant geometric inputs of the equivariant classifier: per-point and per-cloud descriptors.

Clouds ``x (B, N, 3)`` are centred on the centroid of their mesh samples, so the origin is fixed by
every ``Q ∈ O(3)`` acting as ``x ↦ x Qᵀ``.  Everything here is built from quantities that do not change
under such a map (distances, eigenvalues of covariance matrices, quadratic forms ``xᵀ A x`` with an
``A`` that transforms as ``Q A Qᵀ``), so the features are *exactly* invariant, not learned to be, and
no eigen*vector* (whose sign and, for symmetric parts, whose direction is arbitrary) is ever used.

Per point (:func:`point_features`, ``F = 3 + 5 · len(scales)`` channels):

* ``|x_i|`` (distance to the centroid), ``xᵢᵀ M xᵢ`` and ``xᵢᵀ (M + εI)⁻¹ xᵢ`` with the cloud's second
  moment ``M = mean_j x_j x_jᵀ`` (where a point lies along the part's long or flat directions);
* for each neighbourhood size ``k`` in ``scales``: the square roots of the three sorted eigenvalues of
  the covariance of the ``k`` nearest points (local extent along the principal directions: edge,
  face, corner, cylinder wall ...), the mean distance to them (local density) and the distance from
  ``x_i`` to their centroid (how far the point is from the middle of its patch, large on borders).

Per cloud (:func:`cloud_features`): the square roots of the sorted eigenvalues of ``M`` (the part's
proportions; with unit-RMS clouds they are the RMS extents along its principal axes).

>>> x = torch.randn(2, 20, 3, dtype=torch.float64)
>>> point_features(x, (4, 8)).shape, cloud_features(x).shape
(torch.Size([2, 20, 13]), torch.Size([2, 3]))
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["cloud_features", "num_point_features", "point_features", "second_moment"]

RIDGE = 1e-2  # ε of (M + ε tr(M) I)⁻¹: flat parts (BGA, QFP) have a tiny third eigenvalue
FLOOR = 1e-6  # added under the square roots of eigenvalues: rounding noise on flat patches stays ~1e-14


def num_point_features(scales: Sequence[int]) -> int:
    """Channels of :func:`point_features` for the given neighbourhood sizes.

    >>> num_point_features((8, 24))
    13
    """
    return 3 + 5 * len(scales)


def second_moment(points: torch.Tensor) -> torch.Tensor:
    """``M = mean_i x_i x_iᵀ`` per cloud, ``(B, 3, 3)`` (about the origin, the mesh centroid)."""
    return torch.einsum("bni,bnj->bij", points, points) / points.shape[1]


def _sorted_sqrt_eigenvalues(matrices: torch.Tensor) -> torch.Tensor:
    """``sqrt(λ + FLOOR)`` of the eigenvalues ``λ`` of symmetric PSD ``(..., 3, 3)`` matrices, largest
    first (the floor keeps the rounding noise of a zero eigenvalue from being magnified by the root)."""
    values = torch.linalg.eigvalsh(0.5 * (matrices + matrices.transpose(-1, -2)))
    return (values.clamp_min(0.0) + FLOOR).flip(-1).sqrt()


def _local_features(points: torch.Tensor, order: torch.Tensor, k: int) -> torch.Tensor:
    """``(B, N, 5)`` descriptors of the ``k`` nearest points (self included) of every point."""
    batch = torch.arange(points.shape[0], device=points.device)[:, None, None]
    neighbours = points[batch, order[:, :, :k]]  # (B, N, k, 3), without a (B, N, N, 3) expand
    centre = neighbours.mean(dim=2)
    offsets = neighbours - centre.unsqueeze(2)
    covariance = torch.einsum("bnki,bnkj->bnij", offsets, offsets) / k
    spread = (neighbours - points.unsqueeze(2)).norm(dim=-1).mean(dim=2)
    shift = (centre - points).norm(dim=-1)
    return torch.cat([_sorted_sqrt_eigenvalues(covariance), spread.unsqueeze(-1), shift.unsqueeze(-1)],
                     dim=-1)


def point_features(points: torch.Tensor, scales: Sequence[int] = (8, 24)) -> torch.Tensor:
    """``(B, N, F)`` invariant descriptors of every point (see the module docstring); the
    neighbourhood sizes are capped at ``N``."""
    if points.ndim != 3 or points.shape[-1] != 3:
        raise ValueError(f"point_features: points must have shape (B, N, 3), got {tuple(points.shape)}")
    if not scales or any(k < 2 for k in scales):
        raise ValueError(f"point_features: scales must be neighbourhood sizes >= 2, got {tuple(scales)}")
    b, n, _ = points.shape
    moment = second_moment(points)
    eye = torch.eye(3, dtype=points.dtype, device=points.device)
    trace = moment.diagonal(dim1=-2, dim2=-1).sum(-1)[:, None, None]
    inverse = torch.linalg.inv(moment + RIDGE * trace * eye)
    quad = torch.einsum("bni,bij,bnj->bn", points, moment, points)
    quad_inv = torch.einsum("bni,bij,bnj->bn", points, inverse, points)
    out = [points.norm(dim=-1).unsqueeze(-1), quad.unsqueeze(-1), quad_inv.unsqueeze(-1)]
    k_max = min(max(scales), n)
    order = torch.cdist(points, points).topk(k_max, dim=-1, largest=False).indices
    out += [_local_features(points, order, min(k, n)) for k in scales]
    return torch.cat(out, dim=-1)


def cloud_features(points: torch.Tensor) -> torch.Tensor:
    """``(B, 3)``: square roots of the eigenvalues of the second moment ``M``, largest first."""
    if points.ndim != 3 or points.shape[-1] != 3:
        raise ValueError(f"cloud_features: points must have shape (B, N, 3), got {tuple(points.shape)}")
    return _sorted_sqrt_eigenvalues(second_moment(points))
