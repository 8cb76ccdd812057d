r"""O(3) = SO(3) × {±1}: irreps ``O3(l, p)`` with parity ``p = ±1``, labels ``"0e"``, ``"1o"``, ...

The Lie algebra acts as on ``SO3(l)`` (same real basis, see ``lie_nn._src.groups.so3``) and the
inversion ``-1 ∈ O(3)`` (the single discrete generator) acts as ``p · identity``.  ``e`` (even) means
``p = +1`` and ``o`` (odd) ``p = -1``; the vector representation is ``1o``.

Order: by ``l``, then even before odd (``sort_key = (l, -p)``):
``0e < 0o < 1e < 1o < 2e < ...``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lie_nn._src.groups.so3 import so3_algebra, so3_clebsch_gordan, so3_clebsch_gordan_exact, validate_l
from lie_nn._src.irrep import Irrep, MulIrrep
from lie_nn._src.irreps import Irreps

if TYPE_CHECKING:
    import sympy

_LABEL = re.compile(r"^(\d+)([eo])$")


@dataclass(frozen=True)
class O3(Irrep):
    """Irrep of O(3): degree ``l >= 0`` and parity ``p ∈ {+1, -1}`` (dimension ``2l + 1``).

    >>> ir = O3(1, -1)
    >>> str(ir), ir.label, ir.dim
    ('O3(1o)', '1o', 3)
    >>> [str(x.ir) for x in O3(1, -1) * O3(1, -1)]
    ['O3(0e)', 'O3(1e)', 'O3(2e)']
    """

    l: int
    p: int
    prefix = "O3"
    bare_labels = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "l", validate_l(self.l, "O3 degree l"))
        if isinstance(self.p, bool) or not isinstance(self.p, (int, np.integer)):
            raise TypeError(f"O3 parity p must be the int +1 or -1, got {self.p!r}")
        if self.p not in (1, -1):
            raise ValueError(f"O3 parity p must be +1 or -1, got {self.p!r}")
        object.__setattr__(self, "p", int(self.p))

    @property
    def dim(self) -> int:
        return 2 * self.l + 1

    @property
    def label(self) -> str:
        """The bare label, e.g. ``"1o"``."""
        return f"{self.l}{'e' if self.p == 1 else 'o'}"

    def algebra(self) -> np.ndarray:
        """The real ``so(3)`` generators of ``SO3(l)``, float64 ``(3, dim, dim)``."""
        return so3_algebra(self.l)

    def discrete_generators(self) -> np.ndarray:
        """The inversion, ``p · identity``, shape ``(1, dim, dim)``.

        >>> O3(0, -1).discrete_generators()
        array([[[-1.]]])
        """
        return self.p * np.eye(self.dim)[None]

    def __mul__(self, other: Irrep) -> Irreps:
        self.check_same_group(other)
        assert isinstance(other, O3)
        p = self.p * other.p
        return Irreps([MulIrrep(1, O3(l, p)) for l in range(abs(self.l - other.l), self.l + other.l + 1)])

    def trivial(self) -> O3:
        return O3(0, 1)

    def dual(self) -> O3:
        """``self``: the basis is real orthogonal, so ``-X^T = X`` and ``D^{-T} = D`` literally."""
        return self

    def sort_key(self) -> tuple:
        return (self.l, -self.p)

    @classmethod
    def from_string(cls, text: str) -> O3:
        """Parse ``"1o"``, ``"0e"`` or ``"O3(2e)"``.

        >>> O3.from_string("O3(2e)") == O3(2, 1)
        True
        """
        if not isinstance(text, str):
            raise TypeError(f"expected a string, got {type(text).__name__}")
        body = text.strip()
        if body.startswith("O3(") and body.endswith(")"):
            body = body[3:-1].strip()
        match = _LABEL.match(body)
        if match is None:
            raise ValueError(f"cannot parse O3 irrep from {text!r}: expected e.g. '1o', '0e' or 'O3(2e)'")
        return cls(int(match.group(1)), 1 if match.group(2) == "e" else -1)

    def __str__(self) -> str:
        return f"O3({self.label})"

    def short_label(self) -> str:
        """The bare label (``"1o"``) used in ``Irreps`` strings, as in e3nn."""
        return self.label

    def iterator(self) -> Iterator[O3]:
        """All irreps in canonical order ``0e, 0o, 1e, 1o, ...`` (infinite)."""
        l = 0
        while True:
            yield O3(l, 1)
            yield O3(l, -1)
            l += 1

    def _allowed(self, ir2: Irrep, ir3: Irrep) -> bool:
        self.check_same_group(ir2)
        self.check_same_group(ir3)
        assert isinstance(ir2, O3) and isinstance(ir3, O3)
        return self.p * ir2.p == ir3.p and abs(self.l - ir2.l) <= ir3.l <= self.l + ir2.l

    def clebsch_gordan(self, ir2: Irrep, ir3: Irrep) -> np.ndarray:
        """The ``SO3`` CG ``(1, d1, d2, d3)`` when parities match (``p1 p2 = p3``), else ``(0, d1, d2, d3)``.

        >>> O3(1, -1).clebsch_gordan(O3(1, -1), O3(0, -1)).shape
        (0, 3, 3, 1)
        """
        if not self._allowed(ir2, ir3):
            return np.zeros((0, self.dim, ir2.dim, ir3.dim))
        assert isinstance(ir2, O3) and isinstance(ir3, O3)
        return so3_clebsch_gordan(self.l, ir2.l, ir3.l)[None]

    def clebsch_gordan_exact(self, ir2: O3, ir3: O3) -> sympy.Array:
        """Exact CG as a sympy ``Array`` ``(d1, d2, d3)`` (all zeros if forbidden)."""
        if not self._allowed(ir2, ir3):
            import sympy

            return sympy.ImmutableDenseNDimArray.zeros(self.dim, ir2.dim, ir3.dim)
        return so3_clebsch_gordan_exact(self.l, ir2.l, ir3.l)
