"""Adding a group touches one file: a toy group defined here parses, gets CGs, passes every check.

``U1(q)`` is the irrep ``θ ↦ exp(i q θ)`` of SO(2) ≅ U(1), defined only in this file.  It has no
closed-form Clebsch–Gordan coefficients, so the dispatcher must use the numeric solver.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest

from lie_nn import Irrep, Irreps, MulIrrep, clebsch_gordan, irrep_from_string
from lie_nn._src.cg import has_closed_form
from lie_nn.testing import assert_equivariant, check_irrep, check_irreps

_LABEL = re.compile(r"^U1\((-?\d+)\)$")


@dataclass(frozen=True)
class U1(Irrep):
    """Test-only irrep of U(1) with integer charge ``q``."""

    q: int
    prefix = "U1"

    @property
    def dim(self) -> int:
        return 1

    def algebra(self) -> np.ndarray:
        return np.array([[[1j * self.q]]])

    def __mul__(self, other: Irrep) -> Irreps:
        self.check_same_group(other)
        assert isinstance(other, U1)
        return Irreps([MulIrrep(1, U1(self.q + other.q))])

    def trivial(self) -> U1:
        return U1(0)

    def dual(self) -> U1:
        return U1(-self.q)

    def sort_key(self) -> tuple:
        return (abs(self.q), self.q)

    @classmethod
    def from_string(cls, text: str) -> U1:
        match = _LABEL.match(text.strip())
        if match is None:
            raise ValueError(f"cannot parse U1 irrep {text!r}")
        return cls(int(match.group(1)))

    def __str__(self) -> str:
        return f"U1({self.q})"

    def iterator(self) -> Iterator[U1]:
        yield U1(0)
        q = 1
        while True:
            yield U1(-q)
            yield U1(q)
            q += 1


EXAMPLES = [U1(0), U1(-1), U1(1), U1(2)]


def test_parses_from_strings() -> None:
    assert irrep_from_string("U1(-2)") == U1(-2)
    irreps = Irreps("2xU1(1) + U1(-1)")
    assert irreps == Irreps([(2, U1(1)), U1(-1)]) and irreps.dim == 3 and Irreps(str(irreps)) == irreps
    assert Irreps("U1(1)") * Irreps("U1(2)") == Irreps("U1(3)")


def test_clebsch_gordan_through_the_dispatcher() -> None:
    assert not has_closed_form(U1(1))
    c = clebsch_gordan(U1(1), U1(2), U1(3))
    assert c.shape == (1, 1, 1, 1) and np.isclose(abs(c[0, 0, 0, 0]), 1.0)
    assert clebsch_gordan(U1(1), U1(2), U1(2)).shape == (0, 1, 1, 1)


def test_universal_checks() -> None:
    check_irreps(EXAMPLES)


def test_equivariance_helpers_work_on_the_toy_group() -> None:
    def square(x: np.ndarray) -> np.ndarray:
        return x**2  # charge 1 -> charge 2

    assert_equivariant(square, "U1(1)", "U1(2)", backend="numpy")
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_equivariant(square, "U1(1)", "U1(1)", backend="numpy")


def test_universal_checks_catch_a_wrong_dual() -> None:
    @dataclass(frozen=True)
    class BadU1(U1):
        prefix = "BadUone"  # no 'x' allowed in group names; registered separately from U1

        def dual(self) -> BadU1:
            return BadU1(self.q)

        def trivial(self) -> BadU1:
            return BadU1(0)

        def __str__(self) -> str:
            return f"BadUone({self.q})"

    with pytest.raises(AssertionError, match="dual"):
        check_irrep(BadU1(1))


def test_taking_over_a_registered_name_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    from lie_nn._src import irrep

    monkeypatch.setitem(irrep._REGISTRY, "prefix:U1", U1)  # restored after the test
    with pytest.warns(UserWarning, match="takes over the registry entry 'prefix:U1'"):

        @dataclass(frozen=True)
        class OtherU1(U1):
            prefix = "U1"

    @dataclass(frozen=True)
    class U1Again(OtherU1):  # a subclass that sets no prefix registers nothing
        pass

    assert type(irrep_from_string("U1(3)")) is OtherU1
