"""lie_nn layers run through cuEquivariance (CPU "naive" method) match lie_nn's own layers exactly.

Skipped when ``cuequivariance`` / ``cuequivariance-torch`` are not installed (``pip install lie_nn[gpu]``).
Every group of the example irreps is covered: real-coefficient groups must agree to ~1e-12 in float64
(outputs and gradients), complex-coefficient groups (SU(N) in lie_nn's complex basis) must be refused.
"""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("cuequivariance")
pytest.importorskip("cuequivariance_torch")

from nn_helpers import GROUPS, features, layer_case  # noqa: E402
from test_nn_symmetric_contraction import irreps_for  # noqa: E402

import lie_nn as lnn  # noqa: E402
from lie_nn._src.descriptors.cuequivariance import ir_mul_permutation, to_cue  # noqa: E402
from lie_nn.nn import ChannelwiseTensorProduct, SymmetricContraction, TensorProduct, to_cuequivariance  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
F64 = torch.float64


def _channelwise(name: str) -> ChannelwiseTensorProduct:
    case = layer_case(name)
    torch.manual_seed(0)
    return ChannelwiseTensorProduct(case.in1, case.in2, filter_ir_out=list(case.outputs), dtype=F64)


def _tensor_product(name: str) -> TensorProduct:
    case = layer_case(name)
    torch.manual_seed(0)
    return TensorProduct(case.in1, case.in2, case.out, dtype=F64)


def _contraction(name: str, correlation: int) -> SymmetricContraction:
    irs_in, irs_out = irreps_for(name)
    torch.manual_seed(0)
    return SymmetricContraction([(3, ir) for ir in irs_in], irs_out, correlation, 3, dtype=F64)


def _assert_same(ours: torch.Tensor, theirs: torch.Tensor, tol: float = 1e-12) -> None:
    """Equal to ``tol`` (relative to the largest entry); groups with complex irreps but real CGs
    (SO(1,3)) are fed real inputs here, so lie_nn's complex result must have zero imaginary part."""
    assert ours.shape == theirs.shape
    if ours.is_complex():
        assert float(ours.imag.abs().max()) <= tol
        ours = ours.real
    scale = max(1.0, float(ours.abs().max()))
    assert float((ours - theirs).abs().max()) <= tol * scale


def _check_pair(layer: torch.nn.Module, twin: torch.nn.Module, inputs: list[torch.Tensor],
                extra: tuple) -> None:
    """Same outputs, same gradients for inputs and the (shared) weight."""
    leaves = [x.clone().requires_grad_(True) for x in inputs]
    ours = layer(*leaves, *extra)
    probe = torch.randn_like(ours)
    grads = torch.autograd.grad((ours * probe).sum(), [*leaves, layer.weight])
    leaves2 = [x.clone().requires_grad_(True) for x in inputs]
    theirs = twin(*leaves2, *extra)
    grads2 = torch.autograd.grad((theirs * probe).sum(), [*leaves2, twin.weight])
    _assert_same(ours, theirs)
    for g, g2 in zip(grads, grads2, strict=True):
        _assert_same(g, g2)


@pytest.mark.parametrize("name", GROUPS)
def test_channelwise_matches(name: str) -> None:
    tp = _channelwise(name)
    if tp.cg_is_complex:
        with pytest.raises(ValueError, match="real coefficients only"):
            to_cuequivariance(tp, method="naive")
        return
    twin = to_cuequivariance(tp, method="naive")
    assert twin.weight is tp.weight
    x1, x2 = features(tp.irreps_in1, 5, F64, seed=1), features(tp.irreps_in2, 5, F64, seed=2)
    _check_pair(tp, twin, [x1, x2], ())


