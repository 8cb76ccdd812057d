r"""Teacher forcing: fragments of a molecule along a random breadth-first ordering, and their targets.

A molecule with bond graph ``G`` is built atom by atom along a BFS ordering from a random heavy atom
(neighbours visited in random order).  The sample of step ``t`` (``1 ≤ t ≤ n``) is the fragment of
the first ``t`` atoms with Symphony's targets:

* **focus**: uniform over the fragment atoms that still have unplaced neighbours; at ``t = n`` all
  mass is on **stop**;
* **element**: the element frequencies among the unplaced neighbours of the focus (the BFS parent of
  atom ``t``, so the ordering decides which focus the next two targets are conditioned on);
* **position**: the offsets from the focus to its unplaced neighbours of the next atom's element
  (several equally valid targets: their smoothed masses are averaged, :mod:`grid`).

Samples are a deterministic function of ``(molecule, seed)`` so that training resumes exactly.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from lie_nn.nn import radius_graph

__all__ = ["ELEMENTS", "Fragment", "FragmentBatch", "bfs_order", "collate", "fragment_sample"]

ELEMENTS = (1, 6, 7, 8, 9)  # H C N O F: element index k <-> atomic number ELEMENTS[k]
_INDEX = {z: k for k, z in enumerate(ELEMENTS)}


def species_of(numbers: Sequence[int] | np.ndarray) -> np.ndarray:
    """Element indices (into :data:`ELEMENTS`) of atomic numbers; other elements are a ``ValueError``.

    >>> species_of([6, 1, 8]).tolist()
    [1, 0, 3]
    """
    unknown = sorted({int(z) for z in numbers} - set(_INDEX))
    if unknown:
        raise ValueError(f"elements {unknown} are not among the QM9 elements H, C, N, O, F")
    return np.array([_INDEX[int(z)] for z in numbers], dtype=np.int64)


def bfs_order(n: int, bonds: np.ndarray, numbers: np.ndarray, rng: np.random.Generator
              ) -> tuple[np.ndarray, np.ndarray]:
    """A random BFS ordering ``(n,)`` of a connected molecule from a random heavy atom (any atom if
    there is none) and the BFS parent of every atom (``-1`` for the start).

    >>> rng = np.random.default_rng(0)
    >>> order, parent = bfs_order(3, np.array([[0, 1], [1, 2]]), np.array([1, 6, 1]), rng)
    >>> int(order[0]), sorted(order.tolist()), int(parent[order[0]])
    (1, [0, 1, 2], -1)
    """
    neighbours: list[list[int]] = [[] for _ in range(n)]
    for a, b in bonds:
        neighbours[int(a)].append(int(b))
        neighbours[int(b)].append(int(a))
    heavy = np.flatnonzero(numbers > 1)
    start = int(rng.choice(heavy if heavy.size else np.arange(n)))
    parent = np.full(n, -1, dtype=np.int64)
    seen, order, queue = {start}, [start], deque([start])
    while queue:
        a = queue.popleft()
        for b in rng.permutation(neighbours[a]).tolist() if neighbours[a] else []:
            if b not in seen:
                seen.add(b)
                parent[b] = a
                order.append(b)
                queue.append(b)
    if len(order) != n:
        raise ValueError(f"bfs_order: the bond graph is not connected ({len(order)} of {n} atoms reached)")
    return np.array(order, dtype=np.int64), parent


@dataclass
class Fragment:
    """One teacher-forcing sample (see the module docstring); positions in Å, ``species`` indices."""

    species: np.ndarray  # (t,)
    positions: np.ndarray  # (t, 3)
    focus_target: np.ndarray  # (t,) mass on each atom; sums to 1 - stop
    stop: bool
    focus: int  # index in the fragment (0 when stop)
    element_target: np.ndarray  # (5,)
    next_element: int
    position_targets: np.ndarray  # (m, 3) offsets from the focus


def fragment_sample(numbers: np.ndarray, positions: np.ndarray, bonds: np.ndarray, seed: int) -> Fragment:
    """The teacher-forcing sample of a molecule for ``seed`` (the step ``t`` uniform in ``1..n``).

    >>> xyz = np.array([[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    >>> water = np.array([8, 1, 1]), xyz, np.array([[0, 1], [0, 2]])
    >>> f = fragment_sample(*water, seed=3)
    >>> f.species.tolist(), f.stop, f.element_target.tolist(), f.position_targets.shape
    ([3], False, [1.0, 0.0, 0.0, 0.0, 0.0], (2, 3))
    """
    rng = np.random.default_rng(seed)
    n = len(numbers)
    order, parent = bfs_order(n, bonds, numbers, rng)
    t = int(rng.integers(1, n + 1))
    placed = np.zeros(n, dtype=bool)
    placed[order[:t]] = True
    species = species_of(numbers)
    frag = order[:t]
    unplaced_nb = np.zeros(n, dtype=np.int64)
    for a, b in bonds:
        unplaced_nb[a] += int(not placed[b])
        unplaced_nb[b] += int(not placed[a])
    if t == n:
        return Fragment(species[frag], positions[frag], np.zeros(t), True, 0, np.zeros(len(ELEMENTS)), 0,
                        np.zeros((0, 3)))
    open_atoms = (unplaced_nb[frag] > 0).astype(np.float64)
    focus_atom, next_atom = int(parent[order[t]]), int(order[t])
    nbrs = [int(b) if int(a) == focus_atom else int(a) for a, b in bonds if focus_atom in (int(a), int(b))]
    todo = [b for b in nbrs if not placed[b]]
    element_target = np.bincount(species[todo], minlength=len(ELEMENTS)).astype(np.float64)
    same = [b for b in todo if species[b] == species[next_atom]]
    return Fragment(
        species=species[frag], positions=positions[frag], focus_target=open_atoms / open_atoms.sum(),
        stop=False, focus=int(np.flatnonzero(frag == focus_atom)[0]),
        element_target=element_target / element_target.sum(), next_element=int(species[next_atom]),
        position_targets=positions[same] - positions[focus_atom])


@dataclass
class FragmentBatch:
    """Fragments as one disjoint graph; per-graph tensors have ``num_graphs`` rows, ``focus`` holds global
    node indices, ``position_targets (G, T, 3)`` is padded (``position_mask``)."""

    species: torch.Tensor
    positions: torch.Tensor
    batch: torch.Tensor
    edge_index: torch.Tensor
    num_graphs: int
    focus_target: torch.Tensor
    stop: torch.Tensor
    focus: torch.Tensor
    element_target: torch.Tensor
    next_element: torch.Tensor
    position_targets: torch.Tensor
    position_mask: torch.Tensor

    def to(self, device: torch.device | str) -> FragmentBatch:
        return FragmentBatch(**{k: v.to(device) if isinstance(v, torch.Tensor) else v
                                for k, v in self.__dict__.items()})

    def rotated(self, rotations: torch.Tensor) -> FragmentBatch:
        """A copy with graph ``g``'s positions and targets rotated by ``rotations[g] (3, 3)``."""
        out = FragmentBatch(**self.__dict__)
        out.positions = torch.einsum("nij,nj->ni", rotations[self.batch], self.positions)
        out.position_targets = torch.einsum("gij,gtj->gti", rotations, self.position_targets)
        return out


def graph_of(positions: torch.Tensor, batch: torch.Tensor, cutoff: float) -> torch.Tensor:
    """The radius graph ``edge_index (2, E)`` of fragments (no edges between fragments)."""
    return radius_graph(positions, cutoff, batch=batch)[0]


def collate(fragments: Sequence[Fragment], cutoff: float, dtype: torch.dtype = torch.float32
            ) -> FragmentBatch:
    """One :class:`FragmentBatch` of ``fragments`` with radius graphs of ``cutoff`` Å."""
    sizes = [len(f.species) for f in fragments]
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    m = max(1, max(len(f.position_targets) for f in fragments))
    targets = np.zeros((len(fragments), m, 3))
    mask = np.zeros((len(fragments), m))
    for g, f in enumerate(fragments):
        targets[g, :len(f.position_targets)] = f.position_targets
        mask[g, :len(f.position_targets)] = 1.0
    positions = torch.tensor(np.concatenate([f.positions for f in fragments]), dtype=dtype)
    batch = torch.repeat_interleave(torch.arange(len(fragments)), torch.tensor(sizes))
    return FragmentBatch(
        species=torch.tensor(np.concatenate([f.species for f in fragments]), dtype=torch.long),
        positions=positions, batch=batch, edge_index=graph_of(positions, batch, cutoff),
        num_graphs=len(fragments),
        focus_target=torch.tensor(np.concatenate([f.focus_target for f in fragments]), dtype=dtype),
        stop=torch.tensor([f.stop for f in fragments]),
        focus=torch.tensor([o + f.focus for o, f in zip(offsets, fragments, strict=True)], dtype=torch.long),
        element_target=torch.tensor(np.stack([f.element_target for f in fragments]), dtype=dtype),
        next_element=torch.tensor([f.next_element for f in fragments], dtype=torch.long),
        position_targets=torch.tensor(targets, dtype=dtype), position_mask=torch.tensor(mask, dtype=dtype))
