r"""From ``ase.Atoms`` to the :class:`~models.mace_potential.model.Graph` the model reads.

Neighbour lists are radius graphs ``|x_r - x_s + n C| < r_max`` from :func:`lie_nn.nn.radius_graph`
(vesin cell lists, periodic cells supported).  Structures are checked on the way in: an empty
structure, an element the model does not know or two atoms closer than :data:`MIN_DISTANCE` are a
:class:`StructureError` naming the problem.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from lie_nn.nn import batch_graphs, radius_graph
from models.mace_potential.model import Graph, MACEConfig

__all__ = ["MIN_DISTANCE", "StructureError", "atoms_graph", "collate", "species_index"]

MIN_DISTANCE = 0.1  # Å


class StructureError(ValueError):
    """A structure the potential cannot evaluate (empty, unknown element, overlapping atoms)."""


def species_index(numbers: Sequence[int] | np.ndarray, elements: Sequence[int]) -> torch.Tensor:
    """Indices of atomic ``numbers`` in ``elements``; unknown elements raise :class:`StructureError`.

    >>> species_index([8, 1, 1], (1, 8)).tolist()
    [1, 0, 0]
    """
    from ase.data import chemical_symbols

    lookup = {z: k for k, z in enumerate(elements)}
    unknown = sorted({int(z) for z in numbers} - set(lookup))
    if unknown:
        names = ", ".join(chemical_symbols[z] for z in unknown)
        known = ", ".join(chemical_symbols[z] for z in elements)
        raise StructureError(f"unknown element(s) {names}: this model knows {known}")
    return torch.tensor([lookup[int(z)] for z in numbers], dtype=torch.long)


def _check_distances(edge_index: torch.Tensor, vectors: torch.Tensor, numbers: np.ndarray) -> None:
    lengths = vectors.norm(dim=-1)
    close = (lengths < MIN_DISTANCE) & ~((edge_index[0] == edge_index[1]) & (lengths == 0))
    if close.any():
        k = int(torch.nonzero(close)[0, 0])
        i, j = int(edge_index[0, k]), int(edge_index[1, k])
        raise StructureError(f"atoms {i} and {j} are {float(lengths[k]):.3g} Å apart "
                             f"(closer than {MIN_DISTANCE} Å): not a physical structure")


def atoms_graph(atoms, config: MACEConfig, *, check: bool = True) -> Graph:
    """The radius graph of one ``ase.Atoms`` (positions in Å; periodic along ``atoms.pbc``).

    >>> import ase
    >>> g = atoms_graph(ase.Atoms("H2", [[0, 0, 0], [0, 0, 0.74]]), MACEConfig(elements=(1,)))
    >>> g.edge_index.tolist()
    [[0, 1], [1, 0]]
    """
    if len(atoms) == 0:
        raise StructureError("empty structure: no atoms")
    numbers = np.asarray(atoms.numbers)
    species = species_index(numbers, config.elements)
    positions = torch.tensor(np.asarray(atoms.positions), dtype=torch.float64)
    if not torch.isfinite(positions).all():
        raise StructureError("positions contain NaN or infinite values")
    pbc = np.asarray(atoms.pbc, dtype=bool)
    cell = torch.tensor(np.asarray(atoms.cell[:]), dtype=torch.float64) if pbc.any() else None
    edge_index, shifts = radius_graph(positions, config.r_max, cell=cell,
                                      pbc=pbc.tolist() if pbc.any() else None)
    batch = torch.zeros(len(atoms), dtype=torch.long)
    graph = Graph(species, positions, edge_index, batch, 1,
                  shifts if cell is not None else None, None if cell is None else cell.unsqueeze(0))
    if check:
        vectors = positions[edge_index[1]] - positions[edge_index[0]]
        if cell is not None:
            vectors = vectors + shifts @ cell
        _check_distances(edge_index, vectors, numbers)
    return graph


def collate(graphs: Sequence[Graph]) -> Graph:
    """One disjoint graph of ``graphs`` (node indices offset, ``batch`` built).

    >>> import ase
    >>> cfg = MACEConfig(elements=(1,))
    >>> h2 = atoms_graph(ase.Atoms("H2", [[0, 0, 0], [0, 0, 0.74]]), cfg)
    >>> collate([h2, h2]).edge_index.tolist()
    [[0, 1, 2, 3], [1, 0, 3, 2]]
    """
    if not graphs:
        raise ValueError("collate: no graphs")
    periodic = [g.cell is not None for g in graphs]
    if any(periodic) and not all(periodic):
        raise ValueError("collate: cannot mix periodic and non-periodic structures in one batch")
    edge_index, batch = batch_graphs([g.positions.shape[0] for g in graphs], [g.edge_index for g in graphs])
    return Graph(
        species=torch.cat([g.species for g in graphs]),
        positions=torch.cat([g.positions for g in graphs]),
        edge_index=edge_index,
        batch=batch,
        num_graphs=len(graphs),
        shifts=torch.cat([g.shifts for g in graphs]) if all(periodic) else None,
        cell=torch.cat([g.cell for g in graphs]) if all(periodic) else None,
    )
