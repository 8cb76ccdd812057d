"""Universal tests, parametrized over the ONE list of example irreps of every group.

Adding a group to ``lie_nn/testing/_examples.py`` runs all of these on it.  The checks themselves
live in :mod:`lie_nn.testing._universal` (public as ``lie_nn.testing.check_irreps`` and its parts),
so a user-defined group runs exactly the same ones (see ``tests/test_toy_group.py``).  Multiplicities
are re-derived there independently of the Clebsch–Gordan code, as dimensions of solution spaces of
the Kronecker-form intertwining equations (``hom_dim``).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lie_nn._src.cg import clebsch_gordan
from lie_nn._src.intertwiner import tensor_generators
from lie_nn._src.irrep import Irrep
from lie_nn.testing import (
    check_group,
    check_irrep,
    check_pair,
    check_triple,
    example_irreps,
    group_elements,
    irreps_triples,
    represent,
    unavailable_groups,
)
from lie_nn.testing._universal import hom_dim, products

EXAMPLES: dict[str, list[Irrep]] = example_irreps()  # type: ignore[assignment]
GROUPS = sorted(EXAMPLES)
IRREPS = [(g, ir) for g in GROUPS for ir in EXAMPLES[g]]
PAIRS = [(g, a, b) for g in GROUPS for a, b in itertools.combinations_with_replacement(EXAMPLES[g], 2)]
TRIPLES = [(g, a, b, c, mul) for g, a, b in PAIRS for c, mul in products(a, b, EXAMPLES[g])]
HOM_LIMIT = 800  # largest number of unknowns solved for in the default (not slow) run
TOL = 1e-10


def _ids(params: list[tuple]) -> list[str]:
    return ["-".join(str(p) for p in param) for param in params]


def test_every_group_is_available() -> None:
    assert unavailable_groups() == {}
    assert len(GROUPS) >= 8


@pytest.mark.parametrize("group", GROUPS)
def test_group(group: str) -> None:
    check_group(EXAMPLES[group])
    other = next(EXAMPLES[g][1] for g in GROUPS if EXAMPLES[g][0].group_id() != EXAMPLES[group][0].group_id())
    with pytest.raises(TypeError):
        _ = EXAMPLES[group][1] < other


@pytest.mark.parametrize("group, ir", IRREPS, ids=_ids(IRREPS))
def test_irrep(group: str, ir: Irrep) -> None:
    check_irrep(ir)


@pytest.mark.parametrize("group, ir1, ir2", PAIRS, ids=_ids(PAIRS))
def test_pair(group: str, ir1: Irrep, ir2: Irrep) -> None:
    check_pair(ir1, ir2, EXAMPLES[group], hom_limit=HOM_LIMIT)


@pytest.mark.parametrize("group, ir1, ir2, ir3, mul", TRIPLES, ids=_ids(TRIPLES))
def test_clebsch_gordan(group: str, ir1: Irrep, ir2: Irrep, ir3: Irrep, mul: int) -> None:
    check_triple(ir1, ir2, ir3, mul, hom_limit=HOM_LIMIT)


LARGE = [t for t in TRIPLES if HOM_LIMIT < t[1].dim * t[2].dim * t[3].dim <= 3000]


@pytest.mark.slow
@pytest.mark.parametrize("group, ir1, ir2, ir3, mul", LARGE, ids=_ids(LARGE))
def test_multiplicity_large(group: str, ir1: Irrep, ir2: Irrep, ir3: Irrep, mul: int) -> None:
    (x, d), x3, d3 = tensor_generators(ir1, ir2), ir3.algebra(), ir3.discrete_generators()
    assert hom_dim(x, x3, d, d3) == clebsch_gordan(ir1, ir2, ir3).shape[0]


@pytest.mark.parametrize("group", GROUPS)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_clebsch_gordan_equivariant_under_group_elements(group: str, data: st.DataObject) -> None:
    ir1, ir2, ir3 = data.draw(irreps_triples(group, max_dim=9), label="irreps")
    g = data.draw(group_elements(ir1, scale=1.0), label="g")
    c = clebsch_gordan(ir1, ir2, ir3)
    r1, r2, r3 = represent(ir1, g), represent(ir2, g), represent(ir3, g)
    lhs = np.einsum("ia,jb,mabk->mijk", r1, r2, c)
    rhs = np.einsum("mijl,lk->mijk", c, r3)
    scale = max(1.0, np.abs(c).max(initial=0.0)) * (np.abs(r1).max() * np.abs(r2).max() + np.abs(r3).max())
    assert np.abs(lhs - rhs).max(initial=0.0) <= TOL * scale, (str(ir1), str(ir2), str(ir3), g)
