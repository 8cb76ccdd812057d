r"""Poses of a point cloud: random rotations (Haar on SO(3)), reflections, and applying them.

A cloud ``x (N, 3)`` in pose ``Q ∈ O(3)`` is ``x Qᵀ`` (each point ``x_i ↦ Q x_i``).
"""

from __future__ import annotations

import torch

__all__ = ["MIRROR", "POSES", "pose_matrices", "random_rotations", "transform"]

MIRROR = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, -1.0))  # reflection through the plane z = 0
POSES = ("canonical", "rotated", "mirrored", "rotated_mirrored")


def random_rotations(n: int, generator: torch.Generator | None, dtype: torch.dtype = torch.float32
                     ) -> torch.Tensor:
    r"""``n`` Haar-random rotations ``(n, 3, 3)`` (``QᵀQ = 1``, ``det Q = +1``).

    QR of a Gaussian matrix with the signs of ``diag(R)`` moved into ``Q`` is Haar on O(3); flipping
    the first column where ``det Q = -1`` maps it onto Haar on SO(3).  ``generator=None`` draws from
    torch's global generator.

    >>> q = random_rotations(4, torch.Generator().manual_seed(0), torch.float64)
    >>> bool(torch.allclose(q @ q.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand(4, 3, 3)))
    True
    >>> torch.linalg.det(q).round().tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    a = torch.randn(n, 3, 3, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r, dim1=1, dim2=2)).unsqueeze(1)
    q[:, :, 0] *= torch.sign(torch.linalg.det(q)).unsqueeze(-1)
    return q.to(dtype)


def pose_matrices(pose: str, n: int, generator: torch.Generator, dtype: torch.dtype = torch.float32
                  ) -> torch.Tensor:
    """``(n, 3, 3)`` matrices of one of :data:`POSES`: identity, random rotation, the mirror
    ``z → -z``, or a random rotation times the mirror (a random improper orthogonal matrix).

    >>> torch.linalg.det(pose_matrices("rotated_mirrored", 2, torch.Generator().manual_seed(0))).round()
    tensor([-1., -1.])
    """
    mirror = torch.tensor(MIRROR, dtype=dtype)
    if pose == "canonical":
        return torch.eye(3, dtype=dtype).expand(n, 3, 3)
    if pose == "rotated":
        return random_rotations(n, generator, dtype)
    if pose == "mirrored":
        return mirror.expand(n, 3, 3)
    if pose == "rotated_mirrored":
        return random_rotations(n, generator, dtype) @ mirror
    raise ValueError(f"unknown pose {pose!r}; expected one of {', '.join(POSES)}")


def transform(points: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
    """Each cloud ``points[b] (N, 3)`` mapped to ``points[b] @ matrices[b]ᵀ``.

    >>> transform(torch.ones(1, 2, 3), torch.tensor([MIRROR])).tolist()
    [[[1.0, 1.0, -1.0], [1.0, 1.0, -1.0]]]
    """
    if points.ndim != 3 or points.shape[-1] != 3 or matrices.shape != (points.shape[0], 3, 3):
        raise ValueError(f"transform: need points (B, N, 3) and matrices (B, 3, 3), got "
                         f"{tuple(points.shape)} and {tuple(matrices.shape)}")
    return points @ matrices.to(points.dtype).transpose(1, 2)
