"""ChannelwiseTensorProduct and TensorProduct: equivariance for every group, shapes, weights, errors."""

from __future__ import annotations

import pytest
import torch
from nn_helpers import GROUPS, features, is_complex, layer_case

from lie_nn._src.groups.lorentz import SO13
from lie_nn._src.groups.o3 import O3
from lie_nn._src.groups.so3 import SO3
from lie_nn._src.groups.su2 import SU2
from lie_nn._src.groups.sun import SUN
from lie_nn._src.irreps import Irreps
from lie_nn.nn._tensor_product import ChannelwiseTensorProduct, TensorProduct
from lie_nn.testing import assert_equivariant

# fixed single-group examples for the tests below that are not run over every group
SO3_IN1, SO3_IN2 = [(3, SO3(0)), (2, SO3(1)), (2, SO3(2))], [SO3(0), SO3(1), SO3(2)]
O3_IN1 = [(3, O3(0, 1)), (1, O3(0, -1)), (2, O3(1, -1)), (1, O3(2, 1))]
O3_IN2 = [O3(0, 1), O3(1, -1), O3(2, 1)]
O3_OUT = [(2, O3(0, 1)), (2, O3(0, -1)), (3, O3(1, -1)), (1, O3(1, 1)), (2, O3(2, 1))]
SU2_IN1, SU2_IN2 = [(2, SU2(0)), (2, SU2("1/2")), (1, SU2(1))], [SU2("1/2"), SU2(1)]
F, A = SUN((2, 1, 0)), SUN((1, 0, 0))


def channelwise(case, **kwargs) -> ChannelwiseTensorProduct:
    """The default outputs when the group has a selection rule, else every example irrep."""
    keep = None if case.has_selection_rule else case.outputs
    return ChannelwiseTensorProduct(case.in1, case.in2, keep, **kwargs)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("group", GROUPS)
def test_channelwise_equivariant(group: str, dtype: torch.dtype) -> None:
    case = layer_case(group)
    tp = channelwise(case, dtype=dtype)
    assert tp.weight_numel > 0
    assert_equivariant(tp, (tp.irreps_in1, tp.irreps_in2), tp.irreps_out, dtype=dtype)


@pytest.mark.parametrize("group", GROUPS)
def test_channelwise_external_weights_equivariant(group: str) -> None:
    tp = channelwise(layer_case(group), internal_weights=False, dtype=torch.float64)
    w = torch.randn(5, tp.weight_numel, dtype=torch.float64)
    assert_equivariant(lambda a, b: tp(a, b, w), (tp.irreps_in1, tp.irreps_in2), tp.irreps_out, batch=5)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("group", GROUPS)
def test_full_tensor_product_equivariant(group: str, dtype: torch.dtype) -> None:
    case = layer_case(group)
    tp = TensorProduct(case.in1, [(2, m.ir) for m in case.in2], case.out, dtype=dtype)
    assert tp.weight_numel > 0
    assert_equivariant(tp, (tp.irreps_in1, tp.irreps_in2), tp.irreps_out, dtype=dtype)


def test_su3_multiplicity_two_paths() -> None:
    f = SUN((2, 1, 0))
    tp = ChannelwiseTensorProduct([(3, f)], [f], filter_ir_out=[f], dtype=torch.float64)
    assert [str(m) for m in tp.irreps_out] == ["3xSU3(2,1,0)", "3xSU3(2,1,0)"]
    assert tp.weight_numel == 6
    full = TensorProduct([(2, f)], [(1, f)], [(2, f)], dtype=torch.float64)
    assert full.weight_numel == 2 * (2 * 1 * 2)
    # the two copies give independent outputs
    x1 = features([(3, f)], 4, torch.complex128, complex_=True)
    x2 = features([f], 4, torch.complex128, seed=1, complex_=True)
    y = tp(x1, x2).detach().reshape(4, 2, 24)
    assert torch.linalg.matrix_rank(torch.stack([y[:, 0].flatten(), y[:, 1].flatten()])) == 2


