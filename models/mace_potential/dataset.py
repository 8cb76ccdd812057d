r"""Labelled structures as graphs, batches, the train/validation split and the dataset statistics.

Statistics, all from the training frames only:

* reference energies ``E^0_z`` by least squares, ``min ‖N e - E‖`` with ``N_{sz}`` the number of atoms
  of element ``z`` in frame ``s`` (minimum-norm solution when the counts are collinear, e.g. one
  molecule);
* ``shift`` = mean of ``(E_s - Σ_z N_{sz} E^0_z) / n_s``, ``scale`` = RMS of the force components;
* ``avg_num_neighbors`` = mean number of edges per atom within ``r_max``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import torch

from models.mace_potential.graphs import atoms_graph, collate
from models.mace_potential.model import Graph, MACEConfig

__all__ = ["Batch", "Sample", "Statistics", "make_batch", "samples_from_atoms", "split_train_valid",
           "statistics"]


@dataclasses.dataclass
class Sample:
    """One labelled structure: its graph, reference energy (eV) and forces ``(n, 3)`` (eV/Å)."""

    graph: Graph
    energy: float
    forces: torch.Tensor


@dataclasses.dataclass
class Batch:
    """A collated batch: ``graph``, ``energy (G,)``, ``forces (N, 3)``, ``num_atoms (G,)``."""

    graph: Graph
    energy: torch.Tensor
    forces: torch.Tensor
    num_atoms: torch.Tensor

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> Batch:
        dtype = dtype or self.forces.dtype
        return Batch(self.graph.to(device, dtype), self.energy.to(device, dtype),
                     self.forces.to(device, dtype), self.num_atoms.to(device))


def samples_from_atoms(frames: Sequence, config: MACEConfig, *, energy_key: str = "REF_energy",
                       forces_key: str = "REF_forces") -> list[Sample]:
    """Graphs and labels of ``ase.Atoms`` frames (labels in ``info[energy_key]``, ``arrays[forces_key]``)."""
    out = []
    for k, atoms in enumerate(frames):
        if energy_key not in atoms.info or forces_key not in atoms.arrays:
            raise ValueError(f"frame {k} has no {energy_key!r} energy or {forces_key!r} forces")
        out.append(Sample(atoms_graph(atoms, config), float(atoms.info[energy_key]),
                          torch.tensor(np.asarray(atoms.arrays[forces_key]), dtype=torch.float64)))
    return out


def make_batch(samples: Sequence[Sample], dtype: torch.dtype = torch.float64) -> Batch:
    """Collate samples into a :class:`Batch` with floating tensors in ``dtype``."""
    graph = collate([s.graph for s in samples])
    return Batch(graph, torch.tensor([s.energy for s in samples], dtype=torch.float64),
                 torch.cat([s.forces for s in samples]),
                 torch.tensor([s.graph.positions.shape[0] for s in samples])).to("cpu", dtype)


def split_train_valid(n: int, valid_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random disjoint ``(train, valid)`` index arrays of ``range(n)`` (``valid_fraction`` of them valid).

    >>> train, valid = split_train_valid(20, 0.1, 0)
    >>> len(train), len(valid), sorted(set(train) | set(valid)) == list(range(20))
    (18, 2, True)
    """
    if not 0.0 < valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must lie in (0, 1), got {valid_fraction}")
    order = np.random.default_rng(seed).permutation(n)
    n_valid = max(1, round(valid_fraction * n))
    return np.sort(order[n_valid:]), np.sort(order[:n_valid])


@dataclasses.dataclass(frozen=True)
class Statistics:
    """Training-set statistics that fix the model's E0s, scale, shift and neighbour normalisation."""

    e0: tuple[float, ...]
    shift: float
    scale: float
    avg_num_neighbors: float


def statistics(samples: Sequence[Sample], num_elements: int) -> Statistics:
    """E0s by least squares, shift, scale and mean neighbour count of ``samples`` (see module doc)."""
    if not samples:
        raise ValueError("statistics: no training samples")
    counts = np.stack([np.bincount(s.graph.species.numpy(), minlength=num_elements) for s in samples])
    energies = np.array([s.energy for s in samples])
    e0, *_ = np.linalg.lstsq(counts.astype(np.float64), energies, rcond=None)
    natoms = counts.sum(1)
    shift = float(np.mean((energies - counts @ e0) / natoms))
    forces = torch.cat([s.forces for s in samples])
    scale = float(forces.square().mean().sqrt())
    edges = sum(s.graph.edge_index.shape[1] for s in samples)
    return Statistics(tuple(float(x) for x in e0), shift, scale if scale > 0 else 1.0,
                      max(edges / float(natoms.sum()), 1.0))
