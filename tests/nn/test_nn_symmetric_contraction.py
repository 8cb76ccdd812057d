"""SymmetricContraction: equivariance for every group, brute-force reference, element weights, errors."""

from __future__ import annotations

import string

import numpy as np
import pytest
import torch
from nn_helpers import GROUPS, features, layer_case

from lie_nn._src.groups.o3 import O3
from lie_nn._src.groups.so3 import SO3
from lie_nn._src.groups.su2 import SU2
from lie_nn._src.reduced_tensor_product import reduced_symmetric_tensor_product
from lie_nn.nn._symmetric_contraction import SymmetricContraction
from lie_nn.testing import assert_equivariant

MUL = 2
# fixed examples for the single-group tests: (channel irreps, output irreps)
FIXED = {"O3": ([O3(0, 1), O3(1, -1), O3(2, 1)], [O3(0, 1), O3(1, -1), O3(2, 1)]),
         "SO3": ([SO3(0), SO3(1), SO3(2)], [SO3(0), SO3(1)]),
         "SU2": ([SU2(0), SU2("1/2"), SU2(1)], [SU2(0), SU2("1/2"), SU2(1)])}


def irreps_for(name: str) -> tuple[list, list]:
    """(channel irreps, output irreps): fixed ones, or derived from the group's example irreps."""
    if name in FIXED:
        return FIXED[name]
    case = layer_case(name)
    if not case.has_selection_rule:
        pytest.skip(f"{name}: SymmetricContraction needs the group's selection rule (user-defined group)")
    return list(case.channel), list(case.outputs[:2])


def make(name: str, correlation: int, elements: int | None = 3, dtype=torch.float64, seed: int = 0):
    irs_in, irs_out = irreps_for(name)
    torch.manual_seed(seed)
    return SymmetricContraction([(MUL, ir) for ir in irs_in], irs_out, correlation, elements, dtype=dtype)


def check_equivariant(sc: SymmetricContraction, y: torch.Tensor | None, dtype=torch.float64) -> None:
    batch = 5 if y is None else len(y)
    assert_equivariant(lambda x: sc(x, y), sc.irreps_in, sc.irreps_out, dtype=dtype, batch=batch)


def reference(sc: SymmetricContraction, x: torch.Tensor, y: torch.Tensor | None) -> np.ndarray:
    """Explicit ``Σ_{ν,k} W · U^ν_k · x_c^{⊗ν}`` with the full (unreduced) bases."""
    x = x.detach().numpy().astype(np.complex128)
    batch, mul = x.shape[0], sc.mul
    xc = np.concatenate([x[:, s : s + mul * ir.dim].reshape(batch, mul, ir.dim) for ir, s in zip(
        sc.channel_irreps, np.cumsum([0] + [mul * ir.dim for ir in sc.channel_irreps]), strict=False)], -1)
    w = sc.weight.detach().numpy()
    w = w[np.zeros(batch, int) if y is None else y.numpy()]  # (batch, K, mul)
    outs = []
    for j, mir in enumerate(sc.irreps_out):
        total = np.zeros((batch, mul, mir.ir.dim), dtype=np.complex128)
        paths = [p for p in sc.paths if p[0] == j]
        n_paths = sum(p[2] for p in paths)
        for _, nu, k, off in paths:
            u = reduced_symmetric_tensor_product(sc.channel_irreps, nu, filter_ir_out=[mir.ir])[mir.ir]
            letters = string.ascii_uppercase[:nu]
            expr = "k" + letters + "z," + ",".join(f"bc{c}" for c in letters) + "->bckz"
            t = np.einsum(expr, u, *([xc] * nu))  # (batch, mul, K, d)
            total += np.einsum("bckz,bkc->bcz", t, w[:, off : off + k]) / np.sqrt(n_paths)
        outs.append(total.reshape(batch, -1))
    return np.concatenate(outs, -1)


@pytest.mark.parametrize("name", GROUPS)
@pytest.mark.parametrize("correlation", [1, 2, 3])
def test_equivariant_float64(name: str, correlation: int) -> None:
    check_equivariant(make(name, correlation), torch.tensor([0, 2, 1, 2, 0]))


@pytest.mark.parametrize("name", GROUPS)
def test_equivariant_float32(name: str) -> None:
    check_equivariant(make(name, 3, dtype=torch.float32), torch.tensor([0, 2, 1, 2, 0]), torch.float32)


def test_assert_equivariant_cross_check() -> None:
    sc = make("O3", 3, elements=None)
    assert_equivariant(lambda x: sc(x), sc.irreps_in, sc.irreps_out)


@pytest.mark.parametrize("name", GROUPS)
@pytest.mark.parametrize("correlation", [1, 2, 3])
def test_matches_brute_force(name: str, correlation: int) -> None:
    sc = make(name, correlation)
    cplx = not all(ir.is_real for ir in sc.channel_irreps)
    x = features(sc.irreps_in, 6, torch.float64, seed=1, complex_=cplx)
    y = torch.tensor([0, 1, 2, 2, 1, 0])
    out = sc(x, y).detach().numpy()
    ref = reference(sc, x, y)
    np.testing.assert_allclose(out, ref, atol=1e-11 * max(1.0, np.abs(ref).max()))


