"""Tests of the public, certified, cached Clebsch–Gordan entry point (lie_nn._src.cg)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lie_nn._src import cache
from lie_nn._src.cache import CacheWarning, cache_info, clear_cache
from lie_nn._src.cg import CERTIFY_TOL, certify_clebsch_gordan, clebsch_gordan, clebsch_gordan_exact
from lie_nn._src.groups.o3 import O3
from lie_nn._src.groups.so3 import SO3
from lie_nn._src.groups.su2 import SU2
from lie_nn._src.irrep import Irrep, MulIrrep
from lie_nn._src.irreps import Irreps


@dataclass(frozen=True)
class Charge(Irrep):
    """Test-only group U(1): one-dimensional irreps ``exp(i q θ)``."""

    q: int

    @property
    def dim(self) -> int:
        return 1

    def algebra(self) -> np.ndarray:
        return np.array([[[1j * self.q]]])

    def __mul__(self, other: Irrep) -> tuple[MulIrrep, ...]:
        assert isinstance(other, Charge)
        return (MulIrrep(1, type(self)(self.q + other.q)),)

    def trivial(self) -> Charge:
        return Charge(0)

    def dual(self) -> Charge:
        return Charge(-self.q)

    def sort_key(self) -> tuple:
        return (abs(self.q), self.q)

    @classmethod
    def from_string(cls, text: str) -> Charge:
        return cls(int(text))

    def clebsch_gordan(self, ir2: Irrep, ir3: Irrep) -> np.ndarray:
        assert isinstance(ir2, Charge) and isinstance(ir3, Charge)
        mul = int(self.q + ir2.q == ir3.q)
        return np.ones((mul, 1, 1, 1), dtype=complex)


@dataclass(frozen=True)
class OpaqueCharge(Charge):
    """Like Charge, but with an unknown selection rule (as a user-defined GenericRep)."""

    def __mul__(self, other: Irrep) -> tuple[MulIrrep, ...]:
        raise NotImplementedError("selection rule unknown")

    def group_id(self) -> object:
        return OpaqueCharge


@pytest.fixture(autouse=True)
def disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("LIE_NN_CACHE_DIR", str(root))
    monkeypatch.delenv("LIE_NN_DISK_CACHE", raising=False)
    clear_cache()
    yield root
    clear_cache()


def files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


# ------------------------------------------------------------------------------------ independent checks
def assert_intertwines(ir1: Irrep, ir2: Irrep, ir3: Irrep, C: np.ndarray, atol: float = 1e-10) -> None:
    """Checked generator by generator with explicit Kronecker products (independent of cg.py)."""
    d1, d2, d3 = ir1.dim, ir2.dim, ir3.dim
    for X1, X2, X3 in zip(ir1.algebra(), ir2.algebra(), ir3.algebra(), strict=True):
        big = np.kron(X1, np.eye(d2)) + np.kron(np.eye(d1), X2)
        for Cm in C.reshape(-1, d1 * d2, d3):
            np.testing.assert_allclose(big @ Cm, Cm @ X3, atol=atol)
    for D1, D2, D3 in zip(ir1.discrete_generators(), ir2.discrete_generators(), ir3.discrete_generators(),
                          strict=True):
        for Cm in C.reshape(-1, d1 * d2, d3):
            np.testing.assert_allclose(np.kron(D1, D2) @ Cm, Cm @ D3, atol=atol)


def assert_isometries(C: np.ndarray) -> None:
    mul, d1, d2, d3 = C.shape
    M = C.transpose(1, 2, 0, 3).reshape(d1 * d2, mul * d3)  # columns: (copy, k)
    np.testing.assert_allclose(M.conj().T @ M, np.eye(mul * d3), atol=1e-12)


def multiplicity(ir1: Irrep, ir2: Irrep, ir3: Irrep) -> int:
    return sum(t.mul for t in ir1 * ir2 if t.ir == ir3)


# ------------------------------------------------------------------------------------ validation
def test_rejects_non_irreps() -> None:
    with pytest.raises(TypeError, match="argument 1 must be an Irrep, got int"):
        clebsch_gordan(1, SO3(1), SO3(1))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="argument 3 must be an Irrep, got str"):
        clebsch_gordan(SO3(1), SO3(1), "1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="argument 2"):
        clebsch_gordan_exact(SO3(1), None, SO3(1))  # type: ignore[arg-type]


@pytest.mark.parametrize("triple", [(SO3(1), SU2(1), SO3(1)), (SO3(1), SO3(1), SU2(1)),
                                    (Charge(1), SO3(0), SO3(1)), (Charge(0), Charge(0), OpaqueCharge(0))])
def test_rejects_mixed_groups(triple: tuple) -> None:
    with pytest.raises(TypeError, match="different groups"):
        clebsch_gordan(*triple)


def test_exact_requires_group_support() -> None:
    with pytest.raises(TypeError, match="Charge"):
        clebsch_gordan_exact(Charge(1), Charge(1), Charge(2))


# ------------------------------------------------------------------------------------ correctness
so3_triples = st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 8))
su2_triples = st.tuples(*[st.integers(0, 6).map(lambda n: Fraction(n, 2))] * 3)


@settings(max_examples=25, deadline=None)
@given(so3_triples)
def test_so3_certified(ls: tuple[int, int, int]) -> None:
    irs = tuple(SO3(l) for l in ls)
    C = clebsch_gordan(*irs)
    assert C.shape == (multiplicity(*irs), *(ir.dim for ir in irs))
    assert C.dtype == np.float64
    assert certify_clebsch_gordan(*irs, C) < CERTIFY_TOL
    assert_intertwines(*irs, C)
    assert_isometries(C)


@settings(max_examples=25, deadline=None)
@given(su2_triples)
def test_su2_certified(js: tuple[Fraction, Fraction, Fraction]) -> None:
    irs = tuple(SU2(j) for j in js)
    C = clebsch_gordan(*irs)
    assert C.shape == (multiplicity(*irs), *(ir.dim for ir in irs))
    assert_intertwines(*irs, C)
    assert_isometries(C)


def test_known_values() -> None:
    C = clebsch_gordan(SO3(1), SO3(1), SO3(0))
    np.testing.assert_allclose(np.abs(C[0, :, :, 0]), np.eye(3) / np.sqrt(3), atol=1e-15)
    C = clebsch_gordan(SU2("1/2"), SU2("1/2"), SU2(0))  # singlet (|↑↓> - |↓↑>)/sqrt 2 up to sign
    np.testing.assert_allclose(np.abs(C[0, :, :, 0]), np.array([[0, 1], [1, 0]]) / np.sqrt(2), atol=1e-15)
    assert C[0, 0, 1, 0] == -C[0, 1, 0, 0]
    assert clebsch_gordan(SO3(1), SO3(1), SO3(3)).shape == (0, 3, 3, 7)


def test_exact_matches_float() -> None:
    exact = clebsch_gordan_exact(SO3(1), SO3(2), SO3(2))
    values = np.array(exact.tolist(), dtype=float).reshape(clebsch_gordan(SO3(1), SO3(2), SO3(2)).shape)
    np.testing.assert_allclose(values, clebsch_gordan(SO3(1), SO3(2), SO3(2)), atol=1e-14)


def test_test_only_group() -> None:
    np.testing.assert_array_equal(clebsch_gordan(Charge(2), Charge(-3), Charge(-1)), np.ones((1, 1, 1, 1)))
    assert clebsch_gordan(Charge(2), Charge(-3), Charge(1)).shape == (0, 1, 1, 1)
    # unknown selection rule: the multiplicity check is skipped, certification still runs
    assert clebsch_gordan(OpaqueCharge(1), OpaqueCharge(1), OpaqueCharge(2)).shape == (1, 1, 1, 1)


# ------------------------------------------------------------------------------------ certification
def test_certify_detects_defects() -> None:
    irs = (SO3(1), SO3(2), SO3(2))
    C = clebsch_gordan(*irs)
    assert certify_clebsch_gordan(*irs, C) < 1e-14
    wrong_target = clebsch_gordan(SO3(1), SO3(2), SO3(3))[:, :, :, 1:6]
    assert certify_clebsch_gordan(*irs, wrong_target) > 1e-3
    assert certify_clebsch_gordan(*irs, C + 1e-6 * np.random.default_rng(0).normal(size=C.shape)) > 1e-8
    assert certify_clebsch_gordan(*irs, 2 * C) > 1  # intertwines, but not an isometry
    assert certify_clebsch_gordan(*irs, 2 * C, check_normalization=False) < 1e-14
    assert certify_clebsch_gordan(*irs, C.swapaxes(1, 1)[:, :, ::-1]) > 1e-3
    assert certify_clebsch_gordan(*irs, np.concatenate([C, C])) > 0.5  # dependent copies
    assert certify_clebsch_gordan(*irs, C * 1j) > 0.5  # real bases demand real coefficients
    assert certify_clebsch_gordan(*irs, np.full(C.shape, np.nan)) == np.inf
    with pytest.raises(ValueError, match="shape"):
        certify_clebsch_gordan(*irs, C[0])
    with pytest.raises(ValueError, match=r"\(mul, 3, 5, 5\)"):
        certify_clebsch_gordan(*irs, C[:, :, :, :4])


def test_certify_checks_discrete_generators() -> None:
    @dataclass(frozen=True)
    class Signed(Charge):
        """Charge × Z2: the discrete generator acts by (-1)^q, compatible with adding charges."""

        def discrete_generators(self) -> np.ndarray:
            return np.full((1, 1, 1), (-1.0) ** self.q)

    @dataclass(frozen=True)
    class Flipped(Charge):
        """Discrete generator -1 only on charge 2: breaks (D1 ⊗ D2) C = C D3 for 1 ⊗ 1 → 2."""

        def discrete_generators(self) -> np.ndarray:
            return np.full((1, 1, 1), -1.0 if self.q == 2 else 1.0)

    C = np.ones((1, 1, 1, 1), dtype=complex)
    assert certify_clebsch_gordan(Signed(1), Signed(1), Signed(2), C) == 0.0
    np.testing.assert_array_equal(clebsch_gordan(Signed(1), Signed(1), Signed(2)), C)
    assert certify_clebsch_gordan(Flipped(1), Flipped(1), Flipped(2), C) > 0.5
    with pytest.raises(RuntimeError, match="failed certification"):
        clebsch_gordan(Flipped(1), Flipped(1), Flipped(2))


def test_wrong_group_method_raises_and_is_not_cached(disk: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = SO3.clebsch_gordan

    def sign_flipped(self: SO3, ir2: SO3, ir3: SO3) -> np.ndarray:
        C = good(self, ir2, ir3).copy()
        C[..., 0] *= -1  # still an isometry, no longer an intertwiner
        return C

    monkeypatch.setattr(SO3, "clebsch_gordan", sign_flipped)
    for _ in range(2):
        with pytest.raises(RuntimeError, match="failed certification"):
            clebsch_gordan(SO3(1), SO3(1), SO3(2))
    assert cache_info().memory_entries == 0 and files(disk) == []
    monkeypatch.setattr(SO3, "clebsch_gordan", lambda self, ir2, ir3: good(self, ir2, ir3)[:0])
    with pytest.raises(RuntimeError, match="multiplicity 1"):
        clebsch_gordan(SO3(1), SO3(1), SO3(2))
    monkeypatch.setattr(SO3, "clebsch_gordan", lambda self, ir2, ir3: good(self, ir2, ir3)[0])
    with pytest.raises(RuntimeError, match="shape"):
        clebsch_gordan(SO3(1), SO3(1), SO3(2))
    monkeypatch.setattr(SO3, "clebsch_gordan", good)
    assert_intertwines(SO3(1), SO3(1), SO3(2), clebsch_gordan(SO3(1), SO3(1), SO3(2)))


# ------------------------------------------------------------------------------------ caching
def test_cached_on_disk_and_copies(disk: Path) -> None:
    irs = (SU2("1/2"), SU2(1), SU2("3/2"))
    C = clebsch_gordan(*irs)
    assert len(files(disk)) == 1
    C[:] = 0
    clear_cache(memory=True)
    D = clebsch_gordan(*irs)
    assert cache_info().disk_hits == 1 and cache_info().misses == 0
    assert_intertwines(*irs, D)
    assert_isometries(D)


def test_tampered_disk_entry_fails_certification_and_is_recomputed(disk: Path) -> None:
    irs = (SO3(1), SO3(1), SO3(1))
    C = clebsch_gordan(*irs)
    (path,) = files(disk)
    cache._write_entry(path, path.stem, -C[..., ::-1].copy())  # well-formed file, wrong coefficients
    clear_cache(memory=True)
    with pytest.warns(CacheWarning, match="failed certification"):
        np.testing.assert_array_equal(clebsch_gordan(*irs), C)
    clear_cache(memory=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(clebsch_gordan(*irs), C)
    assert cache_info().disk_hits == 1


def test_exact_shape_matches_float() -> None:
    for l3 in range(4):
        exact = clebsch_gordan_exact(SO3(1), SO3(2), SO3(l3))
        assert exact.shape == clebsch_gordan(SO3(1), SO3(2), SO3(l3)).shape


# ------------------------------------------------------------------------------------ mutation-test gaps
@dataclass(frozen=True)
class TinySO3(SO3):
    """SO(3) with its Lie-algebra basis scaled by 1e-3 (same intertwiners, tiny generators)."""

    def algebra(self) -> np.ndarray:
        return 1e-3 * SO3(self.l).algebra()

    def group_id(self) -> object:
        return TinySO3


@dataclass(frozen=True)
class ComplexStoredSO3(SO3):
    """SO(3) whose closed form returns complex128 with zero imaginary part."""

    def clebsch_gordan(self, ir2: Irrep, ir3: Irrep) -> np.ndarray:
        return SO3(self.l).clebsch_gordan(SO3(ir2.l), SO3(ir3.l)).astype(np.complex128)  # type: ignore

    def __mul__(self, other: Irrep) -> Irreps:
        return Irreps([(t.mul, ComplexStoredSO3(t.ir.l)) for t in SO3(self.l) * SO3(other.l)])  # type: ignore

    def group_id(self) -> object:
        return ComplexStoredSO3


def test_certified_defect_does_not_depend_on_scales() -> None:
    """Relative defect: the same for C and s·C, and for generators X and 1e-3·X."""
    irs = (SO3(1), SO3(2), SO3(2))
    C = clebsch_gordan(*irs)
    noisy = C + 1e-4 * np.random.default_rng(1).normal(size=C.shape)
    def defect_of(group: tuple, coefficients: np.ndarray) -> float:
        return certify_clebsch_gordan(*group, coefficients, check_normalization=False)

    defect = defect_of(irs, noisy)
    assert 1e-6 < defect < 1e-2
    for s in (1e-8, 1e-3, 0.5, 1e4):
        assert defect_of(irs, s * noisy) == pytest.approx(defect, 1e-9)
    tiny = tuple(TinySO3(ir.l) for ir in irs)
    assert defect_of(tiny, noisy) == pytest.approx(defect, 1e-9)
    assert defect_of(tiny, 1e-3 * noisy) == pytest.approx(defect, 1e-9)
    assert certify_clebsch_gordan(*tiny, C) < 1e-14  # exact CGs stay exact, however small the generators
    assert certify_clebsch_gordan(*tiny, 1e-9 * C, check_normalization=False) < 1e-14


def test_certify_checks_isometry_with_discrete_generators() -> None:
    irs = (O3(1, -1), O3(1, -1), O3(2, 1))
    C = clebsch_gordan(*irs)
    assert all(ir.is_unitary() for ir in irs) and irs[0].discrete_generators().shape[0] == 1
    assert certify_clebsch_gordan(*irs, C) < 1e-14
    assert certify_clebsch_gordan(*irs, 2 * C) > 1  # intertwines (parity included), but not an isometry
    assert certify_clebsch_gordan(*irs, 2 * C, check_normalization=False) < 1e-14


def test_real_bases_give_float64() -> None:
    from lie_nn import DirectProduct, GenericRep

    vec = GenericRep(SO3(1).algebra(), label="v")
    cases = [(SO3(1), SO3(1), SO3(2)), (O3(1, -1), O3(2, 1), O3(1, -1)), (vec, vec, vec),
             (DirectProduct((SO3(1), O3(0, -1))),) * 2 + (DirectProduct((SO3(0), O3(0, 1))),),
             (ComplexStoredSO3(1), ComplexStoredSO3(1), ComplexStoredSO3(1))]
    for irs in cases:
        assert all(ir.is_real for ir in irs)
        C = clebsch_gordan(*irs)
        assert C.dtype == np.float64 and C.shape[0] >= 1, [str(ir) for ir in irs]
    assert clebsch_gordan(SU2(1), SU2(1), SU2(1)).dtype == np.float64  # real Condon–Shortley values
