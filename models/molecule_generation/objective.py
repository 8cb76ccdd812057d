r"""The teacher-forcing objective and the data set of fragments the trainer batches.

Per fragment (``G`` of them in a batch), with the focus softmax taken over the fragment's atoms and
the stop option together,

.. math:: \mathcal L = -\sum_i q_i \log p(i) - q_{stop} \log p(stop)
          + [\text{not stop}]\Big(-\sum_z q_z \log p(z \mid f) - \sum_{kj} q_{kj} \log p_{kj}(f, z)\Big),

``q`` the targets of :mod:`~models.molecule_generation.fragments` (focus ``f`` and element ``z``
teacher-forced), ``p_{kj}`` the grid distribution of :mod:`~models.molecule_generation.grid`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

import lie_nn as lnn
from lie_nn.nn import scatter_sum
from models.molecule_generation.data import Molecules
from models.molecule_generation.fragments import FragmentBatch, collate, fragment_sample
from models.molecule_generation.model import MoleculeGenerator

__all__ = ["FragmentData", "fragment_log_softmax", "loss_fn", "loss_terms"]


def fragment_log_softmax(node_logits: torch.Tensor, stop_logits: torch.Tensor, batch: torch.Tensor,
                         num_graphs: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probabilities of each node ``(N,)`` and of stop ``(G,)``, normalised per fragment.

    >>> n, s = fragment_log_softmax(torch.zeros(3), torch.zeros(2), torch.tensor([0, 0, 1]), 2)
    >>> [round(float(v), 4) for v in n.exp()], [round(float(v), 4) for v in s.exp()]
    ([0.3333, 0.3333, 0.5], [0.3333, 0.5])
    """
    top = torch.full((num_graphs,), -torch.inf, dtype=node_logits.dtype, device=node_logits.device)
    top = top.scatter_reduce(0, batch, node_logits.detach(), "amax")
    top = torch.maximum(top, stop_logits.detach())
    total = scatter_sum((node_logits - top[batch]).exp(), batch, num_graphs) + (stop_logits - top).exp()
    log_z = top + total.log()
    return node_logits - log_z[batch], stop_logits - log_z


def loss_terms(model: MoleculeGenerator, batch: FragmentBatch) -> dict[str, torch.Tensor]:
    """Per-fragment ``focus``, ``element`` and ``position`` cross-entropies ``(G,)`` (0 for stop samples)."""
    g = batch.num_graphs
    s, h = model.encode(batch)
    node, stop = model.focus_logits(s, batch.batch, g)
    log_node, log_stop = fragment_log_softmax(node, stop, batch.batch, g)
    focus = -(scatter_sum(batch.focus_target * log_node, batch.batch, g) + batch.stop.to(s.dtype) * log_stop)
    go = ~batch.stop
    element = torch.zeros_like(focus)
    position = torch.zeros_like(focus)
    if go.any():
        log_el = torch.log_softmax(model.element_logits(s, batch.focus[go]), dim=-1)
        element[go] = -(batch.element_target[go] * log_el).sum(-1)
        coeff = model.position_coefficients(s, h, batch.focus[go], batch.next_element[go])
        position[go] = model.grid.cross_entropy(coeff, batch.position_targets[go], batch.position_mask[go])
    return {"focus": focus, "element": element, "position": position}


def loss_fn(model: torch.nn.Module, batch: FragmentBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The trainer's loss: mean over the fragments of the three terms, and each term's mean."""
    inner = model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model
    terms = loss_terms(inner, batch)
    total = terms["focus"] + terms["element"] + terms["position"]
    return total.mean(), {k: v.detach().mean() for k, v in terms.items()}


class FragmentData:
    """Item ``i``: the fragment sample of molecule ``indices[i % n]`` with seed ``seed · 10^9 + i``
    (:func:`~models.molecule_generation.fragments.fragment_sample`); ``rotate=True`` rotates every
    fragment of a batch by a Haar-random rotation seeded by the batch's indices (augmentation)."""

    def __init__(self, molecules: Molecules, indices: Sequence[int], *, length: int | None = None,
                 seed: int = 0, cutoff: float = 5.0, rotate: bool = False,
                 dtype: torch.dtype = torch.float32) -> None:
        if len(indices) == 0:
            raise ValueError("FragmentData: no molecules")
        self.molecules, self.indices = molecules, np.asarray(indices)
        self.length = len(indices) if length is None else int(length)
        self.seed, self.cutoff, self.rotate, self.dtype = seed, cutoff, rotate, dtype

    def __len__(self) -> int:
        return self.length

    def batch(self, items: Sequence[int]) -> FragmentBatch:
        items = [int(i) for i in items]
        frags = [fragment_sample(*self.molecules.molecule(int(self.indices[i % len(self.indices)])),
                                 seed=self.seed * 10**9 + i) for i in items]
        out = collate(frags, self.cutoff, self.dtype)
        if self.rotate:
            rng = np.random.default_rng([self.seed, *items])
            rotations = torch.tensor(lnn.random_rotation(rng, size=len(items)), dtype=self.dtype)
            out = out.rotated(rotations)
        return out
