"""Tests of SU(N) irreps in the Gelfand–Tsetlin basis (lie_nn._src.groups.sun / gelfand_tsetlin)."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lie_nn._src.cg import has_closed_form, numeric_clebsch_gordan
from lie_nn._src.groups import gelfand_tsetlin as gt
from lie_nn._src.groups.sun import SUN
from lie_nn._src.irrep import MulIrrep

SMALL = [(1, 0), (2, 0), (5, 0), (1, 0, 0), (1, 1, 0), (2, 1, 0), (3, 0, 0), (3, 1, 0), (2, 2, 0), (4, 2, 0)]
SMALL += [(1, 0, 0, 0), (1, 1, 0, 0), (2, 1, 0, 0), (2, 1, 1, 0), (2, 2, 1, 0), (3, 2, 1, 0), (1, 0, 0, 0, 0)]


def _from_dynkin(labels: list[int]) -> tuple[int, ...]:
    return tuple(sum(labels[i:]) for i in range(len(labels))) + (0,)


@st.composite
def small_weights(draw: st.DrawFn, max_dim: int = 64) -> tuple[int, ...]:
    """Random partitions (N = 2..5) whose irrep has dimension <= max_dim."""
    n = draw(st.integers(2, 5))
    labels = draw(st.lists(st.integers(0, 4), min_size=n - 1, max_size=n - 1))
    while gt.weyl_dimension(_from_dynkin(labels)) > max_dim:  # shrink deterministically
        labels[labels.index(max(labels))] -= 1
    return _from_dynkin(labels)


def _null_space_dim(rows: np.ndarray, tol: float = 1e-9) -> tuple[int, np.ndarray]:
    if rows.shape[0] < rows.shape[1]:
        rows = np.concatenate([rows, np.zeros((rows.shape[1] - rows.shape[0], rows.shape[1]))])
    _, s, vh = np.linalg.svd(rows, full_matrices=False)
    rank = int(np.sum(s > tol * max(1.0, s[0])))
    return vh.shape[1] - rank, vh[rank:].conj()


def _simple_root_generators(n: int) -> list[int]:
    """Indices of E_kk+1 - E_k+1k and i(E_kk+1 + E_k+1k): they generate su(n) as a Lie algebra."""
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    return [2 * pairs.index((k, k + 1)) + s for k in range(n - 1) for s in (0, 1)]


def _intertwiners(xa: np.ndarray, xb: np.ndarray) -> np.ndarray:
    """Basis of {U : xa[a] U = U xb[a] for all a} (small dims only), shape (k, dA, dB).

    Only the generators of su(N) as a Lie algebra are imposed (enough, and much cheaper).
    """
    n = round(np.sqrt(len(xa) + 1))
    da, db = xa.shape[1], xb.shape[1]
    eye_a, eye_b = np.eye(da), np.eye(db)
    gens = _simple_root_generators(n)
    blocks = [np.kron(xa[a], eye_b) - np.kron(eye_a, xb[a].T) for a in gens]
    gram = sum(b.conj().T @ b for b in blocks)
    eigval, eigvec = np.linalg.eigh(gram)
    null = eigvec[:, eigval < 1e-9 * max(1.0, eigval[-1])]
    return null.T.reshape(-1, da, db)


def _is_invertible(u: np.ndarray) -> bool:
    s = np.linalg.svd(u, compute_uv=False)
    return bool(s[-1] > 1e-6 * s[0])


def _commutator_error(e: np.ndarray) -> float:
    """max |[E_ij, E_kl] - (δ_jk E_il - δ_li E_kj)| over all i, j, k, l."""
    n = e.shape[0]
    prod = np.einsum("ijab,klbc->ijklac", e, e)
    comm = prod - prod.transpose(2, 3, 0, 1, 4, 5)
    delta = np.eye(n)
    rhs = np.einsum("jk,ilab->ijklab", delta, e) - np.einsum("li,kjab->ijklab", delta, e)
    return float(np.max(np.abs(comm - rhs)))


def _decomposition(ir1: SUN, ir2: SUN) -> dict[tuple[int, ...], int]:
    return {term.ir.weight: term.mul for term in ir1 * ir2}


# ---------------------------------------------------------------------- construction and labels
def test_construction_and_normalisation() -> None:
    assert SUN([2, 1, 0]) == SUN((2, 1, 0)) == SUN((3, 2, 1)) == SUN(np.array([2, 1, 0]))
    assert SUN((3, 2, 1)).weight == (2, 1, 0)
    assert SUN((0, -1, -2)).weight == (2, 1, 0)
    assert isinstance(SUN((np.int64(1), 0)).weight[0], int)
    assert hash(SUN((1, 0))) == hash(SUN([1, 0]))
    assert SUN((1, 0, 0)) != SUN((1, 0, 0, 0))


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ((1.0, 0), TypeError),
        ((True, 0), TypeError),
        ("(1,0)", TypeError),
        (3, TypeError),
        ((1, "0"), TypeError),
        ((0, 1), ValueError),
        ((2, 0, 1), ValueError),
        ((1,), ValueError),
        ((), ValueError),
    ],
)
def test_bad_weights(bad: object, error: type) -> None:
    with pytest.raises(error, match="SUN weight"):
        SUN(bad)


def test_strings() -> None:
    ir = SUN((2, 1, 0))
    assert str(ir) == "SU3(2,1,0)"
    assert SUN.from_string("SU3(2,1,0)") == ir == SUN.from_string(" ( 2, 1 ,0 ) ")
    assert SUN.from_string("SU4(1,0,0,0)") == SUN((1, 0, 0, 0))
    assert SUN.from_string("SU3(3,2,1)") == ir
    for ir in [SUN(w) for w in SMALL]:
        assert SUN.from_string(str(ir)) == ir
    for bad in ["SU3(2,1)", "SU(2,1,0)", "2,1,0", "SU3(2,1,0", "SU3(a,1,0)", "SU3(0,1,0)", "(1)"]:
        with pytest.raises(ValueError):
            SUN.from_string(bad)
    with pytest.raises(TypeError):
        SUN.from_string((2, 1, 0))  # type: ignore[arg-type]


def test_group_id_and_mixing_groups() -> None:
    assert SUN((1, 0, 0)).group_id() == (SUN, 3) == SUN((2, 2, 0)).group_id()
    assert SUN((1, 0)).group_id() != SUN((1, 0, 0)).group_id()
    with pytest.raises(TypeError):
        SUN((1, 0, 0)) * SUN((1, 0, 0, 0))
    with pytest.raises(TypeError):
        SUN((1, 0, 0)) * 3  # type: ignore[operator]


def test_trivial_dual_sort_key() -> None:
    ir = SUN((3, 1, 0, 0))
    assert ir.trivial() == SUN((0, 0, 0, 0)) and ir.trivial().dim == 1
    assert ir.dual() == SUN((3, 3, 2, 0)) and ir.dual().dual() == ir
    assert SUN((2, 1, 0)).dual() == SUN((2, 1, 0))
    assert SUN((1, 0, 0)).dual() == SUN((1, 1, 0))
    assert SUN((0, 0, 0)) < SUN((1, 0, 0)) < SUN((1, 1, 0)) < SUN((2, 0, 0)) < SUN((2, 1, 0))


# ---------------------------------------------------------------------- dimension and patterns
@pytest.mark.parametrize(
    ("weight", "dim"),
    [((0, 0), 1), ((4, 0), 5), ((2, 1, 0), 8), ((3, 0, 0), 10), ((2, 2, 0), 6), ((4, 2, 0), 27),
     ((3, 1, 0), 15), ((1, 0, 0, 0), 4), ((1, 1, 0, 0), 6), ((2, 1, 1, 0), 15), ((2, 2, 0, 0), 20),
     ((2, 0, 0, 0), 10), ((3, 2, 1, 0), 64), ((1, 0, 0, 0, 0, 0, 0), 7)],
)  # fmt: skip
def test_dimension_golden(weight: tuple[int, ...], dim: int) -> None:
    assert SUN(weight).dim == dim == len(SUN(weight).patterns())


@settings(max_examples=60, deadline=None)
@given(small_weights(max_dim=400))
def test_patterns_are_all_gt_patterns(weight: tuple[int, ...]) -> None:
    """Weyl dimension == pattern count; patterns distinct, sorted, valid; all valid ones present."""
    n = len(weight)
    patterns = SUN(weight).patterns()
    assert len(patterns) == gt.weyl_dimension(weight)
    assert [tuple(p) for p in patterns] == sorted({tuple(p) for p in patterns})
    offsets = [n * (n + 1) // 2 - k * (k + 1) // 2 for k in range(n + 1)]
    assert np.all(patterns[:, :n] == weight)
    for k in range(1, n):
        upper = patterns[:, offsets[k + 1] : offsets[k + 1] + k + 1]
        row = patterns[:, offsets[k] : offsets[k] + k]
        assert np.all(upper[:, :-1] >= row) and np.all(row >= upper[:, 1:])


@settings(max_examples=30, deadline=None)
@given(small_weights(max_dim=200))
def test_weights_are_weyl_symmetric(weight: tuple[int, ...]) -> None:
    """The weight multiset is invariant under S_N and contains the highest weight exactly once."""
    ir = SUN(weight)
    weights = ir.weights()
    counts = Counter(map(tuple, weights))
    assert counts[weight] == 1
    assert np.all(weights.sum(axis=1) == sum(weight))
    for perm in itertools.permutations(range(len(weight))):
        assert Counter(map(tuple, weights[:, perm])) == counts
    e = ir.gl_generators()
    assert np.array_equal(np.array([np.diag(e[k, k]) for k in range(len(weight))]).T, weights)


def test_adjoint_weights() -> None:
    counts = Counter(map(tuple, SUN((2, 1, 0)).weights()))
    assert counts[(1, 1, 1)] == 2 and len(counts) == 7


# ---------------------------------------------------------------------- generators
@pytest.mark.parametrize("weight", SMALL)
def test_commutation_relations(weight: tuple[int, ...]) -> None:
    e = SUN(weight).gl_generators()
    assert e.dtype == np.float64
    assert _commutator_error(e) < 1e-10
    assert np.allclose(e, e.transpose(1, 0, 3, 2))  # E_ji = E_ij^T


@settings(max_examples=40, deadline=None)
@given(small_weights(max_dim=64))
def test_generators_property(weight: tuple[int, ...]) -> None:
    ir = SUN(weight)
    n = ir.N
    assert _commutator_error(ir.gl_generators()) < 1e-10
    x = ir.algebra()
    assert x.shape == (n * n - 1, ir.dim, ir.dim) and x.dtype == np.complex128
    assert np.allclose(x, -x.conj().transpose(0, 2, 1), atol=1e-12)
    # Casimir sum_ij E_ij E_ji is the scalar sum_i l_i (l_i + N + 1 - 2 i)
    e = ir.gl_generators()
    casimir = np.einsum("ijab,jibc->ac", e, e)
    expected = sum(l * (l + n + 1 - 2 * i) for i, l in enumerate(weight, start=1))
    assert np.allclose(casimir, expected * np.eye(ir.dim), atol=1e-9)


def test_algebra_structure_constants_shared() -> None:
    """[X_a, X_b] = f_abc X_c with the same real f for every irrep of SU(3) and SU(4)."""
    for n in (3, 4):
        std = SUN((1,) + (0,) * (n - 1)).algebra()
        flat = std.reshape(len(std), -1).T
        comm = np.einsum("aij,bjk->abik", std, std) - np.einsum("bij,ajk->abik", std, std)
        f = np.linalg.lstsq(flat, comm.reshape(-1, n * n).T, rcond=None)[0]  # (c, a*b)
        assert np.allclose(f.imag, 0) and np.allclose(flat @ f, comm.reshape(-1, n * n).T)
        for weight in [w for w in SMALL if len(w) == n]:
            x = SUN(weight).algebra()
            lhs = np.einsum("aij,bjk->abik", x, x) - np.einsum("bij,ajk->abik", x, x)
            rhs = np.einsum("cq,cik->qik", f.real, x).reshape(lhs.shape)
            assert np.max(np.abs(lhs - rhs)) < 1e-10


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_defining_irrep_is_standard(n: int) -> None:
    """The defining irrep is the standard matrices in the reversed basis e_N, ..., e_1."""
    units = np.zeros((n, n, n, n))
    for i, j in itertools.product(range(n), repeat=2):
        units[i, j, i, j] = 1
    ir = SUN((1,) + (0,) * (n - 1))
    q = np.eye(n)[::-1]  # permutation: basis vector p is e_{n-1-p}
    assert np.array_equal(ir.gl_generators(), np.einsum("pi,klij,qj->klpq", q, units, q))
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    standard = [m for i, j in pairs for m in (units[i, j] - units[j, i], 1j * (units[i, j] + units[j, i]))]
    standard += [1j * (units[k, k] - units[k + 1, k + 1]) for k in range(n - 1)]
    assert np.allclose(ir.algebra(), q @ np.array(standard) @ q.T)
    # the dual of the defining irrep is the complex-conjugate representation, up to a basis change
    conj = _intertwiners(SUN((1,) * (n - 1) + (0,)).algebra(), np.array(standard).conj())
    assert len(conj) == 1 and _is_invertible(conj[0])


@pytest.mark.parametrize(
    "weight", [(2, 0), (1, 0, 0), (2, 1, 0), (2, 0, 0), (3, 1, 0), (1, 1, 0, 0), (2, 0, 0, 0)]
)
def test_dual_is_conjugate_and_irreducible(weight: tuple[int, ...]) -> None:
    ir = SUN(weight)
    x, x_dual = ir.algebra(), ir.dual().algebra()
    assert len(_intertwiners(x, x)) == 1  # Schur: irreducible
    maps = _intertwiners(x_dual, x.conj())
    assert len(maps) == 1 and _is_invertible(maps[0])
    assert Counter(map(tuple, _su_weights(ir.dual().weight))) == Counter(map(tuple, _su_weights(weight, -1)))
    if ir.dual() != ir:
        assert len(_intertwiners(x_dual, x)) == 0


def test_trivial_algebra_is_zero() -> None:
    x = SUN((0, 0, 0)).algebra()
    assert x.shape == (8, 1, 1) and not np.any(x)
    assert SUN((0, 0, 0)).discrete_generators().shape == (0, 1, 1)
    assert not SUN((1, 0)).is_real


@pytest.mark.parametrize("twice_j", [0, 1, 2, 3, 4])
def test_matches_su2_spin_basis(twice_j: int) -> None:
    """SUN((2j, 0)) is SU2(j) with generators (E12-E21, i(E12+E21), i(E11-E22)) = -2 (X_y, X_x, X_z)."""
    from lie_nn._src.groups.su2 import SU2

    x_su2 = SU2(f"{twice_j}/2").algebra()
    assert np.allclose(SUN((twice_j, 0)).algebra(), -2 * x_su2[[1, 0, 2]], atol=1e-12)


def test_large_irreps_build() -> None:
    """Generators of irreps with a few hundred dimensions build and satisfy the dimension formula."""
    irreps = [SUN((4, 2, 1, 0)), SUN((3, 2, 1, 0, 0)), SUN((6, 3, 0))]
    for ir in irreps:
        x = ir.algebra()
        assert x.shape == (ir.N**2 - 1, ir.dim, ir.dim)
        assert np.allclose(x, -np.conj(np.swapaxes(x, 1, 2)))
    assert [ir.dim for ir in irreps] == [140, 280, 64]


# ---------------------------------------------------------------------- tensor products
def _w(*weights: tuple[int, ...]) -> dict[tuple[int, ...], int]:
    return dict(Counter(SUN(w).weight for w in weights))


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((1, 0, 0), (1, 1, 0), _w((0, 0, 0), (2, 1, 0))),  # 3 x 3bar = 1 + 8
        ((1, 0, 0), (1, 0, 0), _w((1, 1, 0), (2, 0, 0))),  # 3 x 3 = 3bar + 6
        ((2, 1, 0), (2, 1, 0), _w((0, 0, 0), (2, 1, 0), (2, 1, 0), (3, 0, 0), (3, 3, 0), (4, 2, 0))),
        # 15 x 15bar = 1 + 8 + 8 + 10 + 10bar + 27 + 27 + 35 + 35bar + 64
        ((3, 1, 0), (3, 2, 0), _w((0, 0, 0), (2, 1, 0), (2, 1, 0), (3, 0, 0), (3, 3, 0), (4, 2, 0), (4, 2, 0),
                                  (5, 1, 0), (5, 4, 0), (6, 3, 0))),
        ((1, 0, 0, 0), (1, 0, 0, 0), _w((1, 1, 0, 0), (2, 0, 0, 0))),  # 4 x 4 = 6 + 10
        ((1, 0, 0, 0), (1, 1, 1, 0), _w((0, 0, 0, 0), (2, 1, 1, 0))),  # 4 x 4bar = 1 + 15
        ((1, 1, 0, 0), (1, 1, 0, 0), _w((0, 0, 0, 0), (2, 1, 1, 0), (2, 2, 0, 0))),  # 6 x 6 = 1 + 15 + 20'
        ((2, 1, 1, 0), (2, 1, 1, 0), _w((0, 0, 0, 0), (2, 1, 1, 0), (2, 1, 1, 0), (2, 2, 0, 0), (3, 1, 0, 0),
                                        (3, 3, 2, 0), (4, 2, 2, 0))),  # 15 x 15 = 1+15+15+20'+45+45bar+84
    ],
)  # fmt: skip
def test_known_decompositions(a: tuple, b: tuple, expected: dict) -> None:
    assert _decomposition(SUN(a), SUN(b)) == expected
    assert _decomposition(SUN(b), SUN(a)) == expected
    assert sum(m * SUN(w).dim for w, m in expected.items()) == SUN(a).dim * SUN(b).dim


def test_product_output_format() -> None:
    terms = SUN((2, 1, 0)) * SUN((2, 1, 0))
    assert all(isinstance(t, MulIrrep) for t in terms)
    assert [t.ir.sort_key() for t in terms] == sorted(t.ir.sort_key() for t in terms)
    assert [str(t) for t in terms] == ["1xSU3(0,0,0)", "2xSU3(2,1,0)", "1xSU3(3,0,0)", "1xSU3(3,3,0)",
                                       "1xSU3(4,2,0)"]  # fmt: skip


@pytest.mark.parametrize("a", range(5))
@pytest.mark.parametrize("b", range(5))
def test_su2_spin_rule(a: int, b: int) -> None:
    expected = {(c, 0): 1 for c in range(abs(a - b), a + b + 1, 2)}
    assert _decomposition(SUN((a, 0)), SUN((b, 0))) == expected


def _su_weights(weight: tuple[int, ...], sign: int = 1) -> np.ndarray:
    """SU(N) weights (gl(N) weights modulo (1, ..., 1), normalised to last entry 0) of the GT basis."""
    w = sign * SUN(weight).weights()
    return w - w[:, -1:]


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_decomposition_matches_characters(data: st.DataObject) -> None:
    """char(V1) char(V2) == sum_ν mult_ν char(V_ν) as weight multisets (normalised to equal size)."""
    w1 = data.draw(small_weights(max_dim=40))
    n = len(w1)
    w2 = data.draw(small_weights(max_dim=40).filter(lambda w: len(w) == n))
    sums = (_su_weights(w1)[:, None, :] + _su_weights(w2)[None, :, :]).reshape(-1, n)
    lhs = Counter(map(tuple, sums.tolist()))
    rhs: Counter = Counter()
    for term in SUN(w1) * SUN(w2):
        for w in _su_weights(term.ir.weight).tolist():
            rhs[tuple(w)] += term.mul
    assert lhs == rhs
    assert sum(t.dim for t in SUN(w1) * SUN(w2)) == SUN(w1).dim * SUN(w2).dim


@pytest.mark.parametrize(
    ("a", "b"), [((2, 1, 0), (2, 1, 0)), ((1, 1, 0, 0), (2, 1, 0, 0)), ((2, 0, 0), (2, 1, 0))]
)
def test_multiplicity_counts_highest_weight_vectors(a: tuple, b: tuple) -> None:
    """mult of V_ν = dim of {v of weight ν in V1 ⊗ V2 killed by every raising operator E_{k,k+1}}."""
    ir1, ir2 = SUN(a), SUN(b)
    e1, e2 = ir1.gl_generators(), ir2.gl_generators()
    n = ir1.N
    weights = (ir1.weights()[:, None, :] + ir2.weights()[None, :, :]).reshape(-1, n)
    raising = [
        np.kron(e1[k, k + 1], np.eye(ir2.dim)) + np.kron(np.eye(ir1.dim), e2[k, k + 1]) for k in range(n - 1)
    ]
    found = {}
    for nu in {tuple(w) for w in weights.tolist()}:
        cols = np.flatnonzero(np.all(weights == nu, axis=1))
        k, _ = _null_space_dim(np.concatenate([r[:, cols] for r in raising]))
        if k:
            found[SUN(nu).weight] = k
    assert found == _decomposition(ir1, ir2)


# ---------------------------------------------------------------------- iterator
def test_iterator() -> None:
    first = list(itertools.islice(SUN((0, 0, 0)).iterator(), 12))
    assert [ir.dim for ir in first] == [1, 3, 3, 6, 6, 8, 10, 10, 15, 15, 15, 15]
    assert first[:3] == [SUN((0, 0, 0)), SUN((1, 0, 0)), SUN((1, 1, 0))]
    for n, bound in [(2, 70), (3, 70), (4, 40), (5, 30)]:
        partitions = itertools.combinations_with_replacement(range(bound - 1, -1, -1), n - 1)
        brute = {SUN(w + (0,)) for w in partitions}
        brute = sorted((ir for ir in brute if ir.dim <= bound), key=SUN.sort_key)
        got = list(itertools.takewhile(lambda ir, b=bound: ir.dim <= b, SUN((0,) * n).iterator()))
        assert got == brute
    assert [ir.weight for ir in itertools.islice(SUN((0, 0)).iterator(), 4)] == [
        (0, 0),
        (1, 0),
        (2, 0),
        (3, 0),
    ]


# ---------------------------------------------------------------------- Clebsch–Gordan (numeric solver)
@pytest.mark.parametrize(
    ("a", "b", "c", "mul"),
    [
        ((1, 1, 0), (1, 0, 0), (2, 1, 0), 1),  # 3bar x 3 -> 8
        ((2, 1, 0), (2, 1, 0), (2, 1, 0), 2),  # 8 x 8 -> 8 (twice)
        ((1, 0, 0), (1, 0, 0), (1, 1, 0), 1),  # 3 x 3 -> 3bar
        ((2, 1, 0), (2, 1, 0), (0, 0, 0), 1),  # 8 x 8 -> 1
        ((1, 0, 0, 0), (1, 1, 0, 0), (2, 1, 0, 0), 1),  # SU(4): 4 x 6 -> 20
    ],
)
def test_clebsch_gordan_intertwines(a: tuple, b: tuple, c: tuple, mul: int) -> None:
    ir1, ir2, ir3 = SUN(a), SUN(b), SUN(c)
    cg = numeric_clebsch_gordan(ir1, ir2, ir3)  # SU(N) has no closed form: the solver, uncached
    assert not has_closed_form(ir1) and cg.shape == (mul, ir1.dim, ir2.dim, ir3.dim)
    assert _decomposition(ir1, ir2)[ir3.weight] == mul
    x1, x2, x3 = ir1.algebra(), ir2.algebra(), ir3.algebra()
    lhs = np.einsum("aik,mkjl->amijl", x1, cg) + np.einsum("ajk,mikl->amijl", x2, cg)
    assert np.max(np.abs(lhs - np.einsum("mijk,akl->amijl", cg, x3))) < 1e-10
    gram = np.einsum("mijk,nijl->mknl", cg.conj(), cg)
    assert np.max(np.abs(gram - np.einsum("mn,kl->mknl", np.eye(mul), np.eye(ir3.dim)))) < 1e-10
