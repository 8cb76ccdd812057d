r"""A representation given by user-supplied generator matrices.

``GenericRep(X, D)`` represents a basis ``T_a`` of a real Lie algebra by ``X[a]`` (shape
``(n, d, d)``) and the component group by ``D[b]`` (shape ``(k, d, d)``).  Validation checks that
the generators close, ``[X_a, X_b] = Σ_c f_ab^c X_c`` with real structure constants ``f``, and that
every ``D_b`` is invertible and normalises the algebra (``D X_a D^-1`` in the real span of the X's).

Group identity.  Two GenericReps are irreps of the same group when they share the structure
constants (rounded to 8 decimals) and the number of discrete generators.  For a faithful
representation (linearly independent ``X_a``) ``f`` is determined by the matrices; otherwise it is
the least-squares minimal-norm solution (with a warning) unless given via ``structure_constants`` (the
derived representations :meth:`~GenericRep.trivial`, :meth:`~GenericRep.dual`,
:meth:`~GenericRep.tensor` and :meth:`~GenericRep.direct_sum` inherit ``f`` from their parents).
The action of the discrete generators on the algebra is not compared.

Clebsch–Gordan coefficients between GenericReps come from the default numeric solver; the selection
rule ``ir1 * ir2`` is unknown for a user-defined group and raises ``NotImplementedError``.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lie_nn._src.commutant import burnside_irreducible, real_irreducible, split_generators
from lie_nn._src.groups.generic_classes import note, representative
from lie_nn._src.intertwiner import intertwiners
from lie_nn._src.irrep import Irrep, MulIrrep
from lie_nn._src.irreps import Irreps

_CLOSURE_TOL = 1e-8
_ROUND = 8


@dataclass(frozen=True)
class _FrozenArray:
    """Immutable, hashable copy of a numpy array (bytes + shape + dtype)."""

    data: bytes
    shape: tuple[int, ...]
    dtype: str

    @staticmethod
    def of(array: np.ndarray) -> _FrozenArray:
        array = np.ascontiguousarray(array)
        return _FrozenArray(array.tobytes(), tuple(array.shape), array.dtype.str)

    def numpy(self) -> np.ndarray:
        return np.frombuffer(self.data, dtype=np.dtype(self.dtype)).reshape(self.shape).copy()


def _as_matrices(value: Any, name: str, size: int | None = None) -> np.ndarray:
    """Validate a stack of square finite matrices; return it as float64 or complex128."""
    try:
        array = np.asarray(value)
    except Exception as err:  # noqa: BLE001 - report any conversion failure uniformly
        raise TypeError(f"{name} must be array-like, got {type(value).__name__}") from err
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"{name} must be a numeric array, got dtype {array.dtype}")
    if array.ndim != 3 or array.shape[1] != array.shape[2]:
        raise ValueError(f"{name} must have shape (n, d, d), got {array.shape}")
    if array.shape[1] < 1:
        raise ValueError(f"{name}: the dimension d must be >= 1, got {array.shape}")
    if size is not None and array.shape[1] != size:
        raise ValueError(f"{name} act on dimension {array.shape[1]}, expected {size}")
    array = array.astype(np.complex128)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contain non-finite entries")
    if np.all(array.imag == 0):
        array = array.real.copy()
    return array + 0.0  # turns -0.0 into 0.0 so equal matrices have equal bytes


def _real_span_coefficients(basis: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares real ``c`` with ``targets[t] ≈ Σ_c c[t, c] basis[c]``; also the max residual."""
    n, d = basis.shape[0], basis.shape[1]
    flat = basis.reshape(n, d * d).astype(np.complex128)
    a = np.concatenate([flat.real, flat.imag], axis=1).T  # (2d², n)
    t = targets.reshape(-1, d * d).astype(np.complex128)
    b = np.concatenate([t.real, t.imag], axis=1).T  # (2d², T)
    if n == 0:
        return np.zeros((t.shape[0], 0)), float(np.abs(b).max(initial=0.0))
    coef = np.linalg.lstsq(a, b, rcond=None)[0]
    return coef.T, float(np.abs(a @ coef - b).max(initial=0.0))


