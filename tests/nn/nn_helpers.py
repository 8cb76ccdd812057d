"""The lie_nn.nn tests' cases, derived from the ONE list of example irreps of lie_nn.testing.

Every group of :func:`lie_nn.testing.example_irreps` gets every layer test: adding a group to that
list adds it here.  Equivariance is checked with :func:`lie_nn.testing.assert_equivariant`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from lie_nn._src.irrep import Irrep
from lie_nn._src.irreps import Irreps
from lie_nn.testing import GroupElement, example_irreps, represent

EXAMPLES: dict[str, list[Irrep]] = example_irreps()  # type: ignore[assignment]
GROUPS = sorted(EXAMPLES)
SC_MAX_CHANNEL_DIM = 9  # keeps the symmetric-contraction tests (correlation 3) fast


@dataclass(frozen=True)
class LayerCase:
    """Representations for one group: ``in1`` (mixed multiplicities), ``in2`` (multiplicity 1, like
    spherical harmonics), ``out`` (a linear output), ``outputs`` (every example irrep: an explicit
    output list works without a selection rule) and the symmetric contraction's channel irreps."""

    group: str
    in1: Irreps
    in2: Irreps
    out: Irreps
    outputs: tuple[Irrep, ...]
    channel: tuple[Irrep, ...]

    @property
    def has_selection_rule(self) -> bool:
        try:
            self.outputs[0] * self.outputs[0]
        except NotImplementedError:
            return False
        return True


def layer_case(group: str) -> LayerCase:
    irs = EXAMPLES[group]
    first = irs[:3]
    channel: list[Irrep] = []
    for ir in first:
        if sum(c.dim for c in channel) + ir.dim <= SC_MAX_CHANNEL_DIM:
            channel.append(ir)
    return LayerCase(group, Irreps(list(zip((3, 1, 2), first, strict=False))), Irreps(first),
                     Irreps(list(zip((2, 3, 1), first, strict=False))), tuple(irs), tuple(channel))


def is_complex(*reps: object) -> bool:
    return any(not m.ir.is_real for rep in reps for m in Irreps(rep))


def features(rep: object, batch: int, dtype: torch.dtype, seed: int = 0,
             complex_: bool = False) -> torch.Tensor:
    """Standard-normal features ``(batch, dim)`` (complex when ``complex_``), reproducible by ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    dim = Irreps(rep).dim
    real = dtype if not dtype.is_complex else torch.empty((), dtype=dtype).real.dtype
    x = torch.randn(batch, dim, generator=gen, dtype=real)
    if complex_:
        x = torch.complex(x, torch.randn(batch, dim, generator=gen, dtype=real))
    return x


def rep_matrix(rep: Sequence, g: GroupElement) -> np.ndarray:
    """Block-diagonal matrix of ``g`` on ``⊕ mul × ir`` in the mul-major layout."""
    return represent(Irreps(rep), g)


def elements(rep: Sequence, n: int = 3, seed: int = 0) -> list[GroupElement]:
    """Random elements; each discrete generator also appears alone and after a random rotation."""
    irreps = Irreps(rep)
    n_disc = irreps[0].ir.discrete_generators().shape[0]
    out = [GroupElement.random(irreps, seed=seed + k, discrete=False) for k in range(n)]
    out += [GroupElement(GroupElement.random(irreps, seed=seed + 100 + b).algebra_coefficients, (b,))
            for b in range(n_disc)]
    out += [GroupElement((0.0,) * len(out[0].algebra_coefficients), (b,)) for b in range(n_disc)]
    return out
