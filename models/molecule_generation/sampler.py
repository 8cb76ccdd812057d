r"""Batched autoregressive sampling whose molecules do not depend on the batching.

Molecule ``m`` of a call with seed ``s`` draws all its randomness from its own stream
``numpy.random.default_rng([s, m])``: one uniform for the first element, then five per step (focus or
stop, element, radius, direction, radius inside its cell when refined).  Every discrete choice is an
**inverse-CDF** draw: with probabilities ``p_1..p_M`` and a uniform ``u``, the chosen index is the
first ``i`` with ``p_1 + … + p_i > u Σ p`` — exact sampling of the categorical distribution, like
``torch.multinomial``, but driven by the molecule's own uniform.  The position is drawn in two such
steps on the radial × angular grid (:meth:`~models.molecule_generation.grid.PositionGrid.sample`):
the radius from the radial marginal, then the direction given the radius.

So a molecule is a function of ``(model, seed, m)`` only: generating it in a batch of 1 or of 256,
first or last, gives the same atoms (up to float rounding of the batched products, which can move a
draw only when its uniform falls within rounding of a CDF step).  The sampler keeps ``batch_size``
slots filled: when a molecule stops, the next one starts in its slot, so every forward pass encodes
a full batch until the last molecules finish.  Fragments are held in padded ``(slots, max_atoms)``
tensors; each step gathers the active atoms into one disjoint graph (all pairs within the cutoff of
the same fragment, built from a padded distance matrix, no per-fragment Python loop).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from models.molecule_generation.focus_encoder import FocusEncoder
from models.molecule_generation.grid import PositionGrid, inverse_cdf
from models.molecule_generation.model import MoleculeGenerator
from models.molecule_generation.objective import fragment_log_softmax

__all__ = ["fragment_graph", "inverse_cdf", "sample_molecules"]

DRAWS_PER_STEP = 5  # focus/stop, element, radius, direction, radius refinement


def fragment_graph(positions: torch.Tensor, sizes: torch.Tensor, cutoff: float) -> torch.Tensor:
    """Edges ``(2, E)`` (sender, receiver) between distinct atoms of the same fragment closer than
    ``cutoff``, with nodes numbered fragment after fragment: padded ``positions (F, A, 3)``, the first
    ``sizes[f]`` rows of fragment ``f`` are atoms.

    >>> x = torch.tensor([[[0.0, 0, 0], [1, 0, 0], [9, 0, 0]], [[0, 0, 0], [0, 0, 0], [0, 0, 0]]])
    >>> fragment_graph(x, torch.tensor([3, 1]), 5.0).tolist()
    [[0, 1], [1, 0]]
    """
    n_frag, width = positions.shape[:2]
    real = torch.arange(width) < sizes[:, None]  # (F, A)
    close = torch.cdist(positions, positions) < cutoff
    pairs = close & real[:, :, None] & real[:, None, :] & ~torch.eye(width, dtype=torch.bool)
    f, i, j = torch.nonzero(pairs, as_tuple=True)
    start = torch.cumsum(sizes, 0) - sizes
    return torch.stack([start[f] + i, start[f] + j])


class _Streams:
    """One numpy generator per molecule; ``draw(ms, k)`` gives ``(len(ms), k)`` uniforms."""

    def __init__(self, seed: int, first: int) -> None:
        for name, value in (("seed", seed), ("first molecule index", first)):
            if not (isinstance(value, int) and value >= 0):
                raise ValueError(f"the {name} must be a non-negative integer, got {value!r}")
        self.seed, self.streams = seed, {}

    def start(self, m: int) -> float:
        self.streams[m] = np.random.default_rng([self.seed, m])
        return float(self.streams[m].random())

    def draw(self, ms: list[int], k: int) -> torch.Tensor:
        return torch.tensor(np.stack([self.streams[m].random(k) for m in ms]))

    def finish(self, m: int) -> None:
        del self.streams[m]


@torch.no_grad()
def sample_molecules(model: MoleculeGenerator, grid: PositionGrid, n: int, *, seed: int, batch_size: int,
                     max_atoms: int, temperature: float, focus_temperature: float, refine: int = 1,
                     first: int = 0, on_done: Callable[[int], None] | None = None
                     ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Molecules ``first .. first + n - 1`` of ``seed``'s sequence as ``(element indices (a,),
    positions (a, 3))``, molecule ``m`` a function of ``(seed, m)`` only (module docstring): two calls
    with ``first = 0`` and ``first = n`` give the molecules of one call for ``2n``.  ``refine``:
    sub-radii per radial cell (:meth:`~models.molecule_generation.grid.PositionGrid.sample`);
    ``on_done(k)`` is called as ``k`` molecules finish."""
    dtype = grid.radii.dtype
    streams = _Streams(seed, first)
    encoder = FocusEncoder(model)
    slots = min(batch_size, n)
    species = torch.zeros(slots, max_atoms, dtype=torch.long)
    positions = torch.zeros(slots, max_atoms, 3, dtype=dtype)
    sizes = torch.zeros(slots, dtype=torch.long)
    owner = [-1] * slots  # molecule in each slot (-1: empty)
    out: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * n
    next_mol, start_logits = 0, model.first_element.to(dtype)
    while True:
        empty = [k for k in range(slots) if owner[k] < 0]
        new = list(range(next_mol, min(n, next_mol + len(empty))))
        if new:
            u0 = torch.tensor([streams.start(first + m) for m in new])
            z0 = inverse_cdf(start_logits.expand(len(new), -1), u0)
            for k, m, z in zip(empty, new, z0.tolist(), strict=False):
                owner[k], species[k, 0], sizes[k] = m, z, 1
                positions[k].zero_()
            next_mol += len(new)
        live = [k for k in range(slots) if owner[k] >= 0]
        if not live:
            break
        ms = [first + owner[k] for k in live]
        u = streams.draw(ms, DRAWS_PER_STEP)
        stopped = _step(encoder, grid, species, positions, sizes, torch.tensor(live), u, max_atoms,
                        temperature, focus_temperature, refine)
        for k in stopped:
            m, a = owner[k], int(sizes[k])
            out[m] = (species[k, :a].clone(), positions[k, :a].clone())
            owner[k] = -1
            streams.finish(first + m)
        if stopped and on_done is not None:
            on_done(len(stopped))
    return out  # type: ignore[return-value]


