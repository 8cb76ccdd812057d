r"""Test-set metrics of trained runs: heavy-atom and Cα RMSD (no superposition), residue-type accuracy,
on the test fragments as stored and under random rotations (one per fragment, seeded, about the
coordinate origin).  Errors are standard errors over the test fragments.

``aligned_ca_rmsd`` superposes the reconstruction on the input first (Kabsch); for an equivariant
model it equals the plain value up to the model's own rigid-motion error, which checks that no
alignment is needed.

    python -m models.protein_autoencoder.evaluate runs/protein_*_l? --data data/protein \
        --out runs/protein_eval.json
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch

from models.common.cli import run_cli
from models.common.io import write_json_atomic
from models.common.training import read_history
from models.protein_autoencoder.data import DEFAULT_DATA, load_split
from models.protein_autoencoder.geometry import CA, random_rotations, symmetric_squared_error
from models.protein_autoencoder.train import load_model, tensors

__all__ = ["evaluate_model", "kabsch_rmsd", "main"]


def kabsch_rmsd(a: np.ndarray, b: np.ndarray) -> float:
    """RMSD of point sets ``a, b (n, 3)`` after the optimal rotation and translation of ``a``.

    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(10, 3)); r = np.linalg.qr(np.ones((3, 3)) + np.eye(3))[0]
    >>> r = r * np.sign(np.linalg.det(r))
    >>> round(kabsch_rmsd(x @ r.T + 1.0, x), 10)
    0.0
    """
    a0, b0 = a - a.mean(0), b - b.mean(0)
    u, _, vt = np.linalg.svd(a0.T @ b0)
    d = np.sign(np.linalg.det(u @ vt))
    rot = u @ np.diag([1.0, 1.0, d]) @ vt
    return float(np.sqrt(((a0 @ rot - b0) ** 2).sum(-1).mean()))


def _mean_se(values: list[float]) -> dict[str, float]:
    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "se": float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else 0.0}


@torch.no_grad()
def evaluate_model(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> dict:
    """Metrics of ``model`` on the fragments of ``batch`` (pooled values and per-fragment mean ± SE)."""
    pred, logits = model(batch["types"], batch["coords"], batch["mask"])
    err = symmetric_squared_error(pred, batch["coords"], batch["mask"], batch["types"])
    atoms = batch["mask"].sum(-1).to(err.dtype)
    per_rmsd = (err.sum(-1) / atoms.sum(-1)).sqrt().tolist()
    ca = (pred[:, :, CA] - batch["coords"][:, :, CA]).square().sum(-1)
    per_ca = ca.mean(-1).sqrt().tolist()
    acc = (logits.argmax(-1) == batch["types"]).double()
    aligned = [
        kabsch_rmsd(p.double().numpy(), t.double().numpy())
        for p, t in zip(pred[:, :, CA], batch["coords"][:, :, CA], strict=True)
    ]
    return {
        "heavy_rmsd": math.sqrt(float(err.sum() / atoms.sum())),
        "ca_rmsd": math.sqrt(float(ca.mean())),
        "type_accuracy": float(acc.mean()),
        "heavy_rmsd_per_fragment": _mean_se(per_rmsd),
        "ca_rmsd_per_fragment": _mean_se(per_ca),
        "type_accuracy_per_fragment": _mean_se(acc.mean(-1).tolist()),
        "aligned_ca_rmsd_per_fragment": _mean_se(aligned),
        "fragments": len(per_rmsd),
    }


def rotated(batch: dict[str, torch.Tensor], seed: int) -> dict[str, torch.Tensor]:
    """The batch with every fragment rotated by its own random rotation about the origin."""
    r = random_rotations(
        len(batch["coords"]), generator=torch.Generator().manual_seed(seed), dtype=batch["coords"].dtype
    )
    return {**batch, "coords": torch.einsum("bij,blkj->blki", r, batch["coords"])}


def evaluate_run(run: Path, data: Path, seed: int = 1) -> dict:
    model, state = load_model(run / "model.pt")
    batch = tensors(load_split(data, "test"), next(model.parameters()).dtype)
    history = read_history(run)
    budget = json.loads((run / "run.json").read_text()) if (run / "run.json").is_file() else {}
    cpu = json.loads((run / "cpu.json").read_text()) if (run / "cpu.json").is_file() else {}
    return {
        "run": str(run),
        "kind": state["kind"],
        "levels": state["config"]["levels"],
        "factor": 2 ** state["config"]["levels"],
        "parameters": sum(p.numel() for p in model.parameters()),
        "epochs": len(history),
        "train_seconds": sum(h.get("train_seconds", 0.0) for h in history),
        "fit_cpu_seconds": cpu.get("fit_cpu_seconds"),
        "settings": budget.get("settings", {}),
        "test": evaluate_model(model, batch),
        "test_rotated": evaluate_model(model, rotated(batch, seed)),
    }


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="python -m models.protein_autoencoder.evaluate", description=__doc__.split("\n")[0]
    )
    p.add_argument("runs", type=Path, nargs="+", help="run directories with model.pt")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--seed", type=int, default=1, help="seed of the test rotations")
    p.add_argument("--out", type=Path, required=True, help="JSON file of the results")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    missing = [str(r) for r in args.runs if not (r / "model.pt").is_file()]
    if missing:
        raise FileNotFoundError(f"no model.pt in {', '.join(missing)} (train first: make protein-train)")
    results = [evaluate_run(r, args.data, args.seed) for r in args.runs]
    write_json_atomic(args.out, results)
    for r in results:
        t, q = r["test"], r["test_rotated"]
        print(
            f"{r['kind']:12s} x{r['factor']}: heavy {t['heavy_rmsd']:.2f} / rotated {q['heavy_rmsd']:.2f} Å, "
            f"CA {t['ca_rmsd']:.2f} / {q['ca_rmsd']:.2f} Å, "
            f"types {t['type_accuracy']:.3f} / {q['type_accuracy']:.3f}"
        )
    return 0


if __name__ == "__main__":
    run_cli(main)
