"""Tests for reduced (symmetric / antisymmetric / formula) tensor products."""

from __future__ import annotations

import itertools
import math
import time
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lie_nn._src.groups.lorentz import SO13
from lie_nn._src.groups.o3 import O3
from lie_nn._src.groups.so3 import SO3
from lie_nn._src.groups.su2 import SU2
from lie_nn._src.irrep import MulIrrep
from lie_nn._src.irreps import Irreps
from lie_nn._src.reduced_tensor_product import (
    ReducedTensorProduct,
    reduced_antisymmetric_tensor_product,
    reduced_symmetric_tensor_product,
    reduced_tensor_product,
)

TOL = 1e-10


# ------------------------------------------------------------------------------------ checkers
def _block_diag(mats: list[np.ndarray]) -> np.ndarray:
    """Block-diagonal stack of ``(n, d_i, d_i)`` matrices -> ``(n, sum d, sum d)``."""
    n, total = mats[0].shape[0], sum(m.shape[-1] for m in mats)
    out = np.zeros((n, total, total), dtype=np.result_type(*mats))
    off = 0
    for m in mats:
        d = m.shape[-1]
        out[:, off : off + d, off : off + d] = m
        off += d
    return out


def _generators(rep: tuple[MulIrrep, ...]) -> tuple[np.ndarray, np.ndarray]:
    blocks = [(mi.ir.algebra(), mi.ir.discrete_generators()) for mi in rep for _ in range(mi.mul)]
    return _block_diag([b[0] for b in blocks]), _block_diag([b[1] for b in blocks])


def _act(mat: np.ndarray, q: np.ndarray, slot: int) -> np.ndarray:
    """Apply ``mat`` to tensor axis ``slot + 1`` of ``q`` (axis 0 is the copy index)."""
    return np.moveaxis(np.tensordot(mat, q, axes=(1, slot + 1)), 0, slot + 1)


def assert_intertwines(rtp: ReducedTensorProduct) -> None:
    gens = [_generators(rep) for rep in rtp.irreps_in]
    n = len(gens)
    for mul_ir, q in rtp:
        assert q.shape == (mul_ir.mul, *rtp.dims_in, mul_ir.ir.dim)
        x_out, d_out = mul_ir.ir.algebra(), mul_ir.ir.discrete_generators()
        scale = max(1.0, np.abs(q).max())
        for a in range(x_out.shape[0]):
            lhs = sum(_act(gens[k][0][a], q, k) for k in range(n))
            err = np.abs(lhs - q @ x_out[a]).max()
            assert err < TOL * scale * max(1.0, np.abs(x_out[a]).max()), (mul_ir, a, err)
        for b in range(d_out.shape[0]):
            lhs = q
            for k in range(n):
                lhs = _act(gens[k][1][b], lhs, k)
            assert np.abs(lhs - q @ d_out[b]).max() < TOL * scale, (mul_ir, b)


def assert_symmetry(rtp: ReducedTensorProduct, relations: list[tuple[int, tuple[int, ...]]]) -> None:
    """``Q = s · transpose(Q, σ)`` on the slot axes for every ``(s, σ)``."""
    n = len(rtp.irreps_in)
    for _, q in rtp:
        for sign, perm in relations:
            permuted = np.transpose(q, (0, *(1 + p for p in perm), n + 1))
            np.testing.assert_allclose(q, sign * permuted, atol=TOL)


def adjacent(order: int, sign: int) -> list[tuple[int, tuple[int, ...]]]:
    out = []
    for k in range(order - 1):
        perm = list(range(order))
        perm[k], perm[k + 1] = k + 1, k
        out.append((sign, tuple(perm)))
    return out


def labels(rtp: ReducedTensorProduct) -> list[str]:
    return [str(mi) for mi in rtp.irreps_out]


# ------------------------------------------------------------------------------------ weights
def _weights(rep) -> list[tuple[Fraction, int]]:
    """(m, parity) of every basis vector of a rep of SO3 / O3 / SU2 (independent of the library)."""
    out = []
    for mi in rep:
        ir = mi.ir
        j = Fraction(ir.j) if isinstance(ir, SU2) else Fraction(ir.l)
        parity = ir.p if isinstance(ir, O3) else 1
        out += [(-j + k, parity) for k in range(int(2 * j) + 1)] * mi.mul
    return out


