r"""Irreps of a direct product of groups ``G1 × G2 × ...``: tensor products of one irrep per factor.

The irreps of ``G1 × G2`` (over C, for the groups of this library) are exactly the outer tensor
products ``ρ1 ⊠ ρ2`` acting on ``V1 ⊗ V2``.  Basis vectors are flattened with the first factor
slowest (``np.kron`` order).  The Lie algebra of the product is the direct sum of the factors', so
the generators are the concatenation over factors of ``1 ⊗ .. ⊗ X_f ⊗ .. ⊗ 1``, and likewise for
discrete generators (``1 ⊗ .. ⊗ D_f ⊗ .. ⊗ 1``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from lie_nn._src.cg import clebsch_gordan
from lie_nn._src.irrep import Irrep, MulIrrep
from lie_nn._src.irreps import Irreps
from lie_nn._src.parse import irrep_from_string


def _embed(mats: np.ndarray, dims: list[int], slot: int) -> np.ndarray:
    """Act with each ``mats[a]`` on tensor slot ``slot`` of ``V_0 ⊗ V_1 ⊗ ...`` (kron order)."""
    before = np.eye(math.prod(dims[:slot]))
    after = np.eye(math.prod(dims[slot + 1 :]))
    out = [np.kron(np.kron(before, x), after) for x in mats]
    total = math.prod(dims)
    return np.stack(out) if out else np.zeros((0, total, total), dtype=mats.dtype)


@dataclass(frozen=True)
class DirectProduct(Irrep):
    """Irrep ``ρ1 ⊠ ρ2 ⊠ ...`` of ``G1 × G2 × ...``, given by a tuple of (at least two) irreps.

    >>> from lie_nn import SO13
    >>> ir = DirectProduct((SO13(0.5, 0), SO13(1, 0)))
    >>> str(ir), ir.dim, ir.algebra().shape
    ('SO13(1/2,0)xSO13(1,0)', 6, (12, 6, 6))
    >>> [(x.mul, str(x.ir)) for x in ir * ir][:2]
    [(1, 'SO13(0,0)xSO13(0,0)'), (1, 'SO13(0,0)xSO13(1,0)')]
    """

    factors: tuple[Irrep, ...]
    product = True

    def __post_init__(self) -> None:
        if isinstance(self.factors, Irrep) or not isinstance(self.factors, (tuple, list)):
            raise TypeError(f"factors must be a tuple of irreps, got {type(self.factors).__name__}")
        factors = tuple(self.factors)
        if len(factors) < 2:
            raise ValueError(f"a direct product needs at least two factors, got {len(factors)}")
        for i, f in enumerate(factors):
            if not isinstance(f, Irrep):
                raise TypeError(f"factor {i} is not an Irrep: {f!r}")
        object.__setattr__(self, "factors", factors)

    # ----------------------------------------------------------------- protocol
    @property
    def dim(self) -> int:
        return math.prod(f.dim for f in self.factors)

    def _dims(self) -> list[int]:
        return [f.dim for f in self.factors]

    def algebra(self) -> np.ndarray:
        """Concatenation over factors of ``X_f`` acting on slot ``f``; ``n_gen = Σ n_gen_f``."""
        dims = self._dims()
        return np.concatenate([_embed(f.algebra(), dims, i) for i, f in enumerate(self.factors)])

    def discrete_generators(self) -> np.ndarray:
        """Concatenation over factors of ``D_f`` acting on slot ``f`` (identity elsewhere)."""
        dims = self._dims()
        return np.concatenate([_embed(f.discrete_generators(), dims, i) for i, f in enumerate(self.factors)])

    def group_id(self) -> Any:
        return (DirectProduct, tuple(f.group_id() for f in self.factors))

    @property
    def is_real(self) -> bool:
        return all(f.is_real for f in self.factors)

    def __mul__(self, other: Irrep) -> Irreps:
        """Cartesian product of the factors' decompositions, multiplicities multiplied."""
        self.check_same_group(other)
        assert isinstance(other, DirectProduct)
        per_factor = [Irreps(f1 * f2) for f1, f2 in zip(self.factors, other.factors, strict=True)]
        out = [
            MulIrrep(math.prod(x.mul for x in combo), DirectProduct(tuple(x.ir for x in combo)))
            for combo in itertools.product(*per_factor)
        ]
        return Irreps(sorted((x for x in out if x.mul > 0), key=lambda x: x.ir.sort_key()))

    def trivial(self) -> DirectProduct:
        return DirectProduct(tuple(f.trivial() for f in self.factors))

    def dual(self) -> DirectProduct:
        return DirectProduct(tuple(f.dual() for f in self.factors))

    def sort_key(self) -> tuple:
        """Lexicographic in the factors' sort keys (so the trivial irrep comes first)."""
        return tuple(f.sort_key() for f in self.factors)

    def clebsch_gordan(self, ir2: Irrep, ir3: Irrep) -> np.ndarray:
        """Kronecker product of the factors' CGs.

        ``C[(m_1..m_F), (i_1..i_F), (j_1..j_F), (k_1..k_F)] = Π_f C_f[m_f, i_f, j_f, k_f]`` with
        every composite index flattened first-factor-slowest; the multiplicity index runs over
        the factors' multiplicity indices in the same lexicographic order.  Isometric and real
        whenever all factor CGs are.
        """
        self.check_same_group(ir2)
        self.check_same_group(ir3)
        assert isinstance(ir2, DirectProduct) and isinstance(ir3, DirectProduct)
        c = np.ones((1, 1, 1, 1))
        for f1, f2, f3 in zip(self.factors, ir2.factors, ir3.factors, strict=True):
            cf = clebsch_gordan(f1, f2, f3)
            shape = (c.shape[0] * cf.shape[0], c.shape[1] * f1.dim, c.shape[2] * f2.dim, c.shape[3] * f3.dim)
            c = np.einsum("mijk,nabc->mniajbkc", c, cf).reshape(shape)
        return c

    def iterator(self) -> Iterator[DirectProduct]:
        """Not provided: a product of infinite families has no natural enumeration order."""
        raise NotImplementedError("DirectProduct does not enumerate its irreps; iterate the factors instead")

    # ----------------------------------------------------------------- strings
    @classmethod
    def from_factors(cls, factors: tuple[Irrep, ...]) -> DirectProduct:
        """The product of the given factor irreps (the parser's constructor for ``"A x B"``)."""
        return cls(tuple(factors))

    @classmethod
    def from_string(cls, text: str) -> DirectProduct:
        """Parse ``"SO3(1)xSU2(1/2)"``; nested products are parenthesised: ``"(AxB)xC"``.

        >>> DirectProduct.from_string("(SO3(1) x SU2(1/2)) x SO3(0)").dim
        6
        """
        ir = irrep_from_string(text)
        if not isinstance(ir, DirectProduct):
            raise ValueError(f"cannot parse direct product {text!r}: expected factors separated by 'x'")
        return ir

    def __str__(self) -> str:
        return "x".join(f"({f})" if isinstance(f, DirectProduct) else str(f) for f in self.factors)

    def __repr__(self) -> str:
        return f"DirectProduct({self.factors!r})"

