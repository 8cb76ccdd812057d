"""Voxel layers: exact equivariance under the cube's symmetries (voxel permutations + D(R) on channels),
the discretisation error under arbitrary rotations shrinking with resolution, and clear errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from lie_nn import axis_angle_to_matrix, wigner_D
from lie_nn.nn import (
    VoxelBatchNorm,
    VoxelConvolution,
    VoxelGate,
    VoxelPool,
    field_rotation_matrix,
    rotate_field,
    spherical_harmonics,
)

O3_IN, O3_OUT = "2x0e + 1x1o + 1x2e + 1x0o", "1x0e + 2x1o + 1x2e + 1x1e"
SO3_IN, SO3_OUT = "2xSO3(0) + 1xSO3(1)", "1xSO3(0) + 1xSO3(1) + 1xSO3(2)"
TOL = {torch.float64: 1e-10, torch.float32: 1e-5}


def signed_permutations(proper: bool) -> list[np.ndarray]:
    """The 48 symmetries of the cube (24 proper ones with ``proper=True``)."""
    out = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            r = np.zeros((3, 3))
            r[range(3), perm] = signs
            if not proper or np.linalg.det(r) > 0:
                out.append(r)
    return out


def some_symmetries(proper: bool, n: int = 6, seed: int = 0) -> list[np.ndarray]:
    rots = signed_permutations(proper)
    idx = np.random.default_rng(seed).choice(len(rots), n, replace=False)
    return [rots[i] for i in idx]


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).detach().abs().max() / b.detach().abs().max().clamp_min(1e-30))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("group", ["O3", "SO3"])
def test_convolution_exact_cube_symmetries(dtype: torch.dtype, group: str) -> None:
    torch.manual_seed(0)
    irreps_in, irreps_out = (O3_IN, O3_OUT) if group == "O3" else (SO3_IN, SO3_OUT)
    conv = VoxelConvolution(irreps_in, irreps_out, 5, dtype=dtype)
    x = torch.randn(2, conv.irreps_in.dim, 7, 7, 7, dtype=dtype)
    y = conv(x)
    for r in some_symmetries(proper=group == "SO3"):
        rotated = conv(rotate_field(x, irreps_in, r))
        assert relative_error(rotated, rotate_field(y, irreps_out, r)) < TOL[dtype]


def test_convolution_stride_and_anisotropic_kernel_window() -> None:
    torch.manual_seed(1)
    conv = VoxelConvolution(O3_IN, O3_OUT, 3, stride=2, dtype=torch.float64)
    x = torch.randn(1, conv.irreps_in.dim, 9, 9, 9, dtype=torch.float64)
    y = conv(x)
    assert y.shape == (1, conv.irreps_out.dim, 5, 5, 5)
    for r in some_symmetries(proper=False, n=4, seed=1):
        assert relative_error(conv(rotate_field(x, O3_IN, r)), rotate_field(y, O3_OUT, r)) < 1e-10


def test_convolution_matches_conv3d_of_its_kernel_and_centre_is_scalar_only() -> None:
    torch.manual_seed(2)
    conv = VoxelConvolution("1x0e + 1x1o", "1x0e + 1x1o", 3, dtype=torch.float64)
    x = torch.randn(1, 4, 5, 5, 5, dtype=torch.float64)
    k = conv.kernel()
    bias = torch.zeros(4, dtype=torch.float64)
    bias[0] = conv.bias[0]
    assert torch.allclose(conv(x), torch.nn.functional.conv3d(x, k, bias, padding=1), atol=1e-12)
    centre = k[:, :, 1, 1, 1]  # Y_{l>=1}(0) = 0: the centre only couples equal irreps, as a multiple of 1
    assert torch.allclose(centre[0, 1:], torch.zeros(3, dtype=torch.float64))
    assert torch.allclose(centre[1:, 1:], centre[1, 1] * torch.eye(3, dtype=torch.float64), atol=1e-12)


def test_kernel_is_steerable_at_every_offset() -> None:
    """K(R s) = D_out(R) K(s) D_in(R)^T for a 90° rotation, read off the assembled kernel."""
    torch.manual_seed(3)
    conv = VoxelConvolution(O3_IN, O3_OUT, 5, dtype=torch.float64)
    k = conv.kernel()
    r = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    d_in = torch.as_tensor(field_rotation_matrix(O3_IN, r))
    d_out = torch.as_tensor(field_rotation_matrix(O3_OUT, r))
    for s in [(1, 0, 0), (1, 2, -1), (0, -2, 1)]:
        rs = r @ np.array(s)
        lhs = k[:, :, int(rs[0]) + 2, int(rs[1]) + 2, int(rs[2]) + 2]
        rhs = d_out @ k[:, :, s[0] + 2, s[1] + 2, s[2] + 2] @ d_in.T
        assert torch.allclose(lhs, rhs, atol=1e-12)


def _blobs(points: torch.Tensor) -> torch.Tensor:
    """A smooth scalar field: three Gaussians (width 1) at fixed positions, at ``points (..., 3)``."""
    centres = torch.tensor([[0.6, -0.3, 0.2], [-0.5, 0.4, -0.7], [0.1, 0.8, 0.5]], dtype=points.dtype)
    weights = torch.tensor([1.0, -0.7, 0.5], dtype=points.dtype)
    d2 = ((points[..., None, :] - centres) ** 2).sum(-1)
    return (weights * torch.exp(-d2)).sum(-1)


def rotation_error_at_centre(spacing: float, rotation: np.ndarray) -> float:
    """Relative error of ``conv(f∘R^{-1})(0)`` vs ``D(R) conv(f)(0)`` for the smooth ``f`` sampled on a grid
    of ``spacing`` (one continuous kernel of radius 2.5 at every resolution): pure discretisation error."""
    torch.manual_seed(4)
    k = int(round(2 / spacing)) * 2 + 1
    conv = VoxelConvolution("1x0e", "1x0e + 1x1o + 1x2e", k, spacing=spacing, r_max=2.5, num_radial=3,
                            padding=0,
                            dtype=torch.float64)
    axis = (torch.arange(k, dtype=torch.float64) - (k - 1) / 2) * spacing
    grid = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), -1)
    rot = torch.as_tensor(rotation)
    field = _blobs(grid)[None, None]
    rotated = _blobs(grid @ rot)[None, None]  # f(R^{-1} x): x^T R = (R^T x)^T
    y = conv(field)[0, :, 0, 0, 0]
    y_rot = conv(rotated)[0, :, 0, 0, 0]
    d = torch.as_tensor(field_rotation_matrix(conv.irreps_out, rotation))
    return float((y_rot - d @ y).detach().norm() / y.detach().norm())


def test_arbitrary_rotation_error_shrinks_with_resolution() -> None:
    rotation = np.asarray(axis_angle_to_matrix(np.array([0.3, -0.5, 0.8]), 0.7))
    errors = [rotation_error_at_centre(h, rotation) for h in (1.0, 0.5, 0.25)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.2 * errors[0]


def test_rotate_field_matches_analytic_rotation() -> None:
    """A field sampled from Y_1(r) rotates into Y_1 of the rotated grid (exact for a 90° rotation)."""
    n = 5
    axis = torch.arange(n, dtype=torch.float64) - (n - 1) / 2
    points = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), -1)
    field = spherical_harmonics(1, points, normalize=False).permute(3, 0, 1, 2)[None]
    r = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    # Y_1 is a covariant field: (R f)(p) = D(R) f(R^{-1} p) = Y_1(p), i.e. it is invariant
    assert torch.allclose(rotate_field(field, "1x1o", r), field, atol=1e-12)
    assert torch.allclose(torch.as_tensor(field_rotation_matrix("1o", r)), torch.as_tensor(
        wigner_D(O3_OUT_IR, r)), atol=1e-12)


O3_OUT_IR = VoxelConvolution("1x0e", "1x1o", 1, lmax=1).irreps_out[0].ir


def test_rotate_field_exact_and_resampled_paths_agree() -> None:
    torch.manual_seed(5)
    x = torch.randn(1, 4, 6, 6, 6, dtype=torch.float64)
    r = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])  # 90° about y
    nudged = np.asarray(axis_angle_to_matrix(np.array([0.0, 1.0, 0.0]), np.pi / 2 + 1e-12))
    irreps = "1x0e + 1x1o"
    assert torch.allclose(rotate_field(x, irreps, r), rotate_field(x, irreps, nudged), atol=1e-8)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_gate_norm_pool_equivariant(dtype: torch.dtype) -> None:
    torch.manual_seed(6)
    gate = VoxelGate("2x0e", torch.relu, "2x0e", torch.sigmoid, "1x1o + 1x2e")
    norm = VoxelBatchNorm("2x0e + 1x1o + 1x2e", dtype=dtype)
    irreps = "2x0e + 1x1o + 1x2e"
    x = torch.randn(2, gate.irreps_in.dim, 6, 6, 6, dtype=dtype)
    layers = [(gate, gate.irreps_in, gate.irreps_out), (norm, irreps, irreps),
              (VoxelPool(irreps, 2), irreps, irreps), (VoxelPool(irreps, 2, mode="norm_max"), irreps, irreps)]
    for layer, irreps_in, irreps_out in layers:
        xin = x if layer is gate else x[:, :10]
        y = layer(xin)
        for r in some_symmetries(proper=False, n=3, seed=7):
            assert relative_error(layer(rotate_field(xin, irreps_in, r)), rotate_field(y, irreps_out, r)) \
                < TOL[dtype]
    norm.eval()
    assert norm(x[:, :10]).shape == (2, 10, 6, 6, 6)


def test_batch_norm_running_statistics() -> None:
    norm = VoxelBatchNorm("1x0e + 1x1o", momentum=1.0, dtype=torch.float64)
    x = torch.randn(3, 4, 4, 4, 4, dtype=torch.float64) * 2 + 1
    y_train = norm(x)
    norm.eval()
    assert torch.allclose(norm(x), y_train, atol=1e-10)  # momentum 1: running stats = this batch's


@pytest.mark.parametrize("bad, message", [
    (torch.randn(1, 3, 4, 4, 4), "must have 4 channels"),
    (torch.randn(4, 4, 4, 4), "5D tensor"),
    (torch.zeros(1, 4, 4, 4, 4, dtype=torch.long), "floating-point"),
    ([[1.0]], "torch.Tensor"),
])
def test_convolution_bad_input(bad: object, message: str) -> None:
    conv = VoxelConvolution("1x0e + 1x1o", "1x0e", 3)
    with pytest.raises((ValueError, TypeError), match=message):
        conv(bad)


@pytest.mark.parametrize("kwargs, message", [
    ({"irreps_in": "1xSO3(0)", "irreps_out": "1x0e"}, "SO3 or all O3"),
    ({"kernel_size": 0}, "kernel_size"),
    ({"kernel_size": (3, 3)}, "kernel_size"),
    ({"spacing": -1.0}, "spacing"),
    ({"lmax": -1}, "lmax"),
])
def test_convolution_bad_construction(kwargs: dict, message: str) -> None:
    args = {"irreps_in": "1x0e", "irreps_out": "1x1o", "kernel_size": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        VoxelConvolution(args.pop("irreps_in"), args.pop("irreps_out"), args.pop("kernel_size"), **args)


def test_other_layers_bad_input() -> None:
    with pytest.raises(ValueError, match="3 channels"):
        VoxelPool("1x1o")(torch.randn(1, 2, 4, 4, 4))
    with pytest.raises(ValueError, match="mode"):
        VoxelPool("1x1o", mode="max")
    with pytest.raises(ValueError, match="5D"):
        VoxelBatchNorm("1x0e")(torch.randn(1, 4, 4, 4))
    with pytest.raises(ValueError, match="orthogonal"):
        rotate_field(torch.randn(1, 1, 2, 2, 2), "0e", np.ones((3, 3)))
    with pytest.raises(ValueError, match="channels"):
        rotate_field(torch.randn(1, 2, 2, 2, 2), "1o", np.eye(3))
