r"""``make qm9-data``: the QM9 molecules of ``qm9pack`` as one checked ``.npz`` with a seeded split.

::

    python -m models.molecule_generation.data --out data/qm9 [--seed 0 --n-train 100000 --n-valid 10000]

For every molecule: atomic numbers, positions (Å, float32), the covalent bond graph
(:func:`~models.molecule_generation.qm9.bond_graph`, which orders the generation steps) and the
canonical SMILES of its 3D geometry by the validity check of :mod:`~models.molecule_generation.metrics`
('' when that check fails: the ~5 % of real QM9 molecules that set the ceiling of the validity
metric).  Molecules whose bond graph is not connected are dropped (counted in the manifest).  The
split is a seeded permutation: ``n_train`` / ``n_valid`` / the rest as test (Symphony's and EDM's
sizes: 100k train).  ``qm9.npz`` (no pickles) and ``manifest.json`` (sha256 of the npz and of the
source CSVs, settings, seed, split sizes, package versions) are written atomically.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.common.cli import run_cli
from models.common.io import DataError, atomic_path, sha256_file, verify_manifest, write_manifest
from models.common.progress import progress
from models.molecule_generation.metrics import check_molecule
from models.molecule_generation.qm9 import bond_graph, is_connected, qm9pack_files, read_csv

__all__ = ["DATA_FILE", "Molecules", "build", "load", "main"]

DATA_FILE = "qm9.npz"
REGENERATE = "make qm9-data (python -m models.molecule_generation.data --out DIR)"


@dataclass
class Molecules:
    """Molecules stored flat: atoms of molecule ``k`` are ``atom_offsets[k]:atom_offsets[k+1]``, its bonds
    (local atom indices) ``bond_offsets[k]:bond_offsets[k+1]``; ``smiles[k]`` ('' = fails validity)."""

    numbers: np.ndarray
    positions: np.ndarray
    atom_offsets: np.ndarray
    bonds: np.ndarray
    bond_offsets: np.ndarray
    smiles: np.ndarray
    qm9_index: np.ndarray

    def __len__(self) -> int:
        return len(self.atom_offsets) - 1

    def molecule(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(numbers (n,), positions (n, 3) float64, bonds (b, 2))`` of molecule ``k``."""
        a, b = self.atom_offsets[k], self.atom_offsets[k + 1]
        c, d = self.bond_offsets[k], self.bond_offsets[k + 1]
        return self.numbers[a:b].astype(np.int64), self.positions[a:b].astype(np.float64), self.bonds[c:d]

    @classmethod
    def from_list(cls, items: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, str]]) -> Molecules:
        """From ``(qm9 index, numbers, positions, bonds, smiles)`` tuples.

        >>> m = Molecules.from_list([(1, np.array([1, 1]), np.zeros((2, 3)), np.array([[0, 1]]), "[HH]")])
        >>> len(m), m.molecule(0)[2].tolist()
        (1, [[0, 1]])
        """
        sizes = [len(it[1]) for it in items]
        nb = [len(it[3]) for it in items]
        return cls(
            numbers=np.concatenate([it[1] for it in items]).astype(np.int8),
            positions=np.concatenate([it[2] for it in items]).astype(np.float32),
            atom_offsets=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
            bonds=np.concatenate([np.asarray(it[3]).reshape(-1, 2) for it in items]).astype(np.int32),
            bond_offsets=np.concatenate([[0], np.cumsum(nb)]).astype(np.int64),
            smiles=np.array([it[4] for it in items], dtype=str),
            qm9_index=np.array([it[0] for it in items], dtype=np.int64))


def build(csv_paths: list[Path], out: Path, *, seed: int, n_train: int, n_valid: int,
          limit: int | None = None, packages: tuple[str, ...] = ()) -> dict:
    """Read the CSVs, bond graphs, SMILES, split; write ``qm9.npz`` + ``manifest.json``; return the split."""
    items, dropped = [], 0
    rows = (m for path in csv_paths for m in read_csv(path))
    for mol in progress(rows, total=limit or 130831, desc="QM9 molecules", unit="mol"):
        if limit is not None and len(items) + dropped >= limit:
            break
        bonds = bond_graph(mol.numbers, mol.positions)
        if not is_connected(len(mol.numbers), bonds):
            dropped += 1
            continue
        items.append((mol.index, mol.numbers, mol.positions, bonds, check_molecule(mol.numbers,
                                                                                   mol.positions).smiles))
    n = len(items)
    if n_train + n_valid >= n:
        raise DataError(f"the split needs n_train + n_valid < {n} molecules, got {n_train} + {n_valid}")
    order = np.random.default_rng(seed).permutation(n)
    split = {"train": order[:n_train], "valid": order[n_train:n_train + n_valid],
             "test": order[n_train + n_valid:]}
    data = Molecules.from_list(items)
    with atomic_path(out / DATA_FILE) as tmp:
        np.savez(tmp, **{k: getattr(data, k) for k in data.__dataclass_fields__},
                 **{f"split_{k}": np.sort(v) for k, v in split.items()})
    sizes = {k: int(len(v)) for k, v in split.items()}
    write_manifest(out, [DATA_FILE], settings={"n_train": n_train, "n_valid": n_valid, "limit": limit,
                                               "bond_scale": 1.15, "dropped_disconnected": dropped,
                                               "valid_smiles": int(sum(bool(it[4]) for it in items)),
                                               "sources": {p.name: sha256_file(p) for p in csv_paths}},
                   seeds={"split": seed}, split=sizes, packages=("qm9pack", "rdkit", "numpy", *packages))
    return sizes


def load(directory: str | Path) -> tuple[Molecules, dict[str, np.ndarray], dict]:
    """``(molecules, {"train"|"valid"|"test": indices}, manifest)`` of a directory made by :func:`build`,
    after checking its sha256 against the manifest (a clear :class:`DataError` says how to regenerate)."""
    directory = Path(directory)
    manifest = verify_manifest(directory, regenerate=REGENERATE)
    try:
        with np.load(directory / DATA_FILE, allow_pickle=False) as f:
            data = Molecules(**{k: f[k] for k in Molecules.__dataclass_fields__})
            split = {k: f[f"split_{k}"] for k in ("train", "valid", "test")}
    except (KeyError, ValueError, OSError) as err:
        raise DataError(f"{directory / DATA_FILE} is not a QM9 data file ({err}); regenerate with: "
                        f"{REGENERATE}") from None
    return data, split, manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m models.molecule_generation.data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--csv", type=Path, nargs="+", default=None,
                        help="QM9 CSV files in the qm9pack format (default: the installed qm9pack's, "
                        "verified)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-train", type=int, default=100_000)
    parser.add_argument("--n-valid", type=int, default=10_000)
    parser.add_argument("--limit", type=int, default=None, help="read only the first LIMIT molecules")
    args = parser.parse_args(argv)
    if args.n_train < 1 or args.n_valid < 0 or (args.limit is not None and args.limit < 2):
        raise DataError("need --n-train >= 1, --n-valid >= 0 and --limit >= 2")
    paths = args.csv if args.csv is not None else qm9pack_files()
    sizes = build(paths, args.out, seed=args.seed, n_train=args.n_train, n_valid=args.n_valid,
                  limit=args.limit)
    print(f"wrote {args.out / DATA_FILE}: {sizes}")


if __name__ == "__main__":
    run_cli(main)
