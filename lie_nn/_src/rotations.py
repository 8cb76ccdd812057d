r"""Rotations of 3-space and their Wigner-D matrices in lie_nn's bases (numpy only).

Conventions.  Rotation matrices ``R (..., 3, 3)`` act on Cartesian column vectors ``(x, y, z)`` (active,
``x ↦ R x``).  Quaternions are unit ``q = (w, x, y, z)`` (scalar first); ``q`` and ``-q`` give the same
rotation but different ``SU(2)`` elements.  The rotation by ``θ`` about the unit axis ``n``
(counter-clockwise looking down ``n``) is ``q = (\cos θ/2, \sin θ/2\, n)``,
``R = I + \sin θ [n]_× + (1 - \cos θ) [n]_×²``.  Euler angles are ``ZYZ``:
``R = R_z(α) R_y(β) R_z(γ)`` with ``α, γ ∈ (-π, π]`` and ``β ∈ [0, π]``.

Wigner-D.  For an irrep with real Lie-algebra generators ``X_a`` (``a = x, y, z``: lie_nn's
``ir.algebra()``) the rotation ``θ n`` acts as ``D(R) = \exp(θ\, n_a X_a)``, computed here as an
exponential of an anti-Hermitian matrix (by eigendecomposition), so ``D`` is in exactly the basis of
lie_nn's Clebsch–Gordan coefficients and spherical harmonics.  Since lie_nn's ``l = 1`` basis is
``(y, z, x)``, ``D_1(R) = P R P^T`` with ``P = xyz_to_l1_basis()`` — not ``R`` itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lie_nn._src.groups.o3 import O3
from lie_nn._src.groups.so3 import SO3
from lie_nn._src.groups.su2 import SU2

__all__ = [
    "axis_angle_to_matrix",
    "euler_to_matrix",
    "matrix_to_axis_angle",
    "matrix_to_euler",
    "matrix_to_quaternion",
    "quaternion_to_matrix",
    "random_quaternion",
    "random_rotation",
    "wigner_D",
    "xyz_to_l1_basis",
]

_ORTHO_TOL = 1e-5  # relative tolerance on R^T R = 1 and |q| = 1 (float32 inputs pass)


def _as_float(value: Any, name: str, tail: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real array, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.shape[arr.ndim - len(tail):] != tail or arr.ndim < len(tail):
        raise ValueError(f"{name} must have shape (..., {', '.join(map(str, tail))}), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def xyz_to_l1_basis() -> np.ndarray:
    r"""``P (3, 3)`` with ``P (x, y, z)^T = (y, z, x)^T``: Cartesian → lie_nn's ``l = 1`` basis.

    (The basis of ``SO3(1)``, ``O3(1, -1)`` and of ``spherical_harmonics(1, r) ∝ P r``.)

    The pitfall: ``wigner_D(SO3(1), R)`` is ``P R P^T``, so it must act on ``P r``, never on the
    Cartesian ``r`` itself.

    >>> R = random_rotation(0)
    >>> P = xyz_to_l1_basis()
    >>> r = np.array([1.0, 2.0, 3.0])
    >>> bool(np.allclose(wigner_D(SO3(1), R) @ (P @ r), P @ (R @ r)))  # right: rotate in the l=1 basis
    True
    >>> bool(np.allclose(wigner_D(SO3(1), R) @ r, R @ r))  # wrong: D applied to xyz positions
    False
    """
    return np.eye(3)[[1, 2, 0]]


def random_quaternion(seed: int | np.random.Generator | None = None, size: int | tuple[int, ...] = ()
                      ) -> np.ndarray:
    """Uniform (Haar) unit quaternions ``(*size, 4)``, ``w ≥ 0``, from a normal sample on ``S³``.

    >>> q = random_quaternion(1, size=5)
    >>> q.shape, bool(np.allclose(np.linalg.norm(q, axis=-1), 1.0))
    ((5, 4), True)
    """
    size = (size,) if isinstance(size, int) else tuple(size)
    q = _rng(seed).standard_normal((*size, 4))
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[..., :1] < 0, -q, q)


def random_rotation(seed: int | np.random.Generator | None = None, size: int | tuple[int, ...] = ()
                    ) -> np.ndarray:
    """Uniform (Haar) random rotation matrices ``(*size, 3, 3)`` from a seeded numpy Generator.

    >>> R = random_rotation(0)
    >>> bool(np.allclose(R @ R.T, np.eye(3))), round(float(np.linalg.det(R)), 12)
    (True, 1.0)
    """
    return quaternion_to_matrix(random_quaternion(seed, size))


def _unit_quaternion(q: Any) -> np.ndarray:
    q = _as_float(q, "quaternion", (4,))
    norm = np.linalg.norm(q, axis=-1)
    if np.any(np.abs(norm - 1) > _ORTHO_TOL):
        raise ValueError(f"quaternion must have unit norm, got norms in [{norm.min():.6g}, {norm.max():.6g}]")
    return q / norm[..., None]


def quaternion_to_matrix(q: Any) -> np.ndarray:
    """The rotation matrix ``(..., 3, 3)`` of unit quaternions ``(..., 4) = (w, x, y, z)``.

    >>> quaternion_to_matrix([np.cos(np.pi / 4), 0, 0, np.sin(np.pi / 4)]).round(12) + 0.0  # 90° about z
    array([[ 0., -1.,  0.],
           [ 1.,  0.,  0.],
           [ 0.,  0.,  1.]])
    """
    w, x, y, z = np.moveaxis(_unit_quaternion(q), -1, 0)
    rows = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ]
    return np.stack([np.stack(row, axis=-1) for row in rows], axis=-2)


def _check_rotation(R: Any, allow_improper: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``R`` as float64 with its determinant signs; refuses non-orthogonal matrices."""
    R = _as_float(R, "rotation matrix", (3, 3))
    err = np.abs(np.swapaxes(R, -1, -2) @ R - np.eye(3)).max(initial=0.0)
    if err > _ORTHO_TOL:
        raise ValueError(f"rotation matrix must be orthogonal (R^T R = 1), deviation {err:.3g}")
    det = np.sign(np.linalg.det(R))
    if not allow_improper and np.any(det < 0):
        raise ValueError("rotation matrix has det = -1 (a reflection); a proper rotation is required here")
    return R, det


