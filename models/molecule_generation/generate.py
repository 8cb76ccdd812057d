r"""Autoregressive sampling of 3D molecules (``make qm9-generate``).

::

    python -m models.molecule_generation.generate runs/qm9gen --n 1000 --out mols.sdf \
        [--temperature 1.0 --focus-temperature 1.0 --seed 0 --batch-size 128]

A molecule starts as one heavy atom at the origin (element drawn from the training set's start-atom
frequencies).  Each step encodes ``--batch-size`` unfinished fragments at once (a finished molecule's
slot takes the next one, :mod:`~models.molecule_generation.sampler`), then draws, for each,

1. the focus atom or stop from ``softmax(logits / T_focus)`` over the fragment's atoms and stop;
2. the next element from ``softmax(logits / T_focus)`` at the focus;
3. the offset from the focus exactly from the grid distribution ``p_{kj} ∝ r_k^2 Δr ω_j
   e^{f(r_k, \hat x_j)/T}`` (:mod:`~models.molecule_generation.grid`), by default on the training
   grid; ``--n-beta`` × ``--n-alpha`` directions and ``--n-radii`` radii refine it (the coefficients
   do not depend on the grid, the cost grows with the number of cells); ``--refine R`` then redraws
   the radius among ``R`` sub-radii of the chosen radial cell from the continuous density along the
   chosen direction (radii off the grid, at almost no cost).

Every draw is an inverse-CDF draw from the molecule's own random stream (seeded by ``--seed`` and its
index), so a molecule does not depend on ``--batch-size`` or on the other molecules.  A fragment
reaching ``--max-atoms`` stops.  The SDF (written atomically) holds every sample: valid
ones with the bonds RDKit determined, the others atoms only, each with a ``valid`` property; next to
it ``<out>.json`` records the settings and the CPU seconds spent.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
import torch

from models.common.args import positive_float, positive_int
from models.common.cli import run_cli
from models.common.io import atomic_path, write_json_atomic
from models.common.progress import progress
from models.molecule_generation.fragments import ELEMENTS
from models.molecule_generation.grid import PositionGrid
from models.molecule_generation.model import MoleculeGenerator
from models.molecule_generation.sampler import sample_molecules

__all__ = ["generate", "main", "write_sdf"]


def _check_temperature(value: float, name: str) -> float:
    if not (isinstance(value, (int, float)) and 0 < value < float("inf")):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def generate(model: MoleculeGenerator, n: int, *, temperature: float = 1.0, focus_temperature: float = 1.0,
             seed: int = 0, batch_size: int = 128, max_atoms: int = 35, n_radii: int | None = None,
             n_beta: int | None = None, n_alpha: int | None = None, refine: int = 1, first: int = 0,
             show_progress: bool | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` molecules ``(atomic numbers (a,), positions (a, 3) Å)``: molecules ``first ..
    first + n - 1`` of ``seed``'s sequence, each the same whatever the batching.

    >>> from models.molecule_generation.model import GeneratorConfig
    >>> from models.molecule_generation.grid import GridConfig
    >>> model = MoleculeGenerator(GeneratorConfig(channels=4, grid=GridConfig(n_radii=8, n_basis=4)))
    >>> mols = generate(model, 2, max_atoms=4, n_radii=8, n_beta=8, n_alpha=16, show_progress=False)
    >>> [bool(len(z) <= 4 and z[0] > 1) for z, x in mols]
    [True, True]
    """
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"the number of molecules must be a positive integer, got {n!r}")
    temperature = _check_temperature(temperature, "temperature")
    focus_temperature = _check_temperature(focus_temperature, "focus temperature")
    dtype = model.grid.radii.dtype
    c = model.config.grid
    grid_config = dataclasses.replace(c, n_radii=n_radii or c.n_radii, n_beta=n_beta or c.n_beta,
                                      n_alpha=n_alpha or c.n_alpha)
    grid = model.grid if grid_config == c else PositionGrid(grid_config, dtype=dtype)
    model.eval()
    with progress(total=n, desc="molecules", unit="mol", disable=None if show_progress is None
                  else not show_progress) as bar:
        mols = sample_molecules(model, grid, n, seed=seed, batch_size=batch_size, max_atoms=max_atoms,
                                temperature=temperature, focus_temperature=focus_temperature,
                                refine=refine, first=first, on_done=bar.update)
    return [(np.array([ELEMENTS[z] for z in spec.tolist()]), pos.double().numpy()) for spec, pos in mols]