@pytest.mark.slow
def test_correlation_4() -> None:
    sc = make("O3", 4)
    y = torch.tensor([0, 2, 1, 1, 0])
    x = features(sc.irreps_in, 5, torch.float64, seed=2)
    np.testing.assert_allclose(sc(x, y).detach().numpy(), reference(sc, x, y), atol=1e-10)
    check_equivariant(sc, y)


def test_correlation_4_so3_small() -> None:
    torch.manual_seed(0)
    sc = SymmetricContraction([(MUL, SO3(0)), (MUL, SO3(1))], [SO3(0), SO3(1)], 4, dtype=torch.float64)
    x = features(sc.irreps_in, 4, torch.float64, seed=3)
    np.testing.assert_allclose(sc(x).detach().numpy(), reference(sc, x, None), atol=1e-11)
    check_equivariant(sc, None)


def test_element_selection() -> None:
    sc = make("O3", 3, elements=4)
    x = features(sc.irreps_in, 7, torch.float64, seed=4)
    y = torch.tensor([3, 0, 3, 1, 0, 2, 3])
    out = sc(x, y)
    onehot = torch.nn.functional.one_hot(y, 4).double()
    torch.testing.assert_close(sc(x, onehot), out, rtol=1e-12, atol=1e-12)
    shared = make("O3", 3, elements=None)
    for e in range(4):
        with torch.no_grad():
            shared.weight.copy_(sc.weight[e : e + 1])
        mask = y == e
        torch.testing.assert_close(shared(x[mask]), out[mask], rtol=1e-12, atol=1e-12)
    soft = torch.rand(7, 4, dtype=torch.float64)  # weights mix linearly
    mixed = sum(soft[:, e : e + 1] * sc(x, torch.full((7,), e)) for e in range(4))
    torch.testing.assert_close(sc(x, soft), mixed, rtol=1e-12, atol=1e-12)


def test_channel_major_input_and_shapes() -> None:
    sc = make("O3", 2)
    x = features(sc.irreps_in, 5, torch.float64, seed=5)
    y = torch.tensor([0, 1, 2, 0, 1])
    blocks, start = [], 0
    for ir in sc.channel_irreps:
        blocks.append(x[:, start : start + MUL * ir.dim].reshape(5, MUL, ir.dim))
        start += MUL * ir.dim
    out = sc(x, y)
    assert out.shape == (5, sc.irreps_out.dim if hasattr(sc.irreps_out, "dim") else sc.dim_out)
    torch.testing.assert_close(sc(torch.cat(blocks, -1), y), out)
    assert [m.mul for m in sc.irreps_out] == [MUL] * 3
    assert sc.weight.shape == (3, sum(p[2] for p in sc.paths), MUL)
    assert sc(x[:0], y[:0]).shape == (0, sc.dim_out)


def test_gradients() -> None:
    sc = make("SO3", 3, elements=2)
    x = features(sc.irreps_in, 3, torch.float64, seed=6).requires_grad_()
    y = torch.tensor([1, 0, 1])
    assert torch.autograd.gradcheck(lambda x, w: torch.func.functional_call(sc, {"weight": w}, (x, y)),
                                    (x, sc.weight.detach().clone().requires_grad_()))


def test_complex_gradients_and_dtype() -> None:
    sc = make("SU2", 2, elements=None)
    x = features(sc.irreps_in, 3, torch.float64, seed=7, complex_=True)
    out = sc(x)
    assert out.dtype == torch.complex128
    out.abs().square().sum().backward()
    assert sc.weight.grad is not None and torch.isfinite(sc.weight.grad).all()
    sc32 = sc.float()
    assert sc32(x.to(torch.complex64)).dtype == torch.complex64
    torch.testing.assert_close(sc32.double()(x), out.detach(), rtol=1e-5, atol=1e-5)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="one positive multiplicity"):
        SymmetricContraction([(2, SO3(0)), (3, SO3(1))], [SO3(0)], 2)
    with pytest.raises(ValueError, match="correlation"):
        SymmetricContraction([(2, SO3(0))], [SO3(0)], 0)
    with pytest.raises(ValueError, match="num_elements"):
        SymmetricContraction([(2, SO3(0))], [SO3(0)], 1, 0)
    with pytest.raises(ValueError, match="multiplicities"):
        SymmetricContraction([(2, SO3(0))], [(3, SO3(0))], 1)
    with pytest.raises(ValueError, match="does not occur"):
        SymmetricContraction([(2, O3(0, 1))], [O3(1, -1)], 3)
    with pytest.raises(TypeError):
        SymmetricContraction([(2, SO3(0))], [SU2(0)], 1)
    sc = make("SO3", 2)
    x = torch.randn(4, sc.dim_in, dtype=torch.float64)
    with pytest.raises(ValueError, match="shape"):
        sc(x[:, :-1], torch.zeros(4, dtype=torch.long))
    with pytest.raises(TypeError, match="torch.Tensor"):
        sc(x.numpy(), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="y must be"):
        sc(x, torch.zeros(3, dtype=torch.long))
    with pytest.raises(TypeError, match="y must be"):
        sc(x, None)
    with pytest.raises(ValueError, match="element indices"):
        sc(x, torch.full((4,), 3))
    with pytest.raises(ValueError, match="shared weights"):
        make("SO3", 2, elements=None)(x, torch.zeros(4, dtype=torch.long))