def weight_multiplicities(rep, order: int, antisymmetric: bool = False) -> Counter:
    """Multiplicities ``{(j, parity): mul}`` of Sym^n / Λ^n by counting monomial weights."""
    w = _weights(rep)
    combos = itertools.combinations if antisymmetric else itertools.combinations_with_replacement
    count: Counter = Counter()
    for idx in combos(range(len(w)), order):
        count[(sum(w[i][0] for i in idx), math.prod(w[i][1] for i in idx))] += 1
    return Counter({(m, p): c - count[(m + 1, p)] for (m, p), c in count.items()
                    if m >= 0 and c - count[(m + 1, p)] > 0})


def library_multiplicities(rtp: ReducedTensorProduct) -> Counter:
    out: Counter = Counter()
    for mi in rtp.irreps_out:
        ir = mi.ir
        j = Fraction(ir.j) if isinstance(ir, SU2) else Fraction(ir.l)
        out[(j, ir.p if isinstance(ir, O3) else 1)] += mi.mul
    return out


# ------------------------------------------------------------------------------------ known results
def test_known_so3_decompositions():
    assert labels(reduced_symmetric_tensor_product(SO3(1), 2)) == ["1xSO3(0)", "1xSO3(2)"]
    assert labels(reduced_antisymmetric_tensor_product(SO3(1), 2)) == ["1xSO3(1)"]
    assert labels(reduced_symmetric_tensor_product(O3(1, -1), 3)) == ["1xO3(1o)", "1xO3(3o)"]
    assert labels(reduced_antisymmetric_tensor_product(SO3(1), 3)) == ["1xSO3(0)"]
    assert labels(reduced_tensor_product("ij", {"i": O3(1, -1), "j": O3(2, 1)})) == [
        "1xO3(1o)", "1xO3(2o)", "1xO3(3o)"]


def test_elasticity_tensor():
    rtp = reduced_tensor_product("ijkl=jikl=klij", {"i": SO3(1)})
    assert labels(rtp) == ["2xSO3(0)", "2xSO3(2)", "1xSO3(4)"]
    assert rtp.dim_out == 21
    assert_intertwines(rtp)
    assert_symmetry(rtp, [(1, (1, 0, 2, 3)), (1, (0, 1, 3, 2)), (1, (2, 3, 0, 1))])


def test_mace_invariants_match_weight_count():
    rep = [O3(0, 1), O3(1, -1)]
    rtp = reduced_symmetric_tensor_product(rep, 3, filter_ir_out=O3(0, 1))
    assert labels(rtp) == ["2xO3(0e)"]
    assert rtp.irreps_out[0].mul == weight_multiplicities(as_mul(rep), 3)[(0, 1)]
    assert_intertwines(rtp)
    assert_symmetry(rtp, adjacent(3, 1))


def as_mul(rep) -> list[MulIrrep]:
    return [MulIrrep(1, ir) for ir in rep]


@pytest.mark.parametrize("order", [2, 3])
@pytest.mark.parametrize("sign", [1, -1])
def test_su2_half_integer(order, sign):
    rep = [MulIrrep(2, SU2("1/2")), MulIrrep(1, SU2(1))]
    fn = reduced_symmetric_tensor_product if sign == 1 else reduced_antisymmetric_tensor_product
    rtp = fn(rep, order)
    assert library_multiplicities(rtp) == weight_multiplicities(rep, order, sign == -1)
    assert_intertwines(rtp)
    assert_symmetry(rtp, adjacent(order, sign))
    assert all(np.iscomplexobj(q) or np.isrealobj(q) for _, q in rtp)


def test_lorentz_vector_square():
    v = SO13(Fraction(1, 2), Fraction(1, 2))
    rtp = reduced_symmetric_tensor_product(v, 2)
    assert labels(rtp) == ["1xSO13(0,0)", "1xSO13(1,1)"]
    assert_intertwines(rtp)
    assert_symmetry(rtp, adjacent(2, 1))
    anti = reduced_antisymmetric_tensor_product(v, 2)
    assert sorted(labels(anti)) == sorted(["1xSO13(1,0)", "1xSO13(0,1)"])
    assert_intertwines(anti)
    # the invariant of Sym^2 is the Minkowski metric (up to basis change): full rank
    (q,) = rtp[SO13(0, 0)][..., 0]
    assert np.linalg.matrix_rank(q) == 4


def test_su3_defining_square():
    from lie_nn._src.groups.sun import SUN

    three = SUN((1, 0, 0))
    sym = reduced_symmetric_tensor_product(three, 2)
    anti = reduced_antisymmetric_tensor_product(three, 2)
    assert labels(sym) == [str(MulIrrep(1, SUN((2, 0, 0))))]
    assert labels(anti) == [str(MulIrrep(1, SUN((1, 1, 0))))]
    assert_intertwines(sym)
    assert_intertwines(anti)
    assert_symmetry(anti, adjacent(2, -1))


