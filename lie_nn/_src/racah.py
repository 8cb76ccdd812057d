r"""Exact SU(2) Clebsch–Gordan coefficients from Racah's formula.

Every coefficient is ``sign * sqrt(r)`` with ``r`` rational.  We compute ``sign`` and ``r`` exactly
with Python integers and only then produce a float64, correctly rounded, or a sympy number.

Racah's formula (Condon–Shortley phase, ``<j1 j1; j2 (J-j1) | J J> > 0``)::

    <j1 m1; j2 m2 | J M> = δ(M, m1 + m2)
        sqrt[(2J+1) (J+j1-j2)! (J-j1+j2)! (j1+j2-J)! / (j1+j2+J+1)!]
        sqrt[(J+M)! (J-M)! (j1-m1)! (j1+m1)! (j2-m2)! (j2+m2)!]
        Σ_k (-1)^k / [k! (j1+j2-J-k)! (j1-m1-k)! (j2+m2-k)! (J-j2+m1+k)! (J-j1-m2+k)!]

Spins are handled internally as doubled integers (``2j``) so half-integers stay exact.
Tensors are indexed ``C[i1, i2, i3]`` with ``i = m + j`` (``m`` ascending from ``-j`` to ``j``); as
a map ``V_J -> V_j1 ⊗ V_j2`` the tensor is an isometry.
"""

from __future__ import annotations

import math
from fractions import Fraction
from numbers import Rational
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import sympy

_FACTORIALS: list[int] = [1]


def _factorials(n: int) -> list[int]:
    """The table ``[0!, 1!, ..., n!, ...]`` of Python ints, grown on demand to include ``n!``."""
    table = _FACTORIALS
    while len(table) <= n:
        table.append(table[-1] * len(table))
    return table


