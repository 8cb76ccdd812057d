r"""SO(3): irreps ``SO3(l)``, ``l = 0, 1, 2, ...``, in a real basis.

Real basis
----------
Components of ``SO3(l)`` vectors are ``v = Q v_c``, where ``v_c`` are the components in the complex
``|l, m>`` basis of ``SU2(l)`` (Condon–Shortley, ``m`` ascending) and ``Q = (-i)^l U`` is unitary with
(``μ = |m| > 0``, indices written as ``m``)::

    v[0]  = v_c[0]
    v[+μ] = (      v_c[-μ] +   (-1)^μ v_c[+μ]) / sqrt(2)      (cosine-like)
    v[-μ] = (-i    v_c[-μ] + i (-1)^μ v_c[+μ]) / sqrt(2)      (sine-like)

(times ``(-i)^l``), so the real index ``a = m + l`` follows real spherical harmonics ``m = -l..l`` and
``algebra() = Q X^{SU2(l)} Q^†`` is real.  For ``l = 1`` the basis is ``(y, z, x)``: reordered to
``(x, y, z)``, ``algebra()[a]`` is the standard generator ``(L_a)_{bc} = -ε_{abc}``.  For ``l = 2`` the
basis is ``(xy, yz, 2z²-x²-y², zx, x²-y²)`` (normalised, as produced from ``1 ⊗ 1`` by the CG below).

Clebsch–Gordan sign convention
------------------------------
``C_SO3 = (Q1 ⊗ Q2) C_SU2 Q3^†`` with the Condon–Shortley ``C_SU2`` and the ``Q`` above, including its
global phase ``(-i)^l``.  This is exactly real (no data-dependent phase fixing is needed) and gives
``C(1,1,0) = δ_ab / sqrt(3)``, ``C(1,1,1) = ε_abc / sqrt(2)`` with ``ε_{yzx} = +1`` and
``C(1,1,2)[:, :, 0] = (y⊗x + x⊗y) / sqrt(2)``, all locked by golden tests.

Generators and CGs are computed exactly, each real-basis entry as ``n sqrt(r)`` (integer ``n``,
rational ``r``: the complex entries it combines have equal magnitudes by the ``m -> -m`` symmetry), and
only then converted to float64, so every float entry is correctly rounded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from lie_nn._src.irrep import Irrep, MulIrrep
from lie_nn._src.irreps import Irreps
from lie_nn._src.racah import signed_sqrt_to_float, su2_cg_entries

if TYPE_CHECKING:
    import sympy

# i^p for p mod 4, as exact Gaussian integers (re, im)
_UNIT = ((1, 0), (0, 1), (-1, 0), (0, -1))

# A sparse exact entry: (index tuple, phase p, num, den) meaning i^p * sqrt(num / den), in lowest terms.
_Entry = tuple[tuple[int, ...], int, int, int]
# A real value as a list of terms (n, num, den) meaning sum of n * sqrt(num / den).
_Terms = list[tuple[int, int, int]]
# Sparse columns of Q: column -> list of (row, phase p, k) meaning i^p * 2^(-k/2).
_Columns = list[list[tuple[int, int, int]]]


def validate_l(l: object, name: str = "l") -> int:
    """Return ``l`` as an ``int`` after checking it is a non-negative integer (not a bool)."""
    if isinstance(l, bool) or not isinstance(l, (int, np.integer)):
        raise TypeError(f"{name} must be a non-negative int, got {l!r}")
    if l < 0:
        raise ValueError(f"{name} must be >= 0, got {l}")
    return int(l)


def _q_columns(l: int) -> _Columns:
    """Sparse columns of ``Q_l`` (see the module docstring)."""
    cols: _Columns = [[] for _ in range(2 * l + 1)]
    glob = 3 * l  # (-i)^l = i^(3l)
    cols[l].append((l, glob % 4, 0))
    for mu in range(1, l + 1):
        cols[l - mu].append((l + mu, glob % 4, 1))
        cols[l + mu].append((l + mu, (glob + 2 * mu) % 4, 1))
        cols[l - mu].append((l - mu, (glob + 3) % 4, 1))
        cols[l + mu].append((l - mu, (glob + 1 + 2 * mu) % 4, 1))
    return cols


def real_basis_change(l: int) -> np.ndarray:
    """The unitary ``Q`` (complex128, ``(2l+1, 2l+1)``) from ``|l, m>`` components to the real basis.

    >>> Q = real_basis_change(1)
    >>> bool(np.allclose(Q @ Q.conj().T, np.eye(3)))
    True
    """
    l = validate_l(l)
    q = np.zeros((2 * l + 1, 2 * l + 1), dtype=np.complex128)
    for col, rows in enumerate(_q_columns(l)):
        for row, p, k in rows:
            q[row, col] = complex(*_UNIT[p]) * 2 ** (-k / 2)
    return q


def _transform(entries: Iterable[_Entry], axes: list[tuple[_Columns, bool]]) -> dict:
    """Exactly apply ``Q`` (or ``conj(Q)`` when the flag is set) on every axis of a sparse tensor.

    Returns ``{index: {(num, den, k): [re, im]}}`` meaning ``Σ (re + i im) sqrt(num / den / 2^k)``.
    """
    acc: dict = {}
    for idx, p0, num, den in entries:
        partial = [((), p0, 0)]
        for (cols, conj), i in zip(axes, idx, strict=True):
            partial = [
                (rows + (row,), p + (-q if conj else q), k + kq)
                for rows, p, k in partial
                for row, q, kq in cols[i]
            ]
        for rows, p, k in partial:
            re, im = _UNIT[p % 4]
            slot = acc.setdefault(rows, {}).setdefault((num, den, k), [0, 0])
            slot[0] += re
            slot[1] += im
    return acc


def _real_terms(acc: dict) -> Iterator[tuple[tuple[int, ...], _Terms]]:
    """Yield ``(index, [(n, num, den), ...])``, value ``Σ n sqrt(num/den)``; checks imaginary parts vanish."""
    for idx, terms in acc.items():
        out = []
        for (num, den, k), (re, im) in terms.items():
            if im != 0:
                raise RuntimeError(f"internal error: real-basis coefficient at {idx} is not real")
            if re != 0:
                out.append((re, num, den << k))
        yield idx, out


def _to_float(terms: _Terms) -> float:
    values = [signed_sqrt_to_float(1 if n > 0 else -1, n * n * num, den) for n, num, den in terms]
    return values[0] if len(values) == 1 else float(sum(values))


def _to_sympy(terms: _Terms) -> sympy.Expr:
    import sympy

    return sympy.Add(*[n * sympy.sqrt(sympy.Rational(num, den)) for n, num, den in terms])


def _su2_table(l1: int, l2: int, l3: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact ``<l1 m1; l2 m2 | l3 m1+m2> = sign sqrt(num/den)`` as dense ``(d1, d2)`` arrays.

    ``num`` and ``den`` are object arrays of Python ints (not tracked by the garbage collector,
    unlike one tuple per entry), ``sign`` is int8 (0 where ``|m1 + m2| > l3``).
    """
    d1, d2 = 2 * l1 + 1, 2 * l2 + 1
    sign = np.zeros((d1, d2), dtype=np.int8)
    num, den = np.zeros((d1, d2), dtype=object), np.ones((d1, d2), dtype=object)
    for i1, i2, _, s, n, d in su2_cg_entries(l1, l2, l3):
        sign[i1, i2], num[i1, i2], den[i1, i2] = s, n, d
    return sign, num, den


