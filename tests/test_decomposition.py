"""decompose_generators: certified irreducible components of representations given by generators."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lie_nn as lnn


def so4() -> np.ndarray:
    """Basis L_ij = E_ji - E_ij (i < j) of so(4) on R^4."""
    out = []
    for i in range(4):
        for j in range(i + 1, 4):
            m = np.zeros((4, 4))
            m[i, j], m[j, i] = -1.0, 1.0
            out.append(m)
    return np.array(out)


def sp4() -> np.ndarray:
    """Basis of the compact sp(2) = {X anti-Hermitian 4x4 : X^T J + J X = 0}, acting on C^4."""
    J = np.block([[np.zeros((2, 2)), np.eye(2)], [-np.eye(2), np.zeros((2, 2))]])
    herm = []
    for i in range(4):
        for j in range(4):
            e = np.zeros((4, 4), complex)
            if i == j:
                e[i, i] = 1j
            elif i < j:
                e[i, j], e[j, i] = 1, -1
            else:
                e[i, j], e[j, i] = 1j, 1j
            herm.append(e)
    u4 = np.array(herm)  # a real basis of u(4)
    cond = np.einsum("aji,jk->aik", u4, J) + np.einsum("ij,ajk->aik", J, u4)
    flat = cond.reshape(16, -1)
    _, s, vh = np.linalg.svd(np.concatenate([flat.real, flat.imag], axis=1).T)
    null = vh[np.sum(s > 1e-10):]
    return np.einsum("ka,aij->kij", null, u4)


def realify(x: np.ndarray) -> np.ndarray:
    return np.block([[x.real, -x.imag], [x.imag, x.real]])


def scramble(x: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A random basis change of condition number at most e^2 (not orthogonal)."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.normal(size=x.shape[1:]))
    v, _ = np.linalg.qr(rng.normal(size=x.shape[1:]))
    q = u @ np.diag(np.exp(rng.uniform(-1, 1, size=x.shape[1]))) @ v
    return np.einsum("ij,ajk,kl->ail", q, x, np.linalg.inv(q)), q


def check(X: np.ndarray, D: np.ndarray | None, irreps: lnn.Irreps, Q: np.ndarray) -> None:
    """X Q = Q ⊕ blocks (the one block-diagonal builder of Irreps), Q invertible, blocks irreducible."""
    np.testing.assert_allclose(X @ Q, Q @ irreps.algebra(), atol=1e-9 * max(1.0, np.abs(X).max()))
    if D is not None:
        np.testing.assert_allclose(D @ Q, Q @ irreps.discrete_generators(), atol=1e-9)
    assert irreps.dim == X.shape[1] and np.linalg.cond(Q) < 1e8
    irs = [m.ir for m in irreps]
    for i, ir in enumerate(irs):
        for other in irs[:i]:
            assert other.dim != ir.dim or len(lnn.change_of_basis(other, ir)) == 0


def shape(irreps: lnn.Irreps) -> list[tuple[int, int]]:
    return [(m.mul, m.ir.dim) for m in irreps]


# ----------------------------------------------------------------------------- SO(4), Sp(4)
def test_so4_defining_is_irreducible() -> None:
    vec = lnn.GenericRep(so4())
    assert vec.is_irreducible() and vec.is_irreducible("real")
    irreps, Q = lnn.decompose_generators(so4())
    assert shape(irreps) == [(1, 4)]
    check(so4(), None, irreps, Q)


def test_so4_adjoint_is_3_plus_3() -> None:
    f = lnn.GenericRep(so4()).structure_constants()
    adjoint = -np.transpose(f, (0, 2, 1))  # (ad L_a)_cb = f_abc
    for real in (False, True):
        irreps, Q = lnn.decompose_generators(adjoint, real=real)
        assert shape(irreps) == [(1, 3), (1, 3)]  # self-dual (3,1) and anti-self-dual (1,3)
        check(adjoint, None, irreps, Q)
        assert np.isrealobj(Q)  # real-type blocks: a real basis even over C
        np.testing.assert_allclose(Q.T @ Q, np.eye(6), atol=1e-10)  # orthogonal for a real orthogonal rep
        # each 3 is the adjoint of one so(3) factor: three of the six generators act trivially on it
        for m in irreps:
            assert np.linalg.matrix_rank(m.ir.algebra().reshape(6, -1), tol=1e-9) == 3


def test_so4_square() -> None:
    vec = lnn.GenericRep(so4(), label="4")
    irreps, Q = lnn.decompose_generators(vec.tensor(vec), real=True)
    assert shape(irreps) == [(1, 1), (1, 3), (1, 3), (1, 9)] and np.isrealobj(Q)
    check(vec.tensor(vec).algebra(), None, irreps, Q)
    assert all(m.ir.group_id() == vec.group_id() for m in irreps)
    assert [(m.mul, m.ir.dim) for m in vec * vec] == [(1, 1), (1, 3), (1, 3), (1, 9)]


def test_sp4_defining_and_square() -> None:
    x = sp4()
    assert x.shape == (10, 4, 4)
    vec = lnn.GenericRep(x)
    assert vec.is_irreducible() and not vec.is_real
    irreps, Q = lnn.decompose_generators(vec.tensor(vec))
    assert shape(irreps) == [(1, 1), (1, 5), (1, 10)]  # Λ² = 1 + 5, Sym² = 10 (adjoint)
    check(vec.tensor(vec).algebra(), None, irreps, Q)
    np.testing.assert_allclose(Q.conj().T @ Q, np.eye(16), atol=1e-10)  # unitary rep: unitary Q


def test_quaternionic_type_over_r_and_c() -> None:
    """Sp(4) on C^4 = R^8: irreducible over R (commutant H), two copies of the 4 over C."""
    x = np.array([realify(m) for m in sp4()])
    rep = lnn.GenericRep(x)
    assert rep.is_irreducible("real") and not rep.is_irreducible()
    assert shape(lnn.decompose_generators(x, real=True)[0]) == [(1, 8)]
    irreps, Q = lnn.decompose_generators(x)
    assert shape(irreps) == [(2, 4)]
    check(x, None, irreps, Q)


# ----------------------------------------------------------------------------- R versus C
def test_so2_plane() -> None:
    J = np.array([[[0.0, -1.0], [1.0, 0.0]]])
    plane = lnn.GenericRep(J)
    assert not plane.is_irreducible() and plane.is_irreducible(field="real")
    real, Q = lnn.decompose_generators(J, real=True)
    assert shape(real) == [(1, 2)] and np.isrealobj(Q)
    complex_, Qc = lnn.decompose_generators(J)
    assert shape(complex_) == [(1, 1), (1, 1)]
    check(J, None, complex_, Qc)
    assert sorted(complex(m.ir.algebra()[0, 0, 0]).imag for m in complex_) == [-1.0, 1.0]
    two = plane.direct_sum(plane)
    assert shape(lnn.decompose_generators(two, real=True)[0]) == [(1 * 2, 2)]  # multiplicity explicit
    assert not two.is_irreducible("real")
    with pytest.raises(ValueError, match="field"):
        plane.is_irreducible("quaternion")


def test_real_needs_real_generators() -> None:
    with pytest.raises(ValueError, match="real generators"):
        lnn.decompose_generators(lnn.SU2("1/2").algebra(), real=True)
    with pytest.raises(ValueError, match="real generators"):
        lnn.GenericRep(lnn.SU2("1/2").algebra()).is_irreducible("real")


# ----------------------------------------------------------------------------- scrambled known irreps
@settings(max_examples=5, deadline=None)
@given(st.integers(0, 2**31))
def test_scrambled_so3_sum(seed: int) -> None:
    irreps = lnn.Irreps([(2, lnn.SO3(1)), (1, lnn.SO3(0)), (3, lnn.SO3(2)), (1, lnn.SO3(1))])
    x, q = scramble(irreps.algebra(), seed)
    found, Q = lnn.decompose_generators(x, real=True)
    assert shape(found) == [(1, 1), (3, 3), (3, 5)]
    check(x, None, found, Q)
    for m, l in zip(found, (0, 1, 2), strict=True):
        assert m.ir.is_irreducible() and len(lnn.change_of_basis(m.ir, lnn.SO3(l))) == 1


def test_o3_parity_separates_classes() -> None:
    irreps = lnn.Irreps("1o + 0e + 1e + 0o + 1o")
    x, q = scramble(irreps.algebra(), 3)
    d = np.einsum("ij,ajk,kl->ail", q, irreps.discrete_generators(), np.linalg.inv(q))
    found, Q = lnn.decompose_generators(x, d)
    assert sorted(shape(found)) == [(1, 1), (1, 1), (1, 3), (2, 3)]
    check(x, d, found, Q)
    assert shape(lnn.decompose_generators(x)[0]) == [(2, 1), (3, 3)]  # without parity: SO(3) only


def test_generic_rep_input_and_group() -> None:
    vec = lnn.GenericRep(lnn.SO3(1).algebra())
    irreps, _ = lnn.decompose_generators(vec.tensor(vec))
    assert shape(irreps) == [(1, 1), (1, 3), (1, 5)]
    assert {m.ir.group_id() for m in irreps} == {vec.group_id()}
    with pytest.raises(TypeError, match="inside the GenericRep"):
        lnn.decompose_generators(vec, np.eye(3)[None])


# ----------------------------------------------------------------------------- certification failures
def test_not_completely_reducible() -> None:
    """ax+b group: reducible (span e_1 is invariant) without an invariant complement."""
    x = np.array([[[1.0, 0], [0, 0]], [[0, 1], [0, 0]]])
    with pytest.raises(lnn.DecompositionError, match="reducible|independent"):
        lnn.decompose_generators(x)
    assert not lnn.GenericRep(x).is_irreducible("real")


def test_ill_conditioned_basis_is_a_clear_error() -> None:
    irreps = lnn.Irreps([(2, lnn.SO3(1)), (1, lnn.SO3(0)), (3, lnn.SO3(2)), (1, lnn.SO3(1))])
    rng = np.random.default_rng(9728222)
    q = np.eye(25) + 0.4 * rng.normal(size=(25, 25))  # condition number 3.4e3: the solver refuses
    x = np.einsum("ij,ajk,kl->ail", q, irreps.algebra(), np.linalg.inv(q))
    with pytest.raises(lnn.DecompositionError, match="ill-conditioned"):
        lnn.decompose_generators(x, real=True)


def test_not_a_representation() -> None:
    with pytest.raises(ValueError, match="do not close"):
        lnn.decompose_generators(np.random.default_rng(0).normal(size=(2, 3, 3)))
    with pytest.raises(ValueError, match="shape"):
        lnn.decompose_generators(np.zeros((3, 3)))
