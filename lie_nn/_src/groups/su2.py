r"""SU(2): irreps ``SU2(j)`` of spin ``j = 0, 1/2, 1, 3/2, ...`` in the complex ``|j, m>`` basis.

Basis and phases
----------------
The basis is ``|j, m>`` with ``m`` ascending ``-j, ..., j`` (index ``i = m + j``), Condon–Shortley:
``J_z |m> = m |m>``, ``J_± |m> = sqrt((j ∓ m)(j ± m + 1)) |m ± 1>`` with real non-negative matrix
elements.  ``algebra()`` returns the anti-Hermitian generators ``X_k = -i J_k`` for ``k = x, y, z``,
so ``[X_x, X_y] = X_z`` (cyclic) and ``expm(θ X_z)`` is a rotation by ``θ`` about ``z``.
For ``j = 1/2`` this is ``X_k = -i σ_k / 2`` with the Pauli matrices written in the
``m``-ascending basis (``σ_z = diag(-1, 1)``, ``σ_y = [[0, i], [-i, 0]]``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from lie_nn._src.irrep import Irrep, MulIrrep
from lie_nn._src.irreps import Irreps
from lie_nn._src.racah import as_spin, su2_clebsch_gordan, su2_clebsch_gordan_exact, triangle_ok

if TYPE_CHECKING:
    import sympy


def spin_matrices(j: Fraction) -> np.ndarray:
    """Hermitian angular-momentum matrices ``(J_x, J_y, J_z)``, complex128 ``(3, 2j+1, 2j+1)``.

    ``m`` ascending, Condon–Shortley phase (``J_+`` has real non-negative entries).

    >>> spin_matrices(Fraction(1, 2))[2].real
    array([[-0.5,  0. ],
           [ 0. ,  0.5]])
    """
    j = as_spin(j, "j")
    two_j = int(2 * j)
    m = np.array([Fraction(i, 1) - j for i in range(two_j + 1)], dtype=object)
    # J_+ |m> = sqrt((j - m)(j + m + 1)) |m + 1>: entry [i + 1, i]
    raising = np.zeros((two_j + 1, two_j + 1))
    for i in range(two_j):
        raising[i + 1, i] = math.sqrt(int((j - m[i]) * (j + m[i] + 1)))
    lowering = raising.T
    out = np.zeros((3, two_j + 1, two_j + 1), dtype=np.complex128)
    out[0] = (raising + lowering) / 2
    out[1] = (raising - lowering) / 2j
    out[2] = np.diag(m.astype(float))
    return out


@dataclass(frozen=True)
class SU2(Irrep):
    """Irrep of SU(2) with spin ``j`` (dimension ``2j + 1``), stored as a ``Fraction``.

    ``j`` may be given as an ``int``, a ``Fraction``, a float such as ``0.5`` or a string ``"1/2"``.
    SU(2) irreps are self-dual, so :meth:`dual` returns ``self``; note however that the dual
    representation ``-X^T`` is not literally equal to ``X`` in this basis: it equals
    ``T X T^{-1}`` with ``T[m, m'] = (-1)^(j - m) δ(m, -m')``.

    >>> ir = SU2("1/2")
    >>> ir.dim, str(ir), ir == SU2(0.5)
    (2, 'SU2(1/2)', True)
    >>> [str(mul_ir.ir) for mul_ir in SU2(1) * SU2("1/2")]
    ['SU2(1/2)', 'SU2(3/2)']
    """

    j: Fraction
    prefix = "SU2"

    def __post_init__(self) -> None:
        object.__setattr__(self, "j", as_spin(self.j, "SU2 spin j"))

    @property
    def dim(self) -> int:
        return int(2 * self.j) + 1

    def algebra(self) -> np.ndarray:
        """Anti-Hermitian generators ``X_k = -i J_k`` (k = x, y, z), complex128 ``(3, dim, dim)``.

        >>> X = SU2(1).algebra()
        >>> bool(np.allclose(X[0] @ X[1] - X[1] @ X[0], X[2]))
        True
        """
        return -1j * spin_matrices(self.j) + 0j  # "+ 0j" clears negative zeros

    def __mul__(self, other: Irrep) -> Irreps:
        self.check_same_group(other)
        assert isinstance(other, SU2)
        low, high = abs(self.j - other.j), self.j + other.j
        return Irreps([MulIrrep(1, SU2(low + n)) for n in range(int(high - low) + 1)])

    def trivial(self) -> SU2:
        return SU2(0)

    def dual(self) -> SU2:
        """``self``: the dual is equivalent (via ``T`` above), SU(2) irreps being self-dual."""
        return self

    def sort_key(self) -> tuple:
        return (self.j,)

    @classmethod
    def from_string(cls, text: str) -> SU2:
        """Parse ``"1/2"``, ``"SU2(1/2)"``, ``"1"`` or ``"0.5"``.

        >>> SU2.from_string("SU2(3/2)").dim
        4
        """
        if not isinstance(text, str):
            raise TypeError(f"expected a string, got {type(text).__name__}")
        body = text.strip()
        if body.startswith("SU2(") and body.endswith(")"):
            body = body[4:-1]
        try:
            return cls(body)
        except (ValueError, TypeError) as err:
            raise ValueError(f"cannot parse SU2 irrep from {text!r}: {err}") from err

    def __str__(self) -> str:
        return f"SU2({self.j})"

    def iterator(self) -> Iterator[SU2]:
        """All spins ``0, 1/2, 1, 3/2, ...`` (infinite)."""
        n = 0
        while True:
            yield SU2(Fraction(n, 2))
            n += 1

    def clebsch_gordan(self, ir2: Irrep, ir3: Irrep) -> np.ndarray:
        """Closed-form CG ``(1, d1, d2, d3)`` (or ``(0, d1, d2, d3)`` if forbidden), real float64.

        ``C[0, i1, i2, i3] = <j1 m1; j2 m2 | j3 m3>`` (Condon–Shortley, see ``lie_nn._src.racah``).

        >>> SU2("1/2").clebsch_gordan(SU2("1/2"), SU2(2)).shape
        (0, 2, 2, 5)
        """
        self.check_same_group(ir2)
        self.check_same_group(ir3)
        assert isinstance(ir2, SU2) and isinstance(ir3, SU2)
        if not triangle_ok(self.j, ir2.j, ir3.j):
            return np.zeros((0, self.dim, ir2.dim, ir3.dim))
        return su2_clebsch_gordan(self.j, ir2.j, ir3.j)[None]

    def clebsch_gordan_exact(self, ir2: SU2, ir3: SU2) -> sympy.Array:
        """Exact CG as a sympy ``Array`` ``(d1, d2, d3)`` (all zeros if forbidden)."""
        self.check_same_group(ir2)
        self.check_same_group(ir3)
        return su2_clebsch_gordan_exact(self.j, ir2.j, ir3.j)
