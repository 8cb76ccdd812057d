"""Universal tests, parametrized over the ONE list of example irreps of every group.

Adding a group to ``lie_nn/testing/_examples.py`` runs all of these on it.  Multiplicities are
re-derived here independently of the Clebsch–Gordan code, as dimensions of solution spaces of the
Kronecker-form intertwining equations (``_hom_dim``).
"""

from __future__ import annotations

import contextlib
import copy
import itertools
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lie_nn._src.cg import clebsch_gordan
from lie_nn._src.groups.generic import GenericRep
from lie_nn._src.irrep import Irrep
from lie_nn._src.parse import irrep_from_string
from lie_nn.testing import (
    assert_intertwines,
    example_irreps,
    group_elements,
    irreps_triples,
    represent,
    unavailable_groups,
)

EXAMPLES: dict[str, list[Irrep]] = example_irreps()  # type: ignore[assignment]
GROUPS = sorted(EXAMPLES)
IRREPS = [(g, ir) for g in GROUPS for ir in EXAMPLES[g]]
PAIRS = [(g, a, b) for g in GROUPS for a, b in itertools.combinations_with_replacement(EXAMPLES[g], 2)]
HOM_LIMIT = 800  # largest number of unknowns solved for in the default (not slow) run
TOL = 1e-10


def _ids(params: list[tuple]) -> list[str]:
    return ["-".join(str(p) for p in param) for param in params]


def _products(ir1: Irrep, ir2: Irrep) -> list[tuple[Irrep, int]]:
    """``(ir3, mul)`` from the selection rule, or every example of the group (mul unknown: -1)."""
    try:
        return [(term.ir, term.mul) for term in ir1 * ir2]
    except NotImplementedError:
        group = next(g for g in GROUPS if ir1 in EXAMPLES[g])
        return [(ir3, -1) for ir3 in EXAMPLES[group]]


TRIPLES = [(g, a, b, c) for g, a, b in PAIRS for c, _ in _products(a, b)]


def _gens(ir: Irrep) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(ir.algebra()), np.asarray(ir.discrete_generators())


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch linear algebra on one thread (multi-threaded BLAS crawls on busy small machines)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _hom_dim(xa: np.ndarray, xb: np.ndarray, da: np.ndarray, db: np.ndarray) -> int:
    """``dim {C : xa_k C = C xb_k, da_k C = C db_k}`` over C, via the Gram matrix of the equations."""
    na, nb = xa.shape[1], xb.shape[1]
    ia, ib = torch.eye(na, dtype=torch.complex128), torch.eye(nb, dtype=torch.complex128)
    gram = torch.zeros((na * nb, na * nb), dtype=torch.complex128)
    with _one_thread():
        for a, b in itertools.chain(zip(xa, xb, strict=True), zip(da, db, strict=True)):
            a_t, bt_t = (torch.from_numpy(np.ascontiguousarray(m, dtype=np.complex128)) for m in (a, b.T))
            k = torch.kron(a_t, ib) - torch.kron(ia, bt_t)  # row-major vec(A C - C B)
            gram += k.conj().T @ k
        eig = torch.linalg.eigvalsh(gram).numpy()
    return int(np.sum(eig <= 1e-9 * max(1.0, eig.max(initial=0.0))))


def _tensor(ir1: Irrep, ir2: Irrep) -> tuple[np.ndarray, np.ndarray]:
    """Generators ``X1 ⊗ 1 + 1 ⊗ X2`` and ``D1 ⊗ D2`` of ``ir1 ⊗ ir2`` (``np.kron`` order)."""
    (x1, d1), (x2, d2) = _gens(ir1), _gens(ir2)
    n = ir1.dim * ir2.dim
    x = np.einsum("aij,kl->aikjl", x1, np.eye(ir2.dim)) + np.einsum("ij,akl->aikjl", np.eye(ir1.dim), x2)
    return x.reshape(len(x1), n, n), np.einsum("aij,akl->aikjl", d1, d2).reshape(len(d1), n, n)


def _is_unitary(ir: Irrep) -> bool:
    x, d = _gens(ir)
    anti = np.allclose(x, -x.conj().transpose(0, 2, 1), atol=1e-12)
    return anti and np.allclose(d @ d.conj().transpose(0, 2, 1), np.eye(ir.dim), atol=1e-12)


def _direct_sum(irs: list[Irrep]) -> tuple[np.ndarray, np.ndarray]:
    total = sum(ir.dim for ir in irs)
    gens = [_gens(ir) for ir in irs]
    x = np.zeros((gens[0][0].shape[0], total, total), dtype=np.complex128)
    d = np.zeros((gens[0][1].shape[0], total, total), dtype=np.complex128)
    start = 0
    for ir, (xi, di) in zip(irs, gens, strict=True):
        x[:, start : start + ir.dim, start : start + ir.dim] = xi
        d[:, start : start + ir.dim, start : start + ir.dim] = di
        start += ir.dim
    return x, d


