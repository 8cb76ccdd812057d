"""Tests for GenericRep: representations given by user-supplied generators."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lie_nn._src.change_basis import change_of_basis
from lie_nn._src.groups.generic import GenericRep
from lie_nn._src.groups.lorentz import SO13
from lie_nn._src.groups.o3 import O3
from lie_nn._src.groups.so3 import SO3
from lie_nn._src.groups.su2 import SU2

EPS = np.zeros((3, 3, 3))
EPS[0, 1, 2] = EPS[1, 2, 0] = EPS[2, 0, 1] = 1
EPS[0, 2, 1] = EPS[2, 1, 0] = EPS[1, 0, 2] = -1

seeds = st.integers(0, 2**32 - 1)


def commutant_dim(x: np.ndarray) -> int:
    d = x.shape[1]
    rows = np.concatenate([np.kron(a, np.eye(d)) - np.kron(np.eye(d), a.T) for a in x])
    vals = np.linalg.eigvalsh(rows.conj().T @ rows)
    return int(np.sum(vals <= 1e-10 * max(1.0, vals[-1])))


def random_basis_change(x: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    d = x.shape[1]
    q = np.eye(d) + 0.3 * rng.normal(size=(d, d))
    return np.einsum("ij,ajk,kl->ail", q, x, np.linalg.inv(q))


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "algebra, message",
    [
        (np.zeros((3, 3)), "shape"),
        (np.zeros((2, 3, 4)), "shape"),
        (np.zeros((2, 0, 0)), ">= 1"),
        (np.full((1, 2, 2), np.nan), "non-finite"),
        (np.array([[[0, 1], [0, 0]], [[0, 0], [1, 0]]]), "do not close under commutation"),
    ],
)
def test_bad_algebra(algebra: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GenericRep(algebra)


def test_bad_types() -> None:
    with pytest.raises(TypeError):
        GenericRep([[["a"]]])
    with pytest.raises(TypeError):
        GenericRep(np.zeros((1, 1, 1)), label=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        GenericRep(np.array([[[object()]]]))


def test_bad_discrete() -> None:
    x = SO3(1).algebra()
    with pytest.raises(ValueError, match="not invertible"):
        GenericRep(x, np.zeros((1, 3, 3)))
    with pytest.raises(ValueError, match="expected 3"):
        GenericRep(x, np.eye(2)[None])
    with pytest.raises(ValueError, match="shape"):
        GenericRep(x, np.eye(3))
    with pytest.raises(ValueError, match="normalise"):
        GenericRep(x, np.diag([1.0, 2.0, 3.0])[None])
    assert GenericRep(x, -np.eye(3)[None]).discrete_generators().shape == (1, 3, 3)


def test_structure_constants_argument() -> None:
    x = SO3(1).algebra()
    with pytest.raises(ValueError, match="structure_constants"):
        GenericRep(x, structure_constants=np.zeros((3, 3, 3)))
    with pytest.raises(ValueError, match="shape"):
        GenericRep(x, structure_constants=np.zeros((2, 2, 2)))
    # a non-faithful representation can be attached to its group explicitly
    triv = GenericRep(np.zeros((3, 1, 1)), structure_constants=EPS)
    assert triv.group_id() == GenericRep(x).group_id()


@settings(max_examples=20, deadline=None)
@given(seeds)
def test_random_generators_do_not_close(seed: int) -> None:
    x = np.random.default_rng(seed).normal(size=(2, 3, 3))
    with pytest.raises(ValueError, match="do not close"):
        GenericRep(x)


# ----------------------------------------------------------------------------- value semantics
def test_hashable_and_immutable() -> None:
    x = SO3(1).algebra()
    a, b = GenericRep(x, label="a"), GenericRep(x.copy() + 0j, label="b")
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1  # label is cosmetic
    assert GenericRep(np.where(x == 0, -0.0, x)) == a  # -0.0 and 0.0 are the same matrix
    assert a != GenericRep(2 * x)
    x[0, 0, 1] = 100.0  # mutating the input does not affect the stored value
    out = a.algebra()
    out[0] = 0.0  # nor does mutating the output
    np.testing.assert_array_equal(a.algebra(), SO3(1).algebra())
    assert np.isrealobj(a.algebra()) and a.is_real
    with pytest.raises(AttributeError):
        a.label = "c"  # type: ignore[misc]


def test_strings() -> None:
    a = GenericRep(SO3(1).algebra(), label="vec")
    assert str(a) == "vec" and "dim=3" in repr(a)
    assert str(GenericRep(SO3(1).algebra())) == "GenericRep(n_gen=3, dim=3)"
    with pytest.raises(ValueError):
        GenericRep.from_string("vec")


# ----------------------------------------------------------------------------- like the built-in groups
def test_non_faithful_needs_structure_constants() -> None:
    with pytest.warns(UserWarning, match="linearly dependent"):
        zeros = GenericRep(np.zeros((3, 1, 1)))
    assert zeros.group_id() != GenericRep(SO3(1).algebra()).group_id()
    assert GenericRep(SO3(1).algebra()).trivial().group_id() == GenericRep(SO3(1).algebra()).group_id()


def test_built_from_so3_behaves_like_so3() -> None:
    f = GenericRep(SO3(1).algebra()).structure_constants()
    reps = {l: GenericRep(SO3(l).algebra(), label=str(SO3(l)), structure_constants=f) for l in range(4)}
    ids = {r.group_id() for r in reps.values()}
    assert len(ids) == 1  # one group
    for l, rep in reps.items():
        assert rep.dim == SO3(l).dim and rep.is_irreducible()
    x = SO3(1).algebra()
    np.testing.assert_allclose(np.einsum("abc,cij->abij", f, x), np.einsum("aij,bjk->abik", x, x)
                               - np.einsum("bij,ajk->abik", x, x), atol=1e-12)
    assert reps[0] == reps[2].trivial() and reps[0] < reps[1] < reps[3]
    # the SU(2) generators have the same structure constants: the same Lie algebra basis
    assert GenericRep(SU2("1/2").algebra()).group_id() == reps[1].group_id()
    with pytest.raises(TypeError):
        reps[1].tensor(GenericRep(SO13(0, "1/2").algebra()))  # 6 generators: another group
    # the numeric selection rule: one representative per class, isomorphic to the SO(3) irreps
    rule = reps[1] * reps[2]
    assert [(m.mul, m.ir.dim) for m in rule] == [(1, 3), (1, 5), (1, 7)]
    assert all(len(change_of_basis(m.ir, reps[l])) == 1 for m, l in zip(rule, (1, 2, 3), strict=True))
    with pytest.raises(TypeError):
        reps[1] * SO3(1)  # type: ignore[operator]


def test_tensor_direct_sum_dual() -> None:
    one, half = GenericRep(SU2(1).algebra()), GenericRep(SU2("1/2").algebra())
    prod = one.tensor(half)
    assert prod.dim == 6 and not prod.is_irreducible()
    assert commutant_dim(prod.algebra()) == 2  # 1 ⊗ 1/2 = 1/2 ⊕ 3/2
    x = prod.algebra()
    expected = np.kron(SU2(1).algebra()[2], np.eye(2)) + np.kron(np.eye(3), half.algebra()[2])
    np.testing.assert_allclose(x[2], expected)
    summed = one.direct_sum(half)
    assert summed.dim == 5 and not summed.is_irreducible() and summed.group_id() == one.group_id()
    dual = half.dual()
    np.testing.assert_allclose(dual.algebra(), -half.algebra().transpose(0, 2, 1))
    assert dual.is_irreducible() and dual.dual() == half
    assert one.tensor(one).trivial() == one.trivial()


def test_discrete_constructions() -> None:
    odd = GenericRep(O3(1, -1).algebra(), O3(1, -1).discrete_generators(), label="1o")
    even = GenericRep(O3(1, 1).algebra(), O3(1, 1).discrete_generators(), label="1e")
    assert odd.group_id() == even.group_id() != GenericRep(O3(1, 1).algebra()).group_id()
    prod = odd.tensor(odd)
    np.testing.assert_allclose(prod.discrete_generators()[0], np.eye(9))
    assert str(prod) == "1o⊗1o" and str(odd.direct_sum(even)) == "1o⊕1e"
    np.testing.assert_allclose(odd.dual().discrete_generators(), -np.eye(3)[None])
    assert odd.trivial().discrete_generators().tolist() == [[[1.0]]]
    # parity distinguishes the two irreps: they are inequivalent
    assert not odd.direct_sum(even).is_irreducible()


def test_irreducibility_is_burnside_not_commutant() -> None:
    """ax+b group: the commutant is trivial but the representation is reducible."""
    x = np.array([[[1.0, 0], [0, 0]], [[0, 1], [0, 0]]])
    rep = GenericRep(x)
    assert commutant_dim(rep.algebra()) == 1
    assert not rep.is_irreducible()


def test_lorentz_generators() -> None:
    rep = GenericRep(SO13("1/2", 1).algebra())
    assert rep.is_irreducible() and not rep.is_real
    assert rep.group_id() == GenericRep(SO13(0, "1/2").algebra()).group_id()
    assert not rep.tensor(GenericRep(SO13("1/2", 0).algebra())).is_irreducible()


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 2).map(lambda t: t / 2), st.integers(0, 2).map(lambda t: t / 2), seeds)
def test_basis_change_invariance(j1: float, j2: float, seed: int) -> None:
    x = SO13(j1, j2).algebra()
    a, b = GenericRep(x), GenericRep(random_basis_change(x, seed))
    assert a.group_id() == b.group_id()
    assert b.is_irreducible()
    assert not a.direct_sum(b).is_irreducible()


# ----------------------------------------------------------------------------- CG through the numeric solver
def check_cg(r1: GenericRep, r2: GenericRep, r3: GenericRep, c: np.ndarray) -> None:
    x1, x2, x3 = r1.algebra(), r2.algebra(), r3.algebra()
    lhs = np.einsum("aik,mkjl->amijl", x1, c) + np.einsum("ajk,mikl->amijl", x2, c)
    assert np.abs(lhs - np.einsum("mijk,akl->amijl", c, x3)).max(initial=0) < 1e-10
    d1, d2, d3 = r1.discrete_generators(), r2.discrete_generators(), r3.discrete_generators()
    lhs = np.einsum("bia,bjc,mack->bmijk", d1, d2, c)
    assert np.abs(lhs - np.einsum("mijl,blk->bmijk", c, d3)).max(initial=0) < 1e-10


def test_clebsch_gordan_numeric() -> None:
    from lie_nn._src.cg import clebsch_gordan

    odd = GenericRep(O3(1, -1).algebra(), O3(1, -1).discrete_generators())
    even = GenericRep(O3(1, 1).algebra(), O3(1, 1).discrete_generators())
    c = clebsch_gordan(odd, odd, even)  # cross product: 1o x 1o -> 1e
    assert c.shape == (1, 3, 3, 3)
    check_cg(odd, odd, even, c)
    assert clebsch_gordan(odd, odd, odd).shape[0] == 0  # parity forbids it
    triv = odd.trivial()
    c0 = clebsch_gordan(odd, odd, triv)
    check_cg(odd, odd, triv, c0)
    np.testing.assert_allclose(np.abs(c0[0, :, :, 0]), np.eye(3) / np.sqrt(3), atol=1e-12)


def test_clebsch_gordan_in_direct_product() -> None:
    from lie_nn._src.cg import clebsch_gordan
    from lie_nn._src.groups.product import DirectProduct

    half = GenericRep(SU2("1/2").algebra())
    ir1 = DirectProduct((half, SO3(1)))
    ir3 = DirectProduct((half.trivial(), SO3(1)))
    c = clebsch_gordan(ir1, ir1, ir3)
    assert c.shape == (1, 6, 6, 3)
    x1, x3 = ir1.algebra(), ir3.algebra()
    lhs = np.einsum("aik,mkjl->amijl", x1, c) + np.einsum("ajk,mikl->amijl", x1, c)
    assert np.abs(lhs - np.einsum("mijk,akl->amijl", c, x3)).max() < 1e-10
    assert sorted(m.ir.dim for m in ir1 * ir1) == [1, 3, 3, 5, 9, 15]  # (0 + 1) x (0 + 1 + 2)


def test_finite_group_only() -> None:
    """No Lie algebra at all: a representation of Z2 given by its generator."""
    from lie_nn._src.cg import clebsch_gordan

    sign = GenericRep(np.zeros((0, 1, 1)), [[[-1.0]]], label="sign")
    assert sign.is_irreducible() and sign.trivial().discrete_generators().tolist() == [[[1.0]]]
    np.testing.assert_allclose(clebsch_gordan(sign, sign, sign.trivial()), [[[[1.0]]]])
    assert clebsch_gordan(sign, sign, sign).shape == (0, 1, 1, 1)
    swap = GenericRep(np.zeros((0, 2, 2)), [[[0.0, 1.0], [1.0, 0.0]]])
    assert not swap.is_irreducible()  # the regular representation of Z2
