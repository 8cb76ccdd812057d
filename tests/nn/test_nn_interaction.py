"""Spherical harmonics, MACEInteraction and MACELayer: O(3) and permutation equivariance, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nn_helpers import elements, rep_matrix

from lie_nn._src.groups.o3 import O3
from lie_nn._src.groups.so3 import SO3
from lie_nn.nn._interaction import MACEInteraction, MACELayer, spherical_harmonics
from lie_nn.nn._radial import BesselBasis, PolynomialCutoff
from lie_nn.nn._scatter import scatter_sum
from lie_nn.testing import represent

LS = [0, 1, 2, 3]
SH = [O3(ell, (-1) ** ell) for ell in LS]
NODE = [(4, O3(0, 1)), (2, O3(1, -1)), (2, O3(2, 1))]
HIDDEN = [(3, O3(0, 1)), (3, O3(1, -1)), (3, O3(2, 1))]
OUT = [(2, O3(0, 1)), (2, O3(1, -1))]
PERM = [1, 2, 0]  # Cartesian (x, y, z) -> lie_nn's l = 1 basis (y, z, x)


def cartesian(g) -> torch.Tensor:
    """The 3x3 Cartesian matrix of an O(3) element (rotation times optional inversion)."""
    d = np.real(represent(O3(1, -1), g))
    p = np.eye(3)[PERM]  # u_basis = p @ r_cartesian
    return torch.from_numpy(p.T @ d @ p)


def graph(n: int = 6, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    pos = torch.randn(n, 3, generator=gen, dtype=torch.float64)
    send, recv = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    mask = send != recv
    edge_index = torch.stack([send[mask], recv[mask]])
    feats = torch.randn(n, sum(m * ir.dim for m, ir in NODE), generator=gen, dtype=torch.float64)
    return pos, edge_index, feats


def edge_inputs(pos: torch.Tensor, edge_index: torch.Tensor):
    vec = pos[edge_index[1]] - pos[edge_index[0]]
    r = vec.norm(dim=-1)
    radial = BesselBasis(5.0, 8)(r) * PolynomialCutoff(5.0)(r).unsqueeze(-1)
    return spherical_harmonics(LS, vec), radial


@pytest.mark.parametrize("parity", [False, True])
def test_spherical_harmonics_equivariant(parity: bool) -> None:
    vec = torch.randn(20, 3, dtype=torch.float64)
    y = spherical_harmonics(LS, vec)
    irs = SH if parity else [SO3(ell) for ell in LS]
    for g in elements(SH if parity else irs):
        if not parity and g.discrete:
            continue
        rot = spherical_harmonics(LS, vec @ cartesian(g).T)
        expected = y @ torch.from_numpy(np.real(rep_matrix(irs, g))).T
        torch.testing.assert_close(rot, expected, rtol=1e-10, atol=1e-10)


def test_spherical_harmonics_values() -> None:
    vec = torch.randn(50, 3, dtype=torch.float64)
    y = spherical_harmonics([0, 1, 2, 3, 4], vec)
    start = 0
    for ell in range(5):
        block = y[:, start : start + 2 * ell + 1]
        expected = torch.full((50,), 2.0 * ell + 1, dtype=torch.float64)
        torch.testing.assert_close(block.square().sum(-1), expected)
        start += 2 * ell + 1
    unit = vec / vec.norm(dim=-1, keepdim=True)
    torch.testing.assert_close(y[:, 1:4].abs(), (np.sqrt(3) * unit[:, PERM]).abs())
    poly = spherical_harmonics(2, 3.0 * vec, normalize=False)
    torch.testing.assert_close(poly, (3.0 * vec.norm(dim=-1, keepdim=True)) ** 2 * y[:, 4:9])
    with pytest.raises(ValueError, match="ls"):
        spherical_harmonics([-1], vec)
    with pytest.raises(ValueError, match="vectors"):
        spherical_harmonics(1, vec[:, :2])


def test_scatter_sum() -> None:
    src = torch.arange(8.0).reshape(4, 2)
    out = scatter_sum(src, torch.tensor([2, 0, 2, 1]), 4)
    torch.testing.assert_close(out, torch.tensor([[2.0, 3.0], [6.0, 7.0], [4.0, 6.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="index"):
        scatter_sum(src, torch.tensor([0, 1]), 3)


def make_interaction() -> MACEInteraction:
    torch.manual_seed(0)
    return MACEInteraction(NODE, SH, HIDDEN, 8, (16,), avg_num_neighbors=5.0, dtype=torch.float64)


def rotate_nodes(feats: torch.Tensor, g, irreps) -> torch.Tensor:
    return feats @ torch.from_numpy(np.real(rep_matrix(irreps, g))).T


def test_interaction_o3_equivariant() -> None:
    block = make_interaction()
    pos, edge_index, feats = graph()
    out = block(feats, *edge_inputs(pos, edge_index), edge_index)
    assert out.shape == (6, sum(m * ir.dim for m, ir in HIDDEN))
    for g in elements(SH):
        rot = block(rotate_nodes(feats, g, NODE), *edge_inputs(pos @ cartesian(g).T, edge_index), edge_index)
        torch.testing.assert_close(rot, rotate_nodes(out, g, HIDDEN), rtol=1e-10, atol=1e-10)


def test_interaction_permutation_equivariant() -> None:
    block = make_interaction()
    pos, edge_index, feats = graph(seed=1)
    keep = torch.rand(edge_index.shape[1], generator=torch.Generator().manual_seed(2)) < 0.6
    edge_index = edge_index[:, keep]
    out = block(feats, *edge_inputs(pos, edge_index), edge_index)
    perm = torch.randperm(6, generator=torch.Generator().manual_seed(3))
    inverse = torch.argsort(perm)  # new node k is old node perm[k]
    new_edges = inverse[edge_index].flip(1)  # relabel and reorder the edges as well
    out_p = block(feats[perm], *edge_inputs(pos[perm], new_edges), new_edges)
    torch.testing.assert_close(out_p, out[perm], rtol=1e-10, atol=1e-10)


def test_mace_layer_equivariant_and_float32() -> None:
    torch.manual_seed(0)
    layer = MACELayer(NODE, SH, HIDDEN, OUT, correlation=3, num_elements=3, num_radial=8, radial_hidden=(16,),
                      avg_num_neighbors=5.0, dtype=torch.float64)
    pos, edge_index, feats = graph(seed=4)
    z = torch.tensor([0, 1, 2, 0, 1, 2])
    out = layer(feats, z, *edge_inputs(pos, edge_index), edge_index)
    assert out.shape == (6, 8)
    for g in elements(SH):
        moved = edge_inputs(pos @ cartesian(g).T, edge_index)
        rot = layer(rotate_nodes(feats, g, NODE), z, *moved, edge_index)
        torch.testing.assert_close(rot, rotate_nodes(out, g, OUT), rtol=1e-10, atol=1e-10)
    layer32 = layer.float()
    out32 = layer32(feats.float(), z, *(t.float() for t in edge_inputs(pos, edge_index)), edge_index)
    torch.testing.assert_close(out32.double(), out, rtol=1e-4, atol=1e-4)


def test_interaction_bad_inputs() -> None:
    with pytest.raises(ValueError, match="avg_num_neighbors"):
        MACEInteraction(NODE, SH, HIDDEN, 8, (16,), avg_num_neighbors=0.0)
    block = make_interaction()
    pos, edge_index, feats = graph()
    sh, radial = edge_inputs(pos, edge_index)
    with pytest.raises(ValueError, match="edge_index"):
        block(feats, sh, radial, edge_index[:1])
    with pytest.raises(ValueError, match="node_feats"):
        block(feats[:, :-1], sh, radial, edge_index)


def test_interaction_float32_equivariance_near_float64() -> None:
    """The float32 layer's equivariance error is rounding-level: ``f32(g·x)`` is within a few tens of
    float32 ulps (relative to the output's scale) of the exact ``g·f64(x)``, the rotated inputs being formed
    in float64 so that only the layer's own rounding is measured (measured: 2-3 ulps)."""
    import copy

    block64 = make_interaction()
    block32 = copy.deepcopy(block64).float()
    pos, edge_index, feats = graph(n=8, seed=5)
    eps = torch.finfo(torch.float32).eps
    with torch.no_grad():
        out64 = block64(feats, *edge_inputs(pos, edge_index), edge_index)
        for g in elements(SH):
            moved = [t.float() for t in edge_inputs(pos @ cartesian(g).T, edge_index)]
            rot32 = block32(rotate_nodes(feats, g, NODE).float(), *moved, edge_index)
            expected = rotate_nodes(out64, g, HIDDEN)
            error = float((rot32.double() - expected).abs().max() / expected.abs().max())
            assert error < 30 * eps, f"float32 equivariance error {error:.2e} (float32 eps {eps:.1e})"