def _rows(l: int) -> list[list[tuple[int, int, int]]]:
    """Sparse rows of ``Q_l``: ``rows[a] = [(i, p, k)]`` meaning ``Q[a, i] = i^p 2^(-k/2)``."""
    rows: list[list[tuple[int, int, int]]] = [[] for _ in range(2 * l + 1)]
    for i, column in enumerate(_q_columns(l)):
        for a, p, k in column:
            rows[a].append((i, p, k))
    return rows


def _cg_real_entries(l1: int, l2: int, l3: int) -> Iterator[tuple[tuple[int, int, int], _Terms]]:
    """Yield ``((a, b, c), terms)`` of ``C_SO3 = (Q1 ⊗ Q2) C_SU2 Q3^†``, value ``Σ n sqrt(num/den)``.

    Real entries are produced one ``(a, b)`` pair at a time (at most two complex indices per real
    one on each axis), so only a handful of small containers are alive at once: the computation
    stays clear of the garbage collector even in a process holding many objects (e.g. torch).
    """
    sign, num, den = _su2_table(l1, l2, l3)
    rows1, rows2, cols3 = _rows(l1), _rows(l2), _q_columns(l3)
    shift = l3 - l1 - l2  # complex index of m3 = m1 + m2 is i + j + shift
    for a, row_a in enumerate(rows1):
        for b, row_b in enumerate(rows2):
            acc: dict[int, dict[tuple[int, int, int], list[int]]] = {}
            for i, p1, k1 in row_a:
                for j, p2, k2 in row_b:
                    s, kk = int(sign[i, j]), i + j + shift
                    if s == 0 or not 0 <= kk <= 2 * l3:
                        continue
                    key0, p0 = (num[i, j], den[i, j]), p1 + p2 + (0 if s > 0 else 2)
                    for c, p3, k3 in cols3[kk]:  # conj(Q3)[c, kk] = i^(-p3) 2^(-k3/2)
                        re, im = _UNIT[(p0 - p3) % 4]
                        slot = acc.setdefault(c, {}).setdefault((*key0, k1 + k2 + k3), [0, 0])
                        slot[0] += re
                        slot[1] += im
            for c, terms in acc.items():
                yield from _real_terms({(a, b, c): terms})


