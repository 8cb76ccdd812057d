"""The one list of example irreps, a few small ones per group, that the universal tests run over.

Adding a group to :data:`_BUILDERS` adds it to every universal test for free.  Groups are imported
lazily, on first access of ``EXAMPLE_IRREPS`` (a module attribute computed on demand), so importing
``lie_nn.testing`` stays cheap.  A group whose module does not exist (``ImportError``) is left out
and reported by :func:`unavailable_groups`; any other error while building the examples propagates.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from lie_nn._src.irrep import Irrep

__all__ = ["example_irreps", "unavailable_groups"]


def _su2() -> list[Irrep]:
    from lie_nn._src.groups.su2 import SU2

    return [SU2(0), SU2("1/2"), SU2(1), SU2("3/2")]


def _so3() -> list[Irrep]:
    from lie_nn._src.groups.so3 import SO3

    return [SO3(0), SO3(1), SO3(2)]


def _o3() -> list[Irrep]:
    from lie_nn._src.groups.o3 import O3

    return [O3(0, 1), O3(0, -1), O3(1, -1), O3(1, 1), O3(2, 1)]


def _su3() -> list[Irrep]:
    from lie_nn._src.groups.sun import SUN

    return [SUN((0, 0, 0)), SUN((1, 0, 0)), SUN((1, 1, 0)), SUN((2, 1, 0))]


def _su4() -> list[Irrep]:
    from lie_nn._src.groups.sun import SUN

    return [SUN((0, 0, 0, 0)), SUN((1, 0, 0, 0)), SUN((1, 1, 0, 0))]


def _so13() -> list[Irrep]:
    from lie_nn._src.groups.lorentz import SO13

    return [SO13(0, 0), SO13("1/2", 0), SO13(0, "1/2"), SO13("1/2", "1/2"), SO13(1, 0)]


def _so3_x_su2() -> list[Irrep]:
    from lie_nn._src.groups.product import DirectProduct
    from lie_nn._src.groups.so3 import SO3
    from lie_nn._src.groups.su2 import SU2

    pairs = [(0, 0), (1, 0), (0, "1/2"), (1, "1/2")]
    return [DirectProduct((SO3(l), SU2(j))) for l, j in pairs]


def _generic_so3() -> list[Irrep]:
    from lie_nn._src.groups.generic import GenericRep
    from lie_nn._src.groups.so3 import SO3

    vector = GenericRep(SO3(1).algebra(), label="vec")
    tensor = GenericRep(SO3(2).algebra(), label="sym2")
    return [vector.trivial(), vector, tensor]


_BUILDERS: dict[str, Callable[[], list[Irrep]]] = {
    "SU2": _su2,
    "SO3": _so3,
    "O3": _o3,
    "SU3": _su3,
    "SU4": _su4,
    "SO13": _so13,
    "SO3xSU2": _so3_x_su2,
    "GenericSO3": _generic_so3,
}


@functools.cache
def _build() -> tuple[dict[str, tuple[Irrep, ...]], tuple[tuple[str, str], ...]]:
    examples: dict[str, tuple[Irrep, ...]] = {}
    missing: list[tuple[str, str]] = []
    for name, builder in _BUILDERS.items():
        try:
            examples[name] = tuple(builder())
        except ImportError as err:
            missing.append((name, str(err)))
    return examples, tuple(missing)


def example_irreps(group: str | None = None) -> dict[str, list[Irrep]] | list[Irrep]:
    """Example irreps: all groups as ``{name: [irreps]}``, or the list for one group name.

    >>> from lie_nn._src.groups.su2 import SU2
    >>> SU2("1/2") in example_irreps("SU2")
    True
    """
    examples, _ = _build()
    if group is None:
        return {name: list(irs) for name, irs in examples.items()}
    if group not in examples:
        raise ValueError(f"no example irreps for group {group!r}; known: {sorted(examples)}")
    return list(examples[group])


def unavailable_groups() -> dict[str, str]:
    """Groups left out of the examples because their module could not be imported (name -> error)."""
    return dict(_build()[1])


def __getattr__(name: str) -> object:
    if name == "EXAMPLE_IRREPS":
        return example_irreps()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
