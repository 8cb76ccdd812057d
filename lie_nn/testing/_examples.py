"""The one list of example irreps, a few small ones per group, that the universal tests run over.

Adding a group to lie_nn is one file (the irrep class, which registers itself with the parser) plus
one entry in :data:`EXAMPLES` here: every universal test, and every layer test driven by
:func:`example_irreps`, then runs on it.
"""

from __future__ import annotations

from collections.abc import Callable

from lie_nn._src.groups.generic import GenericRep
from lie_nn._src.groups.lorentz import SO13
from lie_nn._src.groups.o3 import O3
from lie_nn._src.groups.product import DirectProduct
from lie_nn._src.groups.so3 import SO3
from lie_nn._src.groups.su2 import SU2
from lie_nn._src.groups.sun import SUN
from lie_nn._src.irrep import Irrep

__all__ = ["EXAMPLES", "example_irreps", "unavailable_groups"]


def _generic_so3() -> list[Irrep]:
    vector = GenericRep(SO3(1).algebra(), label="vec")
    tensor = GenericRep(SO3(2).algebra(), label="sym2")
    return [vector.trivial(), vector, tensor]


EXAMPLES: dict[str, Callable[[], list[Irrep]]] = {
    "SU2": lambda: [SU2(0), SU2("1/2"), SU2(1), SU2("3/2")],
    "SO3": lambda: [SO3(0), SO3(1), SO3(2)],
    "O3": lambda: [O3(0, 1), O3(0, -1), O3(1, -1), O3(1, 1), O3(2, 1)],
    "SU3": lambda: [SUN((0, 0, 0)), SUN((1, 0, 0)), SUN((1, 1, 0)), SUN((2, 1, 0))],
    "SU4": lambda: [SUN((0, 0, 0, 0)), SUN((1, 0, 0, 0)), SUN((1, 1, 0, 0))],
    "SO13": lambda: [SO13(0, 0), SO13("1/2", 0), SO13(0, "1/2"), SO13("1/2", "1/2"), SO13(1, 0)],
    "SO3xSU2": lambda: [DirectProduct((SO3(l), SU2(j))) for l, j in [(0, 0), (1, 0), (0, "1/2"), (1, "1/2")]],
    "GenericSO3": _generic_so3,
}
"""Group name -> builder of its example irreps (builders: GenericRep checks cost a little)."""

_BUILT: dict[str, tuple[Irrep, ...]] = {}


def example_irreps(group: str | None = None) -> dict[str, list[Irrep]] | list[Irrep]:
    """Example irreps: all groups as ``{name: [irreps]}``, or the list for one group name.

    >>> from lie_nn import SU2
    >>> SU2("1/2") in example_irreps("SU2")
    True
    """
    if group is not None and group not in EXAMPLES:
        raise ValueError(f"no example irreps for group {group!r}; known: {sorted(EXAMPLES)}")
    for name in EXAMPLES if group is None else [group]:
        if name not in _BUILT:
            _BUILT[name] = tuple(EXAMPLES[name]())
    if group is None:
        return {name: list(_BUILT[name]) for name in EXAMPLES}
    return list(_BUILT[group])


def unavailable_groups() -> dict[str, str]:
    """Groups left out of the examples (name -> reason); always empty since every group is built in.

    Kept for compatibility: examples used to be built from optional modules.

    >>> unavailable_groups()
    {}
    """
    return {}


def __getattr__(name: str) -> object:
    if name == "EXAMPLE_IRREPS":
        return example_irreps()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