def as_spin(value: object, name: str = "spin") -> Fraction:
    """Validate a spin (a non-negative integer or half-integer) and return it as a ``Fraction``.

    Accepts ``int``, ``Fraction``, a float such as ``0.5`` and strings such as ``"1/2"``, ``"3"`` or
    ``"1.5"``.  Raises ``TypeError`` for other types (including ``bool``) and ``ValueError`` for
    negative, non-half-integer or non-finite values.

    >>> as_spin("3/2"), as_spin(0.5), as_spin(2)
    (Fraction(3, 2), Fraction(1, 2), Fraction(2, 1))
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Rational, np.integer, np.floating)):
        raise TypeError(f"{name} must be an int, a half-integer Fraction/float or a string, got {value!r}")
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    try:
        frac = Fraction(str(value).strip()) if isinstance(value, str) else Fraction(value)
    except (ValueError, ZeroDivisionError) as err:
        raise ValueError(f"cannot parse {name} {value!r}") from err
    if frac < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    if (2 * frac).denominator != 1:
        raise ValueError(f"{name} must be an integer or half-integer, got {value!r}")
    return frac


def _doubled(value: object, name: str) -> int:
    return int(2 * as_spin(value, name))


def triangle_ok(j1: object, j2: object, j3: object) -> bool:
    """True when ``j3`` occurs in ``j1 ⊗ j2``: ``|j1-j2| <= j3 <= j1+j2`` and ``j1+j2+j3`` integer.

    >>> triangle_ok("1/2", "1/2", 1), triangle_ok(1, 1, "1/2")
    (True, False)
    """
    t1, t2, t3 = _doubled(j1, "j1"), _doubled(j2, "j2"), _doubled(j3, "j3")
    return _triangle_doubled(t1, t2, t3)


def _triangle_doubled(t1: int, t2: int, t3: int) -> bool:
    return abs(t1 - t2) <= t3 <= t1 + t2 and (t1 + t2 + t3) % 2 == 0


def _racah_parts(t1: int, tm1: int, t2: int, tm2: int, t3: int) -> tuple[int, int, int, int]:
    """Unreduced integers ``(s_num, s_den, a_num, a_den)`` with ``CG = s_num/s_den * sqrt(a_num/a_den)``.

    Arguments are doubled spins and projections; ``M = m1 + m2``; the triangle rule is assumed.
    """
    f = _factorials((t1 + t2 + t3) // 2 + 1)
    tm3 = tm1 + tm2
    # half-sums are integers by construction (all below are ordinary, non-doubled integers)
    a = (t1 + t2 - t3) // 2  # j1 + j2 - J
    b = (t1 - tm1) // 2  # j1 - m1
    c = (t2 + tm2) // 2  # j2 + m2
    d = (t3 - t2 + tm1) // 2  # J - j2 + m1
    e = (t3 - t1 - tm2) // 2  # J - j1 - m2
    k_min = max(0, -d, -e)
    k_max = min(a, b, c)
    # common denominator: k!(a-k)! | a!, (b-k)! | b!, (c-k)! | c!, (d+k)! | (d+k_max)!, ...
    s_den = f[a] * f[b] * f[c] * f[d + k_max] * f[e + k_max]
    s_num = 0
    for k in range(k_min, k_max + 1):
        term = s_den // (f[k] * f[a - k] * f[b - k] * f[c - k] * f[d + k] * f[e + k])
        s_num += -term if k % 2 else term
    a_num = (t3 + 1) * f[(t3 + t1 - t2) // 2] * f[(t3 - t1 + t2) // 2] * f[a]
    a_num *= f[(t3 + tm3) // 2] * f[(t3 - tm3) // 2] * f[b] * f[(t1 + tm1) // 2] * f[(t2 - tm2) // 2] * f[c]
    a_den = f[(t1 + t2 + t3) // 2 + 1]
    return s_num, s_den, a_num, a_den


def signed_sqrt_to_float(sign: int, num: int, den: int) -> float:
    """Correctly rounded float64 of ``sign * sqrt(num / den)`` for integers ``num >= 0, den > 0``.

    Computes ``floor(sqrt(num/den) * 2^k)`` with >= 64 significant bits plus a sticky bit, so the
    final int -> float conversion (round-half-even) rounds the exact value correctly.

    >>> signed_sqrt_to_float(1, 1, 2) == 2 ** -0.5
    True
    """
    if num == 0 or sign == 0:
        return 0.0
    # choose even shift 2k so that num * 4^k // den has >= 130 bits (sqrt has >= 65 bits)
    shift = max(0, 130 - (num.bit_length() - den.bit_length()))
    shift += shift % 2
    scaled, rem = divmod(num << shift, den)
    root = math.isqrt(scaled)
    exact = rem == 0 and root * root == scaled
    mantissa = 2 * root + (0 if exact else 1)
    value = math.ldexp(float(mantissa), -(shift // 2) - 1)
    return value if sign > 0 else -value


def _cg_doubled_float(t1: int, tm1: int, t2: int, tm2: int, t3: int) -> float:
    s_num, s_den, a_num, a_den = _racah_parts(t1, tm1, t2, tm2, t3)
    sign = (s_num > 0) - (s_num < 0)
    return signed_sqrt_to_float(sign, s_num * s_num * a_num, s_den * s_den * a_den)


def _doubled_projection(value: object, name: str) -> int:
    """``2 m`` for a projection ``m`` (any sign), validated like :func:`as_spin`."""
    if isinstance(value, str) and value.strip().startswith("-"):
        return -_doubled(value.strip()[1:], name)
    if isinstance(value, (int, float, Rational, np.integer, np.floating)) and not isinstance(value, bool):
        if value < 0:
            return -_doubled(-value, name)
    return _doubled(value, name)


def su2_cg_coefficient(
    j1: object, m1: object, j2: object, m2: object, j3: object, m3: object
) -> tuple[int, Fraction]:
    """Exact ``<j1 m1; j2 m2 | j3 m3> = sign * sqrt(square)`` as ``(sign, square)``.

    ``sign`` is -1, 0 or 1 and ``square`` a non-negative ``Fraction``; zero when a selection rule
    fails (``m3 != m1 + m2``, triangle, ``|m| > j``).

    >>> su2_cg_coefficient("1/2", "1/2", "1/2", "-1/2", 1, 0)
    (1, Fraction(1, 2))
    >>> su2_cg_coefficient(1, 1, 1, -1, 0, 0)
    (1, Fraction(1, 3))
    """
    t1, t2, t3 = _doubled(j1, "j1"), _doubled(j2, "j2"), _doubled(j3, "j3")
    tms = [_doubled_projection(m1, "m1"), _doubled_projection(m2, "m2"), _doubled_projection(m3, "m3")]
    tm1, tm2, tm3 = tms
    if (
        not _triangle_doubled(t1, t2, t3)
        or tm3 != tm1 + tm2
        or any(abs(tm) > t or (t - tm) % 2 for tm, t in zip(tms, (t1, t2, t3), strict=True))
    ):
        return 0, Fraction(0)
    s_num, s_den, a_num, a_den = _racah_parts(t1, tm1, t2, tm2, t3)
    sign = (s_num > 0) - (s_num < 0)
    return sign, Fraction(s_num * s_num * a_num, s_den * s_den * a_den)


def _nonzero_entries(t1: int, t2: int, t3: int):
    """Yield ``(i1, i2, i3, tm1, tm2)`` for every entry allowed by ``m3 = m1 + m2``."""
    for i1 in range(t1 + 1):
        tm1 = 2 * i1 - t1
        for i2 in range(t2 + 1):
            tm2 = 2 * i2 - t2
            tm3 = tm1 + tm2
            if abs(tm3) <= t3:
                yield i1, i2, (tm3 + t3) // 2, tm1, tm2


def su2_cg_entries(j1: object, j2: object, j3: object) -> list[tuple[int, int, int, int, int, int]]:
    """Exact nonzero-candidate entries ``(i1, i2, i3, sign, num, den)``: ``C[i1,i2,i3] = sign*sqrt(num/den)``.

    Covers every entry with ``m3 = m1 + m2`` (``sign`` is 0 for accidental zeros); empty if the
    triangle rule fails.  ``num/den`` is in lowest terms.

    >>> su2_cg_entries(0, 0, 0)
    [(0, 0, 0, 1, 1, 1)]
    """
    t1, t2, t3 = _doubled(j1, "j1"), _doubled(j2, "j2"), _doubled(j3, "j3")
    if not _triangle_doubled(t1, t2, t3):
        return []
    out = []
    for i1, i2, i3, tm1, tm2 in _nonzero_entries(t1, t2, t3):
        s_num, s_den, a_num, a_den = _racah_parts(t1, tm1, t2, tm2, t3)
        sign = (s_num > 0) - (s_num < 0)
        num, den = s_num * s_num * a_num, s_den * s_den * a_den
        g = math.gcd(num, den)
        out.append((i1, i2, i3, sign, num // g, den // g))
    return out


def su2_clebsch_gordan(j1: object, j2: object, j3: object) -> np.ndarray:
    """SU(2) Clebsch–Gordan tensor ``C[i1, i2, i3] = <j1 m1; j2 m2 | j3 m3>``, float64 ``(d1, d2, d3)``.

    Basis ``|j, m>`` with ``m`` ascending (``i = m + j``), Condon–Shortley phase.  Every entry is
    the correctly rounded float64 of the exact value.  All zeros if ``j3`` is not in ``j1 ⊗ j2``.
    As a map ``V3 -> V1 ⊗ V2`` it is an isometry: ``einsum('ijk,ijl->kl', C, C) = 1``.

    >>> C = su2_clebsch_gordan("1/2", "1/2", 0)
    >>> C[:, :, 0] * 2 ** 0.5
    array([[ 0., -1.],
           [ 1.,  0.]])
    """
    t1, t2, t3 = _doubled(j1, "j1"), _doubled(j2, "j2"), _doubled(j3, "j3")
    out = np.zeros((t1 + 1, t2 + 1, t3 + 1))
    if not _triangle_doubled(t1, t2, t3):
        return out
    for i1, i2, i3, tm1, tm2 in _nonzero_entries(t1, t2, t3):
        out[i1, i2, i3] = _cg_doubled_float(t1, tm1, t2, tm2, t3)
    return out


def su2_clebsch_gordan_exact(j1: object, j2: object, j3: object) -> sympy.Array:
    """Exact version of :func:`su2_clebsch_gordan`: a sympy ``Array`` of ``±sqrt(rational)`` entries.

    >>> su2_clebsch_gordan_exact(1, 1, 0)[0, 2, 0]
    sqrt(3)/3
    """
    import sympy

    t1, t2, t3 = _doubled(j1, "j1"), _doubled(j2, "j2"), _doubled(j3, "j3")
    out = sympy.MutableDenseNDimArray.zeros(t1 + 1, t2 + 1, t3 + 1)
    if _triangle_doubled(t1, t2, t3):
        for i1, i2, i3, tm1, tm2 in _nonzero_entries(t1, t2, t3):
            s_num, s_den, a_num, a_den = _racah_parts(t1, tm1, t2, tm2, t3)
            out[i1, i2, i3] = sympy.Rational(s_num, s_den) * sympy.sqrt(sympy.Rational(a_num, a_den))
    return sympy.ImmutableDenseNDimArray(out)
