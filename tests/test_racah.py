"""Exact SU(2) Clebsch–Gordan coefficients (lie_nn._src.racah)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy.physics.quantum.cg import CG

from lie_nn._src.racah import (
    as_spin,
    signed_sqrt_to_float,
    su2_cg_coefficient,
    su2_clebsch_gordan,
    su2_clebsch_gordan_exact,
    triangle_ok,
)

HALF = Fraction(1, 2)
SPINS = [Fraction(n, 2) for n in range(7)]  # 0 .. 3
TRIPLES = [(a, b, c) for a in SPINS for b in SPINS for c in SPINS if triangle_ok(a, b, c)]


def _is_correctly_rounded(value: float, square: Fraction, sign: int) -> bool:
    """Exact check that ``value`` is the float64 nearest to ``sign * sqrt(square)``."""
    if square == 0:
        return value == 0.0
    if (value > 0) != (sign > 0):
        return False
    mag = abs(value)
    lo, hi = Fraction(math.nextafter(mag, 0.0)), Fraction(math.nextafter(mag, math.inf))
    low_mid, high_mid = (lo + Fraction(mag)) / 2, (hi + Fraction(mag)) / 2
    return low_mid**2 <= square <= high_mid**2


# ----------------------------------------------------------------------------- known values
def test_known_values() -> None:
    assert su2_cg_coefficient(HALF, HALF, HALF, -HALF, 1, 0) == (1, Fraction(1, 2))
    assert su2_cg_coefficient(HALF, -HALF, HALF, HALF, 0, 0) == (-1, Fraction(1, 2))
    assert su2_cg_coefficient(1, 1, 1, -1, 0, 0) == (1, Fraction(1, 3))
    assert su2_cg_coefficient(1, 0, 1, 0, 0, 0) == (-1, Fraction(1, 3))
    assert su2_cg_coefficient(1, 0, 1, 0, 1, 0) == (0, Fraction(0))  # accidental zero
    assert su2_cg_coefficient(1, 1, "1/2", "-1/2", "1/2", "1/2") == (1, Fraction(2, 3))
    assert su2_cg_coefficient(1, 0, 0.5, 0.5, 0.5, 0.5) == (-1, Fraction(1, 3))
    # selection rules
    assert su2_cg_coefficient(1, 1, 1, 1, 1, 1) == (0, Fraction(0))  # M != m1 + m2
    assert su2_cg_coefficient(1, 0, 1, 0, 3, 0) == (0, Fraction(0))  # triangle
    C = su2_clebsch_gordan(HALF, HALF, 1)
    assert C[1, 0, 1] == C[0, 1, 1] == 2**-0.5
    assert su2_clebsch_gordan(1, 1, 0)[2, 0, 0] == 3**-0.5


@pytest.mark.parametrize("j1,j2,j3", TRIPLES[::3])
def test_matches_sympy_reference(j1: Fraction, j2: Fraction, j3: Fraction) -> None:
    exact = su2_clebsch_gordan_exact(j1, j2, j3)
    for i1 in range(int(2 * j1) + 1):
        for i2 in range(int(2 * j2) + 1):
            m1, m2 = i1 - j1, i2 - j2
            m3 = m1 + m2
            if abs(m3) > j3:
                continue
            ref = CG(*map(sympy.Rational, (j1, m1, j2, m2, j3, m3))).doit()
            assert sympy.simplify(ref - exact[i1, i2, int(m3 + j3)]) == 0


def test_condon_shortley_phase() -> None:
    for j1, j2, j3 in TRIPLES:
        sign, square = su2_cg_coefficient(j1, j1, j2, j3 - j1, j3, j3)
        assert sign == 1 and square > 0


# ----------------------------------------------------------------------------- orthogonality
@pytest.mark.parametrize("j1", SPINS)
@pytest.mark.parametrize("j2", SPINS)
def test_isometry_and_completeness(j1: Fraction, j2: Fraction) -> None:
    d1, d2 = int(2 * j1) + 1, int(2 * j2) + 1
    total = np.zeros((d1 * d2, d1 * d2))
    n = 0
    for j3 in SPINS + [Fraction(n, 2) for n in range(7, 13)]:
        C = su2_clebsch_gordan(j1, j2, j3)
        if not triangle_ok(j1, j2, j3):
            assert not C.any()
            continue
        n += 1
        np.testing.assert_allclose(np.einsum("ijk,ijl->kl", C, C), np.eye(C.shape[2]), atol=1e-13)
        flat = C.reshape(d1 * d2, -1)
        total += flat @ flat.T
    assert n == min(d1, d2)
    np.testing.assert_allclose(total, np.eye(d1 * d2), atol=1e-13)


# ----------------------------------------------------------------------------- exactness
@pytest.mark.parametrize("j1,j2,j3", TRIPLES[::2])
def test_float_is_correctly_rounded_exact_value(j1: Fraction, j2: Fraction, j3: Fraction) -> None:
    C = su2_clebsch_gordan(j1, j2, j3)
    E = su2_clebsch_gordan_exact(j1, j2, j3)
    for (i1, i2, i3), value in np.ndenumerate(C):
        sign, square = su2_cg_coefficient(j1, i1 - j1, j2, i2 - j2, j3, i3 - j3)
        assert _is_correctly_rounded(value, square, sign)
        assert sympy.sign(E[i1, i2, i3]) == sign
        assert E[i1, i2, i3] ** 2 == sympy.Rational(square.numerator, square.denominator)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10**30), st.integers(1, 10**30), st.sampled_from([1, -1]))
def test_signed_sqrt_correct_rounding(num: int, den: int, sign: int) -> None:
    value = signed_sqrt_to_float(sign, num, den)
    assert _is_correctly_rounded(value, Fraction(num, den), sign)


def test_signed_sqrt_exact_squares() -> None:
    assert signed_sqrt_to_float(1, 4, 9) == 2 / 3
    assert signed_sqrt_to_float(-1, 1, 4) == -0.5
    assert signed_sqrt_to_float(1, 0, 3) == 0.0
    assert signed_sqrt_to_float(1, 2, 1) == math.sqrt(2)


# ----------------------------------------------------------------------------- symmetries (property)
spin_pairs = st.tuples(st.integers(0, 16), st.integers(0, 16)).map(
    lambda t: (Fraction(t[0], 2), Fraction(t[1], 2))
)


@settings(max_examples=40, deadline=None)
@given(spin_pairs, st.data())
def test_symmetries_property(pair: tuple[Fraction, Fraction], data: st.DataObject) -> None:
    j1, j2 = pair
    j3 = abs(j1 - j2) + data.draw(st.integers(0, int(j1 + j2 - abs(j1 - j2))))
    C = su2_clebsch_gordan(j1, j2, j3)
    phase = (-1) ** int(j1 + j2 - j3)
    # exchange symmetry and m -> -m symmetry
    np.testing.assert_array_equal(C.transpose(1, 0, 2), phase * su2_clebsch_gordan(j2, j1, j3))
    np.testing.assert_array_equal(C[::-1, ::-1, ::-1], phase * C)
    np.testing.assert_allclose(np.einsum("ijk,ijl->kl", C, C), np.eye(C.shape[2]), atol=1e-12)


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize("bad", [-1, Fraction(1, 3), 0.3, "1/3", "-1/2", "abc", float("nan"), float("inf")])
def test_as_spin_value_errors(bad: object) -> None:
    with pytest.raises(ValueError):
        as_spin(bad)


@pytest.mark.parametrize("bad", [True, None, [1], 1j])
def test_as_spin_type_errors(bad: object) -> None:
    with pytest.raises(TypeError):
        as_spin(bad)


def test_as_spin_accepts() -> None:
    assert as_spin(0.5) == as_spin("1/2") == as_spin(" 0.5 ") == as_spin(HALF) == HALF
    assert as_spin(np.int64(3)) == 3 and isinstance(as_spin(3), Fraction)


def test_forbidden_projection_errors() -> None:
    with pytest.raises(ValueError):
        su2_cg_coefficient(1, Fraction(1, 3), 1, 0, 1, 0)
    assert su2_cg_coefficient(1, "-1/2", 1, 0, 1, 0) == (0, Fraction(0))  # m1 - j1 not an integer
