r"""Frames of one molecule as tensors, split by trajectory, with the statistics the models are built on.

Targets are in Hartree in lie_nn's AO basis.  The *on-site reference* ``F_0`` keeps only the
rotation-invariant part of each element's mean on-site block: for each pair of shells ``a, b`` of equal
``l`` the mean of ``tr(F_{ab}) / (2l + 1)`` over training atoms of that element, times the identity
(shell pairs of different ``l`` and inter-atomic blocks get zero).  Because ``D F_0 D^T = F_0`` it keeps
the model equivariant.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from models.hamiltonian.basis import BasisError

__all__ = ["MoleculeData", "element_shells", "onsite_reference", "split_frames"]


def element_shells(basis: str, elements) -> tuple[tuple[int, ...], ...]:
    """The AO shell angular momenta of each element in ``basis`` (pyscf), e.g. H in STO-3G: ``(0,)``.

    >>> element_shells("sto-3g", (1, 8))
    ((0,), (0, 0, 1))
    """
    from models.hamiltonian.basis import shell_ls
    from models.hamiltonian.labels import make_mol

    out = []
    for z in elements:
        # a single atom of odd Z is open-shell: use the homonuclear dimer
        atoms = ([z, z], [[0, 0, 0], [0, 0, 1.5]]) if z % 2 else ([z], [[0, 0, 0]])
        mol = make_mol(*atoms, basis)
        out.append(tuple(ell for atom, ell in shell_ls(mol) if atom == 0))
    return tuple(out)


@dataclasses.dataclass
class MoleculeData:
    """``numbers (n,)``, ``positions (F, n, 3)``, ``fock``/``overlap (F, nao, nao)``, ``mo_energy (F, nao)``,
    ``n_occ``; ``chunk (F,)`` the trajectory of each frame."""

    numbers: np.ndarray
    positions: np.ndarray
    fock: np.ndarray
    overlap: np.ndarray
    mo_energy: np.ndarray
    n_occ: int
    chunk: np.ndarray

    @classmethod
    def from_arrays(cls, data: dict) -> MoleculeData:
        n_occ = np.unique(np.asarray(data["n_occ"]))
        if len(n_occ) != 1:
            raise ValueError("all frames of a molecule must have the same number of occupied orbitals")
        return cls(np.asarray(data["numbers"]), np.asarray(data["positions"]), np.asarray(data["fock"]),
                   np.asarray(data["overlap"]), np.asarray(data["mo_energy"]), int(n_occ[0]),
                   np.asarray(data["chunk"]))

    def subset(self, mask: np.ndarray) -> MoleculeData:
        return MoleculeData(self.numbers, self.positions[mask], self.fock[mask], self.overlap[mask],
                            self.mo_energy[mask], self.n_occ, self.chunk[mask])

    def columns(self, dtype: torch.dtype) -> dict[str, torch.Tensor]:
        """Columns for :class:`models.common.batching.TensorData` (``eps_occ``: occupied energies)."""
        return {"positions": torch.tensor(self.positions, dtype=dtype),
                "fock": torch.tensor(self.fock, dtype=dtype),
                "overlap": torch.tensor(self.overlap, dtype=dtype),
                "eps_occ": torch.tensor(self.mo_energy[:, :self.n_occ], dtype=dtype)}


def split_frames(data: MoleculeData, split: dict[str, list[int]]) -> dict[str, MoleculeData]:
    """``{"train", "val", "test"}`` subsets by trajectory (chunk) lists."""
    return {name: data.subset(np.isin(data.chunk, chunks)) for name, chunks in split.items()}


def onsite_reference(data: MoleculeData, elements, shells) -> tuple[list[np.ndarray], float]:
    """Per element the invariant on-site block ``F_0`` (see module docstring), and the output scale:
    the standard deviation of ``F - F_0`` over all training matrix elements."""
    numbers = list(data.numbers)
    sizes = [sum(2 * l + 1 for l in shells[elements.index(z)]) for z in numbers]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    if offsets[-1] != data.fock.shape[-1]:
        raise BasisError(f"the AO matrices have {data.fock.shape[-1]} rows but the basis gives {offsets[-1]} "
                         "for this molecule's atoms in this order: mismatched atom ordering or basis")
    onsite = []
    f0 = np.zeros(data.fock.shape[1:])
    for k, z in enumerate(elements):
        ls = shells[k]
        starts = np.concatenate([[0], np.cumsum([2 * l + 1 for l in ls])])
        block = np.zeros((starts[-1], starts[-1]))
        atoms = [i for i, zi in enumerate(numbers) if zi == z]
        for a, la in enumerate(ls):
            for b, lb in enumerate(ls):
                if la != lb or not atoms:
                    continue
                d = 2 * la + 1
                rows = [offsets[i] + starts[a] for i in atoms]
                cols = [offsets[i] + starts[b] for i in atoms]
                mean = np.mean([np.trace(data.fock[:, r:r + d, c:c + d], axis1=1, axis2=2).mean() / d
                                for r, c in zip(rows, cols, strict=True)])
                block[starts[a]:starts[a] + d, starts[b]:starts[b] + d] = mean * np.eye(d)
        onsite.append(block)
        for i in atoms:
            f0[offsets[i]:offsets[i + 1], offsets[i]:offsets[i + 1]] = block
    scale = float((data.fock - f0).std())
    return onsite, scale
