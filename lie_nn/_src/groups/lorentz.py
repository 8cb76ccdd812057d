r"""Finite-dimensional irreps of the proper orthochronous Lorentz group SO(1,3)⁺ ≅ SL(2,C)/Z₂.

The complexified Lorentz algebra is ``sl(2,C) ⊕ sl(2,C)``, so the finite-dimensional irreps are
labelled by two spins ``(m, n)`` and act on ``V_m ⊗ V_n`` (``dim = (2m+1)(2n+1)``).  With ``T_k``
the anti-Hermitian SU(2) generators of :class:`~lie_nn._src.groups.su2.SU2` (``[T_x, T_y] = T_z``)
the six real generators, in the order ``(R_x, R_y, R_z, K_x, K_y, K_z)``, are::

    R_k = T_k ⊗ 1 + 1 ⊗ T_k           (rotations, anti-Hermitian)
    K_k = i (T_k ⊗ 1 - 1 ⊗ T_k)       (boosts, Hermitian: the irreps are not unitary)

and satisfy ``[R_i, R_j] = ε_ijk R_k``, ``[R_i, K_j] = ε_ijk K_k``, ``[K_i, K_j] = -ε_ijk R_k``,
the relations of the real 4-vector representation with ``K_x = E_tx + E_xt`` and rotations
``(R_i)_jk = -ε_ijk`` on ``(x, y, z)``; ``(1/2, 1/2)`` is equivalent to that 4-vector.  Concretely
``(1/2, 0)`` has ``R_k = -i σ_k / 2`` and ``K_k = σ_k / 2``, while ``(0, 1/2)`` has ``K_k = -σ_k / 2``.

Duals and conjugates: SU(2) irreps are self-dual, hence so is ``(m, n)`` (the contragredient
``-X^T`` is equivalent to ``X``); the *complex conjugate* of ``(m, n)`` is ``(n, m)``.

Only the connected component is covered: parity and time reversal are not included, so there are no
discrete generators.  The basis is the product basis ``|m, a> ⊗ |n, b>`` (flattened with ``a`` slow,
``b`` fast) and is complex for every non-trivial irrep.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from itertools import count

import numpy as np

from lie_nn._src.groups.su2 import SU2
from lie_nn._src.irrep import Irrep, MulIrrep
from lie_nn._src.irreps import Irreps
from lie_nn._src.racah import as_spin, su2_clebsch_gordan

_LABEL = re.compile(r"^\s*(?:SO13)?\s*\(\s*([^,()]+?)\s*,\s*([^,()]+?)\s*\)\s*$")


def _spin_str(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _spins(lo: Fraction, hi: Fraction) -> list[Fraction]:
    return [lo + k for k in range(int(hi - lo) + 1)]


@dataclass(frozen=True)
class SO13(Irrep):
    """Irrep ``(m, n)`` of the Lorentz group, ``dim = (2m+1)(2n+1)``.

    ``m`` and ``n`` are non-negative half-integers given as ``int``, ``Fraction``, a float such as
    ``0.5`` or a string such as ``"1/2"``; they are stored as ``Fraction``.

    >>> from lie_nn import SO13
    >>> ir = SO13("1/2", 0.5)
    >>> str(ir), ir.dim, ir.algebra().shape
    ('SO13(1/2,1/2)', 4, (6, 4, 4))
    >>> [str(x.ir) for x in SO13(0.5, 0) * SO13(0, 0.5)]
    ['SO13(1/2,1/2)']
    """

    m: Fraction
    n: Fraction
    prefix = "SO13"

    def __post_init__(self) -> None:
        object.__setattr__(self, "m", as_spin(self.m, "m"))
        object.__setattr__(self, "n", as_spin(self.n, "n"))

    # ----------------------------------------------------------------- protocol
    @property
    def dim(self) -> int:
        return int((2 * self.m + 1) * (2 * self.n + 1))

    def algebra(self) -> np.ndarray:
        """Generators ``(R_x, R_y, R_z, K_x, K_y, K_z)``, complex, shape ``(6, dim, dim)``."""
        t_m = np.asarray(SU2(self.m).algebra(), dtype=np.complex128)
        t_n = np.asarray(SU2(self.n).algebra(), dtype=np.complex128)
        one_m, one_n = np.eye(t_m.shape[1]), np.eye(t_n.shape[1])
        left = np.stack([np.kron(t, one_n) for t in t_m])
        right = np.stack([np.kron(one_m, t) for t in t_n])
        return np.concatenate([left + right, 1j * (left - right)])

    def __mul__(self, other: Irrep) -> Irreps:
        """``(m1,n1) ⊗ (m2,n2) = ⊕ (m,n)``, ``|m1-m2| <= m <= m1+m2``, same for ``n``, each once."""
        self.check_same_group(other)
        assert isinstance(other, SO13)
        irs = [
            SO13(m, n)
            for m in _spins(abs(self.m - other.m), self.m + other.m)
            for n in _spins(abs(self.n - other.n), self.n + other.n)
        ]
        return Irreps([MulIrrep(1, ir) for ir in sorted(irs, key=SO13.sort_key)])

    def trivial(self) -> SO13:
        return SO13(0, 0)

    def dual(self) -> SO13:
        """``(m, n)`` itself: SU(2) irreps are self-dual (the complex conjugate would be ``(n, m)``)."""
        return self

    def conjugate(self) -> SO13:
        """The irrep carried by the complex-conjugate generators ``conj(X)``: ``(n, m)``."""
        return SO13(self.n, self.m)

    def sort_key(self) -> tuple:
        """Order by dimension, then ``m``, then ``n`` (the order of :meth:`iterator`)."""
        return (self.dim, self.m, self.n)

    @classmethod
    def from_string(cls, text: str) -> SO13:
        """Parse ``"SO13(1/2,1/2)"`` or ``"(1/2,1/2)"`` (spaces allowed, floats such as 0.5 too)."""
        if not isinstance(text, str):
            raise TypeError(f"expected a string, got {type(text).__name__}")
        match = _LABEL.match(text)
        if match is None:
            raise ValueError(f"cannot parse Lorentz irrep {text!r}: expected 'SO13(m,n)' or '(m,n)'")
        return cls(match.group(1), match.group(2))

    def iterator(self) -> Iterator[SO13]:
        """All irreps by increasing dimension (then ``m``): (0,0), (0,1/2), (1/2,0), (0,1), ..."""
        for d in count(1):
            for p in range(1, d + 1):
                if d % p == 0:
                    yield SO13(Fraction(p - 1, 2), Fraction(d // p - 1, 2))

    @property
    def is_real(self) -> bool:
        """Only the trivial irrep has a real basis (the algebra is always returned complex)."""
        return self.m == 0 and self.n == 0

    def clebsch_gordan(self, ir2: Irrep, ir3: Irrep) -> np.ndarray:
        """Exact CG ``(mul, d1, d2, d3)``: product of SU(2) CGs of the two tensor slots.

        ``C[(a1,b1), (a2,b2), (a3,b3)] = C^{m1 m2 m3}[a1,a2,a3] C^{n1 n2 n3}[b1,b2,b3]`` intertwines
        rotations and boosts alike because both act slot-wise with irrep-independent coefficients;
        as a map ``V3 -> V1 ⊗ V2`` it is an isometry.  ``mul`` is 0 or 1.
        """
        self.check_same_group(ir2)
        self.check_same_group(ir3)
        assert isinstance(ir2, SO13) and isinstance(ir3, SO13)
        if not any(x.ir == ir3 for x in self * ir2):
            return np.zeros((0, self.dim, ir2.dim, ir3.dim))
        c_m = su2_clebsch_gordan(self.m, ir2.m, ir3.m)
        c_n = su2_clebsch_gordan(self.n, ir2.n, ir3.n)
        c = np.einsum("ace,bdf->abcdef", c_m, c_n)
        return c.reshape(1, self.dim, ir2.dim, ir3.dim)

    # ----------------------------------------------------------------- display
    def __str__(self) -> str:
        return f"SO13({_spin_str(self.m)},{_spin_str(self.n)})"

    __repr__ = __str__


def four_vector_generators() -> np.ndarray:
    r"""The six real so(1,3) generators on 4-vectors ``(t, x, y, z)``, in :class:`SO13`'s order.

    Rotations ``(R_i)_{jk} = -ε_ijk`` on ``(x, y, z)``, then boosts ``K_i = E_{t i} + E_{i t}``; they
    obey the relations of :class:`SO13` (``[K_i, K_j] = -ε_ijk R_k``) and keep the Minkowski metric
    ``η = diag(1, -1, -1, -1)``: ``X^T η + η X = 0``.  ``GenericRep(four_vector_generators())`` is the
    real form of ``SO13(1/2, 1/2)``: real Clebsch-Gordan coefficients, real features.

    >>> X = four_vector_generators()
    >>> X.shape, float(X[3, 0, 1]), float(X[3, 1, 0]), float(X[2, 1, 2])
    ((6, 4, 4), 1.0, 1.0, -1.0)
    >>> eta = np.diag([1.0, -1.0, -1.0, -1.0])
    >>> bool(np.allclose(X.transpose(0, 2, 1) @ eta + eta @ X, 0))
    True
    """
    X = np.zeros((6, 4, 4))
    for a, (i, j) in enumerate([(2, 3), (3, 1), (1, 2)]):
        X[a, j, i], X[a, i, j] = 1.0, -1.0
    for a in range(3):
        X[3 + a, 0, a + 1] = X[3 + a, a + 1, 0] = 1.0
    return X