def matrix_to_quaternion(R: Any) -> np.ndarray:
    """Unit quaternions ``(..., 4)`` with ``w ≥ 0`` of proper rotation matrices (Shepperd's method).

    >>> R = random_rotation(3, size=4)
    >>> bool(np.allclose(quaternion_to_matrix(matrix_to_quaternion(R)), R))
    True
    """
    R, _ = _check_rotation(R)
    tr = np.trace(R, axis1=-2, axis2=-1)
    diag = np.diagonal(R, axis1=-2, axis2=-1)
    # 4 candidate formulas, each stable when its leading component is the largest
    cand = np.stack([
        np.stack([1 + tr, R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0],
                  R[..., 1, 0] - R[..., 0, 1]], -1),
        np.stack([R[..., 2, 1] - R[..., 1, 2], 1 + 2 * diag[..., 0] - tr, R[..., 0, 1] + R[..., 1, 0],
                  R[..., 0, 2] + R[..., 2, 0]], -1),
        np.stack([R[..., 0, 2] - R[..., 2, 0], R[..., 0, 1] + R[..., 1, 0], 1 + 2 * diag[..., 1] - tr,
                  R[..., 1, 2] + R[..., 2, 1]], -1),
        np.stack([R[..., 1, 0] - R[..., 0, 1], R[..., 0, 2] + R[..., 2, 0], R[..., 1, 2] + R[..., 2, 1],
                  1 + 2 * diag[..., 2] - tr], -1),
    ], axis=-2)  # (..., 4, 4): row k is 4 q_k q
    best = np.argmax(np.stack([tr, *np.moveaxis(diag, -1, 0)], -1), axis=-1)
    q = np.take_along_axis(cand, best[..., None, None], axis=-2)[..., 0, :]
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[..., :1] < 0, -q, q)