def write_sdf(path: str | Path, molecules: list[tuple[np.ndarray, np.ndarray]], first: int = 0) -> int:
    """Write ``molecules`` (named ``sample_<first + k>``) to an SDF file atomically; returns how many
    passed the validity check."""
    from rdkit import Chem

    from models.molecule_generation.metrics import _rdkit_molecule, bonded_molecule

    valid = 0
    with atomic_path(path) as tmp:
        writer = Chem.SDWriter(str(tmp))
        for k, (numbers, xyz) in enumerate(molecules):
            mol = bonded_molecule(numbers, xyz)
            ok = mol is not None
            valid += ok
            mol = mol if ok else _rdkit_molecule(numbers, xyz)
            mol.SetProp("_Name", f"sample_{first + k}")
            mol.SetIntProp("valid", int(ok))
            writer.write(mol)
        writer.close()
    return valid


def read_sdf(path: str | Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(atomic numbers, positions)`` of every record of an SDF written by :func:`write_sdf`."""
    from rdkit import Chem

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    out = []
    for k, mol in enumerate(Chem.SDMolSupplier(str(path), sanitize=False, removeHs=False)):
        if mol is None:
            raise ValueError(f"{path}: record {k} is not a readable molecule")
        out.append((np.array([a.GetAtomicNum() for a in mol.GetAtoms()]), mol.GetConformer().GetPositions()))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m models.molecule_generation.generate",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="run directory (best.pt) or a snapshot .pt of one")
    parser.add_argument("--n", type=positive_int, required=True, help="number of molecules")
    parser.add_argument("--out", type=Path, required=True, help="SDF file to write")
    parser.add_argument("--temperature", type=positive_float, default=1.0, help="position temperature > 0")
    parser.add_argument("--focus-temperature", type=positive_float, default=1.0,
                        help="focus / stop / element temperature > 0")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=positive_int, default=128)
    parser.add_argument("--max-atoms", type=positive_int, default=35)
    parser.add_argument("--threads", type=positive_int, default=1)
    parser.add_argument("--first", type=int, default=0,
                        help="index of the first molecule in the seed's sequence (split a run in parts)")
    parser.add_argument("--refine", type=positive_int, default=1,
                        help="sub-radii per radial cell: redraw the radius inside the chosen cell (1: off)")
    for name in ("n-radii", "n-beta", "n-alpha"):
        parser.add_argument(f"--{name}", type=positive_int, default=None,
                            help="sampling grid (default: the training grid)")
    args = parser.parse_args(argv)
    from models.molecule_generation.train import load_generator

    torch.set_num_threads(args.threads)
    cpu0 = time.process_time()
    model = load_generator(args.run, dtype=torch.float32)
    mols = generate(model, args.n, temperature=args.temperature, focus_temperature=args.focus_temperature,
                    seed=args.seed, batch_size=args.batch_size, max_atoms=args.max_atoms,
                    n_radii=args.n_radii, n_beta=args.n_beta, n_alpha=args.n_alpha, refine=args.refine,
                    first=args.first)
    valid = write_sdf(args.out, mols, args.first)
    write_json_atomic(args.out.with_suffix(".json"), {
        "run": str(args.run), "n": args.n, "valid": valid, "cpu_seconds": time.process_time() - cpu0,
        "temperature": args.temperature, "focus_temperature": args.focus_temperature, "seed": args.seed,
        "refine": args.refine, "first": args.first, "batch_size": args.batch_size,
        "max_atoms": args.max_atoms})
    print(f"wrote {len(mols)} molecules to {args.out} ({valid} pass the validity check)")


if __name__ == "__main__":
    run_cli(main)