def test_channelwise_irreps_out_and_weight_numel() -> None:
    in1 = [(4, O3(0, 1)), (4, O3(1, -1)), (2, O3(2, 1))]
    sh = [O3(0, 1), O3(1, -1), O3(2, 1), O3(3, -1)]
    keep = [O3(l, p) for l in range(3) for p in (1, -1)]
    tp = ChannelwiseTensorProduct(in1, sh, filter_ir_out=keep, dtype=torch.float64)
    for m in tp.irreps_out:
        assert m.ir in keep
    assert tp.weight_numel == sum(m.mul for m in tp.irreps_out)
    # block 0 (scalars) comes first: 0e x sh -> 0e, 1o, 2e
    assert [str(m) for m in tp.irreps_out[:3]] == ["4xO3(0e)", "4xO3(1o)", "4xO3(2e)"]
    x1, x2 = torch.randn(7, 3, 26, dtype=torch.float64), torch.randn(7, 3, 16, dtype=torch.float64)
    assert tp(x1, x2).shape == (7, 3, tp.dim_out)
    assert tp(x1, x2[0]).shape == (7, 3, tp.dim_out)  # broadcasting over batch dims


def test_channelwise_matches_explicit_formula() -> None:
    """Cross-check the grouped implementation against a direct einsum per path."""
    from lie_nn.nn._tensor_product import normalised_cg

    in1 = [(3, SO3(1)), (2, SO3(2))]
    in2 = [SO3(0), SO3(1), SO3(2)]
    tp = ChannelwiseTensorProduct(in1, in2, internal_weights=False, dtype=torch.float64)
    x1, x2 = torch.randn(6, 19, dtype=torch.float64), torch.randn(6, 9, dtype=torch.float64)
    w = torch.randn(6, tp.weight_numel, dtype=torch.float64)
    got = tp(x1, x2, w)
    b1 = [x1[:, :9].view(6, 3, 3), x1[:, 9:].view(6, 2, 5)]
    b2 = [x2[:, :1], x2[:, 1:4], x2[:, 4:]]
    expected, w0 = [], 0
    for i, (m1, ir1) in enumerate(in1):
        paths = [(ir_out.l, j, ir_out) for j, ir2 in enumerate(in2)
                 for ir_out in [SO3(l) for l in range(abs(ir1.l - ir2.l), ir1.l + ir2.l + 1)]]
        for _, j, ir_out in sorted(paths, key=lambda p: p[:2]):
            c = torch.from_numpy(normalised_cg(ir1, in2[j], ir_out)[0])
            z = torch.einsum("bua,bc,ack->buk", b1[i], b2[j], c) * w[:, w0 : w0 + m1, None]
            expected.append(z.reshape(6, -1))
            w0 += m1
    torch.testing.assert_close(got, torch.cat(expected, -1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("group", ["SO3", "SU2", "SU3"])
def test_normalisation_unit_variance(group: str) -> None:
    case = layer_case(group)
    in1, in2 = [(32, m.ir) for m in case.in1], case.in2
    cplx = is_complex(in1)
    torch.manual_seed(0)
    dtype = torch.complex128 if cplx else torch.float64
    x1 = features(in1, 400, dtype, seed=1, complex_=cplx)
    x2 = features(in2, 400, dtype, seed=2, complex_=cplx)
    if cplx:  # unit variance E|z|^2 = 1
        x1, x2 = x1 / 2**0.5, x2 / 2**0.5
    tp = ChannelwiseTensorProduct(in1, in2, dtype=torch.float64)
    assert abs(tp(x1, x2).abs().pow(2).mean().item() - 1) < 0.1
    full = TensorProduct(in1, in2, [(32, m.ir) for m in case.out], dtype=torch.float64)
    assert abs(full(x1, x2).abs().pow(2).mean().item() - 1) < 0.15


def test_gradients_flow() -> None:
    in1, in2 = O3_IN1, O3_IN2
    tp = ChannelwiseTensorProduct(in1, in2, internal_weights=False, dtype=torch.float64)
    x1 = features(in1, 3, torch.float64).requires_grad_()
    x2 = features(in2, 3, torch.float64, seed=1).requires_grad_()
    w = torch.randn(3, tp.weight_numel, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b, c: tp(a, b, c), (x1, x2, w))
    full = TensorProduct(in1, in2, O3_OUT, dtype=torch.float64)
    full(x1, x2).pow(2).sum().backward()
    assert full.weight.grad is not None and full.weight.grad.abs().sum() > 0


def test_complex_gradients_flow() -> None:
    in1, in2 = SU2_IN1, SU2_IN2
    tp = ChannelwiseTensorProduct(in1, in2, dtype=torch.float64)
    x1 = features(in1, 3, torch.complex128, complex_=True).requires_grad_()
    tp(x1, features(in2, 3, torch.complex128, seed=1, complex_=True)).abs().pow(2).sum().backward()
    assert tp.weight.grad.dtype == torch.float64 and tp.weight.grad.abs().sum() > 0
    assert x1.grad is not None


def test_dtype_round_trip_keeps_cg_precision() -> None:
    tp = ChannelwiseTensorProduct([(2, F), (1, A)], [F])  # float32
    tp = tp.double()
    assert_equivariant(tp, (tp.irreps_in1, tp.irreps_in2), tp.irreps_out)
    assert all(buf.dtype == torch.float64 for buf in tp.buffers())
    assert list(tp.state_dict()) == ["weight"]


def test_bad_inputs() -> None:
    in1, in2 = SO3_IN1, SO3_IN2
    tp = ChannelwiseTensorProduct(in1, in2)
    with pytest.raises(ValueError, match=r"x1 must have shape \(\.\.\., 19\)"):
        tp(torch.randn(3, 18), torch.randn(3, 9))
    with pytest.raises(ValueError, match="x2"):
        tp(torch.randn(3, 19), torch.randn(3, 8))
    with pytest.raises(ValueError, match="internal weights"):
        tp(torch.randn(3, 19), torch.randn(3, 9), torch.randn(3, tp.weight_numel))
    ext = ChannelwiseTensorProduct(in1, in2, internal_weights=False)
    with pytest.raises(ValueError, match="internal_weights=False"):
        ext(torch.randn(3, 19), torch.randn(3, 9))
    with pytest.raises(ValueError, match="last dim"):
        ext(torch.randn(3, 19), torch.randn(3, 9), torch.randn(3, 5))
    with pytest.raises(ValueError, match="multiplicity 1"):
        ChannelwiseTensorProduct(in1, [(2, SO3(1))])
    with pytest.raises(TypeError, match="different groups"):
        ChannelwiseTensorProduct(in1, [O3(0, 1)])
    with pytest.raises(TypeError, match="TensorProduct: irreps of different groups"):
        TensorProduct("1x0e", in2, in1)  # O(3) label, SO(3) irreps
    with pytest.raises(TypeError, match="torch.Tensor"):
        tp([0.0] * 19, torch.randn(9))


def test_lorentz_with_repeated_irreps() -> None:
    in1 = [(2, SO13(0, 0)), (2, SO13("1/2", "1/2")), (1, SO13("1/2", 0))]
    in2, out = [SO13(0, 0), SO13("1/2", "1/2")], [(2, SO13(0, 0)), (3, SO13("1/2", "1/2"))]
    tp = ChannelwiseTensorProduct(in1, in2, dtype=torch.float64)
    assert_equivariant(tp, (tp.irreps_in1, tp.irreps_in2), tp.irreps_out, dtype=torch.float64)
    full = TensorProduct(in1, in2 + in2, out, dtype=torch.float32)
    assert_equivariant(full, (full.irreps_in1, full.irreps_in2), Irreps(out), dtype=torch.float32)
