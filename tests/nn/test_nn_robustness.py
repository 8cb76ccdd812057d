"""Rough edges a new user hit (issue 16): zero-length edges, bad edge indices, half precision, compile."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

import lie_nn.nn as lnn
from lie_nn._src.groups.o3 import O3
from lie_nn._src.groups.so3 import SO3
from lie_nn._src.groups.su2 import SU2
from lie_nn._src.groups.sun import SUN

SH = [O3(ell, (-1) ** ell) for ell in (0, 1, 2)]
NODE = [(4, O3(0, 1)), (2, O3(1, -1))]
HIDDEN = [(3, O3(0, 1)), (3, O3(1, -1)), (3, O3(2, 1))]


# ------------------------------------------------------------------ zero-length edges
def test_bessel_basis_at_zero_is_the_finite_limit() -> None:
    basis = lnn.BesselBasis(5.0, 8)
    limit = math.sqrt(2 / 5.0) * torch.arange(1, 9) * math.pi / 5.0
    torch.testing.assert_close(basis(0.0), limit)  # a Python number is accepted
    r = torch.tensor([0.0, 1e-6, 1.0], dtype=torch.float64, requires_grad=True)
    basis64 = lnn.BesselBasis(5.0, 8).double()
    out = basis64(r)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[0], out[1], rtol=1e-10, atol=1e-10)  # continuous at 0
    (grad,) = torch.autograd.grad(out.sum(), r)
    assert torch.isfinite(grad).all() and grad[0] == 0  # even in r: zero slope at the origin
    # sin(a r) / r = a - a^3 r^2 / 6 + ...: slope -a^3 r / 3 near the origin
    a = torch.arange(1, 9, dtype=torch.float64) * math.pi / 5.0
    slope = -math.sqrt(2 / 5.0) * (a**3).sum() * 1e-6 / 3
    torch.testing.assert_close(grad[1], slope, rtol=1e-4, atol=0)  # cancellation: ~1e-6 relative
    r = torch.tensor([0.3, 2.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(basis64, (r,))


def test_trainable_bessel_gradient_at_zero() -> None:
    basis = lnn.BesselBasis(3.0, 4, trainable=True)
    basis(torch.zeros(3)).sum().backward()
    assert torch.isfinite(basis.frequencies.grad).all()
    with pytest.raises(TypeError, match="float"):
        basis(torch.zeros(3, dtype=torch.long))


# ------------------------------------------------------------------ MACEInteraction inputs
def interaction(dtype: torch.dtype = torch.float64) -> lnn.MACEInteraction:
    torch.manual_seed(0)
    return lnn.MACEInteraction(NODE, SH, HIDDEN, 4, (8,), dtype=dtype)


def inputs(n_edges: int = 6):
    gen = torch.Generator().manual_seed(0)
    feats = torch.randn(4, 10, generator=gen, dtype=torch.float64)
    vec = torch.randn(n_edges, 3, generator=gen, dtype=torch.float64)
    edge_index = torch.stack([torch.arange(n_edges) % 4, (torch.arange(n_edges) + 1) % 4])
    return feats, lnn.spherical_harmonics([0, 1, 2], vec), torch.randn(n_edges, 4, generator=gen,
                                                                       dtype=torch.float64), edge_index


def test_negative_or_out_of_range_node_index_is_refused() -> None:
    block = interaction()
    feats, sh, radial, edge_index = inputs()
    block(feats, sh, radial, edge_index)
    for row in (0, 1):
        bad = edge_index.clone()
        bad[row, 2] = -1
        with pytest.raises(ValueError, match="negative"):
            block(feats, sh, radial, bad)
    bad = edge_index.clone()
    bad[0, 0] = 4
    with pytest.raises(ValueError, match=r"must lie in \[0, 4\)"):
        block(feats, sh, radial, bad)
    with pytest.raises(TypeError, match="integer"):
        block(feats, sh, radial, edge_index.double())


def test_edge_count_mismatch_names_the_edge_tensor() -> None:
    block = interaction()
    feats, sh, radial, edge_index = inputs()
    with pytest.raises(ValueError, match=r"edge_attrs must have one row per edge, shape \(6, 9\)"):
        block(feats, sh[:5], radial, edge_index)
    with pytest.raises(ValueError, match="edge_feats must have one row per edge"):
        block(feats, sh, radial[:5], edge_index)
    with pytest.raises(ValueError, match="edge_attrs must have shape"):
        block(feats, sh[:, :4], radial, edge_index)
    with pytest.raises(ValueError, match=r"edge_index must have shape \(2, num_edges\)"):
        block(feats, sh, radial, edge_index[:1])


def test_interaction_parameters_follow_dtype() -> None:
    assert {p.dtype for p in interaction(torch.float64).parameters()} == {torch.float64}
    assert {p.dtype for p in lnn.RadialMLP([3, 4], torch.tanh, bias=True, dtype=torch.float64).parameters()} \
        == {torch.float64}


# ------------------------------------------------------------------ half precision
def so3_layers() -> list[tuple[torch.nn.Module, int, int | None]]:
    """(float32 layer, input dim, second input dim or None)."""
    torch.manual_seed(0)
    in1, in2 = [(2, SO3(0)), (2, SO3(1))], [SO3(0), SO3(1)]
    return [(lnn.Linear(in1, [(3, SO3(0)), (1, SO3(1))], bias=True), 8, None),
            (lnn.TensorProduct(in1, in2, [(2, SO3(1))]), 8, 4),
            (lnn.ChannelwiseTensorProduct(in1, in2), 8, 4),
            (lnn.SymmetricContraction(in1, [SO3(0), SO3(1)], 3), 8, None),
            (lnn.Gate([(2, SO3(0))], torch.tanh, [(2, SO3(0))], torch.sigmoid, [(2, SO3(1))]), 10, None),
            (lnn.NormActivation(in1, torch.sigmoid), 8, None),
            (lnn.RadialMLP([8, 4], torch.tanh), 8, None)]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_computed_in_half_precision(dtype: torch.dtype) -> None:
    gen = torch.Generator().manual_seed(1)
    for layer, d1, d2 in so3_layers():
        xs = [torch.randn(5, d, generator=gen) for d in (d1, d2) if d is not None]
        ref = layer(*xs)
        out = layer(*(x.to(dtype) for x in xs))
        assert out.dtype == dtype, type(layer).__name__
        err = (out.float() - ref).abs().max() / ref.abs().max()
        assert err < 0.05, f"{type(layer).__name__}: relative error {err:.2e} in {dtype}"
    out = lnn.BesselBasis(5.0, 4)(torch.tensor([0.0, 1.0], dtype=dtype))
    assert out.dtype == dtype and torch.isfinite(out).all()


def test_half_precision_complex_features_are_refused() -> None:
    tp = lnn.ChannelwiseTensorProduct([(2, SUN((1, 0, 0)))], [SUN((1, 1, 0))])  # complex CGs
    assert tp.cg_is_complex
    with pytest.raises(TypeError, match="float32 or float64"):
        tp(torch.randn(3, 6, dtype=torch.float16), torch.randn(3, 3, dtype=torch.float16))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "ComplexHalf support is experimental"
        half = torch.randn(3, 6, dtype=torch.complex64).to(torch.complex32)
    with pytest.raises(TypeError, match="complex64 / complex128"):
        tp(half, torch.randn(3, 3))
    sc = lnn.SymmetricContraction([(2, SU2(0)), (2, SU2(1))], [SU2(0)], 2)
    assert sc(torch.randn(3, 8, dtype=torch.bfloat16)).dtype == torch.bfloat16  # real CGs: supported


# ------------------------------------------------------------------ torch.compile
def test_mace_layer_compiles_without_graph_breaks() -> None:
    """Dynamo traces the default path (element indices, edge checks) in one graph (``fullgraph=True``
    raises on any graph break); the eager backend keeps the test fast."""
    torch.manual_seed(0)
    layer = lnn.MACELayer(NODE, SH, HIDDEN, [(2, O3(0, 1))], correlation=2, num_elements=3, num_radial=4,
                          radial_hidden=(8,), dtype=torch.float64)
    feats, sh, radial, edge_index = inputs()
    z = torch.tensor([0, 2, 1, 2])
    eager = layer(feats, z, sh, radial, edge_index)
    torch._dynamo.reset()
    compiled = torch.compile(layer, backend="eager", fullgraph=True)
    torch.testing.assert_close(compiled(feats, z, sh, radial, edge_index), eager, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("correlation", [1, 3])
def test_symmetric_contraction_indices_trace_in_one_graph(correlation: int) -> None:
    torch.manual_seed(0)
    sc = lnn.SymmetricContraction([(3, O3(0, 1)), (3, O3(1, -1))], [O3(0, 1), O3(1, -1)], correlation,
                                  num_elements=3, dtype=torch.float64)
    x, z = torch.randn(7, sc.dim_in, dtype=torch.float64), torch.tensor([0, 2, 1, 2, 0, 0, 1])
    torch._dynamo.reset()
    compiled = torch.compile(sc, backend="eager", fullgraph=True)
    torch.testing.assert_close(compiled(x, z), sc(x, z), rtol=1e-12, atol=1e-12)


def test_interaction_on_a_user_defined_group() -> None:
    """A group given only by generators (GenericRep) runs through MACEInteraction, equivariantly."""
    from nn_helpers import layer_case

    from lie_nn.testing import assert_equivariant

    case = layer_case("GenericSO3")
    torch.manual_seed(0)
    block = lnn.MACEInteraction(case.in1, case.in2, case.out, 3, (4,), dtype=torch.float64)
    edge_index = torch.tensor([[0, 1, 2, 3, 0], [1, 2, 3, 0, 2]])
    radial = torch.randn(5, 3, dtype=torch.float64)

    def fn(nodes: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        return block(nodes, edges, radial, edge_index)

    nodes = torch.randn(4, block.irreps_node.dim, dtype=torch.float64)
    edges = torch.randn(5, block.irreps_edge_attr.dim, dtype=torch.float64)
    assert_equivariant(fn, (block.irreps_node, block.irreps_edge_attr), block.irreps_out,
                       inputs=(nodes, edges))
