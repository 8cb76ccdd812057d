"""Tests for DirectProduct irreps of G1 x G2 x ..."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lie_nn._src.cg import certify_clebsch_gordan, clebsch_gordan
from lie_nn._src.groups.lorentz import SO13
from lie_nn._src.groups.o3 import O3
from lie_nn._src.groups.product import DirectProduct
from lie_nn._src.groups.so3 import SO3
from lie_nn._src.groups.su2 import SU2
from lie_nn._src.groups.sun import SUN

half = st.integers(0, 3).map(lambda t: t / 2)
su2_so13 = st.builds(lambda j, m, n: DirectProduct((SU2(j), SO13(m, n))), half, half, half)
o3_irreps = st.builds(O3, st.integers(0, 2), st.sampled_from([1, -1]))
o3_su2 = st.builds(lambda a, j: DirectProduct((a, SU2(j))), o3_irreps, half)


def check_cg(ir1: DirectProduct, ir2: DirectProduct, ir3: DirectProduct, c: np.ndarray) -> None:
    """Intertwining for every generator and discrete generator, and isometry."""
    x1, x2, x3 = ir1.algebra(), ir2.algebra(), ir3.algebra()
    lhs = np.einsum("aik,mkjl->amijl", x1, c) + np.einsum("ajk,mikl->amijl", x2, c)
    assert np.abs(lhs - np.einsum("mijk,akl->amijl", c, x3)).max(initial=0) < 1e-10
    d1, d2, d3 = ir1.discrete_generators(), ir2.discrete_generators(), ir3.discrete_generators()
    lhs = np.einsum("bia,bjc,mack->bmijk", d1, d2, c)
    assert np.abs(lhs - np.einsum("mijl,blk->bmijk", c, d3)).max(initial=0) < 1e-10
    gram = np.einsum("mijk,nijl->mknl", c.conj(), c).reshape(c.shape[0] * ir3.dim, -1)
    np.testing.assert_allclose(gram, np.eye(c.shape[0] * ir3.dim), atol=1e-10)


# ----------------------------------------------------------------------------- construction
def test_validation() -> None:
    with pytest.raises(ValueError, match="at least two"):
        DirectProduct((SU2(1),))
    with pytest.raises(TypeError, match="factor 1"):
        DirectProduct((SU2(1), "SO3(1)"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        DirectProduct(SU2(1))  # type: ignore[arg-type]
    assert DirectProduct([SU2(1), SO3(0)]) == DirectProduct((SU2(1), SO3(0)))  # list accepted


def test_dims_and_algebra_layout() -> None:
    ir = DirectProduct((SU2("1/2"), SO3(1), SO13(1, 0)))
    assert ir.dim == 2 * 3 * 3
    x = ir.algebra()
    assert x.shape == (3 + 3 + 6, 18, 18)
    np.testing.assert_allclose(x[0], np.kron(SU2("1/2").algebra()[0], np.eye(9)))
    np.testing.assert_allclose(x[4], np.kron(np.kron(np.eye(2), SO3(1).algebra()[1]), np.eye(3)))
    np.testing.assert_allclose(x[11], np.kron(np.eye(6), SO13(1, 0).algebra()[5]))
    assert ir.discrete_generators().shape == (0, 18, 18)
    assert ir.group_id() == (DirectProduct, (SU2, SO3, SO13))


@settings(max_examples=20, deadline=None)
@given(o3_su2)
def test_commutation_block_structure(ir: DirectProduct) -> None:
    x = ir.algebra()
    o3_x, su2_x = x[:3], x[3:]
    for a in range(3):
        for b in range(3):
            assert np.abs(o3_x[a] @ su2_x[b] - su2_x[b] @ o3_x[a]).max() < 1e-12  # factors commute
    np.testing.assert_allclose(su2_x[0] @ su2_x[1] - su2_x[1] @ su2_x[0], su2_x[2], atol=1e-12)
    disc = ir.discrete_generators()
    assert disc.shape == (1, ir.dim, ir.dim)
    parity = ir.factors[0].discrete_generators()[0]
    np.testing.assert_allclose(disc[0], np.kron(parity, np.eye(ir.factors[1].dim)))


def test_is_real_dual_trivial() -> None:
    ir = DirectProduct((SO3(2), O3(1, -1)))
    assert ir.is_real and np.isrealobj(ir.algebra())
    assert not DirectProduct((SO3(2), SU2(1))).is_real
    assert DirectProduct((SO3(1), SO13(0, 0))).is_real
    assert ir.trivial() == DirectProduct((SO3(0), O3(0, 1)))
    lorentz = DirectProduct((SO13("1/2", 0), SUN((1, 0, 0))))
    assert lorentz.dual() == DirectProduct((SO13("1/2", 0), SUN((1, 0, 0)).dual()))


def test_group_mismatch() -> None:
    a = DirectProduct((SU2(1), SO3(1)))
    with pytest.raises(TypeError):
        a * DirectProduct((SO3(1), SU2(1)))  # type: ignore[operator]
    with pytest.raises(TypeError):
        a * SU2(1)  # type: ignore[operator]
    with pytest.raises(TypeError):
        a * DirectProduct((SU2(1), SO3(1), SO3(0)))  # type: ignore[operator]


# ----------------------------------------------------------------------------- selection rule
@given(su2_so13, su2_so13)
def test_selection_rule_dimensions(ir1: DirectProduct, ir2: DirectProduct) -> None:
    out = ir1 * ir2
    assert sum(x.dim for x in out) == ir1.dim * ir2.dim
    assert [x.ir for x in out] == sorted(x.ir for x in out)
    assert len({x.ir for x in out}) == len(out)


def test_selection_rule_multiplicities_multiply() -> None:
    eight = SUN((2, 1, 0))
    ir = DirectProduct((eight, SU2(1)))
    out = {x.ir: x.mul for x in ir * ir}
    assert out[DirectProduct((eight, SU2(1)))] == 2
    assert out[DirectProduct((SUN((0, 0, 0)), SU2(2)))] == 1
    assert sum(mul * r.dim for r, mul in out.items()) == 64 * 9
    nested = DirectProduct((ir, SUN((2, 1, 0))))
    assert {x.ir: x.mul for x in nested * nested}[DirectProduct((ir, eight))] == 4


# ----------------------------------------------------------------------------- CG
@pytest.mark.parametrize(
    "ir1, ir2, ir3",
    [
        (DirectProduct((SU2("1/2"), SO13("1/2", 0))), DirectProduct((SU2(1), SO13(0, "1/2"))),
         DirectProduct((SU2("3/2"), SO13("1/2", "1/2")))),
        (DirectProduct((O3(1, -1), SU2("1/2"))), DirectProduct((O3(1, -1), SU2("1/2"))),
         DirectProduct((O3(1, 1), SU2(1)))),
        (DirectProduct((O3(2, 1), SO3(1))), DirectProduct((O3(1, -1), SO3(1))),
         DirectProduct((O3(2, -1), SO3(0)))),
    ],
)
def test_cg_intertwines(ir1: DirectProduct, ir2: DirectProduct, ir3: DirectProduct) -> None:
    c = ir1.clebsch_gordan(ir2, ir3)
    assert c.shape == (1, ir1.dim, ir2.dim, ir3.dim)
    check_cg(ir1, ir2, ir3, c)
    np.testing.assert_allclose(clebsch_gordan(ir1, ir2, ir3), c)


@settings(max_examples=15, deadline=None)
@given(o3_su2, o3_su2, st.data())
def test_cg_all_allowed(ir1: DirectProduct, ir2: DirectProduct, data: st.DataObject) -> None:
    ir3 = data.draw(st.sampled_from([x.ir for x in ir1 * ir2]))
    c = ir1.clebsch_gordan(ir2, ir3)
    assert c.shape[0] == 1
    check_cg(ir1, ir2, ir3, c)
    assert np.isrealobj(c) == (ir1.is_real and ir2.is_real and ir3.is_real) or not np.iscomplexobj(c)


def test_cg_is_kron_of_factors() -> None:
    f1, f2 = (SU2(1), SU2(1), SU2(1)), (SO3(1), SO3(2), SO3(2))
    ir1, ir2, ir3 = (DirectProduct((a, b)) for a, b in zip(f1, f2, strict=True))
    c = ir1.clebsch_gordan(ir2, ir3).reshape(3, 3, 3, 5, 3, 5)  # (i1, i1', i2, i2', i3, i3')
    ca, cb = clebsch_gordan(*f1)[0], clebsch_gordan(*f2)[0]
    np.testing.assert_allclose(c, np.einsum("ace,bdf->abcdef", ca, cb))


def test_cg_multiplicity_two() -> None:
    eight = SUN((2, 1, 0))
    ir = DirectProduct((SU2("1/2"), eight))
    c = ir.clebsch_gordan(ir, DirectProduct((SU2(0), eight)))
    assert c.shape == (2, 16, 16, 8)
    check_cg(ir, ir, DirectProduct((SU2(0), eight)), c)
    assert certify_clebsch_gordan(ir, ir, DirectProduct((SU2(0), eight)), c) < 1e-10


def test_cg_forbidden_is_empty() -> None:
    ir = DirectProduct((SU2("1/2"), SO3(1)))
    c = ir.clebsch_gordan(ir, DirectProduct((SU2(0), SO3(3))))
    assert c.shape == (0, 6, 6, 7)


# ----------------------------------------------------------------------------- strings
@pytest.mark.parametrize(
    "ir",
    [
        DirectProduct((SO3(1), SU2("1/2"))),
        DirectProduct((O3(2, -1), SO13("1/2", 1), SUN((1, 0, 0)))),
        DirectProduct((DirectProduct((SU2(1), SU2(0))), SO13(0, 0))),
        DirectProduct((SO3(0), DirectProduct((SO13(1, 0), O3(0, -1))))),
    ],
)
def test_string_round_trip(ir: DirectProduct) -> None:
    text = str(ir)
    assert DirectProduct.from_string(text) == ir
    assert math.prod(f.dim for f in ir.factors) == ir.dim


def test_string_format() -> None:
    assert str(DirectProduct((SO3(1), SU2("1/2")))) == "SO3(1)xSU2(1/2)"
    assert DirectProduct.from_string("SO3(1) x SU2(1/2)") == DirectProduct((SO3(1), SU2("1/2")))
    assert str(DirectProduct((DirectProduct((SU2(1), SU2(0))), SO3(2)))) == "(SU2(1)xSU2(0))xSO3(2)"
    with pytest.raises(ValueError):
        DirectProduct.from_string("SO3(1)")
    with pytest.raises(ValueError):
        DirectProduct.from_string("SO3(1)xFOO(2)")
    with pytest.raises(TypeError):
        DirectProduct.from_string(3)  # type: ignore[arg-type]
