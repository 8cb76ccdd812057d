r"""Predict the Fock matrix of a molecule in an ``.xyz`` file with a trained run; print orbital energies.

The overlap ``S`` of the run's basis comes from pyscf's integrals (exact, cheap); ``F`` from the model;
orbital energies solve ``F C = S C ε``.  The AO order is pyscf's shell order per atom, in lie_nn's real
SO(3) basis (``--save`` writes ``F`` as ``.npy``; convert with :mod:`models.hamiltonian.basis`).

``python -m models.hamiltonian.predict runs/ham_water_eq molecule.xyz``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from models.common.cli import run_cli
from models.common.io import atomic_path
from models.hamiltonian.eigen import HARTREE_TO_MEV, orbital_energies
from models.hamiltonian.labels import make_mol
from models.hamiltonian.model import HamiltonianConfig
from models.hamiltonian.train import load_run

__all__ = ["predict"]


def read_xyz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(numbers, positions Å)`` of the first frame of an ``.xyz`` file, with clear errors."""
    import ase.io

    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    try:
        atoms = ase.io.read(path, index=0)
    except Exception as err:  # noqa: BLE001  (ase raises many kinds on a malformed file)
        raise ValueError(f"{path} is not a readable .xyz file: {err}") from err
    return atoms.get_atomic_numbers(), atoms.get_positions()


def predict(run: Path, numbers, positions) -> dict:
    """``{"fock" (nao, nao), "overlap", "mo_energy" (nao,), "n_occ"}`` (Hartree) for one geometry."""
    model, info = load_run(run)
    config = HamiltonianConfig.from_dict(info["identity"]["config"])
    config.element_index(numbers)  # unknown elements: one clear error before pyscf
    mol = make_mol(numbers, positions, config.basis)
    from models.hamiltonian.basis import to_lie_basis

    overlap = torch.tensor(to_lie_basis(mol.intor("int1e_ovlp"), mol), dtype=torch.float64)
    with torch.no_grad():
        fock = model(list(numbers), torch.tensor(np.asarray(positions)[None])).double()[0]
    if fock.shape != overlap.shape:
        raise ValueError(f"the model gives {fock.shape[0]} AOs but {config.basis} has {overlap.shape[0]} for "
                         "this molecule: mismatched atom ordering or basis")
    eps = orbital_energies(fock, overlap)
    return {"fock": fock.numpy(), "overlap": overlap.numpy(), "mo_energy": eps.numpy(),
            "n_occ": mol.nelectron // 2}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.hamiltonian.predict",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path, help="training run directory (run.json + best.pt)")
    parser.add_argument("xyz", type=Path, help="molecule (.xyz, Å)")
    parser.add_argument("--save", type=Path, default=None, help="write F (Hartree) to this .npy file")
    args = parser.parse_args(argv)
    numbers, positions = read_xyz(args.xyz)
    out = predict(args.run, numbers, positions)
    n_occ = out["n_occ"]
    print(f"{len(numbers)} atoms, {out['fock'].shape[0]} AOs, {n_occ} occupied orbitals")
    for k, e in enumerate(out["mo_energy"]):
        tag = "occ " if k < n_occ else "virt"
        print(f"{k + 1:4d} {tag} {e: .6f} Ha {e * HARTREE_TO_MEV / 1000: 10.4f} eV")
    if args.save is not None:
        with atomic_path(args.save) as tmp:
            np.save(tmp, out["fock"])
        print(f"wrote {args.save}")
    return 0


if __name__ == "__main__":
    run_cli(main)