@pytest.mark.parametrize("name", GROUPS)
def test_tensor_product_matches(name: str) -> None:
    tp = _tensor_product(name)
    if tp.cg_is_complex:
        with pytest.raises(ValueError, match="real coefficients only"):
            to_cuequivariance(tp, method="naive")
        return
    twin = to_cuequivariance(tp, method="naive")
    x1, x2 = features(tp.irreps_in1, 4, F64, seed=3), features(tp.irreps_in2, 4, F64, seed=4)
    _check_pair(tp, twin, [x1, x2], ())


@pytest.mark.parametrize(("name", "correlation"), [(g, c) for g in GROUPS for c in (1, 2)] + [("O3", 3)])
def test_symmetric_contraction_matches(name: str, correlation: int) -> None:
    sc = _contraction(name, correlation)
    if sc.cg_is_complex:
        with pytest.raises(ValueError, match="real coefficients only"):
            to_cuequivariance(sc, method="naive")
        return
    twin = to_cuequivariance(sc, method="naive")
    x = features(sc.irreps_in, 6, F64, seed=5)
    y = torch.tensor([0, 2, 1, 2, 0, 1])
    _check_pair(sc, twin, [x], (y,))
    onehot = torch.nn.functional.one_hot(y, 3).to(F64)
    _assert_same(sc(x, onehot), twin(x, onehot))


def test_external_weights_and_broadcast() -> None:
    o3 = lnn.O3
    tp = ChannelwiseTensorProduct([(4, o3(0, 1)), (4, o3(1, -1))], [o3(0, 1), o3(1, -1)],
                                  internal_weights=False, dtype=F64)
    twin = to_cuequivariance(tp, method="naive")
    x1 = features(tp.irreps_in1, 6, F64, seed=6).reshape(2, 3, -1)
    x2 = features(tp.irreps_in2, 3, F64, seed=7)
    w = torch.randn(2, 3, tp.weight_numel, dtype=F64)
    _assert_same(tp(x1, x2, w), twin(x1, x2, w))
    with pytest.raises(ValueError, match="internal_weights=False"):
        twin(x1, x2)


def test_shared_contraction_and_float32() -> None:
    so3 = lnn.SO3
    sc = SymmetricContraction([(4, so3(0)), (4, so3(1))], [so3(0), so3(1)], 2, dtype=torch.float32)
    twin = to_cuequivariance(sc, method="naive")
    x = features(sc.irreps_in, 5, torch.float32, seed=8)
    ours, theirs = sc(x), twin(x)
    assert theirs.dtype == torch.float32
    assert float((ours - theirs).abs().max()) <= 1e-5 * max(1.0, float(ours.abs().max()))


def test_ir_mul_permutation_is_blockwise_transpose() -> None:
    irreps = lnn.Irreps([(2, lnn.SO3(0)), (3, lnn.SO3(1))])
    perm = ir_mul_permutation(irreps)
    assert sorted(perm.tolist()) == list(range(irreps.dim))
    assert perm[2:].tolist() == [2, 5, 8, 3, 6, 9, 4, 7, 10]


def test_clear_errors() -> None:
    with pytest.raises(TypeError, match="no cuEquivariance path for Linear"):
        to_cuequivariance(lnn.nn.Linear([(2, lnn.SO3(0))], [(2, lnn.SO3(0))]))
    with pytest.raises(TypeError, match="no cuEquivariance conversion"):
        to_cue(lnn.linear_descriptor([(2, lnn.SO3(0))], [(2, lnn.SO3(0))]))
    tp = _channelwise("SO3")
    with pytest.raises(ValueError, match="unknown method"):
        to_cuequivariance(tp, method="fast")
    twin = to_cuequivariance(tp, method="naive")
    with pytest.raises(ValueError, match="x1"):
        twin(torch.zeros(2, 3, dtype=F64), torch.zeros(2, tp.irreps_in2.dim, dtype=F64))
    sc = to_cuequivariance(_contraction("SO3", 2), method="naive")
    with pytest.raises(ValueError, match=r"element indices must lie in \[0, 3\)"):
        sc(features(sc.irreps_in, 2, F64), torch.tensor([0, 3]))
