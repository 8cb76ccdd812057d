"""Rotation helpers: conversions and round trips, Haar sampling, Wigner-D homomorphism, lie_nn bases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lie_nn as lnn
from lie_nn import (
    O3,
    SO3,
    SU2,
    axis_angle_to_matrix,
    euler_to_matrix,
    matrix_to_axis_angle,
    matrix_to_euler,
    matrix_to_quaternion,
    quaternion_to_matrix,
    random_quaternion,
    random_rotation,
    wigner_D,
    xyz_to_l1_basis,
)
from lie_nn._src.groups.so3 import real_basis_change
from lie_nn.nn import spherical_harmonics

# the identity, the three rotations by π about the axes (w = 0), Euler-degenerate β = π and β = 0
SPECIAL = np.array([np.eye(3), np.diag([1.0, -1.0, -1.0]), np.diag([-1.0, 1.0, -1.0]),
                    np.diag([-1.0, -1.0, 1.0]), euler_to_matrix(0.4, np.pi, 0.0),
                    euler_to_matrix(-2.0, 0.0, 0.0)])


def hamilton(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    w1, v1, w2, v2 = p[..., 0], p[..., 1:], q[..., 0], q[..., 1:]
    w = w1 * w2 - (v1 * v2).sum(-1)
    return np.concatenate([w[..., None], w1[..., None] * v2 + w2[..., None] * v1 + np.cross(v1, v2)], -1)


def test_random_rotations_are_seeded_haar_rotations() -> None:
    R = random_rotation(0, size=4000)
    np.testing.assert_allclose(R @ np.swapaxes(R, -1, -2), np.broadcast_to(np.eye(3), R.shape), atol=1e-13)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-13)
    np.testing.assert_array_equal(random_rotation(0, size=4000), R)
    np.testing.assert_array_equal(random_rotation(np.random.default_rng(0), size=4000), R)
    # Haar: E[R] = 0 and E[tr R] = 0 (tr R = 1 + 2 cos θ); deviations ~ 1/sqrt(4000)
    assert np.abs(R.mean(0)).max() < 0.05 and abs(np.trace(R, axis1=1, axis2=2).mean()) < 0.1


def test_quaternion_round_trips_and_composition() -> None:
    q = random_quaternion(1, size=50)
    R = quaternion_to_matrix(q)
    np.testing.assert_allclose(matrix_to_quaternion(R), q, atol=1e-12)
    for m in SPECIAL:
        np.testing.assert_allclose(quaternion_to_matrix(matrix_to_quaternion(m)), m, atol=1e-12)
    p = random_quaternion(2, size=50)
    np.testing.assert_allclose(quaternion_to_matrix(hamilton(q, p)), R @ quaternion_to_matrix(p), atol=1e-12)
    np.testing.assert_allclose(quaternion_to_matrix(-q), R, atol=1e-12)


def test_axis_angle_round_trip_and_direction() -> None:
    rng = np.random.default_rng(3)
    axis = rng.normal(size=(40, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    angle = rng.uniform(0, np.pi, size=40)
    R = axis_angle_to_matrix(axis, angle)
    a2, t2 = matrix_to_axis_angle(R)
    np.testing.assert_allclose(a2, axis, atol=1e-10)
    np.testing.assert_allclose(t2, angle, atol=1e-12)
    np.testing.assert_allclose(R @ axis[..., None], axis[..., None], atol=1e-12)  # the axis is fixed
    # counter-clockwise: x -> y under +90° about z
    quarter_z = axis_angle_to_matrix([0, 0, 1.0], np.pi / 2)
    np.testing.assert_allclose(quarter_z @ [1.0, 0, 0], [0, 1.0, 0], atol=1e-15)
    for m in SPECIAL:
        a, t = matrix_to_axis_angle(m)
        np.testing.assert_allclose(axis_angle_to_matrix(a, t), m, atol=1e-12)


def test_euler_zyz_convention_and_round_trips() -> None:
    rng = np.random.default_rng(4)
    a, b, g = rng.uniform(-np.pi, np.pi, 30), rng.uniform(0, np.pi, 30), rng.uniform(-np.pi, np.pi, 30)
    R = euler_to_matrix(a, b, g)
    z, y = np.array([0, 0, 1.0]), np.array([0, 1.0, 0])
    expected = axis_angle_to_matrix(z, a) @ axis_angle_to_matrix(y, b) @ axis_angle_to_matrix(z, g)
    np.testing.assert_allclose(R, expected, atol=1e-12)
    for x, expected in zip(matrix_to_euler(R), (a, b, g), strict=True):
        np.testing.assert_allclose(x, expected, atol=1e-9)
    for m in [*SPECIAL, *random_rotation(5, size=20)]:
        np.testing.assert_allclose(euler_to_matrix(*matrix_to_euler(m)), m, atol=1e-12)


IRREPS = [SO3(0), SO3(1), SO3(2), SO3(5), O3(1, -1), O3(2, -1), O3(3, -1), O3(4, 1)]


@pytest.mark.parametrize("ir", IRREPS, ids=str)
def test_wigner_d_is_a_representation(ir) -> None:
    R1, R2 = random_rotation(6, size=5), random_rotation(7, size=5)
    if isinstance(ir, O3):
        R1 = R1 * np.array([1, -1, 1, -1, -1])[:, None, None]  # some improper
    d1, d2, d12 = wigner_D(ir, R1), wigner_D(ir, R2), wigner_D(ir, R1 @ R2)
    assert d12.dtype == np.float64 and d12.shape == (5, ir.dim, ir.dim)
    np.testing.assert_allclose(d12, d1 @ d2, atol=1e-12)
    eye = np.broadcast_to(np.eye(ir.dim), d1.shape)
    np.testing.assert_allclose(d1 @ np.swapaxes(d1, -1, -2), eye, atol=1e-12)
    np.testing.assert_allclose(wigner_D(ir, np.eye(3)), np.eye(ir.dim), atol=1e-14)
    if isinstance(ir, O3):
        np.testing.assert_allclose(wigner_D(ir, -np.eye(3)), ir.p * np.eye(ir.dim), atol=1e-14)
    # quaternion and matrix inputs agree (proper rotations)
    q = random_quaternion(8, size=3)
    np.testing.assert_allclose(wigner_D(ir, q), wigner_D(ir, quaternion_to_matrix(q)), atol=1e-12)


def test_l1_is_the_permuted_rotation_matrix() -> None:
    P = xyz_to_l1_basis()
    R = random_rotation(9, size=4)
    np.testing.assert_allclose(wigner_D(SO3(1), R), P @ R @ P.T, atol=1e-13)
    np.testing.assert_allclose(wigner_D(O3(1, -1), -R), -(P @ R @ P.T), atol=1e-13)
    np.testing.assert_allclose(wigner_D(O3(1, 1), -R), P @ R @ P.T, atol=1e-13)  # pseudovector
    # the pitfall of the issue: D applied to Cartesian positions is not the rotation
    assert np.abs(wigner_D(SO3(1), R) - R).max() > 0.1


@pytest.mark.parametrize("improper", [False, True])
def test_spherical_harmonics_intertwine(improper: bool) -> None:
    ls = list(range(9))
    R = random_rotation(10, size=())
    if improper:
        R = -R
    x = torch.randn(20, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    d = torch.block_diag(*[torch.from_numpy(wigner_D(O3(l, (-1) ** l), R)) for l in ls])
    y_rot = spherical_harmonics(ls, x @ torch.from_numpy(R).T)
    torch.testing.assert_close(y_rot, spherical_harmonics(ls, x) @ d.T, rtol=0, atol=1e-11)


@pytest.mark.parametrize("j", ["1/2", 1, "3/2", 2])
def test_su2_from_quaternions(j) -> None:
    ir = SU2(j)
    p, q = random_quaternion(11, size=4), random_quaternion(12, size=4)
    dp, dq = wigner_D(ir, p), wigner_D(ir, q)
    np.testing.assert_allclose(wigner_D(ir, hamilton(p, q)), dp @ dq, atol=1e-12)
    np.testing.assert_allclose(dp @ np.swapaxes(dp.conj(), -1, -2), np.broadcast_to(np.eye(ir.dim), dp.shape),
                               atol=1e-12)
    half = ir.j.denominator == 2
    np.testing.assert_allclose(wigner_D(ir, -p), -dp if half else dp, atol=1e-12)
    np.testing.assert_allclose(wigner_D(ir, [-1.0, 0, 0, 0]), -np.eye(ir.dim) if half else np.eye(ir.dim),
                               atol=1e-12)
    if not half:  # SU2(l) and SO3(l) are the same representation: v_real = Q v_complex
        Q = real_basis_change(int(ir.j))
        expected = wigner_D(SO3(int(ir.j)), quaternion_to_matrix(p))
        np.testing.assert_allclose(Q @ dp @ Q.conj().T, expected, atol=1e-12)
        np.testing.assert_allclose(wigner_D(ir, quaternion_to_matrix(p)), dp, atol=1e-12)


def test_wigner_d_intertwines_clebsch_gordan() -> None:
    """``(D_1 ⊗ D_2) C = C D_3``: the D matrices live in the basis of lie_nn's certified CGs."""
    R = random_rotation(13)
    for l1, l2, l3 in [(1, 1, 2), (2, 3, 4), (2, 2, 1)]:
        c = lnn.clebsch_gordan(SO3(l1), SO3(l2), SO3(l3))[0]
        d1, d2, d3 = (wigner_D(SO3(l), R) for l in (l1, l2, l3))
        np.testing.assert_allclose(np.einsum("ai,bj,ijk->abk", d1, d2, c), c @ d3, atol=1e-12)


def test_errors() -> None:
    with pytest.raises(ValueError, match="orthogonal"):
        wigner_D(SO3(1), np.ones((3, 3)))
    with pytest.raises(ValueError, match="det = -1"):
        wigner_D(SO3(1), -np.eye(3))
    with pytest.raises(ValueError, match="half-integer spin: pass a quaternion"):
        wigner_D(SU2("1/2"), np.eye(3))
    with pytest.raises(ValueError, match=r"\(\.\.\., 3, 3\) matrix or a \(\.\.\., 4\) quaternion"):
        wigner_D(SO3(1), np.eye(2))
    with pytest.raises(ValueError, match="unit norm"):
        wigner_D(SO3(1), [1.0, 1.0, 0, 0])
    with pytest.raises(TypeError, match="SO3, O3 or SU2"):
        wigner_D(lnn.SUN((1, 0, 0)), np.eye(3))
    with pytest.raises(ValueError, match="NaN"):
        matrix_to_quaternion(np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match="non-zero"):
        axis_angle_to_matrix([0.0, 0, 0], 1.0)
    with pytest.raises(ValueError, match="det = -1"):
        matrix_to_euler(np.diag([1.0, 1, -1]))
