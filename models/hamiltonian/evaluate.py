r"""Test-set metrics of trained runs: Hamiltonian MAE (µHa), occupied orbital-energy MAE (meV), and the
same on randomly rotated test geometries (positions rotated, references rotated by ``D(R)``).

``python -m models.hamiltonian.evaluate runs/ham_water_eq runs/ham_water_mlp --out docs/ham_water.json``
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

import lie_nn as lnn
from models.common.cli import run_cli
from models.common.io import read_history, write_json_atomic
from models.hamiltonian.data import load_molecule
from models.hamiltonian.dataset import MoleculeData, split_frames
from models.hamiltonian.eigen import HARTREE_TO_MEV, orbital_energies
from models.hamiltonian.model import HamiltonianConfig
from models.hamiltonian.peer import rotate_batch
from models.hamiltonian.train import load_run

__all__ = ["evaluate_run", "metrics"]


@torch.no_grad()
def metrics(model: torch.nn.Module, numbers, batch: dict, n_occ: int) -> dict[str, float]:
    """``fock_mae_uHa``, ``fock_rmse_uHa``, ``eps_occ_mae_meV`` and the prediction time per frame (ms).

    The RMSE (a Frobenius norm) and the orbital energies are unchanged by ``F → D F D^T``; the
    element-wise MAE is not (it depends on the orientation of the AO basis), so an exactly equivariant
    model has the same RMSE and orbital-energy error on rotated frames but a slightly different MAE."""
    start = time.perf_counter()
    pred = model(numbers, batch["positions"])
    seconds = time.perf_counter() - start
    eps = orbital_energies(pred.double(), batch["overlap"].double())[:, :n_occ]
    err = pred.double() - batch["fock"].double()
    return {"fock_mae_uHa": float(err.abs().mean()) * 1e6,
            "fock_rmse_uHa": float(err.square().mean().sqrt()) * 1e6,
            "eps_occ_mae_meV": float((eps - batch["eps_occ"].double()).abs().mean()) * HARTREE_TO_MEV,
            "ms_per_frame": 1e3 * seconds / len(batch["positions"])}


def evaluate_run(run: Path, *, seed: int = 0) -> dict:
    """Metrics of ``run`` on its molecule's test split, unrotated and rotated (one random ``R`` per frame)."""
    model, info = load_run(run)
    identity = info["identity"]
    raw = load_molecule(identity["data"], identity["molecule"])
    data = MoleculeData.from_arrays(raw)
    parts = split_frames(data, raw["split"])
    test = parts["test"]
    batch = test.columns(torch.float64)
    config = HamiltonianConfig.from_dict(identity["config"])
    ls = [ell for z in test.numbers for ell in config.shells[config.elements.index(int(z))]]
    rotations = lnn.random_rotation(np.random.default_rng(seed), len(test.positions))
    rotated = rotate_batch(batch, ls, rotations)
    numbers = test.numbers.tolist()
    history = read_history(run)
    cpu = run / "cpu_time.json"
    budget = json.loads(cpu.read_text()) if cpu.is_file() else {}
    return {"run": str(run), "model": identity["model"], "molecule": identity["molecule"],
            "level": identity["level"], "test_frames": len(test.positions), "seed": info["settings"]["seed"],
            "train_frames": len(parts["train"].positions),
            "cpu_budget_min": budget.get("cpu_budget_min"), "batch_size": info["settings"]["batch_size"],
            "eps_weight": identity["eps_weight"],
            "parameters": sum(p.numel() for p in model.parameters()),
            "epochs": len(history), "train_wall_s": float(sum(h.get("train_seconds", 0.0) for h in history)),
            "cpu_time": budget,
            "test": metrics(model, numbers, batch, test.n_occ),
            "test_rotated": metrics(model, numbers, rotated, test.n_occ)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.hamiltonian.evaluate",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="JSON file for the results")
    parser.add_argument("--seed", type=int, default=0, help="seed of the test rotations")
    args = parser.parse_args(argv)
    results = [evaluate_run(run, seed=args.seed) for run in args.runs]
    for r in results:
        t, rot = r["test"], r["test_rotated"]
        print(f"{r['molecule']:8s} {r['model']:12s} F MAE {t['fock_mae_uHa']:9.1f} µHa "
              f"(rotated {rot['fock_mae_uHa']:9.1f})  ε_occ MAE {t['eps_occ_mae_meV']:8.1f} "
              f"meV (rotated {rot['eps_occ_mae_meV']:8.1f})")
    write_json_atomic(args.out, results)
    return 0


if __name__ == "__main__":
    run_cli(main)
