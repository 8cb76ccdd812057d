"""Tests for the Lorentz group irreps SO13(m, n)."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lie_nn._src.cg import clebsch_gordan
from lie_nn._src.groups.lorentz import SO13
from lie_nn._src.groups.su2 import SU2

EPS = np.zeros((3, 3, 3))
for _i, _j, _k in itertools.permutations(range(3)):
    EPS[_i, _j, _k] = np.linalg.det(np.eye(3)[[_i, _j, _k]])

spins = st.integers(0, 4).map(lambda t: Fraction(t, 2))
small_spins = st.integers(0, 3).map(lambda t: Fraction(t, 2))
irreps = st.builds(SO13, spins, spins)
small_irreps = st.builds(SO13, small_spins, small_spins)


def comm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a @ b - b @ a


def intertwiner_space(xa: np.ndarray, xb: np.ndarray) -> np.ndarray:
    """Basis of {Q : xa[a] Q = Q xb[a] for all a}, shape (k, da, db)."""
    da, db = xa.shape[1], xb.shape[1]
    rows = [np.kron(x, np.eye(db)) - np.kron(np.eye(da), y.T) for x, y in zip(xa, xb, strict=True)]
    m = np.concatenate(rows)
    vals, vecs = np.linalg.eigh(m.conj().T @ m)  # null space of m (small, well-conditioned problems)
    return vecs[:, vals < 1e-10 * max(1.0, vals[-1])].T.reshape(-1, da, db)


def vector_rep() -> np.ndarray:
    """Real 4-vector generators on (t, x, y, z): (R_i)_jk = -ε_ijk on space, K_i = E_0i + E_i0."""
    x = np.zeros((6, 4, 4))
    x[:3, 1:, 1:] = -EPS
    for i in range(3):
        x[3 + i, 0, 1 + i] = x[3 + i, 1 + i, 0] = 1
    return x


def check_cg(ir1: SO13, ir2: SO13, ir3: SO13, c: np.ndarray) -> None:
    x1, x2, x3 = ir1.algebra(), ir2.algebra(), ir3.algebra()
    lhs = np.einsum("aik,mkjl->amijl", x1, c) + np.einsum("ajk,mikl->amijl", x2, c)
    rhs = np.einsum("mijk,akl->amijl", c, x3)
    assert np.abs(lhs - rhs).max(initial=0) < 1e-12
    gram = np.einsum("mijk,nijl->mknl", c.conj(), c).reshape(c.shape[0] * ir3.dim, -1)
    np.testing.assert_allclose(gram, np.eye(c.shape[0] * ir3.dim), atol=1e-12)


# ----------------------------------------------------------------------------- labels
def test_labels_and_parsing() -> None:
    ir = SO13("1/2", 0.5)
    assert ir == SO13(Fraction(1, 2), "0.5") and hash(ir) == hash(SO13(0.5, 0.5))
    assert isinstance(ir.m, Fraction) and ir.dim == 4
    assert str(ir) == repr(ir) == "SO13(1/2,1/2)"
    assert SO13.from_string("SO13(1/2,1/2)") == ir == SO13.from_string("(1/2,1/2)")
    assert SO13.from_string(" SO13( 1 , 0.5 ) ") == SO13(1, "1/2")
    assert str(SO13(3, "3/2")) == "SO13(3,3/2)"


@given(irreps)
def test_string_round_trip(ir: SO13) -> None:
    assert SO13.from_string(str(ir)) == ir
    assert ir.dim == (2 * ir.m + 1) * (2 * ir.n + 1)


@pytest.mark.parametrize("bad", ["SO13(1/3,0)", "SO3(1)", "(1,2,3)", "SO13(-1,0)", "SO13()", "1/2,1/2", ""])
def test_from_string_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        SO13.from_string(bad)


def test_constructor_rejects() -> None:
    with pytest.raises(ValueError):
        SO13(-1, 0)
    with pytest.raises(ValueError):
        SO13(0.25, 0)
    with pytest.raises(TypeError):
        SO13(True, 0)
    with pytest.raises(TypeError):
        SO13.from_string(1)  # type: ignore[arg-type]


def test_iterator_and_sort_key() -> None:
    first = list(itertools.islice(SO13(0, 0).iterator(), 40))
    assert first[0] == SO13(0, 0) == SO13(1, 2).trivial()
    assert first == sorted(first) and len(set(first)) == len(first)
    expected = {SO13(Fraction(a, 2), Fraction(b, 2)) for a in range(12) for b in range(12)}
    expected = {ir for ir in expected if ir.dim <= first[-1].dim - 1}
    assert expected <= set(first)
    names = ["SO13(0,0)", "SO13(0,1/2)", "SO13(1/2,0)", "SO13(0,1)", "SO13(1,0)"]
    assert [str(x) for x in first[:5]] == names


def test_different_group_rejected() -> None:
    with pytest.raises(TypeError):
        SO13(0, 0) * SU2(0)  # type: ignore[operator]
    with pytest.raises(TypeError):
        SO13(0, 0).clebsch_gordan(SU2(0), SO13(0, 0))


# ----------------------------------------------------------------------------- algebra
@settings(max_examples=30, deadline=None)
@given(irreps)
def test_commutation_relations(ir: SO13) -> None:
    x = ir.algebra()
    assert x.shape == (6, ir.dim, ir.dim)
    r, k = x[:3], x[3:]
    for i, j in itertools.product(range(3), repeat=2):
        np.testing.assert_allclose(comm(r[i], r[j]), np.einsum("c,cij->ij", EPS[i, j], r), atol=1e-12)
        np.testing.assert_allclose(comm(r[i], k[j]), np.einsum("c,cij->ij", EPS[i, j], k), atol=1e-12)
        np.testing.assert_allclose(comm(k[i], k[j]), -np.einsum("c,cij->ij", EPS[i, j], r), atol=1e-12)
    # rotations anti-Hermitian, boosts Hermitian
    np.testing.assert_allclose(r, -r.conj().transpose(0, 2, 1), atol=1e-14)
    np.testing.assert_allclose(k, k.conj().transpose(0, 2, 1), atol=1e-14)


def test_vector_rep_relations_match() -> None:
    x = vector_rep()
    r, k = x[:3], x[3:]
    np.testing.assert_allclose(comm(r[0], r[1]), r[2])
    np.testing.assert_allclose(comm(r[0], k[1]), k[2])
    np.testing.assert_allclose(comm(k[0], k[1]), -r[2])


def test_weyl_spinors_explicit() -> None:
    sigma = 2j * SU2("1/2").algebra()  # Pauli matrices in the m-ascending basis
    left, right = SO13("1/2", 0).algebra(), SO13(0, "1/2").algebra()
    np.testing.assert_allclose(left[:3], -0.5j * sigma)
    np.testing.assert_allclose(left[3:], 0.5 * sigma)
    np.testing.assert_allclose(right[3:], -0.5 * sigma)


def test_trivial() -> None:
    triv = SO13(1, 1).trivial()
    assert triv.dim == 1 and triv.is_real and not SO13(1, 1).is_real
    assert not np.any(triv.algebra()) and triv.algebra().shape == (6, 1, 1)
    assert triv.discrete_generators().shape == (0, 1, 1)


def expm(a: np.ndarray) -> np.ndarray:
    """Matrix exponential of a diagonalisable matrix."""
    vals, vecs = np.linalg.eig(a)
    return vecs @ np.diag(np.exp(vals)) @ np.linalg.inv(vecs)


def test_boosts_are_not_unitary() -> None:
    g = expm(0.7 * SO13("1/2", 0).algebra()[3])
    assert np.abs(g.conj().T @ g - np.eye(2)).max() > 0.1
    assert abs(np.linalg.det(g) - 1) < 1e-12  # SL(2, C)


def test_four_vector_equivalence() -> None:
    """(1/2,1/2) ≅ real 4-vector: an invertible Q with Q X_vec = X_(1/2,1/2) Q for all 6 generators."""
    xv, xs = vector_rep(), SO13("1/2", "1/2").algebra()
    space = intertwiner_space(xs, xv)
    assert space.shape[0] == 1
    q = space[0]
    assert np.linalg.cond(q) < 1e6
    for a in range(6):
        np.testing.assert_allclose(q @ xv[a], xs[a] @ q, atol=1e-12)
    # a finite group element maps to a Lorentz matrix: Λ^T η Λ = η
    theta = np.array([0.3, -0.2, 0.5, 0.4, 0.1, -0.6])
    g = expm(np.einsum("a,aij->ij", theta, xs))
    lam = np.linalg.solve(q, g @ q)
    eta = np.diag([1.0, -1, -1, -1])
    assert np.abs(lam.imag).max() < 1e-10
    np.testing.assert_allclose(lam.real.T @ eta @ lam.real, eta, atol=1e-10)


def test_chiral_irreps_inequivalent() -> None:
    assert intertwiner_space(SO13(1, 0).algebra(), SO13(0, 1).algebra()).shape[0] == 0
    assert intertwiner_space(SO13(1, 0).algebra(), SO13(1, 0).algebra()).shape[0] == 1


@pytest.mark.parametrize("m, n", [("1/2", 0), (1, "1/2"), ("3/2", 1)])
def test_dual_and_conjugate(m: str, n: str) -> None:
    ir = SO13(m, n)
    x = ir.algebra()
    dual = -x.transpose(0, 2, 1)
    assert ir.dual() == ir
    assert intertwiner_space(dual, ir.dual().algebra()).shape[0] == 1
    assert intertwiner_space(x.conj(), ir.conjugate().algebra()).shape[0] == 1
    assert intertwiner_space(x.conj(), x).shape[0] == 0  # m != n: not self-conjugate


# ----------------------------------------------------------------------------- selection rule + CG
@given(small_irreps, small_irreps)
def test_selection_rule_dimensions(ir1: SO13, ir2: SO13) -> None:
    out = ir1 * ir2
    assert sum(x.mul * x.ir.dim for x in out) == ir1.dim * ir2.dim
    assert all(x.mul == 1 for x in out)
    assert [x.ir for x in out] == sorted(x.ir for x in out)


def test_selection_rule_example() -> None:
    out = SO13("1/2", "1/2") * SO13("1/2", "1/2")
    assert [str(x.ir) for x in out] == ["SO13(0,0)", "SO13(0,1)", "SO13(1,0)", "SO13(1,1)"]


TRIPLES = [
    ("1/2", 0, 0, "1/2", "1/2", "1/2"),
    ("1/2", "1/2", "1/2", "1/2", 1, 0),
    ("1/2", "1/2", "1/2", "1/2", 0, 0),
    (1, "1/2", "1/2", "3/2", "3/2", 1),
    ("3/2", 1, 1, "1/2", "1/2", "3/2"),
    (2, 0, "1/2", "1/2", "3/2", "1/2"),
]


@pytest.mark.parametrize("m1, n1, m2, n2, m3, n3", TRIPLES)
def test_cg_intertwines(m1, n1, m2, n2, m3, n3) -> None:
    ir1, ir2, ir3 = SO13(m1, n1), SO13(m2, n2), SO13(m3, n3)
    c = ir1.clebsch_gordan(ir2, ir3)
    assert c.shape == (1, ir1.dim, ir2.dim, ir3.dim) and c.dtype == np.float64
    check_cg(ir1, ir2, ir3, c)
    np.testing.assert_array_equal(clebsch_gordan(ir1, ir2, ir3), c)


@settings(max_examples=25, deadline=None)
@given(small_irreps, small_irreps, st.data())
def test_cg_all_allowed(ir1: SO13, ir2: SO13, data: st.DataObject) -> None:
    ir3 = data.draw(st.sampled_from([x.ir for x in ir1 * ir2]))
    check_cg(ir1, ir2, ir3, ir1.clebsch_gordan(ir2, ir3))


def test_cg_is_product_of_su2_cgs() -> None:
    ir1, ir2, ir3 = SO13(1, "1/2"), SO13("1/2", "1/2"), SO13("1/2", 1)
    c = ir1.clebsch_gordan(ir2, ir3).reshape(3, 2, 2, 2, 2, 3)
    cm = SU2(1).clebsch_gordan(SU2("1/2"), SU2("1/2"))[0]
    cn = SU2("1/2").clebsch_gordan(SU2("1/2"), SU2(1))[0]
    np.testing.assert_array_equal(c, np.einsum("ace,bdf->abcdef", cm, cn))


def test_cg_forbidden_is_empty() -> None:
    c = SO13("1/2", 0).clebsch_gordan(SO13("1/2", 0), SO13(0, 1))
    assert c.shape == (0, 2, 2, 3)
    assert clebsch_gordan(SO13(1, 0), SO13(0, 0), SO13(0, 1)).shape == (0, 3, 1, 3)


@pytest.mark.parametrize("m1, n1, m2, n2, m3, n3", TRIPLES[:4])
def test_cg_matches_numeric_solver(m1, n1, m2, n2, m3, n3) -> None:
    from lie_nn._src.cg import numeric_clebsch_gordan

    ir1, ir2, ir3 = SO13(m1, n1), SO13(m2, n2), SO13(m3, n3)
    exact, numeric = ir1.clebsch_gordan(ir2, ir3), numeric_clebsch_gordan(ir1, ir2, ir3)
    assert numeric.shape == exact.shape
    overlap = abs(np.vdot(exact, numeric))
    assert abs(overlap - np.linalg.norm(exact) * np.linalg.norm(numeric)) < 1e-9  # same line


def test_four_vector_generators_are_the_real_form_of_the_vector_irrep() -> None:
    """The public real generators obey SO13's relations (same structure constants), keep the Minkowski
    metric, exponentiate to a boost with cosh/sinh of the rapidity, and are equivalent to (1/2,1/2)."""
    import math

    import lie_nn as lnn

    X, Y = lnn.four_vector_generators(), SO13("1/2", "1/2").algebra()
    for a in range(6):
        for b in range(6):
            # the commutators expand on the generators with the same coefficients in both forms
            cx = X[a] @ X[b] - X[b] @ X[a]
            coeff = np.linalg.lstsq(X.reshape(6, -1).T, cx.ravel(), rcond=None)[0]
            np.testing.assert_allclose(np.einsum("c,cij->ij", coeff, X), cx, atol=1e-12)
            np.testing.assert_allclose(np.einsum("c,cij->ij", coeff, Y), Y[a] @ Y[b] - Y[b] @ Y[a],
                                       atol=1e-12)
    eta = np.diag([1.0, -1.0, -1.0, -1.0])
    np.testing.assert_allclose(X.transpose(0, 2, 1) @ eta + eta @ X, 0, atol=0)
    boost = sum(np.linalg.matrix_power(0.7 * X[5], k) / math.factorial(k) for k in range(40))
    np.testing.assert_allclose(boost[np.ix_([0, 3], [0, 3])],
                               [[np.cosh(0.7), np.sinh(0.7)], [np.sinh(0.7), np.cosh(0.7)]], atol=1e-14)
    Q = lnn.change_of_basis(lnn.GenericRep(X), SO13("1/2", "1/2"))
    assert Q.shape == (1, 4, 4)
    np.testing.assert_allclose(Y @ Q[0], Q[0] @ X, atol=1e-10)