# ------------------------------------------------------------------------------------ properties
O3_IRREPS = st.sampled_from([O3(0, 1), O3(0, -1), O3(1, -1), O3(1, 1), O3(2, 1)])


@settings(max_examples=12, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 2), O3_IRREPS), min_size=1, max_size=2),
       st.integers(2, 3), st.booleans())
def test_powers_match_weight_count(pairs, order, antisymmetric):
    rep = [MulIrrep(m, ir) for m, ir in pairs]
    d = sum(mi.dim for mi in rep)
    if d ** order > 1500:
        order = 2
    fn = reduced_antisymmetric_tensor_product if antisymmetric else reduced_symmetric_tensor_product
    rtp = fn(rep, order)
    assert library_multiplicities(rtp) == weight_multiplicities(rep, order, antisymmetric)
    expected = math.comb(d, order) if antisymmetric else math.comb(d + order - 1, order)
    assert rtp.dim_out == expected
    assert_intertwines(rtp)
    assert_symmetry(rtp, adjacent(order, -1 if antisymmetric else 1))
    assert all(np.isrealobj(q) for _, q in rtp)


@pytest.mark.parametrize("sign", [1, -1])
def test_change_of_basis_is_isometry_onto_projector(sign):
    rep = [MulIrrep(2, SO3(1)), MulIrrep(1, SO3(0))]
    fn = reduced_symmetric_tensor_product if sign == 1 else reduced_antisymmetric_tensor_product
    rtp = fn(rep, 2)
    cob = rtp.change_of_basis.reshape(rtp.dim_out, -1)
    np.testing.assert_allclose(cob @ cob.T, np.eye(rtp.dim_out), atol=TOL)
    d = 7
    swap = np.eye(d * d).reshape(d, d, d, d).transpose(0, 1, 3, 2).reshape(d * d, d * d)
    projector = (np.eye(d * d) + sign * swap) / 2
    np.testing.assert_allclose(cob.T @ cob, projector, atol=TOL)


def _projector(dims: tuple[int, ...], relations: list[tuple[int, tuple[int, ...]]]) -> np.ndarray:
    """Signed Reynolds projector built by brute-force group closure on explicit matrices."""
    size = math.prod(dims)
    ident = np.eye(size).reshape(size, *dims)
    gens = [s * np.transpose(ident, (0, *(1 + p for p in perm))).reshape(size, size) for s, perm in relations]
    group = {np.eye(size).tobytes(): np.eye(size)}
    frontier = list(group.values())
    while frontier:
        new = []
        for g in frontier:
            for h in gens:
                gh = h @ g
                if gh.tobytes() not in group:
                    group[gh.tobytes()] = gh
                    new.append(gh)
        frontier = new
    return sum(group.values()) / len(group)


@pytest.mark.parametrize("formula, relations", [
    ("ijk", []),
    ("ijk=jik", [(1, (1, 0, 2))]),
    ("ijk=-jik=-ikj", [(-1, (1, 0, 2)), (-1, (0, 2, 1))]),
    ("ijk=jki", [(1, (1, 2, 0))]),
    ("ijk=-jki", [(-1, (1, 2, 0))]),  # (-1)^3 = -1: everything vanishes
    ("ijk=-ikj", [(-1, (0, 2, 1))]),
])
def test_formula_spans_projector_image(formula, relations):
    rtp = reduced_tensor_product(formula, {"ijk": [O3(0, 1), O3(1, -1)]})
    proj = _projector(rtp.dims_in, relations)
    assert rtp.dim_out == round(np.trace(proj))
    cob = rtp.change_of_basis.reshape(rtp.dim_out, math.prod(rtp.dims_in))
    np.testing.assert_allclose(cob.T @ cob, proj, atol=TOL)
    assert_intertwines(rtp)
    assert_symmetry(rtp, relations)


def test_copies_are_orthonormal_isometries():
    rtp = reduced_symmetric_tensor_product([SU2("1/2"), SU2("3/2")], 3)
    for mul_ir, q in rtp:
        flat = q.reshape(mul_ir.mul, -1, mul_ir.ir.dim)
        gram = np.einsum("mxi,nxj->minj", flat.conj(), flat)
        np.testing.assert_allclose(gram, np.einsum("mn,ij->minj", np.eye(mul_ir.mul), np.eye(mul_ir.ir.dim)),
                                   atol=TOL)


def test_symmetry_not_in_leading_slots():
    rtp = reduced_tensor_product("ijk=ikj", {"i": O3(1, -1), "j": O3(0, 1) , "k": O3(0, 1)})
    assert rtp.dim_out == 3 * 1
    rtp = reduced_tensor_product("ijk=ikj", {"i": O3(1, -1), "jk": [O3(0, 1), O3(1, -1)]})
    assert rtp.dim_out == 3 * math.comb(5, 2)
    assert_intertwines(rtp)
    assert_symmetry(rtp, [(1, (0, 2, 1))])


