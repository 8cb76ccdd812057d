"""Every layer on groups given only by generators: SO(4) and Sp(4) defining representations.

The output irreps of tensor products and symmetric powers come from the numeric selection rule
(``GenericRep * GenericRep``, :func:`lie_nn.decompose_generators`); equivariance is checked with
:func:`lie_nn.testing.assert_equivariant` in float64.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lie_nn as lnn
import lie_nn.nn as lnn_nn
from lie_nn.testing import assert_equivariant


def so4() -> np.ndarray:
    out = []
    for i in range(4):
        for j in range(i + 1, 4):
            m = np.zeros((4, 4))
            m[i, j], m[j, i] = -1.0, 1.0
            out.append(m)
    return np.array(out)


def sp4() -> np.ndarray:
    """The compact sp(2): anti-Hermitian 4x4 X with X^T J + J X = 0 (10 generators, on C^4)."""
    J = np.block([[np.zeros((2, 2)), np.eye(2)], [-np.eye(2), np.zeros((2, 2))]])
    u4 = []
    for i in range(4):
        for j in range(4):
            e = np.zeros((4, 4), complex)
            if i == j:
                e[i, i] = 1j
            elif i < j:
                e[i, j], e[j, i] = 1, -1
            else:
                e[i, j], e[j, i] = 1j, 1j
            u4.append(e)
    u4 = np.array(u4)
    cond = (np.einsum("aji,jk->aik", u4, J) + np.einsum("ij,ajk->aik", J, u4)).reshape(16, -1)
    _, s, vh = np.linalg.svd(np.concatenate([cond.real, cond.imag], axis=1).T)
    return np.einsum("ka,aij->kij", vh[np.sum(s > 1e-10):], u4)


VEC4 = lnn.GenericRep(so4(), label="4")
ONE = VEC4.trivial()
PIECES = {m.ir.dim: m.ir for m in VEC4 * VEC4 if m.ir.dim == 9}
NODE = lnn.Irreps([(3, ONE), (2, VEC4)])
EDGE = lnn.Irreps([ONE, VEC4])


def test_selection_rule_returns_the_users_irreps() -> None:
    rule = VEC4 * VEC4
    assert [(m.mul, m.ir.dim) for m in rule] == [(1, 1), (1, 3), (1, 3), (1, 9)]
    assert rule[0].ir == ONE
    assert [m.ir for m in VEC4 * ONE] == [VEC4]
    four_nine = VEC4 * PIECES[9]  # (1/2,1/2) x (1,1) = (1/2,1/2) + (3/2,1/2) + (1/2,3/2) + (3/2,3/2)
    assert [m.ir.dim for m in four_nine] == [4, 8, 8, 16] and four_nine[0].ir == VEC4


def test_channelwise_without_filter() -> None:
    tp = lnn_nn.ChannelwiseTensorProduct(NODE, EDGE, dtype=torch.float64)
    assert sorted({m.ir.dim for m in tp.irreps_out}) == [1, 3, 4, 9]
    assert assert_equivariant(tp, (NODE, EDGE), tp.irreps_out) < 1e-10


@pytest.mark.parametrize("correlation", [1, 3])
def test_symmetric_contraction(correlation: int) -> None:
    out = lnn.Irreps([ONE, VEC4])
    sc = lnn_nn.SymmetricContraction(lnn.Irreps([(2, ONE), (2, VEC4)]), out, correlation, dtype=torch.float64)
    assert assert_equivariant(sc, sc.irreps_in, sc.irreps_out) < 1e-10


def test_mace_layer_so4() -> None:
    torch.manual_seed(0)
    hidden = lnn.Irreps([(2, ONE), (2, VEC4)])
    layer = lnn_nn.MACELayer(NODE, EDGE, hidden, hidden, correlation=2, num_elements=2, num_radial=3,
                             radial_hidden=(8,), dtype=torch.float64)
    edge_index = torch.tensor([[0, 1, 2, 3, 1], [1, 2, 3, 0, 3]])
    z = torch.tensor([0, 1, 0, 1])
    radial = torch.rand(5, 3, dtype=torch.float64)

    def on_graph(nodes: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        return layer(nodes, z, edges, radial, edge_index)

    nodes = torch.randn(4, NODE.dim, dtype=torch.float64)
    edges = torch.randn(5, EDGE.dim, dtype=torch.float64)
    assert on_graph(nodes, edges).abs().max() > 0
    assert assert_equivariant(on_graph, (NODE, EDGE), hidden, inputs=(nodes, edges)) < 1e-10


def test_sp4_layers() -> None:
    vec = lnn.GenericRep(sp4(), label="4")
    assert not vec.is_real and [m.ir.dim for m in vec * vec] == [1, 5, 10]
    node = lnn.Irreps([(2, vec.trivial()), (2, vec)])
    tp = lnn_nn.ChannelwiseTensorProduct(node, lnn.Irreps(vec), dtype=torch.float64)
    assert assert_equivariant(tp, (node, lnn.Irreps(vec)), tp.irreps_out) < 1e-10
    sc = lnn_nn.SymmetricContraction(node, lnn.Irreps([vec.trivial(), vec]), 2, dtype=torch.float64)
    assert assert_equivariant(sc, sc.irreps_in, sc.irreps_out) < 1e-10
