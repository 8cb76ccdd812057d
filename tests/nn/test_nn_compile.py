"""torch.compile smoke test (CPU) and the public namespace of lie_nn.nn."""

from __future__ import annotations

import pytest
import torch
from nn_helpers import layer_case

import lie_nn.nn as lnn


def test_public_namespace() -> None:
    for name in lnn.__all__:
        assert getattr(lnn, name) is not None


class _Block(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        case = layer_case("O3")
        self.tp = lnn.ChannelwiseTensorProduct(case.in1, case.in2, internal_weights=False)
        self.radial = lnn.RadialMLP([4, 8, self.tp.weight_numel], torch.nn.functional.silu)
        self.basis = lnn.BesselBasis(3.0, 4)
        self.cut = lnn.PolynomialCutoff(3.0)
        n_gated = sum(m.mul for m in self.tp.irreps_out if m.ir.l > 0)
        n_scalar = sum(m.mul for m in self.tp.irreps_out if m.ir.l == 0 and m.ir.p == 1)
        from lie_nn._src.groups.o3 import O3

        gated = [m for m in self.tp.irreps_out if m.ir.l > 0]
        self.lin = lnn.Linear(self.tp.irreps_out, [(n_scalar + n_gated, O3(0, 1))] + gated)
        self.gate = lnn.Gate([(n_scalar, O3(0, 1))], torch.nn.functional.silu, [(n_gated, O3(0, 1))],
                             torch.sigmoid, gated)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        w = self.radial(self.basis(r)) * self.cut(r)[:, None]
        return self.gate(self.lin(self.tp(x1, x2, w)))


@pytest.mark.slow
def test_compile_matches_eager() -> None:
    torch.manual_seed(0)
    block = _Block()
    x1, x2 = torch.randn(16, block.tp.dim_in1), torch.randn(16, block.tp.dim_in2)
    r = torch.rand(16) * 2 + 0.5
    eager = block(x1, x2, r)
    compiled = torch.compile(block, fullgraph=True)
    torch.testing.assert_close(compiled(x1, x2, r), eager, rtol=1e-4, atol=1e-5)


def test_eager_block_runs() -> None:
    block = _Block()
    y = block(torch.randn(5, block.tp.dim_in1), torch.randn(5, block.tp.dim_in2), torch.rand(5) + 0.5)
    assert y.shape == (5, block.gate.dim_out)


@pytest.mark.slow
def test_compile_symmetric_contraction() -> None:
    """Element indices and one-hot element weights both compile without graph breaks (under
    compilation, indices take the one-hot path: the eager grouping reads counts on the host)."""
    from lie_nn._src.groups.o3 import O3

    torch.manual_seed(0)
    sc = lnn.SymmetricContraction([(4, O3(0, 1)), (4, O3(1, -1))], [O3(0, 1), O3(1, -1)], 3, num_elements=3)
    x, idx = torch.randn(10, sc.dim_in), torch.randint(0, 3, (10,))
    onehot = torch.nn.functional.one_hot(idx, 3).to(x.dtype)
    eager = sc(x, idx)
    torch.testing.assert_close(torch.compile(sc, fullgraph=True)(x, onehot), eager, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(torch.compile(sc, fullgraph=True)(x, idx), eager, rtol=1e-4, atol=1e-5)
