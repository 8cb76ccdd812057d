"""Property-testing helpers for lie_nn users and for lie_nn's own test suite.

* :class:`GroupElement` and :func:`represent`: group elements ``exp(sum theta_a T_a) d_i ...`` and
  their matrices on any Irrep / MulIrrep / Irreps;
* :func:`assert_equivariant`: check ``f(D_in(g) x) == D_out(g) f(x)`` for a numpy or torch function,
  given only the representations (random inputs and group elements are generated);
* :func:`assert_intertwines`, :func:`intertwining_residual`: check Clebsch–Gordan coefficients;
* hypothesis strategies :func:`irreps`, :func:`group_elements`, :func:`irreps_triples`;
* :func:`so_generators`, :func:`sp_generators`: classical Lie algebras by generators (user-group
  examples);
* :func:`example_irreps`: the list of example irreps per group run by the universal tests;
* :func:`check_irreps` (and its parts ``check_group``, ``check_irrep``, ``check_pair``,
  ``check_triple``): the universal checks, to run on the irreps of a group you define.

Everything here needs only numpy: torch is imported only to check functions of torch tensors.

The strategies need ``hypothesis`` (the ``test`` extra); they are imported on first use, so the
assertions work without it.
"""

from typing import Any

from lie_nn.testing._classical import so_generators, sp_generators
from lie_nn.testing._equivariance import (
    GroupElement,
    assert_equivariant,
    assert_intertwines,
    generators,
    intertwining_residual,
    represent,
)
from lie_nn.testing._examples import example_irreps, unavailable_groups
from lie_nn.testing._universal import check_group, check_irrep, check_irreps, check_pair, check_triple

__all__ = [
    "GroupElement",
    "assert_equivariant",
    "assert_intertwines",
    "check_group",
    "check_irrep",
    "check_irreps",
    "check_pair",
    "check_triple",
    "example_irreps",
    "generators",
    "group_elements",
    "intertwining_residual",
    "irreps",
    "irreps_triples",
    "represent",
    "so_generators",
    "sp_generators",
    "unavailable_groups",
]


_STRATEGIES = ("group_elements", "irreps", "irreps_triples")


def __getattr__(name: str) -> Any:
    if name == "EXAMPLE_IRREPS":
        return example_irreps()
    if name in _STRATEGIES:
        from lie_nn.testing import _strategies

        return getattr(_strategies, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
