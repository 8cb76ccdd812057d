r"""Irreps of :math:`SU(N)`, ``N >= 2``, in the (orthonormal) Gelfand–Tsetlin basis.

An irrep is labelled by a partition ``weight = (l_1 >= l_2 >= ... >= l_N = 0)``; ``(1, 0, ..., 0)``
is the defining representation, ``(1, ..., 1, 0)`` its dual.  The basis, its order and the matrix
elements are described in :mod:`lie_nn._src.groups.gelfand_tsetlin`.

Lie-algebra basis (the same for every irrep, ``n_gen = N² - 1``)
-----------------------------------------------------------------
With ``E_ij`` the :math:`\mathfrak{gl}(N)` generators (``E_ji = E_ij^†`` in the GT basis):

1. for every pair ``i < j`` in lexicographic order ``(1,2), (1,3), ..., (N-1,N)``, two generators
   ``E_ij - E_ji`` then ``i (E_ij + E_ji)``;
2. then for ``k = 1..N-1`` the Cartan generators ``i (E_kk - E_{k+1,k+1})``.

All are anti-Hermitian, so ``expm(sum_a θ_a X_a)`` is unitary for real ``θ``.  For the defining
irrep they are the standard ``N x N`` matrices (``E_ij`` = matrix unit) with the basis reversed
(basis vector ``p`` has weight ``e_{N-p}``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from lie_nn._src.groups.gelfand_tsetlin import (
    _gl_generators_cached,
    gl_generators,
    gt_patterns,
    gt_weights,
    tensor_product_multiplicities,
    weyl_dimension,
)
from lie_nn._src.irrep import Irrep, MulIrrep
from lie_nn._src.irreps import Irreps

__all__ = ["SUN"]

_LABEL = re.compile(r"^\s*(?:SU(\d+))?\s*\(\s*(-?\d+(?:\s*,\s*-?\d+)*)\s*\)\s*$")


def _normalise_weight(weight: object) -> tuple[int, ...]:
    """Validate a highest weight and shift it so that its last entry is 0."""
    if isinstance(weight, (str, bytes)):
        raise TypeError(
            f"SUN weight must be a sequence of ints, got the string {weight!r}; "
            "use SUN.from_string to parse labels"
        )
    if not isinstance(weight, (Sequence, np.ndarray)):
        raise TypeError(f"SUN weight must be a tuple or list of ints, got {type(weight).__name__}")
    entries = tuple(weight)
    for x in entries:
        if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
            raise TypeError(f"SUN weight entries must be ints, got {x!r} ({type(x).__name__}) in {weight!r}")
    if len(entries) < 2:
        raise ValueError(f"SUN weight needs N >= 2 entries (one per row of SU(N)), got {weight!r}")
    if any(a < b for a, b in zip(entries[:-1], entries[1:], strict=True)):
        raise ValueError(f"SUN weight must be non-increasing (a partition l1 >= ... >= lN), got {weight!r}")
    return tuple(int(x) - int(entries[-1]) for x in entries)


@dataclass(frozen=True)
class SUN(Irrep):
    r"""Irrep of :math:`SU(N)` with highest weight ``weight`` (a partition, ``N = len(weight)``).

    The weight is normalised by subtracting its last entry (SU(N) irreps depend only on the
    differences ``l_i - l_{i+1}``), so ``SUN((3, 2, 1)) == SUN((2, 1, 0))``.

    >>> from lie_nn import SUN
    >>> ir = SUN((2, 1, 0))
    >>> ir.dim, ir.N, str(ir), str(ir.dual())
    (8, 3, 'SU3(2,1,0)', 'SU3(2,1,0)')
    >>> [str(m) for m in SUN((1, 0, 0)) * SUN((1, 0, 0))]
    ['1xSU3(1,1,0)', '1xSU3(2,0,0)']
    """

    weight: tuple[int, ...]
    prefix = r"SU\d+"

    def __post_init__(self) -> None:
        object.__setattr__(self, "weight", _normalise_weight(self.weight))

    # ------------------------------------------------------------------ labels
    @property
    def N(self) -> int:  # noqa: N802 - the conventional name
        """The ``N`` of SU(N)."""
        return len(self.weight)

    def group_id(self) -> tuple[type, int]:
        """``(SUN, N)``: irreps of SU(N) for different ``N`` never combine."""
        return (SUN, self.N)

    def __str__(self) -> str:
        return f"SU{self.N}({','.join(str(x) for x in self.weight)})"

    @classmethod
    def from_string(cls, text: str) -> SUN:
        """Parse ``"SU3(2,1,0)"`` or ``"(2,1,0)"`` (``N`` is then the number of entries).

        >>> SUN.from_string("SU3(2,1,0)") == SUN.from_string("(2, 1, 0)") == SUN((2, 1, 0))
        True
        """
        if not isinstance(text, str):
            raise TypeError(f"expected a string, got {type(text).__name__}")
        match = _LABEL.match(text)
        if match is None:
            raise ValueError(f"cannot parse SU(N) irrep {text!r}: expected e.g. 'SU3(2,1,0)' or '(2,1,0)'")
        entries = tuple(int(x) for x in match.group(2).split(","))
        n = match.group(1)
        if n is not None and int(n) != len(entries):
            raise ValueError(f"{text!r}: SU{n} needs {n} entries, not {len(entries)}")
        return cls(entries)

    def sort_key(self) -> tuple:
        """``(dim, weight)``: by dimension, ties broken by the lexicographic order of the weight."""
        return (self.dim, self.weight)

    # ------------------------------------------------------------------ structure
    @property
    def dim(self) -> int:
        """Weyl dimension formula (equals the number of GT patterns)."""
        return weyl_dimension(self.weight)

    def trivial(self) -> SUN:
        """The trivial irrep ``(0, ..., 0)``."""
        return SUN((0,) * self.N)

    def dual(self) -> SUN:
        """The conjugate irrep ``(l1 - lN, l1 - l_{N-1}, ..., l1 - l1)``.

        >>> str(SUN((1, 0, 0)).dual()), str(SUN((3, 1, 0, 0)).dual())
        ('SU3(1,1,0)', 'SU4(3,3,2,0)')
        """
        first = self.weight[0]
        return SUN(tuple(first - x for x in reversed(self.weight)))

    @property
    def is_real(self) -> bool:
        """Always False: the generators ``i (E_ij + E_ji)`` are complex in the GT basis."""
        return False

    def patterns(self) -> np.ndarray:
        """The GT patterns labelling the basis, shape ``(dim, N(N+1)/2)``, rows ``N..1`` flattened."""
        return np.array(gt_patterns(self.weight))

    def weights(self) -> np.ndarray:
        """Integer weights of the basis vectors, shape ``(dim, N)``: ``E_kk`` eigenvalues.

        As gl(N) weights they sum to ``sum(weight)``; as SU(N) weights they are defined modulo
        ``(1, ..., 1)``.  The Cartan generator ``i (E_kk - E_{k+1,k+1})`` is
        ``diag(i (w[:, k] - w[:, k+1]))``.

        >>> SUN((1, 0, 0)).weights().tolist()
        [[0, 0, 1], [0, 1, 0], [1, 0, 0]]
        """
        return np.array(gt_weights(self.weight))

    def gl_generators(self) -> np.ndarray:
        """Real matrices of ``E_ij`` in the GT basis, shape ``(N, N, dim, dim)`` (0-based ``i, j``)."""
        return gl_generators(self.weight)

    def algebra(self) -> np.ndarray:
        """The ``N² - 1`` anti-Hermitian generators (order in the module docstring), complex128.

        >>> X = SUN((1, 0)).algebra()
        >>> X.shape, bool(np.allclose(X, -X.conj().transpose(0, 2, 1)))
        ((3, 2, 2), True)
        """
        e = _gl_generators_cached(self.weight)  # read-only, real
        n, dim = self.N, self.dim
        i_idx, j_idx = np.triu_indices(n, 1)
        out = np.zeros((n * n - 1, dim, dim), dtype=np.complex128)
        n_off = 2 * len(i_idx)
        out.real[0:n_off:2] = e[i_idx, j_idx] - e[j_idx, i_idx]
        out.imag[1:n_off:2] = e[i_idx, j_idx] + e[j_idx, i_idx]
        diag = gt_weights(self.weight)
        for k in range(n - 1):
            np.fill_diagonal(out.imag[n_off + k], diag[:, k] - diag[:, k + 1])
        return out

    def __mul__(self, other: Irrep) -> Irreps:
        """Tensor-product decomposition with multiplicities (Racah–Speiser), sorted by ``sort_key``.

        >>> [str(m) for m in SUN((2, 1, 0)) * SUN((2, 1, 0))]
        ['1xSU3(0,0,0)', '2xSU3(2,1,0)', '1xSU3(3,0,0)', '1xSU3(3,3,0)', '1xSU3(4,2,0)']
        """
        self.check_same_group(other)
        assert isinstance(other, SUN)
        mults = tensor_product_multiplicities(self.weight, other.weight)
        terms = [MulIrrep(m, SUN(hw)) for hw, m in mults.items()]
        return Irreps(sorted(terms, key=lambda term: term.ir.sort_key()))

    def iterator(self) -> Iterator[SUN]:
        """All irreps of SU(N) in canonical order (increasing dimension, then weight); infinite.

        Irreps are produced in batches: all those with ``dim <= 2, 4, 8, ...``.

        >>> from itertools import islice
        >>> [str(ir) for ir in islice(SUN((0, 0, 0)).iterator(), 5)]
        ['SU3(0,0,0)', 'SU3(1,0,0)', 'SU3(1,1,0)', 'SU3(2,0,0)', 'SU3(2,2,0)']
        """
        low, high = 0, 1
        while True:
            batch = [ir for ir in _irreps_up_to(self.N, high) if ir.dim > low]
            yield from sorted(batch, key=SUN.sort_key)
            low, high = high, 2 * high


def _irreps_up_to(n: int, max_dim: int) -> list[SUN]:
    """All SU(n) irreps of dimension ``<= max_dim`` (dim grows strictly with every Dynkin label)."""
    found: list[SUN] = []

    def weight_of(labels: list[int]) -> tuple[int, ...]:
        full = labels + [0] * (n - 1 - len(labels))
        return tuple(sum(full[i:]) for i in range(n - 1)) + (0,)

    def extend(labels: list[int]) -> None:
        if len(labels) == n - 1:
            found.append(SUN(weight_of(labels)))
            return
        a = 0
        while weyl_dimension(weight_of(labels + [a])) <= max_dim:
            extend(labels + [a])
            a += 1

    extend([])
    return found
