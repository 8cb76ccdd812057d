r"""Figures of docs/hamiltonian.md: predicted vs reference Fock matrix (and difference) of one test frame,
and the learning curves of the runs.

``python -m models.hamiltonian.report matrices runs/ham_water_eq --out docs/hamiltonian_water.png``
``python -m models.hamiltonian.report curves runs/ham_water_eq runs/ham_water_mlp --out docs/x.png``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from models.common.cli import run_cli
from models.common.io import read_history
from models.common.plotting import pyplot, save_figure
from models.hamiltonian.data import load_molecule
from models.hamiltonian.dataset import MoleculeData, split_frames
from models.hamiltonian.train import load_run

__all__ = ["plot_curves", "plot_matrices"]


def plot_matrices(runs: list[Path], out: Path, frame: int = 0) -> Path:
    """Reference ``F`` (Ha), then for each run its prediction error ``F_pred - F_ref`` (µHa), both on
    symmetric-log colour scales, for test frame ``frame``."""
    models = [load_run(run) for run in runs]
    identity = models[0][1]["identity"]
    raw = load_molecule(identity["data"], identity["molecule"])
    test = split_frames(MoleculeData.from_arrays(raw), raw["split"])["test"]
    ref = test.fock[frame]
    plt = pyplot()
    fig, axes = plt.subplots(1, 1 + len(models), figsize=(4.2 * (1 + len(models)), 3.8))
    from matplotlib.colors import SymLogNorm

    lim = np.abs(ref).max()
    im = axes[0].imshow(ref, cmap="RdBu_r", norm=SymLogNorm(linthresh=0.01, vmin=-lim, vmax=lim))
    axes[0].set_title(f"reference F ({identity['level']['method']}/{identity['level']['basis']}), Ha")
    fig.colorbar(im, ax=axes[0], fraction=0.046)
    for ax, (model, info) in zip(axes[1:], models, strict=True):
        with torch.no_grad():
            x = torch.tensor(test.positions[frame:frame + 1])
            pred = model(test.numbers.tolist(), x)[0].double().numpy()
        diff = (pred - ref) * 1e6
        lim = max(np.abs(diff).max(), 1.0)
        im = ax.imshow(diff, cmap="RdBu_r", norm=SymLogNorm(linthresh=10.0, vmin=-lim, vmax=lim))
        ax.set_title(f"{info['identity']['model']}: F_pred - F_ref (µHa)\nMAE {np.abs(diff).mean():.0f} µHa")
        fig.colorbar(im, ax=ax, fraction=0.046)
    for ax in axes:
        ax.set_xlabel("AO (lie_nn basis)")
    fig.suptitle(f"{identity['molecule']}, test frame {frame}")
    fig.tight_layout()
    return save_figure(fig, out)


def plot_curves(runs: list[Path], out: Path) -> Path:
    """Validation Hamiltonian MAE (µHa) against the cumulative training wall time of each run."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for run in runs:
        hist = read_history(run)
        t = np.cumsum([h["train_seconds"] for h in hist])
        label = run.name
        axes[0].plot(t, [h["val_fock_mae_uHa"] for h in hist], label=label)
        axes[1].plot(t, [h["val_eps_mae_meV"] for h in hist], label=label)
    axes[0].set_ylabel("val Hamiltonian MAE (µHa)")
    axes[1].set_ylabel("val occupied ε MAE (meV)")
    for ax in axes:
        ax.set_yscale("log")
        ax.set_xlabel("training wall time (s)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, out)


PHISNET_UHA = {"water": 17.59, "ethanol": 12.15, "malondialdehyde": 12.32, "uracil": 10.73}


def results_table(files: list[Path]) -> str:
    """The markdown results table of docs/hamiltonian.md from ``evaluate`` JSON files."""
    import json

    rows = ["| molecule | model | params | test F MAE (µHa) | rotated test F MAE (µHa) "
            "| F RMSE / rotated (µHa) | ε_occ MAE / rotated (meV) | epochs | train CPU (s) | wall (s) "
            "| PhiSNet F MAE (µHa) |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for path in files:
        for r in json.loads(Path(path).read_text()):
            t, rot = r["test"], r["test_rotated"]
            cpu = r.get("cpu_time", {}).get("process_cpu_s")
            rows.append(f"| {r['molecule']} | {r['model']} (`{Path(r['run']).name}`) | {r['parameters']:,} | "
                        f"{t['fock_mae_uHa']:.0f} | {rot['fock_mae_uHa']:.0f} | "
                        f"{t['fock_rmse_uHa']:.0f} / {rot['fock_rmse_uHa']:.0f} | "
                        f"{t['eps_occ_mae_meV']:.0f} / {rot['eps_occ_mae_meV']:.0f} | {r['epochs']} | "
                        f"{'n/a' if cpu is None else f'{cpu:.0f}'} | {r['train_wall_s']:.0f} | "
                        f"{PHISNET_UHA.get(r['molecule'], float('nan'))} |")
    return "\n".join(rows)


def _mean_range(values: list[float]) -> str:
    text = f"{np.mean(values):.0f}"
    return text if len(values) == 1 else f"{text} ({min(values):.0f}–{max(values):.0f})"


def summary_table(files: list[Path]) -> str:
    """One row per molecule: mean (min–max over seeds) of both models, as generated and rotated.

    >>> summary_table([]).splitlines()[0][:12]
    '| molecule |'
    """
    import json

    runs = [r for path in files for r in json.loads(Path(path).read_text())]
    rows = ["| molecule | train frames | CPU-min / model | seeds | F MAE ours (µHa) | F MAE peer (µHa) "
            "| rotated F: ours / peer (µHa) | ε_occ ours (meV) | ε_occ peer (meV) "
            "| rotated ε: ours / peer (meV) | PhiSNet F MAE (µHa) |", "|---" * 11 + "|"]
    for molecule in dict.fromkeys(r["molecule"] for r in runs):
        by = {k: [r for r in runs if r["molecule"] == molecule and r["model"] == k]
              for k in ("equivariant", "mlp")}
        if not by["equivariant"] or not by["mlp"]:
            continue

        def get(model: str, part: str, metric: str, by=by) -> list[float]:
            return [r[part][metric] for r in by[model]]

        first = by["equivariant"][0]
        cells = [molecule, first.get("train_frames", "n/a"), first.get("cpu_budget_min", "n/a"),
                 f"{len(by['equivariant'])} / {len(by['mlp'])}"]
        for metric in ("fock_mae_uHa", "eps_occ_mae_meV"):
            cells += [_mean_range(get("equivariant", "test", metric)),
                      _mean_range(get("mlp", "test", metric)),
                      f"{np.mean(get('equivariant', 'test_rotated', metric)):.0f} / "
                      f"{np.mean(get('mlp', 'test_rotated', metric)):.0f}"]
        rows.append("| " + " | ".join(str(c) for c in [*cells, PHISNET_UHA.get(molecule, "n/a")]) + " |")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.hamiltonian.report",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=("matrices", "curves", "table", "summary"))
    parser.add_argument("runs", nargs="+", type=Path, help="run directories (table: evaluate JSON files)")
    parser.add_argument("--out", type=Path, default=None, help="figure file (not for table)")
    parser.add_argument("--frame", type=int, default=0)
    args = parser.parse_args(argv)
    if args.kind in ("table", "summary"):
        print((results_table if args.kind == "table" else summary_table)(args.runs))
        return 0
    if args.out is None:
        raise ValueError("--out is required for figures")
    path = plot_matrices(args.runs, args.out, args.frame) if args.kind == "matrices" else plot_curves(
        args.runs, args.out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    run_cli(main)
