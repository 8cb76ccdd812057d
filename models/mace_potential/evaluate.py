r"""Test-set errors of a potential (ours or mace-torch) through its ASE calculator.

Per set: energy MAE/RMSE (meV, total energy of the structure, and meV/atom) and force MAE/RMSE over
all components (meV/Å), the seconds per structure, and the predictions for parity plots.  Runs in
either virtual environment: ``--kind lie`` loads :class:`LieMACECalculator`, ``--kind mace`` the
mace-torch ``MACECalculator`` (its own venv, see :mod:`models.mace_potential.peer`).

    python -m models.mace_potential.evaluate --kind lie --model runs/mace_aspirin/model.pt \
        --sets aspirin_test --out runs/mace_aspirin/eval.json

A set written ``NAME:valid`` means the validation frames of the training set ``NAME`` (the split of
:func:`~models.mace_potential.dataset.split_train_valid` both trainers use); model choices are made
on these, never on test sets.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from models.common.cli import run_cli
from models.common.io import atomic_path, write_json_atomic
from models.mace_potential.data import DEFAULT_DATA_DIR, load_set

__all__ = ["errors", "frames_of", "make_calculator", "predict"]


def make_calculator(kind: str, model: str | Path, dtype: str = "float64"):
    """An ASE calculator: ``kind="lie"`` (this package) or ``"mace"`` (mace-torch)."""
    if not Path(model).is_file():
        raise FileNotFoundError(f"model file {model} not found")
    if kind == "lie":
        from models.mace_potential.calculator import LieMACECalculator

        return LieMACECalculator(model, dtype=dtype)
    if kind == "mace":
        from mace.calculators import MACECalculator

        return MACECalculator(model_paths=str(model), device="cpu", default_dtype=dtype)
    raise ValueError(f"kind must be 'lie' or 'mace', got {kind!r}")


def predict(calc, frames) -> tuple[np.ndarray, list[np.ndarray], float]:
    """Predicted energies ``(S,)``, forces (list of ``(n, 3)``) and the mean seconds per structure."""
    energies, forces = [], []
    start = time.perf_counter()
    for atoms in frames:
        atoms = atoms.copy()
        atoms.calc = calc
        energies.append(atoms.get_potential_energy())
        forces.append(np.array(atoms.get_forces()))
    return np.array(energies), forces, (time.perf_counter() - start) / max(1, len(frames))


def errors(frames, energies: np.ndarray, forces: list[np.ndarray]) -> dict[str, float]:
    """MAE/RMSE of energies (meV, meV/atom) and forces (meV/Å) against ``REF_energy``/``REF_forces``.

    >>> import ase
    >>> a = ase.Atoms("H2", [[0, 0, 0], [0, 0, 1]]); a.info["REF_energy"] = 1.0
    >>> a.arrays["REF_forces"] = np.zeros((2, 3))
    >>> errors([a], np.array([1.002]), [np.full((2, 3), 0.001)])["e_mae_mev"]
    2.0
    """
    ref_e = np.array([a.info["REF_energy"] for a in frames])
    natoms = np.array([len(a) for a in frames])
    de = energies - ref_e
    df = np.concatenate([f - a.arrays["REF_forces"] for f, a in zip(forces, frames, strict=True)])
    return {
        "e_mae_mev": round(1e3 * float(np.abs(de).mean()), 4),
        "e_rmse_mev": round(1e3 * float(np.sqrt((de**2).mean())), 4),
        "e_mae_mev_atom": round(1e3 * float(np.abs(de / natoms).mean()), 4),
        "f_mae_mev_A": round(1e3 * float(np.abs(df).mean()), 4),
        "f_rmse_mev_A": round(1e3 * float(np.sqrt((df**2).mean())), 4),
        "frames": len(frames),
    }


def frames_of(data: Path, name: str, valid_fraction: float = 0.05, seed: int = 0) -> list:
    """The frames of set ``name``, or for ``"<train set>:valid"`` its validation frames."""
    base, _, part = name.partition(":")
    if part not in ("", "valid"):
        raise ValueError(f"set {name!r}: the only suffix is ':valid' (validation frames of a training set)")
    frames = load_set(data, base)
    if not part:
        return frames
    from models.mace_potential.dataset import split_train_valid

    return [frames[i] for i in split_train_valid(len(frames), valid_fraction, seed)[1]]


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m models.mace_potential.evaluate",
                                description=__doc__.split("\n")[0])
    p.add_argument("--kind", choices=["lie", "mace"], default="lie")
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    p.add_argument("--sets", nargs="+", required=True, help="test sets, or TRAIN_SET:valid")
    p.add_argument("--out", type=Path, required=True, help="JSON file of the errors")
    p.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    args = p.parse_args(argv)
    calc = make_calculator(args.kind, args.model, args.dtype)
    results = {}
    for name in args.sets:
        frames = frames_of(args.data, name)
        energies, forces, seconds = predict(calc, frames)
        results[name] = {**errors(frames, energies, forces), "seconds_per_structure": round(seconds, 5)}
        ref = np.concatenate([a.arrays["REF_forces"] for a in frames])
        with atomic_path(args.out.with_name(f"{args.out.stem}_{name.replace(':', '_')}_parity.npz")) as tmp:
            np.savez_compressed(tmp, ref_forces=ref, pred_forces=np.concatenate(forces),
                                ref_energy=np.array([a.info["REF_energy"] for a in frames]),
                                pred_energy=energies,
                                natoms=np.array([len(a) for a in frames]))
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in results[name].items()), flush=True)
    write_json_atomic(args.out, {"kind": args.kind, "model": str(args.model), "dtype": args.dtype,
                                 "results": results})
    return 0


if __name__ == "__main__":
    run_cli(main)