def _span_coefficients(basis: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Real least-squares ``c`` with ``targets[t] = sum_c c[t, c] basis[c]`` (basis must be independent)."""
    flat = basis.reshape(len(basis), -1)
    a = np.concatenate([flat.real, flat.imag], axis=1).T
    assert np.linalg.matrix_rank(a) == len(basis), "the example irreps are not jointly faithful"
    t = targets.reshape(len(targets), -1)
    return np.linalg.lstsq(a, np.concatenate([t.real, t.imag], axis=1).T, rcond=None)[0].T


def _scale(*arrays: np.ndarray) -> float:
    return max(1.0, *(float(np.abs(a).max(initial=0.0)) for a in arrays))


# ------------------------------------------------------------------------------ the list itself
def test_every_group_is_available() -> None:
    assert unavailable_groups() == {}
    assert len(GROUPS) >= 8


@pytest.mark.parametrize("group", GROUPS)
def test_group_examples_share_one_group(group: str) -> None:
    irs = EXAMPLES[group]
    assert len(set(irs)) == len(irs), "duplicate examples"
    assert len({ir.group_id() for ir in irs}) == 1
    n_gen = {ir.algebra().shape[0] for ir in irs}
    n_disc = {ir.discrete_generators().shape[0] for ir in irs}
    assert len(n_gen) == 1 and len(n_disc) == 1, f"generator counts differ: {n_gen}, {n_disc}"


# ------------------------------------------------------------------------------ single irreps
@pytest.mark.parametrize("group, ir", IRREPS, ids=_ids(IRREPS))
def test_generator_shapes(group: str, ir: Irrep) -> None:
    x, d = _gens(ir)
    n_gen, n_disc = EXAMPLES[group][0].algebra().shape[0], EXAMPLES[group][0].discrete_generators().shape[0]
    assert isinstance(ir.dim, int) and ir.dim >= 1
    assert x.shape == (n_gen, ir.dim, ir.dim) and d.shape == (n_disc, ir.dim, ir.dim)
    assert np.all(np.isfinite(x)) and np.all(np.isfinite(d))
    assert all(abs(np.linalg.det(m)) > 1e-8 for m in d), "discrete generators must be invertible"
    if ir.is_real:
        assert not np.iscomplexobj(x) or not np.any(x.imag), "is_real but the algebra is complex"
    saved = x.copy()
    x[...] = 7  # the returned arrays are fresh copies
    assert np.array_equal(ir.algebra(), saved)


@pytest.mark.parametrize("group", GROUPS)
def test_structure_constants_identical_across_irreps(group: str) -> None:
    irs = EXAMPLES[group]
    x_sum, _ = _direct_sum(irs)
    comm = np.einsum("aij,bjk->abik", x_sum, x_sum)
    comm = comm - comm.transpose(1, 0, 2, 3)
    f = _span_coefficients(x_sum, comm.reshape(-1, *x_sum.shape[1:])).reshape((len(x_sum),) * 3)
    assert np.allclose(f, -f.transpose(1, 0, 2), atol=TOL)
    for ir in irs:
        x, _ = _gens(ir)
        lhs = np.einsum("aij,bjk->abik", x, x) - np.einsum("bij,ajk->abik", x, x)
        err = np.abs(lhs - np.einsum("abc,cij->abij", f, x)).max(initial=0.0)
        assert err <= TOL * _scale(x) ** 2, f"{ir}: [X_a, X_b] != f_ab^c X_c (error {err:.2e})"


@pytest.mark.parametrize("group", [g for g in GROUPS if EXAMPLES[g][0].discrete_generators().shape[0]])
def test_discrete_generators_act_identically_on_the_algebra(group: str) -> None:
    irs = EXAMPLES[group]
    x_sum, d_sum = _direct_sum(irs)
    for b, d in enumerate(d_sum):
        conj = np.einsum("ij,ajk,kl->ail", d, x_sum, np.linalg.inv(d))
        auto = _span_coefficients(x_sum, conj)  # D X_a D^-1 = sum_c A[a, c] X_c, one A for all irreps
        assert np.abs(np.einsum("ac,cij->aij", auto, x_sum) - conj).max() <= TOL * _scale(x_sum)
        for ir in irs:
            x, dis = _gens(ir)
            lhs = np.einsum("ij,ajk,kl->ail", dis[b], x, np.linalg.inv(dis[b]))
            assert np.abs(lhs - np.einsum("ac,cij->aij", auto, x)).max() <= TOL * _scale(x), (ir, b)


@pytest.mark.parametrize("group, ir", IRREPS, ids=_ids(IRREPS))
def test_irreducible(group: str, ir: Irrep) -> None:
    x, d = _gens(ir)
    assert _hom_dim(x, x, d, d) == 1  # Schur: the commutant is the scalars


@pytest.mark.parametrize("group, ir", IRREPS, ids=_ids(IRREPS))
def test_trivial(group: str, ir: Irrep) -> None:
    t = ir.trivial()
    x, d = _gens(t)
    assert t.dim == 1 and t.group_id() == ir.group_id() and t.trivial() == t
    assert x.shape == (ir.algebra().shape[0], 1, 1) and not np.any(x)
    assert np.allclose(d, 1)
    assert t <= ir and not ir < t


@pytest.mark.parametrize("group, ir", IRREPS, ids=_ids(IRREPS))
def test_dual(group: str, ir: Irrep) -> None:
    dual = ir.dual()
    assert dual.dim == ir.dim and dual.group_id() == ir.group_id() and dual.dual() == ir
    x, d = _gens(ir)
    xd, dd = _gens(dual)
    contragredient = -x.transpose(0, 2, 1), np.linalg.inv(d).transpose(0, 2, 1)
    assert _hom_dim(contragredient[0], xd, contragredient[1], dd) == 1


@pytest.mark.parametrize("group, ir", IRREPS, ids=_ids(IRREPS))
def test_value_semantics_and_strings(group: str, ir: Irrep) -> None:
    clone = copy.deepcopy(ir)
    assert clone == ir and hash(clone) == hash(ir) and not clone < ir and clone <= ir
    assert repr(ir) and str(ir)
    if isinstance(ir, GenericRep):
        with pytest.raises(ValueError):
            type(ir).from_string(str(ir))
        return
    parsed = type(ir).from_string(str(ir))
    assert parsed == ir and hash(parsed) == hash(ir) and str(parsed) == str(ir)
    assert irrep_from_string(str(ir)) == ir
    with pytest.raises((ValueError, TypeError)):
        type(ir).from_string("not an irrep (")


@pytest.mark.parametrize("group", GROUPS)
def test_total_order(group: str) -> None:
    irs = EXAMPLES[group]
    for a, b in itertools.product(irs, repeat=2):
        assert [a < b, a == b, b < a].count(True) == 1, (a, b)
        assert (a < b) == (a.sort_key() < b.sort_key())
    assert sorted(irs)[0] == irs[0].trivial() or irs[0].trivial() not in irs
    other = next(EXAMPLES[g][1] for g in GROUPS if EXAMPLES[g][0].group_id() != irs[0].group_id())
    with pytest.raises(TypeError):
        _ = irs[1] < other


@pytest.mark.parametrize("group", GROUPS)
def test_iterator_in_canonical_order(group: str) -> None:
    ir = EXAMPLES[group][0]
    try:
        first = list(itertools.islice(ir.iterator(), 12))
    except NotImplementedError:
        return
    assert first[0] == ir.trivial()
    assert all(a < b for a, b in itertools.pairwise(first)), [str(x) for x in first]


# ------------------------------------------------------------------------------ pairs
@pytest.mark.parametrize("group, ir1, ir2", PAIRS, ids=_ids(PAIRS))
def test_selection_rule(group: str, ir1: Irrep, ir2: Irrep) -> None:
    try:
        terms = ir1 * ir2
    except NotImplementedError:
        return  # a user-defined group: no selection rule
    assert all(t.mul >= 1 and t.ir.group_id() == ir1.group_id() for t in terms)
    assert [t.ir for t in terms] == sorted(t.ir for t in terms) and len({t.ir for t in terms}) == len(terms)
    assert sum(t.mul * t.ir.dim for t in terms) == ir1.dim * ir2.dim
    assert {(t.ir, t.mul) for t in ir2 * ir1} == {(t.ir, t.mul) for t in terms}
    if ir2 == ir1.dual():
        assert any(t.ir == ir1.trivial() and t.mul == 1 for t in terms)
    if ir1.dim * ir2.dim <= 24:  # commutant of the product: sum of mul^2
        x, d = _tensor(ir1, ir2)
        assert _hom_dim(x, x, d, d) == sum(t.mul**2 for t in terms)


@pytest.mark.parametrize("group, ir1, ir2", PAIRS, ids=_ids(PAIRS))
def test_clebsch_gordan_completeness(group: str, ir1: Irrep, ir2: Irrep) -> None:
    if any(mul < 0 for _, mul in _products(ir1, ir2)):
        return  # no selection rule: the examples need not cover V1 ⊗ V2
    blocks = [clebsch_gordan(ir1, ir2, ir3) for ir3, _ in _products(ir1, ir2)]
    columns = np.concatenate([c.transpose(1, 2, 0, 3).reshape(ir1.dim * ir2.dim, -1) for c in blocks], axis=1)
    assert columns.shape == (ir1.dim * ir2.dim,) * 2, "the CGs do not span V1 ⊗ V2"
    if all(_is_unitary(ir) for ir, _ in [(ir1, 0), (ir2, 0)] + _products(ir1, ir2)):
        assert np.abs(columns @ columns.conj().T - np.eye(len(columns))).max() <= TOL
    else:
        assert np.linalg.cond(columns) < 1e8


# ------------------------------------------------------------------------------ triples
def _check_cg(ir1: Irrep, ir2: Irrep, ir3: Irrep, expected_mul: int) -> np.ndarray:
    c = clebsch_gordan(ir1, ir2, ir3)
    assert c.shape[1:] == (ir1.dim, ir2.dim, ir3.dim)
    if expected_mul >= 0:
        assert c.shape[0] == expected_mul, f"CG multiplicity {c.shape[0]} != selection rule {expected_mul}"
    assert_intertwines(c, ir1, ir2, ir3, atol=TOL)
    n = c.shape[0] * ir3.dim
    gram = np.einsum("mijk,nijl->mknl", c.conj(), c).reshape(n, n)
    if all(_is_unitary(ir) for ir in (ir1, ir2, ir3)):
        assert np.abs(gram - np.eye(len(gram))).max(initial=0.0) <= TOL, "CG copies are not isometries"
    else:  # non-unitary: Frobenius normalisation |C_m|^2 = d3 and independent copies
        assert np.allclose(np.einsum("mijk,mijk->m", c.conj(), c).real, ir3.dim, atol=TOL * ir3.dim)
        assert c.shape[0] == 0 or np.linalg.matrix_rank(c.reshape(c.shape[0], -1)) == c.shape[0]
    if ir1.is_real and ir2.is_real and ir3.is_real:
        assert not np.iscomplexobj(c) or not np.any(c.imag), "real irreps must have real CGs"
    return c


@pytest.mark.parametrize("group, ir1, ir2, ir3", TRIPLES, ids=_ids(TRIPLES))
def test_clebsch_gordan(group: str, ir1: Irrep, ir2: Irrep, ir3: Irrep) -> None:
    expected = dict(_products(ir1, ir2))[ir3]
    c = _check_cg(ir1, ir2, ir3, expected)
    n_unknowns = ir1.dim * ir2.dim * ir3.dim
    if n_unknowns <= HOM_LIMIT:
        x, d = _tensor(ir1, ir2)
        x3, d3 = _gens(ir3)
        assert _hom_dim(x, x3, d, d3) == c.shape[0], "multiplicity disagrees with an independent solve"


LARGE = [t for t in TRIPLES if HOM_LIMIT < t[1].dim * t[2].dim * t[3].dim <= 3000]


@pytest.mark.slow
@pytest.mark.parametrize("group, ir1, ir2, ir3", LARGE, ids=_ids(LARGE))
def test_multiplicity_large(group: str, ir1: Irrep, ir2: Irrep, ir3: Irrep) -> None:
    x, d = _tensor(ir1, ir2)
    x3, d3 = _gens(ir3)
    assert _hom_dim(x, x3, d, d3) == clebsch_gordan(ir1, ir2, ir3).shape[0]


@pytest.mark.parametrize("group, ir1, ir2", PAIRS, ids=_ids(PAIRS))
def test_clebsch_gordan_vanishes_outside_the_selection_rule(group: str, ir1: Irrep, ir2: Irrep) -> None:
    allowed = {ir for ir, _ in _products(ir1, ir2)}
    for ir3 in EXAMPLES[group]:
        if ir3 not in allowed:
            assert clebsch_gordan(ir1, ir2, ir3).shape[0] == 0
            if ir1.dim * ir2.dim * ir3.dim <= HOM_LIMIT:
                x, d = _tensor(ir1, ir2)
                assert _hom_dim(x, _gens(ir3)[0], d, _gens(ir3)[1]) == 0


@pytest.mark.parametrize("group", GROUPS)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_clebsch_gordan_equivariant_under_group_elements(group: str, data: st.DataObject) -> None:
    ir1, ir2, ir3 = data.draw(irreps_triples(group, max_dim=9), label="irreps")
    g = data.draw(group_elements(ir1, scale=1.0), label="g")
    c = clebsch_gordan(ir1, ir2, ir3)
    r1, r2, r3 = represent(ir1, g), represent(ir2, g), represent(ir3, g)
    lhs = np.einsum("ia,jb,mabk->mijk", r1, r2, c)
    rhs = np.einsum("mijl,lk->mijk", c, r3)
    scale = _scale(c) * (_scale(r1) * _scale(r2) + _scale(r3))
    assert np.abs(lhs - rhs).max(initial=0.0) <= TOL * scale, (str(ir1), str(ir2), str(ir3), g)