def so3_clebsch_gordan(l1: int, l2: int, l3: int) -> np.ndarray:
    """Real SO(3) Clebsch–Gordan tensor, float64 ``(d1, d2, d3)``; zeros if ``l3`` not in ``l1 ⊗ l2``.

    ``C = (Q1 ⊗ Q2) C_SU2 Q3^†`` (see module docstring), correctly rounded from exact values.

    >>> C = so3_clebsch_gordan(1, 1, 0)
    >>> bool(np.allclose(C[:, :, 0], np.eye(3) / 3 ** 0.5))
    True
    """
    l1, l2, l3 = validate_l(l1, "l1"), validate_l(l2, "l2"), validate_l(l3, "l3")
    out = np.zeros((2 * l1 + 1, 2 * l2 + 1, 2 * l3 + 1))
    for idx, terms in _cg_real_entries(l1, l2, l3):
        if terms:
            out[idx] = _to_float(terms)
    return out


def so3_clebsch_gordan_exact(l1: int, l2: int, l3: int) -> sympy.Array:
    """Exact version of :func:`so3_clebsch_gordan` as a sympy ``Array``.

    >>> so3_clebsch_gordan_exact(1, 1, 1)[0, 1, 2]
    sqrt(2)/2
    """
    l1, l2, l3 = validate_l(l1, "l1"), validate_l(l2, "l2"), validate_l(l3, "l3")
    import sympy

    out = sympy.MutableDenseNDimArray.zeros(2 * l1 + 1, 2 * l2 + 1, 2 * l3 + 1)
    for idx, terms in _cg_real_entries(l1, l2, l3):
        if terms:
            out[idx] = _to_sympy(terms)
    return sympy.ImmutableDenseNDimArray(out)


def _su2_algebra_entries(l: int) -> list[list[_Entry]]:
    """Exact sparse ``X_k = -i J_k`` of ``SU2(l)`` (k = x, y, z) as ``i^p sqrt(r)`` entries."""
    x_ent: list[_Entry] = []
    y_ent: list[_Entry] = []
    z_ent: list[_Entry] = []
    for i in range(2 * l):
        m = i - l
        q = Fraction((l - m) * (l + m + 1), 4)  # (J_± matrix element / 2)^2
        x_ent += [((i + 1, i), 3, q.numerator, q.denominator), ((i, i + 1), 3, q.numerator, q.denominator)]
        y_ent += [((i + 1, i), 2, q.numerator, q.denominator), ((i, i + 1), 0, q.numerator, q.denominator)]
    for i in range(2 * l + 1):
        m = i - l
        if m != 0:
            z_ent.append(((i, i), 3 if m > 0 else 1, m * m, 1))
    return [x_ent, y_ent, z_ent]


