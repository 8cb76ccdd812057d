"""Hypothesis strategies: irreps of one group, group elements, and coupled irrep triples.

``group`` arguments accept an irrep (meaning "the group of this irrep"), an irrep class with a
single group among the examples (``SO3``; ``SUN`` is ambiguous, pass ``SUN((1, 0, 0))``), or a
group name of :func:`~lie_nn.testing._examples.example_irreps` (``"SO13"``).
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

from hypothesis import strategies as st

from lie_nn._src.cg import clebsch_gordan
from lie_nn._src.irrep import Irrep
from lie_nn._src.irreps import Irreps
from lie_nn.testing._equivariance import GroupElement, generators
from lie_nn.testing._examples import example_irreps

__all__ = ["irreps", "group_elements", "irreps_triples"]

_SCAN = 300  # how many irreps of a group's iterator are inspected


def _reference_irrep(group: Any) -> Irrep:
    """One irrep of the requested group."""
    if isinstance(group, Irrep):
        return group
    examples = example_irreps()
    if isinstance(group, str):
        if group not in examples:
            raise ValueError(f"unknown group name {group!r}; known: {sorted(examples)}")
        return examples[group][0]
    if isinstance(group, type) and issubclass(group, Irrep):
        found = [irs[0] for irs in examples.values() if isinstance(irs[0], group)]
        if len({ir.group_id() for ir in found}) != 1:
            raise ValueError(
                f"{group.__name__} does not name exactly one example group ({len(found)} found): "
                "pass one of its irreps instead"
            )
        return found[0]
    raise TypeError(f"group must be an Irrep, an Irrep subclass or a group name, got {type(group).__name__}")


@functools.lru_cache(maxsize=256)
def _candidates(reference: Irrep, max_dim: int) -> tuple[Irrep, ...]:
    group_id = reference.group_id()
    found: list[Irrep] = [
        ir for irs in example_irreps().values() for ir in irs if ir.group_id() == group_id
    ]
    try:
        found.extend(itertools.islice(reference.iterator(), _SCAN))
    except NotImplementedError:
        pass
    unique = {ir: None for ir in found if ir.dim <= max_dim}
    return tuple(sorted(unique, key=lambda ir: ir.sort_key()))


def irreps(group: Any, *, max_dim: int = 10) -> st.SearchStrategy[Irrep]:
    """Strategy for irreps of one group with ``dim <= max_dim``.

    Draws from the group's :meth:`~lie_nn._src.irrep.Irrep.iterator` (first few hundred irreps)
    together with the example irreps of that group.

    >>> from hypothesis import find
    >>> from lie_nn import SU2
    >>> str(find(irreps(SU2(0), max_dim=4), lambda ir: ir.dim > 3))
    'SU2(3/2)'
    """
    if isinstance(max_dim, bool) or not isinstance(max_dim, int) or max_dim < 1:
        raise ValueError(f"max_dim must be a positive int, got {max_dim!r}")
    reference = _reference_irrep(group)
    candidates = _candidates(reference, max_dim)
    if not candidates:
        raise ValueError(f"no irrep of the group of {reference} has dim <= {max_dim}")
    return st.sampled_from(candidates)


def group_elements(
    rep: Any, *, scale: float = 1.0, max_word: int = 3, discrete: bool = True
) -> st.SearchStrategy[GroupElement]:
    """Strategy for :class:`GroupElement` of the group of ``rep`` (Irrep, MulIrrep or Irreps).

    Every Lie-algebra coefficient is drawn from ``[-scale, scale]``: rotations, and for the Lorentz
    group also boosts (their rapidities are the last three coefficients).  When the group has
    discrete generators (O(3) parity) the word has up to ``max_word`` letters.

    >>> from hypothesis import find
    >>> from lie_nn import SU2
    >>> find(group_elements(SU2(1)), lambda g: True)
    GroupElement(algebra_coefficients=(0.0, 0.0, 0.0), discrete=())
    """
    if not scale >= 0:
        raise ValueError(f"scale must be >= 0, got {scale!r}")
    x, d = generators(rep)
    coefficient = st.floats(-scale, scale, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    theta = st.tuples(*([coefficient] * x.shape[0]))
    if discrete and d.shape[0] > 0:
        word = st.lists(st.integers(0, d.shape[0] - 1), max_size=max_word).map(tuple)
    else:
        word = st.just(())
    return st.builds(GroupElement, theta, word)


def _products(ir1: Irrep, ir2: Irrep, candidates: tuple[Irrep, ...]) -> list[Irrep]:
    """Irreps in ``ir1 ⊗ ir2``: the selection rule, or a numeric CG check when there is none."""
    try:
        return [term.ir for term in Irreps(ir1 * ir2) if term.mul > 0]
    except NotImplementedError:
        return [ir3 for ir3 in candidates if clebsch_gordan(ir1, ir2, ir3).shape[0] > 0]


def irreps_triples(group: Any, *, max_dim: int = 10) -> st.SearchStrategy[tuple[Irrep, Irrep, Irrep]]:
    """Strategy for ``(ir1, ir2, ir3)`` with ``ir3`` occurring in ``ir1 ⊗ ir2``.

    ``ir1`` and ``ir2`` have ``dim <= max_dim``; ``ir3`` is any irrep of the product (found by the
    selection rule ``ir1 * ir2``, or numerically among the candidates for groups without one).

    >>> from hypothesis import find
    >>> from lie_nn import SU2
    >>> [str(ir) for ir in find(irreps_triples(SU2(0), max_dim=3), lambda t: t[2].dim == 5)]
    ['SU2(1)', 'SU2(1)', 'SU2(2)']
    """
    base = irreps(group, max_dim=max_dim)
    candidates = _candidates(_reference_irrep(group), max_dim)

    def third(pair: tuple[Irrep, Irrep]) -> st.SearchStrategy[tuple[Irrep, Irrep, Irrep]]:
        options = _products(pair[0], pair[1], candidates)
        if not options:
            return st.nothing()
        return st.sampled_from(options).map(lambda ir3: (pair[0], pair[1], ir3))

    return st.tuples(base, base).flatmap(third)
