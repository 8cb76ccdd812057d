r"""Symphony's metrics of generated SDF files against the QM9 split (``make qm9-generate``).

::

    python -m models.molecule_generation.evaluate --data data/qm9 --sdf runs/qm9gen/samples.sdf \
        [more.sdf ...] --out runs/qm9gen/metrics.json [--reference 5000]

For each SDF: validity, uniqueness, novelty (vs the canonical SMILES of the training geometries) and
the Jensen–Shannon distances of atom types and bond lengths vs ``--reference`` test molecules
(:mod:`~models.molecule_generation.metrics`).  The row ``qm9_test`` applies the same checks to
another ``--reference`` real test geometries: the validity ceiling and the distances' noise floor at
that sample size.  Results go to one JSON file (written atomically).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from models.common.cli import run_cli
from models.common.io import write_json_atomic
from models.common.progress import progress
from models.molecule_generation.data import Molecules, load
from models.molecule_generation.generate import read_sdf
from models.molecule_generation.metrics import MoleculeCheck, check_molecule, distribution_metrics, summarize

__all__ = ["evaluate_structures", "main"]


def _checks(structures, desc: str) -> list[MoleculeCheck]:
    items = progress(structures, total=len(structures), desc=desc, unit="mol")
    return [check_molecule(z, x) for z, x in items]


def evaluate_structures(structures: list[tuple[np.ndarray, np.ndarray]], reference: list[MoleculeCheck],
                        train_smiles: set[str], desc: str = "checking") -> dict[str, float]:
    """The summary and distribution metrics of ``structures`` (atomic numbers, positions)."""
    checks = _checks(structures, desc)
    return {**summarize(checks, train_smiles), **distribution_metrics(checks, reference)}


def _real(molecules: Molecules, indices: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    return [molecules.molecule(int(k))[:2] for k in indices]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m models.molecule_generation.evaluate",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--sdf", type=Path, nargs="+", required=True)
    parser.add_argument("--out", type=Path, required=True, help="JSON file of the metrics")
    parser.add_argument("--reference", type=int, default=5000, help="test molecules per reference sample")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.reference < 2:
        raise ValueError(f"--reference must be >= 2, got {args.reference}")
    molecules, split, _ = load(args.data)
    test = np.random.default_rng(args.seed).permutation(split["test"])
    if len(test) < 2 * args.reference:
        raise ValueError(f"--reference {args.reference}: the test split has only {len(test)} molecules")
    train_smiles = {str(s) for s in molecules.smiles[split["train"]] if s}
    reference = _checks(_real(molecules, test[:args.reference]), "reference")
    results = {"qm9_test": evaluate_structures(_real(molecules, test[args.reference:2 * args.reference]),
                                               reference, train_smiles, "QM9 test")}
    for sdf in args.sdf:
        results[str(sdf)] = evaluate_structures(read_sdf(sdf), reference, train_smiles, sdf.name)
    write_json_atomic(args.out, results)
    for name, r in results.items():
        print(f"{name}: n {r['n']:.0f}, validity {r['validity']:.3f} (strict {r['strict']:.3f}), "
              f"uniqueness {r['uniqueness']:.3f}, "
              f"novelty {r['novelty']:.3f}, atom-type JS {r['atom_type_js']:.4f}, "
              f"bond-length JS {r['bond_length_js']:.4f}")


if __name__ == "__main__":
    run_cli(main)