def axis_angle_to_matrix(axis: Any, angle: Any) -> np.ndarray:
    r"""Rodrigues: ``R = I + \sin θ [n]_× + (1 - \cos θ) [n]_×²`` for axes ``(..., 3)`` (normalised here).

    >>> axis_angle_to_matrix([0, 0, 2.0], np.pi / 2).round(12) + 0.0
    array([[ 0., -1.,  0.],
           [ 1.,  0.,  0.],
           [ 0.,  0.,  1.]])
    """
    axis = _as_float(axis, "axis", (3,))
    angle = _as_float(angle, "angle", ())
    norm = np.linalg.norm(axis, axis=-1, keepdims=True)
    if np.any(norm == 0):
        raise ValueError("axis must be a non-zero vector")
    n = axis / norm
    half = angle[..., None] / 2
    return quaternion_to_matrix(np.concatenate([np.cos(half), np.sin(half) * n], axis=-1))


def _rotation_vector(q: np.ndarray) -> np.ndarray:
    """``θ n`` of unit quaternions, ``θ = 2 atan2(|v|, w) ∈ [0, 2π]``; ``q = -1`` gives ``2π ẑ``."""
    v, w = q[..., 1:], q[..., 0]
    s = np.linalg.norm(v, axis=-1)
    theta = 2 * np.arctan2(s, w)
    omega = v * (theta / np.where(s > 0, s, 1.0))[..., None]
    full_turn = (s == 0) & (w < 0)
    return np.where(full_turn[..., None], np.array([0.0, 0.0, 2 * np.pi]), omega)


def matrix_to_axis_angle(R: Any) -> tuple[np.ndarray, np.ndarray]:
    """Unit axes ``(..., 3)`` and angles ``θ ∈ [0, π]`` (``(...,)``); the identity gets axis ``(0, 0, 1)``.

    >>> axis, angle = matrix_to_axis_angle(axis_angle_to_matrix([1.0, 0, 0], 0.5))
    >>> axis.round(12) + 0.0, round(float(angle), 12)
    (array([1., 0., 0.]), 0.5)
    """
    omega = _rotation_vector(matrix_to_quaternion(R))
    angle = np.linalg.norm(omega, axis=-1)
    safe = np.where(angle > 0, angle, 1.0)[..., None]
    axis = np.where(angle[..., None] > 0, omega / safe, np.array([0.0, 0.0, 1.0]))
    return axis, angle


def _rz(a: np.ndarray) -> np.ndarray:
    c, s, o, i = np.cos(a), np.sin(a), np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, -s, o], -1), np.stack([s, c, o], -1), np.stack([o, o, i], -1)], -2)


def _ry(b: np.ndarray) -> np.ndarray:
    c, s, o, i = np.cos(b), np.sin(b), np.zeros_like(b), np.ones_like(b)
    return np.stack([np.stack([c, o, s], -1), np.stack([o, i, o], -1), np.stack([-s, o, c], -1)], -2)


def euler_to_matrix(alpha: Any, beta: Any, gamma: Any) -> np.ndarray:
    """``R = R_z(α) R_y(β) R_z(γ)`` (ZYZ, active), broadcasting the angles.

    >>> bool(np.allclose(euler_to_matrix(0.3, 0.0, 0.4), euler_to_matrix(0.7, 0.0, 0.0)))
    True
    """
    a, b, g = np.broadcast_arrays(*(_as_float(x, name, ()) for x, name in
                                    ((alpha, "alpha"), (beta, "beta"), (gamma, "gamma"))))
    return _rz(a) @ _ry(b) @ _rz(g)


