r"""Gelfand–Tsetlin machinery for the polynomial irreps of :math:`\mathfrak{gl}(N)` / :math:`SU(N)`.

A highest weight is a partition ``lam = (l_1 >= l_2 >= ... >= l_N)``.  A Gelfand–Tsetlin (GT)
pattern is a triangle of integers ``m[k][i]`` (row ``k = N, N-1, ..., 1`` has ``k`` entries,
``i = 1..k``) whose top row is ``lam`` and which satisfies the betweenness conditions

.. math::  m_{k+1, i} \ge m_{k, i} \ge m_{k+1, i+1}.

The patterns label an orthonormal basis of the irrep (the GT basis).

Storage and canonical order
---------------------------
A pattern is stored as a flat integer row of length ``N (N + 1) / 2``: the top row ``N`` first,
then row ``N-1``, ..., row ``1`` last, each row left to right.  The patterns of an irrep are
listed in *increasing lexicographic order* of these flat rows.  For ``N = 2`` this is ``m = -j..j``
(the ``SU2(j)`` order); for the defining irrep ``(1, 0, ..., 0)`` the basis vectors have weights
``e_N, e_{N-1}, ..., e_1`` (the standard basis, reversed).

Generators (Molev, "Gelfand-Tsetlin bases for classical Lie algebras", sec. 2, orthonormal form)
----------------------------------------------------------------------------------------------
With ``l_{k i} = m_{k i} - i + 1``, the diagonal generator acts by
``E_kk = sum(row k) - sum(row k-1)`` and the raising operator ``E_{k,k+1}`` sends pattern ``m`` to
``m + delta_{k i}`` (entry ``(k, i)`` raised by one) with the positive coefficient

.. math::
    \Big( - \frac{\prod_{j=1}^{k+1} (l_{ki} - l_{k+1,j}) \prod_{j=1}^{k-1} (l_{ki} - l_{k-1,j} + 1)}
    {\prod_{j \ne i} (l_{ki} - l_{kj}) (l_{ki} - l_{kj} + 1)} \Big)^{1/2}.

(It is the product of the unnormalised raising and lowering coefficients, hence the square of the
orthonormal one.)  Lowering operators are transposes, ``E_{k+1,k} = E_{k,k+1}^T``, and the others
follow from ``E_{ij} = [E_{i,j-1}, E_{j-1,j}]``.  All matrices are real.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = [
    "weyl_dimension",
    "gt_patterns",
    "gt_weights",
    "gl_generators",
    "tensor_product_multiplicities",
]


def weyl_dimension(weight: tuple[int, ...]) -> int:
    r"""Weyl dimension formula :math:`\prod_{i<j} (l_i - l_j + j - i) / (j - i)` (exact integer).

    >>> weyl_dimension((2, 1, 0)), weyl_dimension((1, 0, 0, 0)), weyl_dimension((4, 0))
    (8, 4, 5)
    """
    n = len(weight)
    num, den = 1, 1
    for i in range(n):
        for j in range(i + 1, n):
            num *= weight[i] - weight[j] + j - i
            den *= j - i
    return num // den


def _row_offset(n: int, k: int) -> int:
    """Flat index of the first entry of row ``k`` (rows ``n, n-1, ..., 1`` are stored in order)."""
    return n * (n + 1) // 2 - k * (k + 1) // 2


def _readonly(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@lru_cache(maxsize=256)
def gt_patterns(weight: tuple[int, ...]) -> np.ndarray:
    """All GT patterns with top row ``weight``, shape ``(dim, N(N+1)/2)``, in canonical order.

    The array is cached and read-only.

    >>> gt_patterns((1, 0)).tolist()
    [[1, 0, 0], [1, 0, 1]]
    >>> len(gt_patterns((2, 1, 0)))
    8
    """
    n = len(weight)
    patterns = np.array([weight], dtype=np.int64)
    for k in range(n - 1, 0, -1):
        upper = patterns[:, _row_offset(n, k + 1) : _row_offset(n, k + 1) + k + 1]
        lo, radix = upper[:, 1:], upper[:, :-1] - upper[:, 1:] + 1  # entry i in [upper_{i+1}, upper_i]
        counts = np.prod(radix, axis=1)
        parent = np.repeat(np.arange(len(patterns)), counts)
        local = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        row = np.empty((len(parent), k), dtype=np.int64)
        for i in range(k - 1, -1, -1):  # mixed radix, first entry most significant
            r = radix[parent, i]
            row[:, i] = lo[parent, i] + local % r
            local //= r
        patterns = np.concatenate([patterns[parent], row], axis=1)
    return _readonly(patterns)


@lru_cache(maxsize=256)
def gt_weights(weight: tuple[int, ...]) -> np.ndarray:
    """Weights (eigenvalues of ``E_11, ..., E_NN``) of the GT basis vectors, shape ``(dim, N)``.

    ``E_kk`` acts on a pattern as ``sum(row k) - sum(row k-1)``.  Cached, read-only.

    >>> gt_weights((1, 0, 0)).tolist()
    [[0, 0, 1], [0, 1, 0], [1, 0, 0]]
    """
    n = len(weight)
    patterns = gt_patterns(weight)
    sums = [np.zeros(len(patterns), dtype=np.int64)]
    for k in range(1, n + 1):
        sums.append(patterns[:, _row_offset(n, k) : _row_offset(n, k) + k].sum(axis=1))
    return _readonly(np.stack([sums[k] - sums[k - 1] for k in range(1, n + 1)], axis=1))


def _raising_data(weight: tuple[int, ...], k: int, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sources, raised patterns and coefficients of ``E_{k,k+1}`` raising entry ``(k, i)`` (0-based i)."""
    n = len(weight)
    patterns = gt_patterns(weight)

    def row(r: int) -> np.ndarray:
        start = _row_offset(n, r)
        return patterns[:, start : start + r]

    here, up = row(k), row(k + 1)
    ok = here[:, i] + 1 <= up[:, i]
    if i > 0:
        ok &= here[:, i] + 1 <= row(k - 1)[:, i - 1]
    src = np.flatnonzero(ok)
    l_here = (here[src] - np.arange(k)).astype(np.float64)
    l_up = (up[src] - np.arange(k + 1)).astype(np.float64)
    li = l_here[:, i : i + 1]
    num = -np.prod(li - l_up, axis=1)
    if k > 1:
        l_down = (row(k - 1)[src] - np.arange(k - 1)).astype(np.float64)
        num *= np.prod(li - l_down + 1, axis=1)
    others = np.delete(l_here, i, axis=1)
    den = np.prod((li - others) * (li - others + 1), axis=1)
    coef2 = num / den
    if np.any(coef2 <= 0):  # pragma: no cover - guards the formula itself
        raise AssertionError(f"non-positive GT coefficient for {weight}, k={k}, i={i}")
    targets = patterns[src].copy()
    targets[:, _row_offset(n, k) + i] += 1
    return src, targets, np.sqrt(coef2)