def _commutators(x: np.ndarray) -> np.ndarray:
    """``[X_a, X_b]`` for all pairs, shape ``(n, n, d, d)``."""
    xy = np.einsum("aij,bjk->abik", x, x)
    return xy - xy.transpose(1, 0, 2, 3)


def _structure_constants(x: np.ndarray) -> np.ndarray:
    """Real ``f[a, b, c]`` with ``[X_a, X_b] = Σ_c f[a,b,c] X_c``; ``ValueError`` if not closed."""
    n, d = x.shape[0], x.shape[1]
    comm = _commutators(x).reshape(n * n, d, d)
    coef, residual = _real_span_coefficients(x, comm)
    scale = max(1.0, float(np.abs(x).max(initial=0.0))) ** 2
    if residual > _CLOSURE_TOL * scale:
        raise ValueError(
            "generators do not close under commutation: some [X_a, X_b] is not in the real span of "
            f"the X's (residual {residual:.2e})"
        )
    return coef.reshape(n, n, n)


def _warn_if_not_faithful(x: np.ndarray) -> None:
    n, d = x.shape[0], x.shape[1]
    flat = x.reshape(n, d * d).astype(np.complex128)
    stacked = np.concatenate([flat.real, flat.imag], axis=1)
    if n and np.linalg.matrix_rank(stacked, tol=1e-10 * max(1.0, float(np.abs(stacked).max()))) < n:
        warnings.warn(
            "the generators are linearly dependent (a non-faithful representation), so they do not "
            "determine the structure constants; pass structure_constants=... (or derive it from a "
            "faithful GenericRep via trivial()/tensor()/direct_sum()) for it to count as a "
            "representation of the intended group",
            UserWarning,
            stacklevel=3,
        )


def _check_structure_constants(x: np.ndarray, f: Any) -> np.ndarray:
    n = x.shape[0]
    f = np.asarray(f, dtype=np.float64)
    if f.shape != (n, n, n) or not np.all(np.isfinite(f)):
        raise ValueError(f"structure_constants must be a finite real array of shape {(n, n, n)}")
    lhs = _commutators(x)
    rhs = np.einsum("abc,cij->abij", f, x)
    scale = max(1.0, float(np.abs(x).max(initial=0.0))) ** 2
    if np.abs(lhs - rhs).max(initial=0.0) > _CLOSURE_TOL * scale:
        raise ValueError(
            "generators do not satisfy [X_a, X_b] = Σ_c f_ab^c X_c for the given structure_constants"
        )
    return f + 0.0


def _check_discrete(x: np.ndarray, d_mats: np.ndarray) -> None:
    for b, mat in enumerate(d_mats):
        if np.linalg.cond(mat) > 1e12:
            raise ValueError(f"discrete generator {b} is not invertible")
        if x.shape[0] == 0:
            continue
        conj = np.einsum("ij,ajk,kl->ail", mat, x, np.linalg.inv(mat))
        _, residual = _real_span_coefficients(x, conj)
        if residual > _CLOSURE_TOL * max(1.0, float(np.abs(conj).max(initial=0.0))):
            raise ValueError(f"discrete generator {b} does not normalise the algebra (D X D^-1 not in span)")