def so3_algebra(l: int) -> np.ndarray:
    """Real generators ``Q X^{SU2(l)} Q^†``, float64 ``(3, 2l+1, 2l+1)``, antisymmetric.

    >>> so3_algebra(1)[2]  # L_z in the (y, z, x) basis
    array([[ 0.,  0.,  1.],
           [ 0.,  0.,  0.],
           [-1.,  0.,  0.]])
    """
    l = validate_l(l)
    cols = _q_columns(l)
    out = np.zeros((3, 2 * l + 1, 2 * l + 1))
    for a, entries in enumerate(_su2_algebra_entries(l)):
        for idx, terms in _real_terms(_transform(entries, [(cols, False), (cols, True)])):
            if terms:
                out[(a, *idx)] = _to_float(terms)
    return out


@dataclass(frozen=True)
class SO3(Irrep):
    """Irrep of SO(3) of degree ``l`` (dimension ``2l + 1``) in the real basis described above.

    >>> SO3(2).dim, str(SO3(2)), [str(x.ir) for x in SO3(1) * SO3(1)]
    (5, 'SO3(2)', ['SO3(0)', 'SO3(1)', 'SO3(2)'])
    """

    l: int
    prefix = "SO3"

    def __post_init__(self) -> None:
        object.__setattr__(self, "l", validate_l(self.l, "SO3 degree l"))

    @property
    def dim(self) -> int:
        return 2 * self.l + 1

    def algebra(self) -> np.ndarray:
        """Real antisymmetric generators ``(3, dim, dim)`` with ``[X_x, X_y] = X_z`` (cyclic)."""
        return so3_algebra(self.l)

    def __mul__(self, other: Irrep) -> Irreps:
        self.check_same_group(other)
        assert isinstance(other, SO3)
        return Irreps([MulIrrep(1, SO3(l)) for l in range(abs(self.l - other.l), self.l + other.l + 1)])

    def trivial(self) -> SO3:
        return SO3(0)

    def dual(self) -> SO3:
        """``self``: the basis is real and the generators antisymmetric, so ``-X^T = X`` literally."""
        return self

    def sort_key(self) -> tuple:
        return (self.l,)

    @classmethod
    def from_string(cls, text: str) -> SO3:
        """Parse ``"2"`` or ``"SO3(2)"``.

        >>> SO3.from_string("SO3(3)").dim
        7
        """
        if not isinstance(text, str):
            raise TypeError(f"expected a string, got {type(text).__name__}")
        body = text.strip()
        if body.startswith("SO3(") and body.endswith(")"):
            body = body[4:-1].strip()
        if not body.isdigit():
            raise ValueError(f"cannot parse SO3 irrep from {text!r}: expected e.g. '2' or 'SO3(2)'")
        return cls(int(body))

    def __str__(self) -> str:
        return f"SO3({self.l})"

    def iterator(self) -> Iterator[SO3]:
        """All irreps ``SO3(0), SO3(1), ...`` (infinite)."""
        l = 0
        while True:
            yield SO3(l)
            l += 1

    def clebsch_gordan(self, ir2: Irrep, ir3: Irrep) -> np.ndarray:
        """Closed-form real CG ``(1, d1, d2, d3)``, or ``(0, d1, d2, d3)`` if ``ir3`` not in the product.

        >>> SO3(1).clebsch_gordan(SO3(1), SO3(3)).shape
        (0, 3, 3, 7)
        """
        self.check_same_group(ir2)
        self.check_same_group(ir3)
        assert isinstance(ir2, SO3) and isinstance(ir3, SO3)
        if not abs(self.l - ir2.l) <= ir3.l <= self.l + ir2.l:
            return np.zeros((0, self.dim, ir2.dim, ir3.dim))
        return so3_clebsch_gordan(self.l, ir2.l, ir3.l)[None]

    def clebsch_gordan_exact(self, ir2: SO3, ir3: SO3) -> sympy.Array:
        """Exact CG as a sympy ``Array`` ``(d1, d2, d3)`` (all zeros if forbidden)."""
        self.check_same_group(ir2)
        self.check_same_group(ir3)
        assert isinstance(ir2, SO3) and isinstance(ir3, SO3)
        return so3_clebsch_gordan_exact(self.l, ir2.l, ir3.l)