def _raising_operators(weight: tuple[int, ...]) -> np.ndarray:
    """``E_{k,k+1}`` for ``k = 1..N-1`` as dense real matrices, shape ``(N-1, dim, dim)``."""
    n = len(weight)
    patterns = gt_patterns(weight)
    dim = len(patterns)
    data = [(k, *_raising_data(weight, k, i)) for k in range(1, n) for i in range(k)]
    all_targets = np.concatenate([patterns] + [d[2] for d in data], axis=0)
    unique, inverse = np.unique(all_targets, axis=0, return_inverse=True)
    if len(unique) != dim:  # pragma: no cover - raised patterns must be valid patterns
        raise AssertionError(f"raising produced an invalid GT pattern for {weight}")
    index = inverse.reshape(-1)[dim:]
    raising = np.zeros((n - 1, dim, dim))
    start = 0
    for k, src, _targets, coef in data:
        raising[k - 1, index[start : start + len(src)], src] = coef
        start += len(src)
    return raising


def _sparse_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for very sparse square matrices (GT generators), touching only their nonzeros."""
    a_rows, a_cols = np.nonzero(a.T)  # a's nonzeros grouped by column: a_rows = column index
    b_rows, b_cols = np.nonzero(b)
    starts = np.searchsorted(a_rows, np.arange(len(a) + 1))
    counts = (starts[1:] - starts[:-1])[b_rows]
    local = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    pick = np.repeat(starts[b_rows], counts) + local  # a's nonzeros in column b_rows[b_pick]
    b_pick = np.repeat(np.arange(len(b_rows)), counts)
    values = a.T[a_rows[pick], a_cols[pick]] * b[b_rows[b_pick], b_cols[b_pick]]
    out = np.zeros_like(a)
    np.add.at(out, (a_cols[pick], b_cols[b_pick]), values)
    return out


@lru_cache(maxsize=8)  # dense (N, N, dim, dim) arrays: keep only a few
def _gl_generators_cached(weight: tuple[int, ...]) -> np.ndarray:
    n = len(weight)
    weights = gt_weights(weight)
    dim = len(weights)
    e = np.zeros((n, n, dim, dim))
    for k in range(n):
        e[k, k] = np.diag(weights[:, k].astype(np.float64))
    raising = _raising_operators(weight)
    for k in range(n - 1):
        e[k, k + 1] = raising[k]
    for gap in range(2, n):
        for i in range(n - gap):
            j = i + gap
            e[i, j] = _sparse_product(e[i, j - 1], e[j - 1, j]) - _sparse_product(e[j - 1, j], e[i, j - 1])
    for i in range(n):
        for j in range(i + 1, n):
            e[j, i] = e[i, j].T
    return _readonly(e)


def gl_generators(weight: tuple[int, ...]) -> np.ndarray:
    r"""Matrices of the :math:`\mathfrak{gl}(N)` generators ``E_ij`` in the GT basis.

    Returns a fresh real array ``E`` of shape ``(N, N, dim, dim)`` with ``E[i, j]`` the matrix of
    ``E_{i+1, j+1}`` (0-based indices), satisfying
    ``[E_ij, E_kl] = δ_jk E_il - δ_li E_kj`` and ``E_ji = E_ij^T``.

    >>> gl_generators((1, 0))[0, 1].tolist()
    [[0.0, 0.0], [1.0, 0.0]]
    """
    return np.array(_gl_generators_cached(tuple(int(x) for x in weight)))


def tensor_product_multiplicities(
    weight1: tuple[int, ...], weight2: tuple[int, ...]
) -> dict[tuple[int, ...], int]:
    r"""Decompose ``V(weight1) ⊗ V(weight2)`` by the Racah–Speiser (Brauer–Klimyk) algorithm.

    .. math::  V_\lambda \otimes V_\mu = \sum_{w \in \mathrm{wt}(V_\lambda)}
        \mathrm{sign}(\sigma)\, V_{\sigma(\mu + w + \rho) - \rho},

    with ``rho = (N-1, ..., 1, 0)`` and ``σ`` the permutation sorting ``μ + w + ρ`` into strictly
    decreasing order (terms with repeated entries vanish).  Returns ``{gl(N) weight: multiplicity}``
    (highest weights summing to ``|weight1| + |weight2|``, not normalised).

    >>> tensor_product_multiplicities((1, 0, 0), (1, 0, 0))
    {(1, 1, 0): 1, (2, 0, 0): 1}
    """
    if weyl_dimension(weight1) > weyl_dimension(weight2):
        weight1, weight2 = weight2, weight1
    n = len(weight1)
    rho = np.arange(n - 1, -1, -1)
    shifted = gt_weights(weight1) + np.asarray(weight2) + rho
    ordered = -np.sort(-shifted, axis=1)
    regular = np.all(ordered[:, :-1] > ordered[:, 1:], axis=1)
    shifted, ordered = shifted[regular], ordered[regular]
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    inversions = sum((shifted[:, a] < shifted[:, b]).astype(np.int64) for a, b in pairs)
    signs = 1 - 2 * (np.asarray(inversions) % 2)
    if len(ordered) == 0:  # pragma: no cover - the highest weight always survives
        return {}
    highest, inverse = np.unique(ordered - rho, axis=0, return_inverse=True)
    mults = np.bincount(inverse.reshape(-1), weights=signs, minlength=len(highest)).astype(np.int64)
    if np.any(mults < 0):  # pragma: no cover - guards the algorithm
        raise AssertionError(f"negative multiplicity decomposing {weight1} x {weight2}")
    return {tuple(int(x) for x in hw): int(m) for hw, m in zip(highest, mults, strict=True) if m > 0}
