"""SU2, SO3 and O3 irreps: generators, closed-form Clebsch–Gordan coefficients, conventions."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from lie_nn._src.groups.o3 import O3
from lie_nn._src.groups.so3 import (
    SO3,
    _cg_real_entries,
    _q_columns,
    _real_terms,
    _su2_algebra_entries,
    _transform,
    real_basis_change,
    so3_clebsch_gordan,
    so3_clebsch_gordan_exact,
)
from lie_nn._src.groups.su2 import SU2
from lie_nn._src.irrep import Irrep

SU2_IRREPS = [SU2(Fraction(n, 2)) for n in range(7)]  # j = 0 .. 3
SO3_IRREPS = [SO3(l) for l in range(5)]
O3_IRREPS = [O3(l, p) for l in range(3) for p in (1, -1)]
ALL_IRREPS = SU2_IRREPS + SO3_IRREPS + O3_IRREPS


def _triples(irreps: list[Irrep]) -> list[tuple[Irrep, Irrep, Irrep]]:
    return [(a, b, c) for a, b in itertools.product(irreps, repeat=2) for c in irreps]


def _check_intertwiner(ir1: Irrep, ir2: Irrep, ir3: Irrep, C: np.ndarray) -> None:
    X1, X2, X3 = ir1.algebra(), ir2.algebra(), ir3.algebra()
    lhs = np.einsum("aik,mkjl->amijl", X1, C) + np.einsum("ajk,mikl->amijl", X2, C)
    np.testing.assert_allclose(lhs, np.einsum("mijk,akl->amijl", C, X3), atol=1e-12)
    D1, D2, D3 = ir1.discrete_generators(), ir2.discrete_generators(), ir3.discrete_generators()
    for d1, d2, d3 in zip(D1, D2, D3, strict=True):
        lhs = np.einsum("ia,jb,mabk->mijk", d1, d2, C)
        np.testing.assert_allclose(lhs, np.einsum("mijl,lk->mijk", C, d3))


# ----------------------------------------------------------------------------- generators
@pytest.mark.parametrize("ir", ALL_IRREPS, ids=str)
def test_commutation_relations(ir: Irrep) -> None:
    X = ir.algebra()
    assert X.shape == (3, ir.dim, ir.dim)
    for a in range(3):
        b, c = (a + 1) % 3, (a + 2) % 3
        np.testing.assert_allclose(X[a] @ X[b] - X[b] @ X[a], X[c], atol=1e-13)
        np.testing.assert_allclose(X[a].conj().T, -X[a], atol=1e-15)  # anti-Hermitian (unitary irreps)
    # Casimir: sum X_a^2 = -j(j+1)
    spin = ir.j if isinstance(ir, SU2) else ir.l
    casimir = -float(spin * (spin + 1)) * np.eye(ir.dim)
    np.testing.assert_allclose(np.einsum("aij,ajk->ik", X, X), casimir, atol=1e-12)


def test_su2_half_is_pauli() -> None:
    # Pauli matrices in the m-ascending basis (m = -1/2 first)
    sigma = np.array([[[0, 1], [1, 0]], [[0, 1j], [-1j, 0]], [[-1, 0], [0, 1]]])
    X = SU2("1/2").algebra()
    assert X.dtype == np.complex128
    np.testing.assert_array_equal(X, -0.5j * sigma)


def test_so3_real_and_standard_vector() -> None:
    for l in range(6):
        X = SO3(l).algebra()
        assert X.dtype == np.float64 and SO3(l).is_real
        np.testing.assert_array_equal(X, -X.transpose(0, 2, 1))
        Q = real_basis_change(l)
        np.testing.assert_allclose(Q @ Q.conj().T, np.eye(2 * l + 1), atol=1e-15)
        np.testing.assert_allclose(Q @ SU2(l).algebra() @ Q.conj().T, X, atol=1e-13)
    # l = 1: basis (y, z, x); permuted to (x, y, z) we get (L_a)_{bc} = -eps_{abc} exactly
    eps = np.zeros((3, 3, 3))
    for a, b, c in itertools.permutations(range(3)):
        eps[a, b, c] = np.linalg.det(np.eye(3)[[a, b, c]])
    perm = [2, 0, 1]  # position of x, y, z in (y, z, x)
    X = SO3(1).algebra()[:, perm][:, :, perm]
    np.testing.assert_array_equal(X, -eps)
    np.testing.assert_array_equal(O3(1, -1).algebra(), SO3(1).algebra())


def test_o3_discrete_generators() -> None:
    np.testing.assert_array_equal(O3(2, -1).discrete_generators(), -np.eye(5)[None])
    np.testing.assert_array_equal(O3(1, 1).discrete_generators(), np.eye(3)[None])
    assert SO3(2).discrete_generators().shape == (0, 5, 5)


# ----------------------------------------------------------------------------- CG: all small triples
@pytest.mark.parametrize("group", [SU2_IRREPS, SO3_IRREPS, O3_IRREPS], ids=["SU2", "SO3", "O3"])
def test_cg_all_small_triples(group: list[Irrep]) -> None:
    for ir1, ir2, ir3 in _triples(group):
        C = ir1.clebsch_gordan(ir2, ir3)
        mul = sum(x.mul for x in ir1 * ir2 if x.ir == ir3)
        assert C.shape == (mul, ir1.dim, ir2.dim, ir3.dim)
        if mul == 0:
            continue
        if ir1.is_real and ir2.is_real and ir3.is_real:
            assert C.dtype == np.float64
        _check_intertwiner(ir1, ir2, ir3, C)
        gram = np.einsum("mijk,nijl->mnkl", C.conj(), C)
        np.testing.assert_allclose(gram, np.eye(ir3.dim)[None, None], atol=1e-13)


@pytest.mark.parametrize("group", [SU2_IRREPS, SO3_IRREPS, O3_IRREPS], ids=["SU2", "SO3", "O3"])
def test_cg_completeness(group: list[Irrep]) -> None:
    for ir1, ir2 in itertools.product(group[:5], repeat=2):
        total = sum(
            np.einsum("mijk,mabk->ijab", C, C.conj())
            for x in ir1 * ir2
            for C in [ir1.clebsch_gordan(ir2, x.ir)]
        )
        eye = np.eye(ir1.dim * ir2.dim).reshape(ir1.dim, ir2.dim, ir1.dim, ir2.dim)
        np.testing.assert_allclose(total, eye, atol=1e-13)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 9), st.integers(0, 9), st.data())
def test_so3_cg_property(l1: int, l2: int, data: st.DataObject) -> None:
    l3 = data.draw(st.integers(abs(l1 - l2), l1 + l2))
    C = SO3(l1).clebsch_gordan(SO3(l2), SO3(l3))
    _check_intertwiner(SO3(l1), SO3(l2), SO3(l3), C)
    np.testing.assert_allclose(np.einsum("mijk,mijl->kl", C, C), np.eye(2 * l3 + 1), atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 12), st.integers(0, 12), st.data())
def test_su2_cg_property(t1: int, t2: int, data: st.DataObject) -> None:
    ir1, ir2 = SU2(Fraction(t1, 2)), SU2(Fraction(t2, 2))
    ir3 = data.draw(st.sampled_from([x.ir for x in ir1 * ir2]))
    _check_intertwiner(ir1, ir2, ir3, ir1.clebsch_gordan(ir2, ir3))


# ----------------------------------------------------------------------------- golden values
S2, S3, S6 = 2**-0.5, 3**-0.5, 6**-0.5


def test_so3_golden_values() -> None:
    # basis (y, z, x): index 0 = y, 1 = z, 2 = x
    np.testing.assert_allclose(so3_clebsch_gordan(1, 1, 0)[:, :, 0], np.eye(3) * S3, atol=1e-16)
    eps = np.zeros((3, 3, 3))
    for a, b, c in itertools.permutations(range(3)):
        eps[a, b, c] = np.linalg.det(np.eye(3)[[a, b, c]])
    np.testing.assert_allclose(so3_clebsch_gordan(1, 1, 1), eps * S2, atol=1e-16)  # eps_{yzx} = +1
    C = so3_clebsch_gordan(1, 1, 2)
    y, z, x = 0, 1, 2
    expected = np.zeros((3, 3, 5))
    expected[x, y, 0] = expected[y, x, 0] = S2  # xy
    expected[y, z, 1] = expected[z, y, 1] = S2  # yz
    expected[z, z, 2], expected[x, x, 2], expected[y, y, 2] = 2 * S6, -S6, -S6  # 2z^2 - x^2 - y^2
    expected[z, x, 3] = expected[x, z, 3] = S2  # zx
    expected[x, x, 4], expected[y, y, 4] = S2, -S2  # x^2 - y^2
    np.testing.assert_allclose(C, expected, atol=1e-16)
    assert C[x, y, 0] == S2 and C[z, z, 2] == 2 * S6


def test_so3_golden_exact() -> None:
    E = so3_clebsch_gordan_exact(2, 2, 2)
    assert E[0, 0, 2] == -sympy.sqrt(14) / 7
    assert E[0, 1, 3] == sympy.sqrt(42) / 14
    E = so3_clebsch_gordan_exact(1, 2, 3)
    assert E[1, 2, 3] == sympy.sqrt(15) / 5
    assert E[0, 0, 0] == 0 and E[2, 4, 6] == sympy.sqrt(2) / 2
    E = so3_clebsch_gordan_exact(2, 2, 4)
    assert E[2, 2, 4] == 3 * sympy.sqrt(70) / 35 and E[0, 0, 4] == sympy.sqrt(70) / 70


SO3_TRIPLES = [(a, b, c) for a in range(4) for b in range(4) for c in range(abs(a - b), a + b + 1)]


@pytest.mark.parametrize("l1,l2,l3", SO3_TRIPLES)
def test_so3_exact_matches_float(l1: int, l2: int, l3: int) -> None:
    E = SO3(l1).clebsch_gordan_exact(SO3(l2), SO3(l3))
    C = so3_clebsch_gordan(l1, l2, l3)
    for idx, value in np.ndenumerate(C):
        entry = E[idx]
        assert sympy.im(entry) == 0
        assert float(sympy.N(entry, 40)) == value  # correctly rounded


def test_so3_cg_is_transformed_su2_cg() -> None:
    """The sparse exact transform agrees with the dense float formula (Q1 ⊗ Q2) C_SU2 Q3^†."""
    for l1, l2, l3 in SO3_TRIPLES + [(5, 4, 3), (6, 6, 12)]:
        Q1, Q2, Q3 = real_basis_change(l1), real_basis_change(l2), real_basis_change(l3)
        dense = np.einsum("ai,bj,ijk,ck->abc", Q1, Q2, SU2(l1).clebsch_gordan(SU2(l2), SU2(l3))[0], Q3.conj())
        np.testing.assert_allclose(dense, so3_clebsch_gordan(l1, l2, l3), atol=1e-15)


def test_single_radical_per_entry() -> None:
    """Each real-basis entry is one n*sqrt(r): the basis of the 'correctly rounded' claim."""
    for l1, l2, l3 in SO3_TRIPLES + [(6, 5, 4), (6, 6, 12)]:
        assert all(len(terms) <= 1 for _, terms in _cg_real_entries(l1, l2, l3))
    for l in range(10):
        cols = _q_columns(l)
        for entries in _su2_algebra_entries(l):
            terms = _real_terms(_transform(entries, [(cols, False), (cols, True)]))
            assert all(len(t) <= 1 for _, t in terms)


def test_su2_exact_matches_float() -> None:
    ir = SU2("3/2")
    E = np.array(ir.clebsch_gordan_exact(SU2(1), SU2("5/2")).tolist(), dtype=float)
    np.testing.assert_array_equal(E, ir.clebsch_gordan(SU2(1), SU2("5/2"))[0])


def test_o3_parity_selection() -> None:
    v, s, ps = O3(1, -1), O3(0, 1), O3(0, -1)
    assert v.clebsch_gordan(v, s).shape == (1, 3, 3, 1)
    assert v.clebsch_gordan(v, ps).shape == (0, 3, 3, 1)
    assert v.clebsch_gordan(v, O3(1, -1)).shape == (0, 3, 3, 3)
    np.testing.assert_array_equal(v.clebsch_gordan(v, O3(1, 1))[0], so3_clebsch_gordan(1, 1, 1))
    assert not np.array(v.clebsch_gordan_exact(v, ps).tolist(), dtype=float).any()
    assert [str(x.ir) for x in v * O3(2, 1)] == ["O3(1o)", "O3(2o)", "O3(3o)"]


# ----------------------------------------------------------------------------- labels, order, errors
def test_su2_labels() -> None:
    assert SU2(0.5) == SU2("1/2") == SU2(Fraction(1, 2)) == SU2.from_string("SU2(1/2)")
    assert SU2.from_string("0.5") == SU2.from_string("1/2") == SU2(0.5) and SU2.from_string("1") == SU2(1)
    assert hash(SU2(1)) == hash(SU2("1")) and isinstance(SU2(1).j, Fraction)
    assert str(SU2("3/2")) == "SU2(3/2)" and str(SU2(2)) == "SU2(2)"
    assert SU2(2).dim == 5 and SU2(1).trivial() == SU2(0) and SU2("1/2").dual() == SU2("1/2")
    assert [x.ir for x in SU2("1/2") * SU2("3/2")] == [SU2(1), SU2(2)]
    assert all(x.mul == 1 for x in SU2(2) * SU2(3))
    assert list(itertools.islice(SU2(0).iterator(), 4)) == [SU2(0), SU2("1/2"), SU2(1), SU2("3/2")]
    assert SU2(0) < SU2("1/2") < SU2(1)
    for ir in SU2_IRREPS:
        assert SU2.from_string(str(ir)) == ir


def test_so3_o3_labels() -> None:
    assert str(SO3(2)) == "SO3(2)" and SO3.from_string("2") == SO3.from_string(" SO3(2) ") == SO3(2)
    assert SO3(3).trivial() == SO3(0) and SO3(3).dual() == SO3(3) and SO3(1) < SO3(2)
    assert list(itertools.islice(SO3(0).iterator(), 3)) == [SO3(0), SO3(1), SO3(2)]
    assert str(O3(1, -1)) == "O3(1o)" and O3(2, 1).label == "2e"
    assert O3.from_string("1o") == O3.from_string("O3(1o)") == O3(1, -1) and O3.from_string("0e") == O3(0, 1)
    assert list(itertools.islice(O3(0, 1).iterator(), 4)) == [O3(0, 1), O3(0, -1), O3(1, 1), O3(1, -1)]
    assert sorted([O3(1, -1), O3(0, -1), O3(1, 1), O3(0, 1)]) == [O3(0, 1), O3(0, -1), O3(1, 1), O3(1, -1)]
    assert O3(2, -1).trivial() == O3(0, 1) and O3(2, -1).dual() == O3(2, -1)
    for ir in O3_IRREPS + SO3_IRREPS:
        assert type(ir).from_string(str(ir)) == ir


@pytest.mark.parametrize(
    "make,exc",
    [
        (lambda: SU2(-1), ValueError),
        (lambda: SU2(Fraction(1, 3)), ValueError),
        (lambda: SU2(0.3), ValueError),
        (lambda: SU2(float("nan")), ValueError),
        (lambda: SU2(True), TypeError),
        (lambda: SU2(None), TypeError),
        (lambda: SU2.from_string("SU2(x)"), ValueError),
        (lambda: SU2.from_string(1), TypeError),
        (lambda: SO3(-1), ValueError),
        (lambda: SO3(1.0), TypeError),
        (lambda: SO3(True), TypeError),
        (lambda: SO3.from_string("1o"), ValueError),
        (lambda: SO3.from_string("SO3(-1)"), ValueError),
        (lambda: O3(1, 0), ValueError),
        (lambda: O3(1, 2), ValueError),
        (lambda: O3(1, True), TypeError),
        (lambda: O3(1, 1.0), TypeError),
        (lambda: O3(-1, 1), ValueError),
        (lambda: O3.from_string("1x"), ValueError),
        (lambda: O3.from_string("SO3(1)"), ValueError),
        (lambda: SO3(1) * SU2(1), TypeError),
        (lambda: SO3(1) * O3(1, 1), TypeError),
        (lambda: SO3(1).clebsch_gordan(SU2(1), SO3(1)), TypeError),
        (lambda: O3(1, 1).clebsch_gordan(O3(1, 1), SO3(1)), TypeError),
        (lambda: SU2(1).clebsch_gordan(SU2(1), 1), TypeError),
    ],
)
def test_bad_input(make, exc) -> None:
    with pytest.raises(exc):
        make()


def test_exact_so3_cg_keeps_the_garbage_collector_quiet() -> None:
    """Issue 17.4: the exact (10, 10, 20) computation must not keep thousands of containers alive
    (each gen-0 collection can escalate to a full scan of a large process, e.g. one holding torch).
    Counted, not timed: collections during the call, in a fresh process with default thresholds."""
    import subprocess
    import sys

    code = (
        "import gc\n"
        "from lie_nn._src.groups.so3 import so3_clebsch_gordan\n"
        "gc.collect(); gc.set_threshold(700, 10, 10)\n"
        "runs = []\n"
        "gc.callbacks.append(lambda phase, info: runs.append(info) if phase == 'stop' else None)\n"
        "so3_clebsch_gordan(10, 10, 20)\n"
        "print(len(runs))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         check=True)
    assert int(out.stdout) <= 2, f"{out.stdout.strip()} garbage collections (11 before the fix)"
