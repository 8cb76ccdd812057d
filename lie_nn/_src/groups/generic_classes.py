r"""Isomorphism classes of the irreps of a user-defined group, and its numeric selection rule.

A group given only by generators has no list of irreps.  Its selection rule ``ir1 * ir2`` is
computed: ``ir1 ⊗ ir2`` is decomposed by :func:`~lie_nn._src.commutant.split_generators` (over ℝ when
both are real, so real representations stay real; over ℂ otherwise), and each component is replaced
by the **representative** of its isomorphism class: irreps are identified when an intertwiner exists
between them, and the representative is the first irrep of that class this process has seen.  Every
``GenericRep`` built by the user (and every ``trivial()`` / ``dual()``) is seen when it is created,
before any component found numerically, so the irreps a user defines are the ones products return.
The multiplicity reported is the dimension of the space of intertwiners ``ir3 → ir1 ⊗ ir2`` (over ℝ a
real irrep of complex / quaternionic type contributes 2 / 4 per copy), as ``clebsch_gordan`` finds.

Objects here are duck-typed (``algebra()``, ``discrete_generators()``, ``dim``, ``group_id()``): this
module imports no irrep type.
"""

from __future__ import annotations

from typing import Any

from lie_nn._src.intertwiner import intertwiners

__all__ = ["note", "representative"]

_SEEN: dict[Any, dict[Any, None]] = {}  # group id -> ordered set of irreps (first seen first)


def note(ir: Any) -> Any:
    """Record ``ir`` as a candidate representative of its class (first come, first kept); return it."""
    _SEEN.setdefault(ir.group_id(), {}).setdefault(ir, None)
    return ir


def _isomorphic(irreducible: Any, other: Any) -> bool:
    """``other ≅ irreducible``: same dimension and a nonzero intertwiner (injective by Schur; a real
    irreducible is compared with real candidates only, since over ℂ it may split)."""
    if irreducible.dim != other.dim or (irreducible.is_real and not other.is_real):
        return False
    return len(intertwiners(irreducible.algebra(), other.algebra(), irreducible.discrete_generators(),
                            other.discrete_generators())) > 0


def representative(irreducible: Any) -> Any:
    """The first seen irrep equal or isomorphic to ``irreducible`` (noted when it is the first)."""
    for ir in _SEEN.get(irreducible.group_id(), {}):
        if ir == irreducible or _isomorphic(irreducible, ir):
            return ir
    return note(irreducible)
