"""Tests of the generic intertwiner solver and numeric Clebsch–Gordan coefficients."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lie_nn._src.intertwiner as it
from lie_nn._src.canonical import canonical_basis
from lie_nn._src.cg import numeric_clebsch_gordan
from lie_nn._src.groups.generic import GenericRep
from lie_nn._src.groups.o3 import O3
from lie_nn._src.groups.so3 import SO3
from lie_nn._src.groups.su2 import SU2
from lie_nn._src.groups.sun import SUN
from lie_nn._src.intertwiner import intertwiners
from lie_nn._src.irrep import Irrep, MulIrrep


# --------------------------------------------------------------------------- hand-built reps
def spin(two_j: int) -> np.ndarray:
    """Anti-Hermitian su(2) generators ``-i J_k`` of spin ``two_j / 2`` (m ascending)."""
    d = two_j + 1
    m = np.arange(d) - two_j / 2
    up = np.zeros((d, d))
    for i in range(d - 1):
        up[i + 1, i] = np.sqrt((two_j / 2 - m[i]) * (two_j / 2 + m[i] + 1))
    J = np.array([(up + up.T) / 2, (up - up.T) / 2j, np.diag(m)])
    return -1j * J


def so3_vector() -> np.ndarray:
    """Real antisymmetric generators ``(L_a)_bc = -ε_abc``."""
    L = np.zeros((3, 3, 3))
    for a, b, c in [(0, 1, 2), (1, 2, 0), (2, 0, 1)]:
        L[a, b, c], L[a, c, b] = -1.0, 1.0
    return L


def tensor(X1: np.ndarray, X2: np.ndarray) -> np.ndarray:
    d1, d2 = X1.shape[1], X2.shape[1]
    return np.stack([np.kron(a, np.eye(d2)) + np.kron(np.eye(d1), b) for a, b in zip(X1, X2, strict=True)])


def conjugate(X: np.ndarray, S: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ajk,kl->ail", np.linalg.inv(S), X, S)


def random_unitary(d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d)))
    return q * (np.diag(r) / np.abs(np.diag(r)))


def residual(XA, XB, C) -> float:
    res = np.einsum("aij,mjk->amik", XA, C) - np.einsum("mij,ajk->amik", C, XB)
    return float(np.abs(res).max(initial=0.0))


def assert_orthonormal(C: np.ndarray) -> None:
    flat = C.reshape(len(C), C[0].size if len(C) else 0)
    np.testing.assert_allclose(flat.conj() @ flat.T, np.eye(len(C)), atol=1e-12)


# --------------------------------------------------------------------------- intertwiners
def test_recovers_unitary_equivalence():
    X = spin(4)
    U = random_unitary(5, 3)
    C = intertwiners(X, conjugate(X, U))
    assert C.shape == (1, 5, 5)
    overlap = abs(np.vdot(U, C[0])) / (np.linalg.norm(U) * np.linalg.norm(C[0]))
    assert overlap == pytest.approx(1.0, abs=1e-12)
    assert residual(X, conjugate(X, U), C) < 1e-12


@pytest.mark.parametrize(("two_j", "expected"), [(0, 1), (2, 1), (4, 0), (1, 0)])
def test_half_times_half(two_j, expected):
    C = intertwiners(tensor(spin(1), spin(1)), spin(two_j))
    assert len(C) == expected
    assert residual(tensor(spin(1), spin(1)), spin(two_j), C) < 1e-12
    assert_orthonormal(C)


def test_real_inputs_give_real_basis():
    L = so3_vector()
    C = intertwiners(tensor(L, L), L)  # cross product
    assert C.dtype == np.float64 and C.shape == (1, 9, 3)
    eps = np.zeros((3, 3, 3))
    for a, b, c in [(0, 1, 2), (1, 2, 0), (2, 0, 1)]:
        eps[a, b, c], eps[b, a, c] = 1.0, -1.0
    np.testing.assert_allclose(np.abs(C[0].reshape(3, 3, 3)), np.abs(eps) / np.sqrt(6), atol=1e-13)
    assert np.iscomplexobj(intertwiners(tensor(L, L), L, real=False))
    with pytest.raises(ValueError, match="real=True"):
        intertwiners(spin(2), spin(2), real=True)


def test_commutant_dimension_counts_multiplicities():
    L = so3_vector()
    XA = tensor(L, L)  # 0 + 1 + 2
    assert len(intertwiners(XA, XA)) == 3
    XB = tensor(XA, L)  # 1 + (0+1+2) + (1+2+3) = 0 + 3x1 + 2x2 + 3
    assert len(intertwiners(XB, L)) == 3 and len(intertwiners(XB, XB)) == 1 + 9 + 4 + 1


def test_discrete_generators_select_parity():
    L = so3_vector()
    odd, even = -np.eye(3)[None], np.eye(3)[None]
    D = np.kron(odd[0], odd[0])[None]
    assert len(intertwiners(tensor(L, L), L, D, even)) == 1  # vector x vector -> pseudovector
    assert len(intertwiners(tensor(L, L), L, D, odd)) == 0
    # discrete generators alone (a finite group: Z2 swap on C^2 x C^2)
    swap = np.eye(4)[[0, 2, 1, 3]][None]
    C = intertwiners(np.zeros((0, 4, 4)), np.zeros((0, 1, 1)), swap, np.ones((1, 1, 1)))
    assert len(C) == 3


def test_canonical_form_independent_of_seed_and_path(monkeypatch):
    X1, X2 = spin(2), spin(3)
    XA, XB = tensor(X1, X2), spin(3)
    ref = intertwiners(XA, XB)
    monkeypatch.setattr(it, "_SEED", 12345)
    np.testing.assert_allclose(intertwiners(XA, XB), ref, atol=1e-12)
    monkeypatch.setattr(it, "_SMALL_WORK", 0)  # Gram-matrix path
    np.testing.assert_allclose(intertwiners(XA, XB), ref, atol=1e-12)
    monkeypatch.setattr(it, "_eigen_frame", lambda *args: None)  # direct Kronecker path
    np.testing.assert_allclose(intertwiners(XA, XB), ref, atol=1e-12)


def test_canonical_form_independent_of_generator_basis():
    L = so3_vector()
    XA, XB = tensor(L, L), tensor(L, L)
    M = np.random.default_rng(0).normal(size=(3, 3))  # another basis of the same Lie algebra
    mix = lambda X: np.einsum("ab,bij->aij", M, X)  # noqa: E731
    redundant = lambda X: np.concatenate([X, X[:1] @ X[1:2] - X[1:2] @ X[:1]])  # noqa: E731
    ref = intertwiners(XA, XB)
    np.testing.assert_allclose(intertwiners(mix(XA), mix(XB)), ref, atol=1e-12)
    np.testing.assert_allclose(intertwiners(redundant(XA), redundant(XB)), ref, atol=1e-12)
    np.testing.assert_allclose(intertwiners(XA[::-1], XB[::-1]), ref, atol=1e-12)


def test_canonical_basis_depends_only_on_span():
    rng = np.random.default_rng(1)
    V = np.linalg.qr(rng.normal(size=(12, 3)) + 1j * rng.normal(size=(12, 3)))[0].T
    V[:, 0] = 0.0  # a zero column must be skipped as a pivot
    V = np.linalg.qr(V.T)[0].T
    ref = canonical_basis(V)
    np.testing.assert_allclose(canonical_basis(random_unitary(3, 5) @ V), ref, atol=1e-12)
    assert_orthonormal(ref)
    for row in ref:
        i = int(np.argmax(np.abs(row)))
        assert abs(row[i].imag) < 1e-14 and row[i].real > 0


def direct_sum(*Xs: np.ndarray) -> np.ndarray:
    d = sum(X.shape[1] for X in Xs)
    out, start = np.zeros((len(Xs[0]), d, d), dtype=complex), 0
    for X in Xs:
        out[:, start : start + X.shape[1], start : start + X.shape[1]] = X
        start += X.shape[1]
    return out


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=4), st.integers(0, 2**16), st.booleans())
def test_commutant_of_random_reducible_rep(spins, seed, unitary):
    d = sum(j + 1 for j in spins)
    rng = np.random.default_rng(seed)
    S = random_unitary(d, seed) if unitary else rng.normal(size=(d, d)) + 2 * np.sqrt(d) * np.eye(d)
    X = conjugate(direct_sum(*(spin(j) for j in spins)), S)
    C = intertwiners(X, X)
    assert len(C) == sum(spins.count(j) ** 2 for j in set(spins))  # Schur: Σ mult²
    assert residual(X, X, C) < 1e-10
    assert_orthonormal(C)
    original = it._eigen_frame
    try:
        it._eigen_frame = lambda *args: None  # the direct Kronecker path gives the same canonical basis
        np.testing.assert_allclose(intertwiners(X, X), C, atol=1e-9)
    finally:
        it._eigen_frame = original


def test_non_unitary_lorentz_generators():
    s = spin(1)
    left = np.concatenate([s, 1j * s])  # (1/2, 0): rotations anti-Hermitian, boosts Hermitian
    right = np.concatenate([s, -1j * s])  # (0, 1/2)
    XA = tensor(left, right)  # (1/2, 1/2), the 4-vector
    assert len(intertwiners(XA, XA)) == 1
    S = np.random.default_rng(2).normal(size=(4, 4)) + 4 * np.eye(4)  # non-unitary change of basis
    XB = conjugate(XA, S)
    C = intertwiners(XA, XB)
    assert C.shape == (1, 4, 4) and residual(XA, XB, C) < 1e-11
    overlap = abs(np.vdot(S, C[0])) / (np.linalg.norm(S) * np.linalg.norm(C[0]))
    assert overlap == pytest.approx(1.0, abs=1e-10)
    assert len(intertwiners(left, right)) == 0


def test_non_diagonalizable_falls_back():
    N = np.diag([1.0, 1.0], k=1)[None]  # 3x3 Jordan block, not diagonalizable
    assert it._eigen_frame(N, N, np.zeros((0, 3, 3)), np.zeros((0, 3, 3))) is None
    S = np.random.default_rng(4).normal(size=(3, 3)) + 3 * np.eye(3)
    C = intertwiners(N, conjugate(N, S))
    assert len(C) == 3  # polynomials in the Jordan block, times S
    assert residual(N, conjugate(N, S), C) < 1e-11
    affine = np.array([[[1.0, 0.0], [0.0, 0.0]], [[0.0, 1.0], [0.0, 0.0]]])  # ax+b, indecomposable
    assert len(intertwiners(affine, affine)) == 1
    assert len(intertwiners(affine, np.zeros((2, 1, 1)))) == 0
    assert len(intertwiners(np.zeros((2, 1, 1)), affine)) == 1  # the invariant line of the quotient


def test_trivial_and_empty_cases():
    assert intertwiners(np.zeros((3, 2, 2)), np.zeros((3, 2, 2))).shape == (4, 2, 2)
    np.testing.assert_allclose(intertwiners(np.zeros((0, 2, 2)), np.zeros((0, 1, 1)))[:, :, 0], np.eye(2))
    assert intertwiners(np.zeros((1, 0, 0)), spin(2)[:1]).shape == (0, 0, 3)


def test_bad_input():
    with pytest.raises(ValueError, match="generators"):
        intertwiners(spin(1), spin(1)[:2])
    with pytest.raises(ValueError, match="shape"):
        intertwiners(np.zeros((3, 2, 3)), spin(1))
    with pytest.raises(ValueError, match="shape"):
        intertwiners(np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="discrete"):
        intertwiners(spin(1), spin(1), np.eye(2)[None], None)
    with pytest.raises(ValueError, match="dimension"):
        intertwiners(spin(1), spin(1), np.eye(3)[None], np.eye(2)[None])
    with pytest.raises(ValueError, match="non-finite"):
        intertwiners(spin(1) * np.nan, spin(1))
    with pytest.raises(TypeError, match="numeric"):
        intertwiners("abc", spin(1))


def test_certification_catches_wrong_answers(monkeypatch):
    monkeypatch.setattr(it, "_solve", lambda XA, XB, *rest: np.eye(1, XA.shape[1] * XB.shape[1]))
    with pytest.raises(RuntimeError, match="certification"):
        intertwiners(spin(1), spin(1))


# --------------------------------------------------------------------------- numeric CG
def check_cg(ir1: Irrep, ir2: Irrep, ir3: Irrep, C: np.ndarray) -> None:
    X1, X2, X3 = ir1.algebra(), ir2.algebra(), ir3.algebra()
    lhs = np.einsum("aik,mkjl->amijl", X1, C) + np.einsum("ajk,mikl->amijl", X2, C)
    assert np.abs(lhs - np.einsum("mijk,akl->amijl", C, X3)).max(initial=0.0) < 1e-10
    D1, D2, D3 = ir1.discrete_generators(), ir2.discrete_generators(), ir3.discrete_generators()
    lhs = np.einsum("bia,bjc,mack->bmijk", D1, D2, C)
    assert np.abs(lhs - np.einsum("mijl,blk->bmijk", C, D3)).max(initial=0.0) < 1e-10
    gram = np.einsum("mijk,nijl->mnkl", C.conj(), C)  # Schur: isometries, mutually orthogonal
    expected = np.einsum("mn,kl->mnkl", np.eye(len(C)), np.eye(ir3.dim))
    np.testing.assert_allclose(gram, expected, atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 4), st.integers(0, 4), st.integers(0, 8))
def test_su2_selection_rule_and_isometry(two_j1, two_j2, two_j3):
    ir1, ir2, ir3 = SU2(two_j1 / 2), SU2(two_j2 / 2), SU2(two_j3 / 2)
    C = numeric_clebsch_gordan(ir1, ir2, ir3)
    allowed = abs(two_j1 - two_j2) <= two_j3 <= two_j1 + two_j2 and (two_j1 + two_j2 + two_j3) % 2 == 0
    assert C.shape == (int(allowed), ir1.dim, ir2.dim, ir3.dim)
    check_cg(ir1, ir2, ir3, C)


def test_o3_cg_is_real_and_respects_parity():
    C = numeric_clebsch_gordan(O3(1, -1), O3(1, -1), O3(1, 1))
    assert C.dtype == np.float64 and C.shape == (1, 3, 3, 3)
    check_cg(O3(1, -1), O3(1, -1), O3(1, 1), C)
    assert len(numeric_clebsch_gordan(O3(1, -1), O3(1, -1), O3(1, -1))) == 0
    check_cg(SO3(2), SO3(1), SO3(2), numeric_clebsch_gordan(SO3(2), SO3(1), SO3(2)))


def test_cg_of_generic_rep_without_selection_rule():
    L = so3_vector()
    vec = GenericRep(L, label="vec")
    C = numeric_clebsch_gordan(vec, vec, vec)
    assert C.shape == (1, 3, 3, 3)
    check_cg(vec, vec, vec, C)


def test_su3_adjoint_squared_has_adjoint_twice():
    adj = SUN((2, 1, 0))
    for term in adj * adj:
        C = numeric_clebsch_gordan(adj, adj, term.ir)
        assert len(C) == term.mul
        check_cg(adj, adj, term.ir, C)
    assert len(numeric_clebsch_gordan(adj, adj, adj)) == 2


@dataclass(frozen=True)
class LyingSpin(Irrep):
    """An SU(2) irrep whose selection rule is wrong, to test the cross-check."""

    two_j: int

    @property
    def dim(self) -> int:
        return self.two_j + 1

    def algebra(self) -> np.ndarray:
        return spin(self.two_j)

    def __mul__(self, other: Irrep) -> tuple[MulIrrep, ...]:
        return (MulIrrep(3, LyingSpin(0)),)

    def trivial(self) -> Irrep:
        return LyingSpin(0)

    def dual(self) -> Irrep:
        return self

    def sort_key(self) -> tuple:
        return (self.two_j,)

    @classmethod
    def from_string(cls, text: str) -> Irrep:
        return cls(int(text))


def test_selection_rule_mismatch_raises():
    with pytest.raises(RuntimeError, match="selection rule"):
        numeric_clebsch_gordan(LyingSpin(1), LyingSpin(1), LyingSpin(0))
    with pytest.raises(TypeError):
        numeric_clebsch_gordan(SO3(1), SU2(1), SO3(1))


def test_su3_15_times_15bar_all_cgs():
    a = SUN((3, 1, 0))
    b = a.dual()
    for term in a * b:
        C = numeric_clebsch_gordan(a, b, term.ir)
        assert len(C) == term.mul
    check_cg(a, b, SUN((4, 2, 0)), numeric_clebsch_gordan(a, b, SUN((4, 2, 0))))
