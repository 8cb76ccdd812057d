"""Tiny data shared by the models/md_jump tests: random-walk frames, a tiny network, and a data directory
in the format of ``models.md_jump.data`` (a 4-residue peptide's heavy atoms; PDB files need OpenMM).

Imported by ``test_md_jump.py`` and ``test_md_jump_eval.py``; each builds its own ``tiny_data``
fixture with :func:`write_tiny_data`, so no fixture name is shared with other models' tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import lie_nn
from models.common.io import write_manifest
from models.md_jump.jumper import build_network
from models.md_jump.model import JumpConfig

RESIDUES = [("GLY", ["N", "CA", "C", "O"]), ("TYR", ["N", "CA", "C", "O", "CB"]),
            ("ASP", ["N", "CA", "C", "O"]), ("GLY", ["N", "CA", "C", "O", "OXT"])]
N_ATOMS = sum(len(a) for _, a in RESIDUES)


def rotation(seed: int, dtype=torch.float64) -> torch.Tensor:
    """A random rotation matrix as a tensor."""
    return torch.tensor(lie_nn.random_rotation(seed), dtype=dtype)


def tiny_network(kind: str = "equivariant", n: int = 6, dtype=torch.float64) -> torch.nn.Module:
    """A seeded two-layer network of the given kind for ``n`` atoms and two lags."""
    torch.manual_seed(0)
    return build_network(kind, JumpConfig(num_atoms=n, num_lags=2, channels=4, num_layers=2, r_cut=6.0,
                                          radial_hidden=(8,)), dtype)


def frames(n_frames: int, n_atoms: int, seed: int) -> np.ndarray:
    """A random-walk chain (Å) jittering over ``n_frames`` frames: shape ``(n_frames, n_atoms, 3)``.

    >>> frames(3, 4, 0).shape
    (3, 4, 3)
    """
    rng = np.random.default_rng(seed)
    base = np.cumsum(rng.normal(scale=1.5, size=(n_atoms, 3)), axis=0)
    return base + np.cumsum(rng.normal(scale=0.05, size=(n_frames, n_atoms, 3)), axis=0)


def write_topology_pdb(path: Path, positions: np.ndarray) -> None:
    """Write the peptide of :data:`RESIDUES` at ``positions`` (Å) as a PDB file (skips without OpenMM)."""
    openmm_app = pytest.importorskip("openmm.app")
    import openmm.unit as u

    top = openmm_app.Topology()
    chain = top.addChain()
    for name, atoms in RESIDUES:
        res = top.addResidue(name, chain)
        for atom in atoms:
            top.addAtom(atom, openmm_app.Element.getBySymbol(atom[0]), res)
    with open(path, "w") as f:
        openmm_app.PDBFile.writeFile(top, positions * u.angstrom, f)


def _write_manifest(out: Path, specs: list[dict]) -> None:
    write_manifest(out, ["topology.pdb", "folded.pdb"] + [f"{s['name']}.npz" for s in specs],
                   settings={"trajectories": specs, "save_every_ps": 1.0},
                   split={s["name"]: s["split"] for s in specs}, command=["test"])


def write_tiny_data(out: Path) -> Path:
    """Fill ``out`` with 2 train + 1 test random-walk trajectories of 41 frames, 1 ps apart."""
    specs = []
    names = [("train_a", "train", "extended"), ("train_b", "train", "folded"), ("test_c", "test", "folded")]
    for k, (name, split, start) in enumerate(names):
        walk = frames(41, N_ATOMS, k) / 10.0  # nm, as written by data.generate
        np.savez(out / f"{name}.npz", positions=walk.astype(np.float32), time_ps=np.arange(41) * 1.0)
        specs.append({"name": name, "split": split, "start": start, "seed": k, "length_ps": 40.0})
    write_topology_pdb(out / "topology.pdb", frames(1, N_ATOMS, 0)[0])
    write_topology_pdb(out / "folded.pdb", frames(1, N_ATOMS, 1)[0])
    _write_manifest(out, specs)
    return out


def add_trajectory(data: Path, spec: dict, walk: np.ndarray) -> None:
    """Append a trajectory (``walk`` in Å, 1 ps apart) to ``data``'s manifest, as ``data --add`` does."""
    import json

    specs = json.loads((data / "manifest.json").read_text())["settings"]["trajectories"] + [spec]
    np.savez(data / f"{spec['name']}.npz", positions=(walk / 10.0).astype(np.float32),
             time_ps=np.arange(len(walk)) * 1.0)
    _write_manifest(data, specs)


def train_tiny(data: Path, run: Path, lags: tuple[str, ...] = ("2", "5"), epochs: int = 1,
               steps: int = 3) -> None:
    """Train a one-layer, 4-channel model on ``data`` into ``run`` in a fraction of a second."""
    from models.md_jump import train

    train.main(["--data", str(data), "--lags", *lags, "--epochs", str(epochs), "--batch-size", "16",
                "--channels", "4", "--num-layers", "1", "--steps", str(steps), "--out", str(run), "--quiet"])