@dataclass(frozen=True, init=False, repr=False)
class GenericRep(Irrep):
    """Representation given by generators ``algebra`` ``(n, d, d)`` and ``discrete`` ``(k, d, d)``.

    A frozen, hashable value: the matrices are stored as bytes (``-0.0`` normalised, complex arrays
    with zero imaginary part stored as real).  Equality compares the matrices and the group
    (``label`` is cosmetic and excluded from ``==`` and ``hash``).

    >>> import numpy as np
    >>> from lie_nn import GenericRep
    >>> eps = np.zeros((3, 3, 3)); eps[0, 1, 2] = eps[1, 2, 0] = eps[2, 0, 1] = 1
    >>> eps[0, 2, 1] = eps[2, 1, 0] = eps[1, 0, 2] = -1
    >>> rot = GenericRep(-eps, label="vec")            # (L_a)_bc = -ε_abc, [L_x, L_y] = L_z
    >>> rot.dim, rot.is_irreducible(), rot.tensor(rot).dim, str(rot)
    (3, True, 9, 'vec')
    >>> rot.tensor(rot).is_irreducible()
    False
    """

    _algebra: _FrozenArray
    _discrete: _FrozenArray
    _structure: _FrozenArray
    label: str = field(default="", compare=False)
    numeric_selection_rule = True  # ir1 * ir2 names one representative per isomorphism class

    def __init__(self, algebra: Any, discrete: Any = None, label: str = "", structure_constants: Any = None):
        x = _as_matrices(algebra, "algebra generators")
        d = x.shape[1]
        disc = np.zeros((0, d, d)) if discrete is None else _as_matrices(discrete, "discrete generators", d)
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, got {type(label).__name__}")
        if structure_constants is None:
            f = _structure_constants(x)
            _warn_if_not_faithful(x)
        else:
            f = _check_structure_constants(x, structure_constants)
        _check_discrete(x, disc)
        self._set(x, disc, label, f)
        note(self)

    def _set(self, x: np.ndarray, disc: np.ndarray, label: str, f: np.ndarray) -> None:
        object.__setattr__(self, "_algebra", _FrozenArray.of(x))
        object.__setattr__(self, "_discrete", _FrozenArray.of(disc))
        object.__setattr__(self, "_structure", _FrozenArray.of(np.round(f, _ROUND) + 0.0))
        object.__setattr__(self, "label", label)

    # ----------------------------------------------------------------- protocol
    @property
    def dim(self) -> int:
        return self._algebra.shape[1]

    def algebra(self) -> np.ndarray:
        return self._algebra.numpy()

    def discrete_generators(self) -> np.ndarray:
        return self._discrete.numpy()

    def structure_constants(self) -> np.ndarray:
        """``f[a, b, c]`` with ``[X_a, X_b] = Σ_c f[a,b,c] X_c``, rounded to 8 decimals."""
        return self._structure.numpy()

    def group_id(self) -> Any:
        return (GenericRep, self._discrete.shape[0], self._structure)

    def __mul__(self, other: Irrep) -> Irreps:
        """Numeric selection rule: ``self ⊗ other`` decomposed, one representative per class.

        See :mod:`lie_nn._src.groups.generic_classes` (irreps are identified when an intertwiner
        exists; the representative is the first of its class created in this process).
        """
        self.check_same_group(other)
        return Irreps(_product_rule(self, other))

    def trivial(self) -> GenericRep:
        n, k = self._algebra.shape[0], self._discrete.shape[0]
        return note(self._derived(np.zeros((n, 1, 1)), np.ones((k, 1, 1)), "1"))

    def dual(self) -> GenericRep:
        """Contragredient: ``-X^T`` and ``D^{-T}``."""
        x = -self.algebra().transpose(0, 2, 1)
        disc = np.linalg.inv(self.discrete_generators()).transpose(0, 2, 1)
        return note(self._derived(x, disc, f"{self.label}*" if self.label else ""))

    def sort_key(self) -> tuple:
        """``(dim, non-trivial, matrix bytes)``: a total order with the trivial irrep first."""
        nontrivial = bool(np.any(self.algebra() != 0) or np.any(self.discrete_generators() != 1))
        return (self.dim, nontrivial, self._algebra.dtype, self._algebra.data, self._discrete.data)

    @classmethod
    def from_string(cls, text: str) -> GenericRep:
        raise ValueError(f"a GenericRep cannot be parsed from a string ({text!r}): build it from matrices")

    # ----------------------------------------------------------------- constructions
    def _derived(self, x: np.ndarray, disc: np.ndarray, label: str) -> GenericRep:
        """A representation of the same group built from ``self`` (closure holds by construction)."""
        out = object.__new__(GenericRep)
        x = _as_matrices(x, "algebra generators")
        disc = _as_matrices(disc, "discrete generators", x.shape[1]) if disc.shape[0] else disc + 0.0
        out._set(x, disc, label, self._structure.numpy())
        return out

    def _check_compatible(self, other: object) -> GenericRep:
        if not isinstance(other, GenericRep):
            raise TypeError(f"expected a GenericRep, got {type(other).__name__}")
        self.check_same_group(other)
        return other

    def tensor(self, other: GenericRep) -> GenericRep:
        """Tensor product: ``X ⊗ 1 + 1 ⊗ Y`` and ``D ⊗ E`` (kron order, ``self`` slowest)."""
        other = self._check_compatible(other)
        da, db = self.dim, other.dim
        one_a, one_b = np.eye(da), np.eye(db)
        x = np.einsum("aij,kl->aikjl", self.algebra(), one_b)
        x = (x + np.einsum("ij,akl->aikjl", one_a, other.algebra())).reshape(-1, da * db, da * db)
        disc = np.einsum("aij,akl->aikjl", self.discrete_generators(), other.discrete_generators())
        disc = disc.reshape(-1, da * db, da * db)
        label = f"{self.label}⊗{other.label}" if self.label and other.label else ""
        return self._derived(x, disc, label)

    def direct_sum(self, other: GenericRep) -> GenericRep:
        """Block-diagonal direct sum ``X ⊕ Y`` and ``D ⊕ E``."""
        other = self._check_compatible(other)

        def block(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            out = np.zeros((a.shape[0], self.dim + other.dim, self.dim + other.dim), np.result_type(a, b))
            out[:, : self.dim, : self.dim] = a
            out[:, self.dim :, self.dim :] = b
            return out

        x = block(self.algebra(), other.algebra())
        disc = block(self.discrete_generators(), other.discrete_generators())
        label = f"{self.label}⊕{other.label}" if self.label and other.label else ""
        return self._derived(x, disc, label)

    def is_irreducible(self, field: str = "complex", tol: float = 1e-7) -> bool:
        """Irreducible over ℂ (default, ``field="complex"``) or over ℝ (``field="real"``).

        Over ℂ: Burnside's theorem, the associative algebra generated by the identity, the ``X_a``
        and the ``D_b`` is all of ``M_d(ℂ)`` (``tol``: relative size of a numerically zero
        direction); this also catches representations that are not completely reducible.  Over ℝ
        (real generators only): ℂ-irreducible, or of complex / quaternionic type (a completely
        reducible complexification and a real commutant ℂ or ℍ).  The rotations of the plane are
        irreducible over ℝ but split over ℂ into the characters ``e^{±iθ}``.
        """
        x, disc = self.algebra(), self.discrete_generators()
        if field == "complex":
            return burnside_irreducible(x, disc, tol)
        if field != "real":
            raise ValueError(f"field must be 'complex' or 'real', got {field!r}")
        if not self.is_real:
            raise ValueError("is_irreducible(field='real') needs real generators")
        return real_irreducible(x, disc)

    # ----------------------------------------------------------------- display
    def __str__(self) -> str:
        n = self._algebra.shape[0]
        return self.label or f"GenericRep(n_gen={n}, dim={self.dim})"

    def __repr__(self) -> str:
        return f"GenericRep(n_gen={self._algebra.shape[0]}, dim={self.dim}, label={self.label!r})"


@functools.lru_cache(maxsize=1024)
def _product_rule(a: GenericRep, b: GenericRep) -> tuple[MulIrrep, ...]:
    note(a)
    note(b)
    note(a.trivial())
    prod = a.tensor(b)
    real = prod.is_real
    blocks, _ = split_generators(prod.algebra(), prod.discrete_generators(), real=real)
    counts: dict[GenericRep, int] = {}
    for block in blocks:
        ir = representative(prod._derived(block.x, block.disc, ""))
        x, disc = ir.algebra(), ir.discrete_generators()
        copies = len(intertwiners(x, x, disc, disc)) if real else 1  # dim End(ir) over the field
        counts[ir] = counts.get(ir, 0) + block.mul * copies
    return tuple(MulIrrep(mul, ir) for ir, mul in sorted(counts.items(), key=lambda t: t[0].sort_key()))
