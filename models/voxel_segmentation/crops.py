r"""Crops of the volume in any pose, and the rotations used to test poses.

A crop of side ``n`` centred at ``c`` in pose ``R`` is ``crop(p) = V(c + R p)`` for the centred grid
points ``p`` (half-integers for even ``n``): the volume rotated by ``R^{-1}`` about ``c``, then cut.  For
the 48 signed permutation matrices the crop is an exact copy of voxels (:func:`lie_nn.nn.rotate_field`
of the axis-aligned crop); for other rotations the T1 image is resampled trilinearly and the labels by
nearest neighbour from the whole volume (zeros outside it).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch

from lie_nn import axis_angle_to_matrix
from lie_nn.nn import rotate_field

__all__ = ["axis_rotations", "cube_rotations", "crop", "random_axes"]


def cube_rotations() -> list[np.ndarray]:
    """The 24 proper rotations of the cube (signed permutation matrices with determinant +1).

    >>> len(cube_rotations())
    24
    """
    out = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            r = np.zeros((3, 3))
            r[range(3), perm] = signs
            if np.linalg.det(r) > 0:
                out.append(r)
    return out


def random_axes(n: int, seed: int) -> np.ndarray:
    """``n`` unit vectors drawn uniformly on the sphere (seeded)."""
    v = np.random.default_rng(seed).standard_normal((n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def axis_rotations(axis: np.ndarray, degrees: float) -> np.ndarray:
    """Rotation by ``degrees`` about the unit ``axis`` (float64 ``(3, 3)``).

    >>> np.round(axis_rotations(np.array([0.0, 0.0, 1.0]), 90.0), 12).tolist()
    [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    return np.asarray(axis_angle_to_matrix(np.asarray(axis, dtype=np.float64), math.radians(degrees)))


def _is_signed_permutation(r: np.ndarray) -> bool:
    return bool(np.all(np.isin(np.round(r, 12), (-1.0, 0.0, 1.0))))


def crop(t1: np.ndarray, labels: np.ndarray, centre: np.ndarray, size: int,
         rotation: np.ndarray | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(image (1, n, n, n) float32, labels (n, n, n) int64)`` of the crop in pose ``rotation`` (default
    identity) centred at ``centre`` (half-integer coordinates for even ``size``).

    >>> t1 = np.arange(4**3, dtype=np.float32).reshape(4, 4, 4)
    >>> x, y = crop(t1, np.zeros((4, 4, 4), np.uint8), np.array([1.5, 1.5, 1.5]), 2)
    >>> x.flatten().tolist()
    [21.0, 22.0, 25.0, 26.0, 37.0, 38.0, 41.0, 42.0]
    """
    rotation = np.eye(3) if rotation is None else np.asarray(rotation, dtype=np.float64)
    centre = np.asarray(centre, dtype=np.float64)
    lo = centre - (size - 1) / 2
    if _is_signed_permutation(rotation):
        origin = np.round(lo).astype(int)
        if not np.allclose(origin, lo):
            raise ValueError(f"crop: centre {centre.tolist()} does not put a {size}-crop on voxel centres")
        pad = size
        t1p = np.pad(t1, pad)
        lp = np.pad(labels, pad)
        sl = tuple(slice(o + pad, o + pad + size) for o in origin)
        image = torch.from_numpy(np.ascontiguousarray(t1p[sl], dtype=np.float32))[None, None]
        lab = torch.from_numpy(np.ascontiguousarray(lp[sl]).astype(np.int64))[None, None]
        # crop(p) = V(c + R p) = (R^{-1}-rotated field)(p): rotate_field applies f(R'^{-1} p) with R' = R^T
        image = rotate_field(image, None, rotation.T)
        lab = rotate_field(lab, None, rotation.T)
        return image[0], lab[0, 0]
    axis = np.arange(size, dtype=np.float64) - (size - 1) / 2
    points = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1) @ rotation.T + centre
    shape = np.array(t1.shape, dtype=np.float64)
    grid = torch.from_numpy((points / (shape - 1) * 2 - 1)[..., ::-1].copy())[None]
    volume = torch.from_numpy(np.stack([t1, labels]).astype(np.float64))[None]
    image = torch.nn.functional.grid_sample(volume[:, :1], grid, mode="bilinear", align_corners=True)
    lab = torch.nn.functional.grid_sample(volume[:, 1:], grid, mode="nearest", align_corners=True)
    return image[0].float(), lab[0, 0].round().long()
