"""Tests of change_of_basis and decompose."""

from __future__ import annotations

import numpy as np
import pytest

from lie_nn._src.change_basis import change_of_basis, decompose
from lie_nn._src.groups.generic import GenericRep
from lie_nn._src.groups.o3 import O3
from lie_nn._src.groups.so3 import SO3
from lie_nn._src.groups.su2 import SU2
from lie_nn._src.groups.sun import SUN
from lie_nn._src.irrep import MulIrrep
from lie_nn._src.irreps import Irreps


class Rep:
    """A bare representation: anything with algebra() and discrete_generators()."""

    def __init__(self, X: np.ndarray, D: np.ndarray | None = None) -> None:
        self.X = X
        self.D = np.zeros((0, X.shape[1], X.shape[1])) if D is None else D

    def algebra(self) -> np.ndarray:
        return self.X

    def discrete_generators(self) -> np.ndarray:
        return self.D


def tensor(A, B) -> Rep:
    X1, X2 = A.algebra(), B.algebra()
    d1, d2 = X1.shape[1], X2.shape[1]
    X = np.stack([np.kron(a, np.eye(d2)) + np.kron(np.eye(d1), b) for a, b in zip(X1, X2, strict=True)])
    D = np.einsum("aik,ajl->aijkl", A.discrete_generators(), B.discrete_generators())
    return Rep(X, D.reshape(-1, d1 * d2, d1 * d2))


def blockdiag(terms: list[MulIrrep], method: str) -> np.ndarray:
    return getattr(Irreps(terms), method)()


def check_decomposition(rep, terms, Q) -> None:
    for method in ("algebra", "discrete_generators"):
        lhs = np.einsum("aij,jk->aik", getattr(rep, method)(), Q)
        rhs = np.einsum("ij,ajk->aik", Q, blockdiag(terms, method))
        np.testing.assert_allclose(lhs, rhs, atol=1e-10)


def test_change_of_basis_recovers_conjugation():
    rng = np.random.default_rng(0)
    S = rng.normal(size=(5, 5)) + 3 * np.eye(5)
    X = SU2(2).algebra()
    target = Rep(np.einsum("ij,ajk,kl->ail", S, X, np.linalg.inv(S)))
    Q = change_of_basis(SU2(2), target)
    assert Q.shape == (1, 5, 5)
    np.testing.assert_allclose(target.algebra() @ Q[0], Q[0] @ X, atol=1e-11)
    assert abs(np.vdot(S, Q[0])) / (np.linalg.norm(S) * np.linalg.norm(Q[0])) == pytest.approx(1, abs=1e-10)


def test_change_of_basis_between_unitary_equivalent_irreps_is_unitary():
    Q = change_of_basis(SU2(1), GenericRep(SO3(1).algebra()))
    assert Q.shape == (1, 3, 3)
    np.testing.assert_allclose(Q[0].conj().T @ Q[0], np.eye(3), atol=1e-12)
    assert change_of_basis(SU2(1), SU2(2)).shape == (0, 5, 3)


def test_change_of_basis_permuted_irreps():
    a = Irreps([O3(0, 1), O3(1, -1), O3(2, 1)])
    b = Irreps([O3(2, 1), O3(0, 1), O3(1, -1)])
    Q = change_of_basis(a, b)
    assert Q.shape == (3, 9, 9) and Q.dtype == np.float64  # one scalar per irrep
    support = np.abs(Q).sum(0) > 1e-12
    assert np.all(support.sum(0) == 1) and np.all(support.sum(1) == 1)  # a permutation of the basis
    np.testing.assert_allclose(b.algebra() @ Q[:, None], Q[:, None] @ a.algebra(), atol=1e-12)


def test_change_of_basis_errors():
    with pytest.raises(ValueError, match="different groups"):
        change_of_basis(SO3(1), SUN((1, 0, 0)))
    with pytest.raises(ValueError, match="different groups"):
        change_of_basis(SO3(1), O3(1, 1))
    with pytest.raises(TypeError, match="algebra"):
        change_of_basis(np.eye(3), SO3(1))


def test_decompose_three_spin_halves():
    half = SU2("1/2")
    rep = tensor(tensor(half, half), half)
    terms, Q = decompose(rep, half.iterator())
    assert [(t.mul, t.ir) for t in terms] == [(2, SU2("1/2")), (1, SU2("3/2"))]
    check_decomposition(rep, terms, Q)
    np.testing.assert_allclose(Q.conj().T @ Q, np.eye(8), atol=1e-12)


def test_decompose_with_parity_and_finite_candidate_list():
    rep = tensor(O3(1, -1), O3(2, 1))  # 1o x 2e = 1o + 2o + 3o
    candidates = [O3(l, p) for l in range(4) for p in (1, -1)]
    terms, Q = decompose(rep, candidates)
    assert [str(t) for t in terms] == ["1xO3(1o)", "1xO3(2o)", "1xO3(3o)"]
    assert Q.dtype == np.float64
    check_decomposition(rep, terms, Q)
    terms, _ = decompose(Irreps(candidates[:3]), Irreps(candidates))  # Irreps as candidates
    assert [str(t) for t in terms] == ["1xO3(0e)", "1xO3(0o)", "1xO3(1e)"]


def test_decompose_su3_adjoint_squared():
    adj = SUN((2, 1, 0))
    rep = tensor(adj, adj)
    terms, Q = decompose(rep, [term.ir for term in adj * adj])
    assert terms == list(adj * adj)
    check_decomposition(rep, terms, Q)


@pytest.mark.filterwarnings("ignore:the generators are linearly dependent")
def test_decompose_failures():
    with pytest.raises(ValueError, match="incomplete"):
        decompose(tensor(SO3(1), SO3(1)), [SO3(0), SO3(2)])
    affine = Rep(np.array([[[1.0, 0.0], [0.0, 0.0]], [[0.0, 1.0], [0.0, 0.0]]]))  # not completely reducible
    one_dim = [GenericRep(np.array([[[1.0]], [[0.0]]])), GenericRep(np.zeros((2, 1, 1)))]
    with pytest.raises(ValueError, match="incomplete"):
        decompose(affine, one_dim)
    with pytest.raises(TypeError, match="irreps"):
        decompose(SO3(1), [3.5])
    assert decompose(SO3(1), ["SO3(1)"])[0] == decompose(SO3(1), [SO3(1)])[0]  # labels are irreps
    terms, Q = decompose(SO3(2), SO3(0).iterator(), patience=3)  # infinite iterator terminates
    assert terms == [MulIrrep(1, SO3(2))]
    with pytest.raises(ValueError, match="incomplete"):
        decompose(SO3(2), (SO3(1) for _ in iter(int, 1)), max_candidates=5)  # endless useless candidates
