r"""NVE molecular dynamics with a trained potential: energy drift, bond lengths, steps per second.

Starts from a frame of a test set (its xTB-MD positions and momenta, so at the set's temperature),
integrates with velocity Verlet (``ase.md.verlet.VelocityVerlet``) and logs every ``--log-every``
steps the potential, kinetic and total energy and the longest covalent bond (topology from the
molecule's SMILES).  Reported: the drift of the total energy per atom and picosecond (slope of a
least-squares line through ``E_tot(t) / n``), the largest bond length seen (intact: < 2 Å) and MD
steps per second.  Works in either venv (``--kind lie`` or ``mace``).

    python -m models.mace_potential.md --kind lie --model runs/mace_aspirin/model.pt \
        --set aspirin_test --ps 10 --out runs/mace_aspirin/nve.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from models.common.cli import run_cli
from models.common.io import atomic_path, write_json_atomic
from models.mace_potential.data import DEFAULT_DATA_DIR, MOLECULES, SETS, _bonds, load_set
from models.mace_potential.evaluate import make_calculator

__all__ = ["drift_per_atom_ps", "run_nve"]


def drift_per_atom_ps(times_fs: np.ndarray, total_energy: np.ndarray, natoms: int) -> float:
    """Slope of the least-squares line through ``E_tot / n`` against time, in eV/atom/ps.

    >>> drift_per_atom_ps(np.array([0.0, 500.0, 1000.0]), np.array([1.0, 1.5, 2.0]), 2)
    0.5
    """
    slope_fs = np.polyfit(times_fs, total_energy / natoms, 1)[0]
    return float(slope_fs * 1000.0)


def run_nve(atoms, calc, bonds: np.ndarray, *, steps: int, timestep_fs: float, log_every: int) -> dict:
    """Velocity-Verlet NVE; returns the log arrays and the steps per second."""
    from ase import units
    from ase.md.verlet import VelocityVerlet

    atoms = atoms.copy()
    atoms.calc = calc
    dyn = VelocityVerlet(atoms, timestep=timestep_fs * units.fs)
    log = {"time_fs": [], "epot": [], "ekin": [], "max_bond": []}

    def record() -> None:
        d = np.linalg.norm(atoms.positions[bonds[:, 0]] - atoms.positions[bonds[:, 1]], axis=1)
        log["time_fs"].append(dyn.nsteps * timestep_fs)
        log["epot"].append(atoms.get_potential_energy())
        log["ekin"].append(atoms.get_kinetic_energy())
        log["max_bond"].append(float(d.max()))

    dyn.attach(record, interval=log_every)
    start = time.perf_counter()
    dyn.run(steps)
    seconds = time.perf_counter() - start
    out = {k: np.array(v) for k, v in log.items()}
    out["steps_per_second"] = steps / seconds
    return out


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m models.mace_potential.md",
                                description=__doc__.split("\n")[0])
    p.add_argument("--kind", choices=["lie", "mace"], default="lie")
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    p.add_argument("--set", default="aspirin_test", help="test set whose first frame starts the run")
    p.add_argument("--ps", type=float, default=10.0, help="simulated picoseconds")
    p.add_argument("--timestep-fs", type=float, default=0.5)
    p.add_argument("--log-every", type=int, default=20)
    p.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    p.add_argument("--out", type=Path, required=True, help="JSON summary (.npz log next to it)")
    args = p.parse_args(argv)
    spec = {s.name: s for s in SETS}.get(args.set)
    if spec is None:
        raise ValueError(f"unknown set {args.set!r}; choose one of {sorted(s.name for s in SETS)}")
    start = load_set(args.data, args.set)[0]
    calc = make_calculator(args.kind, args.model, args.dtype)
    steps = round(1000.0 * args.ps / args.timestep_fs)
    log = run_nve(start, calc, _bonds(MOLECULES[spec.molecule]), steps=steps,
                  timestep_fs=args.timestep_fs, log_every=args.log_every)
    etot = log["epot"] + log["ekin"]
    kelvin = 2.0 / (3.0 * len(start) * 8.617333262e-5) * log["ekin"]
    summary = {
        "kind": args.kind, "model": str(args.model), "set": args.set, "steps": steps,
        "timestep_fs": args.timestep_fs, "dtype": args.dtype,
        "drift_eV_per_atom_ps": drift_per_atom_ps(log["time_fs"], etot, len(start)),
        "etot_std_meV_per_atom": 1e3 * float(np.std(etot / len(start))),
        "max_bond_A": float(log["max_bond"].max()), "intact": bool(log["max_bond"].max() < 2.0),
        "mean_temperature_K": float(kelvin.mean()), "steps_per_second": round(log["steps_per_second"], 2),
    }
    with atomic_path(args.out.with_suffix(".npz")) as tmp:
        np.savez_compressed(tmp, **{k: v for k, v in log.items() if isinstance(v, np.ndarray)})
    write_json_atomic(args.out, summary)
    print(", ".join(f"{k} {v}" for k, v in summary.items()), flush=True)
    return 0


if __name__ == "__main__":
    run_cli(main)
