r"""The universal checks every group must pass, callable on any list of irreps (numpy only).

lie_nn's own test suite runs them on :func:`~lie_nn.testing.example_irreps` (``tests/test_universal.py``);
a user who defines a group runs them on a few of its irreps with :func:`check_irreps`.

Multiplicities are re-derived independently of the Clebsch–Gordan code, as dimensions of solution
spaces of the Kronecker-form intertwining equations (:func:`hom_dim`), and Clebsch–Gordan
coefficients are checked at the Lie-algebra level and under finite group elements.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence

import numpy as np

from lie_nn._src.cg import clebsch_gordan
from lie_nn._src.intertwiner import tensor_generators
from lie_nn._src.irrep import Irrep
from lie_nn._src.irreps import Irreps
from lie_nn._src.parse import irrep_from_string
from lie_nn.testing._equivariance import GroupElement, assert_intertwines, represent

__all__ = [
    "check_group",
    "check_irrep",
    "check_irreps",
    "check_pair",
    "check_triple",
    "hom_dim",
    "products",
]

TOL = 1e-10


def _gens(ir: Irrep) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(ir.algebra()), np.asarray(ir.discrete_generators())


def _scale(*arrays: np.ndarray) -> float:
    return max(1.0, *(float(np.abs(a).max(initial=0.0)) for a in arrays))


def hom_dim(xa: np.ndarray, xb: np.ndarray, da: np.ndarray, db: np.ndarray) -> int:
    r"""``dim {C : xa_k C = C xb_k, da_k C = C db_k}`` over C, from the Gram matrix of the equations.

    >>> from lie_nn import SO3
    >>> x, d = SO3(1).algebra(), SO3(1).discrete_generators()
    >>> hom_dim(x, x, d, d)   # Schur: only the scalars commute with an irrep
    1
    """
    na, nb = xa.shape[1], xb.shape[1]
    ia, ib = np.eye(na), np.eye(nb)
    gram = np.zeros((na * nb, na * nb), dtype=np.complex128)
    left, right = np.zeros((na, na), complex), np.zeros((nb, nb), complex)
    for a, b in itertools.chain(zip(xa, xb, strict=True), zip(da, db, strict=True)):
        # K = A ⊗ 1 - 1 ⊗ B^T (row-major vec(A C - C B)); K^H K assembled from small Kronecker factors
        bt = b.T
        left += a.conj().T @ a
        right += bt.conj().T @ bt
        gram -= np.kron(a.conj().T, bt) + np.kron(a, bt.conj().T)
    gram += np.kron(left, ib) + np.kron(ia, right)
    eig = np.linalg.eigvalsh(gram)
    return int(np.sum(eig <= 1e-9 * max(1.0, eig.max(initial=0.0))))


def products(ir1: Irrep, ir2: Irrep, candidates: Sequence[Irrep]) -> list[tuple[Irrep, int]]:
    """``(ir3, mul)`` by the selection rule, or every candidate with ``mul = -1`` when it is unknown.

    >>> from lie_nn import SO3
    >>> [(str(ir), mul) for ir, mul in products(SO3(1), SO3(1), [])]
    [('SO3(0)', 1), ('SO3(1)', 1), ('SO3(2)', 1)]
    """
    try:
        return [(term.ir, term.mul) for term in Irreps(ir1 * ir2)]
    except NotImplementedError:
        return [(ir3, -1) for ir3 in candidates]


def _span_coefficients(basis: np.ndarray, targets: np.ndarray) -> np.ndarray:
    flat = basis.reshape(len(basis), -1)
    a = np.concatenate([flat.real, flat.imag], axis=1).T
    assert np.linalg.matrix_rank(a) == len(basis), "the irreps are not jointly faithful"
    t = targets.reshape(len(targets), -1)
    return np.linalg.lstsq(a, np.concatenate([t.real, t.imag], axis=1).T, rcond=None)[0].T


# ------------------------------------------------------------------------------ the group
def check_group(irreps: Sequence[Irrep]) -> None:
    """One group: shared ``group_id`` and generator counts, one set of structure constants, one
    action of the discrete generators on the algebra, a total order, an iterator in that order.

    >>> from lie_nn import O3
    >>> check_group([O3(0, 1), O3(1, -1), O3(1, 1)])
    """
    irs = list(irreps)
    assert len(set(irs)) == len(irs), "duplicate irreps"
    assert len({ir.group_id() for ir in irs}) == 1, "irreps of several groups"
    assert len({ir.algebra().shape[0] for ir in irs}) == 1, "generator counts differ"
    assert len({ir.discrete_generators().shape[0] for ir in irs}) == 1, "discrete generator counts differ"
    x_sum, d_sum = Irreps(irs).algebra().astype(complex), Irreps(irs).discrete_generators().astype(complex)
    comm = np.einsum("aij,bjk->abik", x_sum, x_sum)
    comm = comm - comm.transpose(1, 0, 2, 3)
    f = _span_coefficients(x_sum, comm.reshape(-1, *x_sum.shape[1:])).reshape((len(x_sum),) * 3)
    assert np.allclose(f, -f.transpose(1, 0, 2), atol=TOL)
    for ir in irs:
        x, _ = _gens(ir)
        lhs = np.einsum("aij,bjk->abik", x, x) - np.einsum("bij,ajk->abik", x, x)
        err = np.abs(lhs - np.einsum("abc,cij->abij", f, x)).max(initial=0.0)
        assert err <= TOL * _scale(x) ** 2, f"{ir}: [X_a, X_b] != f_ab^c X_c (error {err:.2e})"
    for b, d in enumerate(d_sum):
        conj = np.einsum("ij,ajk,kl->ail", d, x_sum, np.linalg.inv(d))
        auto = _span_coefficients(x_sum, conj)
        for ir in irs:
            x, dis = _gens(ir)
            lhs = np.einsum("ij,ajk,kl->ail", dis[b], x, np.linalg.inv(dis[b]))
            assert np.abs(lhs - np.einsum("ac,cij->aij", auto, x)).max() <= TOL * _scale(x), (str(ir), b)
    for a, b in itertools.product(irs, repeat=2):
        assert [a < b, a == b, b < a].count(True) == 1, (str(a), str(b))
        assert (a < b) == (a.sort_key() < b.sort_key())
    try:
        first = list(itertools.islice(irs[0].iterator(), 12))
    except NotImplementedError:
        return
    assert first[0] == irs[0].trivial()
    assert all(a < b for a, b in itertools.pairwise(first)), [str(x) for x in first]


# ------------------------------------------------------------------------------ single irreps
def check_irrep(ir: Irrep) -> None:
    """Shapes and fresh copies, irreducibility, trivial and dual irreps, value semantics, strings.

    >>> from lie_nn import SO13
    >>> check_irrep(SO13("1/2", 0))
    """
    x, d = _gens(ir)
    assert isinstance(ir.dim, int) and ir.dim >= 1
    assert x.shape[1:] == (ir.dim, ir.dim) and d.shape[1:] == (ir.dim, ir.dim)
    assert np.all(np.isfinite(x)) and np.all(np.isfinite(d))
    assert all(abs(np.linalg.det(m)) > 1e-8 for m in d), "discrete generators must be invertible"
    if ir.is_real:
        assert not np.iscomplexobj(x) or not np.any(x.imag), "is_real but the algebra is complex"
    saved = x.copy()
    x[...] = 7
    assert np.array_equal(ir.algebra(), saved), "algebra() must return a fresh array"
    x, d = _gens(ir)
    assert hom_dim(x, x, d, d) == 1, "not irreducible (Schur: the commutant must be the scalars)"
    t = ir.trivial()
    xt, dt = _gens(t)
    assert t.dim == 1 and t.group_id() == ir.group_id() and t.trivial() == t
    assert xt.shape == (x.shape[0], 1, 1) and not np.any(xt) and np.allclose(dt, 1)
    assert t <= ir and not ir < t
    dual = ir.dual()
    xd, dd = _gens(dual)
    assert dual.dim == ir.dim and dual.group_id() == ir.group_id() and dual.dual() == ir
    assert hom_dim(-x.transpose(0, 2, 1), xd, np.linalg.inv(d).transpose(0, 2, 1), dd) == 1, "wrong dual"
    clone = copy.deepcopy(ir)
    assert clone == ir and hash(clone) == hash(ir) and not clone < ir and clone <= ir
    assert repr(ir) and str(ir)
    _check_strings(ir)


def _check_strings(ir: Irrep) -> None:
    try:
        parsed = type(ir).from_string(str(ir))
    except ValueError:
        if type(ir).prefix or type(ir).bare_labels or type(ir).product:
            raise
        return  # an unregistered group (e.g. GenericRep) need not parse
    assert parsed == ir and hash(parsed) == hash(ir) and str(parsed) == str(ir)
    if type(ir).prefix or type(ir).bare_labels or type(ir).product:
        assert irrep_from_string(str(ir)) == ir
        irreps = Irreps([(2, ir), ir.trivial()])
        assert Irreps(str(irreps)) == irreps, f"Irreps string {irreps} does not round-trip"


# ------------------------------------------------------------------------------ pairs and triples
def check_pair(ir1: Irrep, ir2: Irrep, candidates: Sequence[Irrep], *, hom_limit: int = 800) -> None:
    """Selection rule (dimensions, order, symmetry, commutant), completeness of the CGs, and vanishing
    CGs for the ``candidates`` outside the rule.

    >>> from lie_nn import SU2
    >>> check_pair(SU2("1/2"), SU2(1), [SU2(0), SU2("1/2"), SU2("5/2")])
    """
    found = products(ir1, ir2, candidates)
    x, d = tensor_generators(ir1, ir2)
    if all(mul >= 0 for _, mul in found):
        irs = [ir for ir, _ in found]
        assert all(mul >= 1 and ir.group_id() == ir1.group_id() for ir, mul in found)
        assert irs == sorted(irs) and len(set(irs)) == len(irs), "selection rule not sorted / merged"
        assert sum(mul * ir.dim for ir, mul in found) == ir1.dim * ir2.dim
        assert set(found) == set(products(ir2, ir1, candidates)), "selection rule is not symmetric"
        if ir2 == ir1.dual():
            assert (ir1.trivial(), 1) in found
        if (ir1.dim * ir2.dim) ** 2 <= hom_limit:  # commutant of the product: Σ mul²
            assert hom_dim(x, x, d, d) == sum(mul**2 for _, mul in found)
        blocks = [clebsch_gordan(ir1, ir2, ir3) for ir3, _ in found]
        cols = np.concatenate([c.transpose(1, 2, 0, 3).reshape(ir1.dim * ir2.dim, -1) for c in blocks], 1)
        assert cols.shape == (ir1.dim * ir2.dim,) * 2, "the CGs do not span V1 ⊗ V2"
        if all(ir.is_unitary() for ir in [ir1, ir2, *irs]):
            assert np.abs(cols @ cols.conj().T - np.eye(len(cols))).max() <= TOL
        else:
            assert np.linalg.cond(cols) < 1e8
    if all(mul >= 0 for _, mul in found):
        allowed = {ir for ir, _ in found}
        for ir3 in (ir for ir in candidates if ir not in allowed):
            assert clebsch_gordan(ir1, ir2, ir3).shape[0] == 0, f"CG {ir1} ⊗ {ir2} → {ir3} outside the rule"
            if ir1.dim * ir2.dim * ir3.dim <= hom_limit:
                x3, d3 = _gens(ir3)
                assert hom_dim(x, x3, d, d3) == 0, f"{ir3} occurs in {ir1} ⊗ {ir2} but not in the rule"


def check_triple(ir1: Irrep, ir2: Irrep, ir3: Irrep, expected_mul: int = -1, *, hom_limit: int = 800,
                 seed: int = 0) -> np.ndarray:
    """The certified CG of ``ir1 ⊗ ir2 → ir3``: shape, multiplicity (selection rule and an independent
    solve), intertwining, isometry / normalisation, reality, and equivariance under finite elements.

    >>> from lie_nn import SUN
    >>> check_triple(SUN((1, 0, 0)), SUN((1, 0, 0)), SUN((2, 0, 0)), 1).shape
    (1, 3, 3, 6)
    """
    c = clebsch_gordan(ir1, ir2, ir3)
    assert c.shape[1:] == (ir1.dim, ir2.dim, ir3.dim)
    if expected_mul >= 0:
        assert c.shape[0] == expected_mul, f"CG multiplicity {c.shape[0]} != selection rule {expected_mul}"
    if ir1.dim * ir2.dim * ir3.dim <= hom_limit:
        (x, d), (x3, d3) = tensor_generators(ir1, ir2), _gens(ir3)
        assert hom_dim(x, x3, d, d3) == c.shape[0], "multiplicity disagrees with an independent solve"
    assert_intertwines(c, ir1, ir2, ir3, atol=TOL)
    n = c.shape[0] * ir3.dim
    gram = np.einsum("mijk,nijl->mknl", c.conj(), c).reshape(n, n)
    if all(ir.is_unitary() for ir in (ir1, ir2, ir3)):
        assert np.abs(gram - np.eye(len(gram))).max(initial=0.0) <= TOL, "CG copies are not isometries"
    else:
        assert np.allclose(np.einsum("mijk,mijk->m", c.conj(), c).real, ir3.dim, atol=TOL * ir3.dim)
        assert c.shape[0] == 0 or np.linalg.matrix_rank(c.reshape(c.shape[0], -1)) == c.shape[0]
    if ir1.is_real and ir2.is_real and ir3.is_real:
        assert c.dtype == np.float64, "real irreps must have float64 CGs"
    g = GroupElement.random(ir1, seed=seed)
    r1, r2, r3 = represent(ir1, g), represent(ir2, g), represent(ir3, g)
    lhs = np.einsum("ia,jb,mabk->mijk", r1, r2, c)
    rhs = np.einsum("mijl,lk->mijk", c, r3)
    assert np.abs(lhs - rhs).max(initial=0.0) <= TOL * _scale(c) * (_scale(r1) * _scale(r2) + _scale(r3))
    return c


def check_irreps(irreps: Sequence[Irrep], *, hom_limit: int = 800) -> None:
    """Run every universal check on a few irreps of one group (raises ``AssertionError`` on failure).

    Adding a group: define its irrep class, then ``check_irreps([...a few small irreps...])``.

    >>> from lie_nn import SO3
    >>> check_irreps([SO3(0), SO3(1)])
    """
    irs = list(irreps)
    if not irs:
        raise ValueError("check_irreps needs at least one irrep")
    check_group(irs)
    for ir in irs:
        check_irrep(ir)
    for ir1, ir2 in itertools.combinations_with_replacement(irs, 2):
        check_pair(ir1, ir2, irs, hom_limit=hom_limit)
        for ir3, mul in products(ir1, ir2, irs):
            check_triple(ir1, ir2, ir3, mul, hom_limit=hom_limit)