def matrix_to_euler(R: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ZYZ angles ``(α, γ ∈ (-π, π], β ∈ [0, π])`` of proper rotations; at ``β ∈ {0, π}`` ``γ = 0``.

    >>> a, b, g = matrix_to_euler(euler_to_matrix(0.1, 0.2, 0.3))
    >>> [round(float(t), 12) for t in (a, b, g)]
    [0.1, 0.2, 0.3]
    """
    R, _ = _check_rotation(R)
    beta = np.arccos(np.clip(R[..., 2, 2], -1.0, 1.0))
    regular = np.hypot(R[..., 0, 2], R[..., 1, 2]) > 1e-12  # sin β
    # degenerate β ∈ {0, π}: R = R_z(α ± γ) R_y(β); with γ = 0, (R_01, R_11) = (-sin α, cos α) in both
    alpha = np.where(regular, np.arctan2(R[..., 1, 2], R[..., 0, 2]), np.arctan2(-R[..., 0, 1], R[..., 1, 1]))
    gamma = np.where(regular, np.arctan2(R[..., 2, 1], -R[..., 2, 0]), 0.0)
    return alpha, beta, gamma


def _expm_anti_hermitian(a: np.ndarray) -> np.ndarray:
    """``exp(A)`` for anti-Hermitian ``A (..., d, d)`` via the eigendecomposition of ``i A``."""
    lam, v = np.linalg.eigh(1j * a)
    return (v * np.exp(-1j * lam)[..., None, :]) @ np.swapaxes(v.conj(), -1, -2)


def wigner_D(ir: SO3 | O3 | SU2, rotation: Any) -> np.ndarray:
    r"""``D(g) (..., d, d)`` of an ``SO3``, ``O3`` or ``SU2`` irrep, in lie_nn's basis of that irrep.

    ``rotation`` is a matrix ``(..., 3, 3)`` or a unit quaternion ``(..., 4)``.  With ``θ n`` the
    rotation vector, ``D = \exp(θ\, n_a X_a)`` with ``X = ir.algebra()``, so ``D(R_1 R_2) = D(R_1) D(R_2)``
    and ``spherical_harmonics(l, R r) = D_l(R) spherical_harmonics(l, r)``.  ``O3`` irreps accept
    improper matrices (``det R = -1``: ``R = -R'``, ``D(R) = p D(R')``).  ``SU2`` irreps of
    half-integer spin need the quaternion (an ``SU(2)`` element: ``D(-q) = -D(q)``); their ``D`` is
    complex.  ``SO3`` / ``O3`` results are real float64.

    >>> R = euler_to_matrix(0.1, 0.2, 0.3)
    >>> P = xyz_to_l1_basis()
    >>> bool(np.allclose(wigner_D(SO3(1), R), P @ R @ P.T))
    True
    >>> bool(np.allclose(wigner_D(O3(1, -1), -R), -P @ R @ P.T))
    True
    >>> wigner_D(SU2("1/2"), [0.0, 0.0, 0.0, 1.0]).round(12)  # π about z: exp(-iπ J_z), m = -1/2, 1/2
    array([[0.+1.j, 0.+0.j],
           [0.+0.j, 0.-1.j]])
    """
    if not isinstance(ir, (SO3, O3, SU2)):
        raise TypeError(f"wigner_D: ir must be an SO3, O3 or SU2 irrep, got {ir!r}")
    arr = np.asarray(rotation)
    if arr.ndim >= 1 and arr.shape[-1] == 4:
        q, det = _unit_quaternion(arr), np.ones(arr.shape[:-1])
    elif arr.ndim >= 2 and arr.shape[-2:] == (3, 3):
        if isinstance(ir, SU2) and ir.j.denominator != 1:
            raise ValueError(f"wigner_D: {ir} has half-integer spin: pass a quaternion (an SU(2) element), a "
                             f"rotation matrix does not fix the sign of D")
        R, det = _check_rotation(arr, allow_improper=isinstance(ir, O3))
        q = matrix_to_quaternion(R * det[..., None, None])
    else:
        raise ValueError(f"wigner_D: rotation must be a (..., 3, 3) matrix or a (..., 4) quaternion, "
                         f"got shape {arr.shape}")
    omega = _rotation_vector(q)
    d = _expm_anti_hermitian(np.einsum("...a,aij->...ij", omega, ir.algebra()))
    if isinstance(ir, SU2):
        return d
    d = d.real
    if isinstance(ir, O3):
        d = np.where((det < 0)[..., None, None], ir.discrete_generators()[0] @ d, d)
    return d