# ------------------------------------------------------------------ gaps found by mutation testing
@pytest.mark.parametrize("correlation", [1, 2, 3])
def test_multiplicity_one_inputs(correlation: int) -> None:
    torch.manual_seed(1)
    irreps_in = [(1, O3(0, 1)), (1, O3(1, -1)), (1, O3(2, 1))]
    sc = SymmetricContraction(irreps_in, [O3(0, 1), O3(1, -1)], correlation, 2, dtype=torch.float64)
    assert sc.mul == 1 and [m.mul for m in sc.irreps_out] == [1, 1]
    x = features(sc.irreps_in, 5, torch.float64, seed=8)
    y = torch.tensor([1, 0, 0, 1, 1])
    np.testing.assert_allclose(sc(x, y).detach().numpy(), reference(sc, x, y), atol=1e-12)
    torch.testing.assert_close(sc(x.view(5, 1, 9), y), sc(x, y))  # channel-major with one channel
    check_equivariant(sc, y)


def test_single_element() -> None:
    torch.manual_seed(2)
    sc = SymmetricContraction([(2, SO3(0)), (2, SO3(1))], [SO3(0), SO3(1)], 3, num_elements=1,
                              dtype=torch.float64)
    assert sc.weight.shape[0] == 1
    x = features(sc.irreps_in, 4, torch.float64, seed=9)
    zeros = torch.zeros(4, dtype=torch.long)
    out = sc(x, zeros)
    np.testing.assert_allclose(out.detach().numpy(), reference(sc, x, zeros), atol=1e-12)
    torch.testing.assert_close(sc(x, torch.ones(4, 1, dtype=torch.float64)), out)
    with pytest.raises(ValueError, match=r"element indices must lie in \[0, 1\)"):
        sc(x, torch.tensor([0, 1, 0, 0]))
    with pytest.raises(ValueError, match="y must be"):
        sc(x, torch.ones(4, 2, dtype=torch.float64))
    check_equivariant(sc, zeros)


def test_three_dimensional_input_with_wrong_trailing_shape() -> None:
    sc = make("SO3", 2, elements=None)  # mul 2, channel dim 1 + 3 + 5 = 9
    good = torch.randn(4, 2, 9, dtype=torch.float64)
    assert sc(good).shape == (4, sc.dim_out)
    for bad in (torch.randn(4, 2, 8, dtype=torch.float64), torch.randn(4, 3, 9, dtype=torch.float64),
                torch.randn(4, 9, 2, dtype=torch.float64), torch.randn(2, 4, 2, 9, dtype=torch.float64)):
        with pytest.raises(ValueError, match=r"x must have shape \(batch, 18\) or \(batch, 2, 9\)"):
            sc(bad)


# ------------------------------------------------------------------ correlation 1 fast path
def test_first_order_fast_path_general_coefficients() -> None:
    """A descriptor whose copies are mixed (``Ũ R``, still a valid basis) takes the contraction branch of
    the correlation-1 path; it must equal the plain layer with weights ``R W``."""
    import dataclasses

    import lie_nn as lnn

    irs = [O3(0, 1), O3(1, -1), O3(0, 1)]
    d = lnn.symmetric_contraction_descriptor([(3, ir) for ir in irs], [O3(0, 1)], 1)
    u = d.coefficients[0].array  # (M, K=2, 1)
    c, s = np.cos(0.5), np.sin(0.5)
    rot = np.array([[c, -s], [s, c]])
    mixed = dataclasses.replace(d, coefficients=(lnn.CoefficientBlock(np.einsum("mkd,kq->mqd", u, rot)),))
    torch.manual_seed(0)
    fast = SymmetricContraction.from_descriptor(d, 2, dtype=torch.float64)
    general = SymmetricContraction.from_descriptor(mixed, 2, dtype=torch.float64)
    assert all(t.cg is None for t in fast._first_order[0].terms)
    assert all(t.cg is not None for t in general._first_order[0].terms)
    with torch.no_grad():
        fast.weight.copy_(torch.einsum("kq,eqc->ekc", torch.from_numpy(rot), general.weight))
    x = features(fast.irreps_in, 6, torch.float64, seed=10)
    y = torch.tensor([0, 1, 1, 0, 1, 0])
    torch.testing.assert_close(general(x, y), fast(x, y), rtol=1e-12, atol=1e-12)
    check_equivariant(general, y)
    onehot = torch.nn.functional.one_hot(y, 2).double()
    torch.testing.assert_close(general(x, onehot), general(x, y), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fast(x, y).detach().numpy(), reference(fast, x, y), atol=1e-12)