def _step(encoder: FocusEncoder, grid: PositionGrid, species: torch.Tensor, positions: torch.Tensor,
          sizes: torch.Tensor, live: torch.Tensor, u: torch.Tensor, max_atoms: int, temperature: float,
          focus_temperature: float, refine: int) -> list[int]:
    """One step for the fragments in slots ``live``: grows them in place; returns the slots that stop."""
    model = encoder.model
    n_live, size = len(live), sizes[live]
    width = int(size.max())
    spec_pad, pos_pad = species[live, :width], positions[live, :width]
    real = torch.arange(width) < size[:, None]
    batch = torch.repeat_interleave(torch.arange(n_live), size)
    edges = fragment_graph(pos_pad, size, model.config.cutoff)
    s, state = encoder.encode(spec_pad[real], pos_pad[real], edges)
    node, stop = model.focus_logits(s, batch, n_live)
    t = focus_temperature
    log_node, log_stop = fragment_log_softmax(node / t, stop / t, batch, n_live)
    table = torch.full((n_live, width + 1), -torch.inf, dtype=log_node.dtype)
    table[:, :width][real] = log_node
    table[:, width] = log_stop
    choice = inverse_cdf(table, u[:, 0])
    go = (choice < size) & (size < max_atoms)
    if go.any():
        start = torch.cumsum(size, 0) - size
        focus = (start + choice)[go]
        logits = model.element_logits(s, focus) / focus_temperature
        element = inverse_cdf(logits, u[go, 1])
        coeff = model.position_coefficients(s[focus], encoder.focus_features(state, focus),
                                            torch.arange(len(focus)), element)
        offsets = grid.sample(coeff, temperature, uniforms=u[go, 2:5], refine=refine)
        grow, rows = live[go], torch.nonzero(go).squeeze(1)
        new_pos = pos_pad[rows, choice[go]] + offsets
        species[grow, size[go]] = element
        positions[grow, size[go]] = new_pos
        sizes[grow] += 1
    return live[~go].tolist()