def test_formula_and_power_agree_canonically():
    rep = [O3(0, 1), O3(1, -1)]
    power = reduced_symmetric_tensor_product(rep, 3)
    for formula in ["ijk=jik=ikj", "ijk=jki=jik", "ijk=kji=ikj=jik"]:
        rtp = reduced_tensor_product(formula, {"i": rep})
        assert rtp.irreps_out == power.irreps_out
        for (_, a), (_, b) in zip(rtp, power, strict=True):
            np.testing.assert_allclose(a, b, atol=1e-9)


def test_filter_reduces_and_keeps_canonical_bases():
    rep = [O3(0, 1), O3(1, -1), O3(2, 1)]
    full = reduced_symmetric_tensor_product(rep, 3)
    part = reduced_symmetric_tensor_product(rep, 3, filter_ir_out=[O3(0, 1), MulIrrep(1, O3(1, -1))])
    assert [mi.ir for mi in part.irreps_out] == [O3(0, 1), O3(1, -1)]
    assert part.dim_out < full.dim_out
    for mul_ir, q in part:
        np.testing.assert_allclose(q, full[mul_ir.ir], atol=1e-9)
    assert len(reduced_symmetric_tensor_product(rep, 2, filter_ir_out=O3(5, 1))) == 0


def test_contradictory_formula_is_zero():
    assert len(reduced_tensor_product("ij=ji=-ji", {"i": SO3(1)})) == 0
    assert len(reduced_tensor_product("ij=-ij", {"ij": SO3(1)})) == 0


def test_progress_goes_to_stderr(capsys, monkeypatch):
    from lie_nn._src.cache import clear_cache

    monkeypatch.setenv("LIE_NN_DISK_CACHE", "0")
    clear_cache(memory=True)
    reduced_symmetric_tensor_product([O3(0, 1), O3(2, 1)], 2, progress=True)
    captured = capsys.readouterr()
    assert "candidates" in captured.err and captured.out == ""


def test_result_container():
    rtp = reduced_symmetric_tensor_product(SO3(1), 2)
    assert len(rtp) == 2 and rtp.dim_out == 6 and "SO3(2)" in repr(rtp)
    with pytest.raises(KeyError):
        rtp[SO3(1)]
    assert rtp.change_of_basis.shape == (6, 3, 3)
    assert reduced_symmetric_tensor_product((3, SO3(0)), 1).dim_out == 3


@pytest.mark.parametrize("small", [0.0, 1e-15, 1e-6, 1e-3])
def test_span_coefficients_rank_and_canonical_form(small):
    from lie_nn._src.symmetric_power import span_coefficients

    rng = np.random.default_rng(1)
    rows = rng.normal(size=(3, 40)) + 1j * rng.normal(size=(3, 40))
    rows[:, :5] = 0
    m = np.stack([rows[0], rows[1], rows[0] - 2 * rows[1], rows[1] + small * rows[2]])
    expected_rank = 2 if small < 1e-9 else 3
    a = span_coefficients(m, canonical=True)
    b = a @ m
    assert b.shape[0] == expected_rank
    np.testing.assert_allclose(b @ b.conj().T, np.eye(expected_rank), atol=1e-9)
    # canonical: independent of the spanning set (shuffled, rescaled rows give the same basis)
    m2 = (rng.normal(size=(5, 4)) @ m) if small == 0.0 else m[::-1] * 3.0
    b2 = span_coefficients(m2, canonical=True) @ m2
    np.testing.assert_allclose(b2, b, atol=1e-6 if small == 1e-6 else 1e-9)
    pivot = np.argmax(np.abs(b) > 1e-9, axis=1)
    assert np.all(np.diff(pivot) > 0) and pivot[0] == 5
    at_pivots = b[np.arange(len(pivot)), pivot]
    assert np.allclose(at_pivots.imag, 0) and np.all(at_pivots.real > 0)


