"""Linear: equivariance for every group, Schur structure, normalisation, bias, errors."""

from __future__ import annotations

import pytest
import torch
from nn_helpers import GROUPS, features, layer_case

from lie_nn._src.groups.o3 import O3
from lie_nn._src.groups.so3 import SO3
from lie_nn._src.groups.su2 import SU2
from lie_nn.nn._linear import Linear
from lie_nn.testing import assert_equivariant


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("group", GROUPS)
def test_linear_equivariant(group: str, dtype: torch.dtype) -> None:
    case = layer_case(group)
    lin = Linear(case.in1 + case.out, case.out, bias=True, dtype=dtype)  # repeated irreps in the input
    with torch.no_grad():
        lin.bias.normal_()
    assert_equivariant(lin, lin.irreps_in, lin.irreps_out, dtype=dtype)


def test_weight_numel_and_schur_structure() -> None:
    lin = Linear([(2, O3(0, 1)), (3, O3(1, -1)), (1, O3(0, 1)), (4, O3(2, 1))],
                 [(5, O3(0, 1)), (2, O3(1, -1)), (3, O3(1, 1)), (1, O3(0, -1))], dtype=torch.float64)
    assert lin.weight_numel == 3 * 5 + 3 * 2  # no 1e / 0o inputs, no 2e output
    x = torch.zeros(2, lin.dim_in, dtype=torch.float64)
    x[:, 2:11] = torch.randn(2, 9, dtype=torch.float64)  # only the 1o block
    y = lin(x)
    assert torch.all(y[:, :5] == 0) and torch.all(y[:, 11:] == 0) and y[:, 5:11].abs().sum() > 0


def test_explicit_formula() -> None:
    lin = Linear([(3, SO3(1)), (2, SO3(1))], [(4, SO3(1))], dtype=torch.float64)
    x = torch.randn(7, 15, dtype=torch.float64)
    w = lin.weight.view(5, 4)
    expected = torch.einsum("bui,uw->bwi", x.view(7, 5, 3), w) / 5**0.5
    torch.testing.assert_close(lin(x), expected.reshape(7, 12))


def test_unit_variance_and_bias() -> None:
    torch.manual_seed(0)
    lin = Linear([(256, SO3(0)), (256, SO3(2))], [(256, SO3(0)), (256, SO3(2))], bias=True,
                 dtype=torch.float64)
    y = lin(torch.randn(500, lin.dim_in, dtype=torch.float64))
    assert abs(y.var().item() - 1) < 0.1
    assert lin.bias.shape == (256,)
    assert Linear([(2, SO3(1))], [(2, SO3(1))], bias=True).bias.shape == (0,)


def test_complex_features_and_batch_shape() -> None:
    case = layer_case("SU2")
    in1 = case.in1
    lin = Linear(in1, case.out, bias=True, dtype=torch.float64)
    x = features(in1, 6, torch.complex128, complex_=True).view(2, 3, -1)
    y = lin(x)
    assert y.dtype == torch.complex128 and y.shape == (2, 3, lin.dim_out)
    y.abs().sum().backward()
    assert lin.weight.grad is not None and lin.bias.grad is not None


def test_empty_and_unreachable_outputs() -> None:
    lin = Linear([(2, SU2(1))], [(3, SU2(0))], bias=True, dtype=torch.float64)
    assert lin.weight_numel == 0
    y = lin(torch.randn(4, 6, dtype=torch.float64))
    torch.testing.assert_close(y, torch.zeros(4, 3, dtype=torch.float64))


def test_bad_inputs() -> None:
    lin = Linear([(2, SO3(1))], [(2, SO3(1))])
    with pytest.raises(ValueError, match=r"Linear: x must have shape \(\.\.\., 6\), got \(3, 5\)"):
        lin(torch.randn(3, 5))
    with pytest.raises(TypeError, match="float or complex"):
        lin(torch.ones(3, 6, dtype=torch.long))
    with pytest.raises(TypeError, match="different groups"):
        Linear([(2, SO3(1))], [(2, O3(1, -1))])
    with pytest.raises(TypeError, match="Linear: irreps_in: cannot build Irreps from 3"):
        Linear(3, [(2, SO3(1))])
    with pytest.raises(ValueError, match=">= 0"):
        Linear([(-1, SO3(1))], [(2, SO3(1))])