def test_certify_rejects_corrupted_bases():
    from lie_nn._src.symmetric_power import certify, symmetric_cosets, tensor_power_bases

    args = (((MulIrrep(1, SO3(1)),),) * 2, symmetric_cosets(2, 1), (SO3(0), SO3(2)))
    bases = tensor_power_bases(*args)
    certify(args, bases)
    noisy = bases[1] + 1e-4 * np.random.default_rng(0).normal(size=bases[1].shape)
    with pytest.raises(RuntimeError):
        certify(args, (bases[0], noisy + np.swapaxes(noisy, 1, 2)))  # symmetric but not equivariant
    skew = np.zeros_like(bases[0])
    skew[0, 0, 1, 0], skew[0, 1, 0, 0] = 1.0, -1.0
    with pytest.raises(RuntimeError):
        certify(args, (bases[0] + skew, bases[1]))  # breaks the symmetry
    with pytest.raises(RuntimeError):
        certify(args, (bases[0],))


def test_disk_cache_round_trip(tmp_path, monkeypatch):
    from lie_nn._src.cache import cache_info, clear_cache

    monkeypatch.setenv("LIE_NN_DISK_CACHE", "1")
    monkeypatch.setenv("LIE_NN_CACHE_DIR", str(tmp_path))
    rep = [SU2("1/2"), MulIrrep(2, SU2(0))]
    first = reduced_symmetric_tensor_product(rep, 2)
    assert list(tmp_path.rglob("*.npz"))
    clear_cache(memory=True)
    second = reduced_symmetric_tensor_product(rep, 2)
    assert cache_info().disk_hits >= 1
    assert second.irreps_out == first.irreps_out
    for (_, a), (_, b) in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    a[...] = 0  # results are copies: mutating one does not corrupt the cache
    third = reduced_symmetric_tensor_product(rep, 2)
    assert np.abs(third.bases[-1]).max() > 0


# ------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("formula, irreps", [
    ("ij=jk", {"i": SO3(1)}),            # different index sets
    ("ij=jik", {"i": SO3(1)}),           # inconsistent lengths
    ("iij", {"i": SO3(1)}),              # duplicate letter in a word
    ("ij=j1", {"i": SO3(1)}),            # bad character
    ("", {}),                            # empty
    ("ij", {"i": SO3(1)}),               # j unspecified, not related by symmetry
    ("ij", {"i": SO3(1), "k": SO3(1)}),  # unknown index
    ("ij", {"i": SO3(1), "ij": SO3(1)}),  # given twice
    ("ij=ji", {"i": SO3(1), "j": SO3(2)}),  # related indices, different reps
    ("ij", {"i": SO3(1), "j": []}),      # zero-dimensional
])
def test_bad_formulas(formula, irreps):
    with pytest.raises(ValueError):
        reduced_tensor_product(formula, irreps)


def test_bad_types():
    with pytest.raises(TypeError):
        reduced_tensor_product(3, {"i": SO3(1)})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        reduced_tensor_product("ij", [SO3(1)])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        reduced_symmetric_tensor_product(b"1o", 2)
    assert reduced_symmetric_tensor_product("1o", 2).irreps_out == Irreps("0e + 2e")  # strings are Irreps
    with pytest.raises(TypeError):
        reduced_symmetric_tensor_product(SO3(1), 2.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        reduced_symmetric_tensor_product(SO3(1), 0)
    with pytest.raises(TypeError):
        reduced_symmetric_tensor_product(SO3(1), 2, filter_ir_out=SU2(1))
    with pytest.raises(TypeError):
        reduced_symmetric_tensor_product([SO3(1), SU2(1)], 2)


# ------------------------------------------------------------------------------------ slow
@pytest.mark.slow
def test_order_four_mace():
    rep = [O3(0, 1), O3(1, -1), O3(2, 1)]
    rtp = reduced_symmetric_tensor_product(rep, 4)
    assert library_multiplicities(rtp) == weight_multiplicities(as_mul(rep), 4)
    assert rtp.dim_out == math.comb(9 + 3, 4)
    assert_intertwines(rtp)
    assert_symmetry(rtp, adjacent(4, 1))


@pytest.mark.slow
def test_benchmark_sym3_filtered(capsys, monkeypatch):
    from lie_nn._src.cache import clear_cache

    monkeypatch.setenv("LIE_NN_DISK_CACHE", "0")
    clear_cache(memory=True)
    rep = [O3(0, 1), O3(1, -1), O3(2, 1), O3(3, -1)]
    start = time.perf_counter()
    rtp = reduced_symmetric_tensor_product(rep, 3, filter_ir_out=[O3(0, 1), O3(1, -1)])
    elapsed = time.perf_counter() - start
    full = weight_multiplicities(as_mul(rep), 3)
    assert library_multiplicities(rtp) == Counter({k: v for k, v in full.items() if k in {(0, 1), (1, -1)}})
    assert_intertwines(rtp)
    with capsys.disabled():
        print(f"\nSym^3(0e+1o+2e+3o) -> 0e+1o: {labels(rtp)} in {elapsed:.2f} s (cold caches)")
