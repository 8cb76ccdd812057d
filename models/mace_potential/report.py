r"""Tables and plots of docs/mace_potential.md from the run directories.

Reads ``runs/mace_<m>/`` (ours: ``history.jsonl``, ``eval.json``, ``nve.json``) and
``runs/peer_<m>/`` (mace-torch: ``train.log``, ``eval.json``, ``nve.json``, ``peer.json``), writes the
parity, learning-curve and MD plots under ``docs/`` and prints the markdown tables.

    python -m models.mace_potential.report --runs runs --docs docs
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
from pathlib import Path

import numpy as np

from models.common.cli import run_cli
from models.common.io import atomic_path

__all__ = ["peer_history"]

NAMES = {"mace": "lie_nn MACE (ours)", "peer": "mace-torch 0.3.16"}


def peer_history(log: Path) -> list[dict]:
    """Validation errors per epoch from a mace-torch log: seconds since training started, E and F MAE."""
    stamp = r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)"
    start, out = None, []
    for line in log.read_text(errors="replace").splitlines():
        m = re.match(stamp, line)
        if not m:
            continue
        t = datetime.datetime.fromisoformat(m.group(1))
        if "Started training" in line:
            start = t
        e = re.search(r"Epoch (\d+):.*MAE_E_per_atom=\s*([\d.]+) meV, MAE_F=\s*([\d.]+) meV", line)
        if e and start is not None:
            out.append({"epoch": int(e.group(1)) + 1, "seconds": (t - start).total_seconds(),
                        "val_e_mae_mev_atom": float(e.group(2)), "val_f_mae_mev_A": float(e.group(3))})
    return out


def ours_history(run: Path) -> list[dict]:
    rows, total = [], 0.0
    for line in (run / "history.jsonl").read_text().splitlines():
        h = json.loads(line)
        total += h["train_seconds"]
        rows.append({"epoch": h["epoch"], "seconds": total, "val_e_mae_mev_atom": h["val_e_mae_mev_atom"],
                     "val_f_mae_mev_A": h["val_f_mae_mev_A"]})
    return rows


def _load(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _set_order(name: str) -> tuple[str, int]:
    """``3bpa_test_300K`` < ``3bpa_test_600K`` < ``3bpa_test_1200K``."""
    match = re.search(r"(\d+)K$", name)
    return (name.split("_")[0], int(match.group(1)) if match else 0)


def error_table(runs: Path, molecules: list[str]) -> str:
    lines = ["| test set | model | E MAE (meV) | E RMSE (meV) | F MAE (meV/Å) | F RMSE (meV/Å) |",
             "|---|---|---|---|---|---|"]
    for m in molecules:
        evals = {k: _load(runs / f"{k}_{m}" / "eval.json") for k in NAMES}
        sets = sorted({s for e in evals.values() if e for s in e["results"]}, key=_set_order)
        for s in sets:
            for k, e in evals.items():
                if e and s in e["results"]:
                    r = e["results"][s]
                    lines.append(f"| {s} | {NAMES[k]} | {r['e_mae_mev']:.1f} | {r['e_rmse_mev']:.1f} | "
                                 f"{r['f_mae_mev_A']:.1f} | {r['f_rmse_mev_A']:.1f} |")
    return "\n".join(lines)


def cost_table(runs: Path, molecules: list[str]) -> str:
    lines = ["| train set | model | CPU budget (s) | epochs finished | wall-clock (s) | peak RSS (MiB) |",
             "|---|---|---|---|---|---|"]
    for m in molecules:
        for k, info_name in (("mace", "budget.json"), ("peer", "peer.json")):
            info = _load(runs / f"{k}_{m}" / info_name)
            if not info:
                continue
            if k == "mace":
                epochs = len(ours_history(runs / f"mace_{m}"))
            else:
                epochs = len(peer_history(runs / f"peer_{m}" / "train.log"))
            lines.append(f"| {m} | {NAMES[k]} | {info['cpu_seconds_training']:.0f} | {epochs} | "
                         f"{info['wall_seconds']:.0f} | {info['peak_rss_MiB']:.0f} |")
    return "\n".join(lines)


def md_table(runs: Path, molecules: list[str]) -> str:
    lines = ["| molecule | model | simulated (ps) | drift (meV/atom/ps) | max bond (Å) | intact | "
             "MD steps/s (wall, loaded machine) |",
             "|---|---|---|---|---|---|---|"]
    for m in molecules:
        for k in NAMES:
            r = _load(runs / f"{k}_{m}" / "nve.json")
            if r:
                lines.append(f"| {m} | {NAMES[k]} | {r['steps'] * r['timestep_fs'] / 1000:.1f} | "
                             f"{1e3 * r['drift_eV_per_atom_ps']:.3f} | {r['max_bond_A']:.2f} | "
                             f"{'yes' if r['intact'] else 'no'} | {r['steps_per_second']:.1f} |")
    return "\n".join(lines)


def plots(runs: Path, docs: Path, molecules: list[str]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    parity = [(k, f) for m in molecules for k in NAMES
              for f in sorted((runs / f"{k}_{m}").glob("eval_*_parity.npz"))]
    if parity:
        sets = sorted({f.name for _, f in parity}, key=lambda n: _set_order(n[5:-11]))
        fig, axes = plt.subplots(2, len(sets), figsize=(3.2 * len(sets), 6.4), squeeze=False)
        for j, name in enumerate(sets):
            for i, k in enumerate(NAMES):
                ax = axes[i, j]
                for kk, f in parity:
                    if kk == k and f.name == name:
                        d = np.load(f)
                        ref, pred = d["ref_forces"].ravel(), d["pred_forces"].ravel()
                        ax.scatter(ref, pred, s=1, alpha=0.3)
                        lim = np.abs(ref).max()
                        ax.plot([-lim, lim], [-lim, lim], "k--", lw=0.5)
                        mae = 1e3 * np.abs(ref - pred).mean()
                        ax.set_title(f"{NAMES[k].split(' (')[0]}\n{name[5:-11]}: {mae:.0f} meV/Å", fontsize=8)
                ax.set_xlabel("xTB force (eV/Å)", fontsize=8)
                ax.set_ylabel("predicted (eV/Å)", fontsize=8)
        fig.tight_layout()
        written.append(_save(fig, docs / "mace_potential_parity.png"))
    fig, axes = plt.subplots(1, len(molecules), figsize=(4 * len(molecules), 3.2), squeeze=False)
    for ax, m in zip(axes[0], molecules, strict=True):
        if (runs / f"mace_{m}" / "history.jsonl").is_file():
            h = ours_history(runs / f"mace_{m}")
            ax.plot([r["seconds"] / 60 for r in h], [r["val_f_mae_mev_A"] for r in h], "o-",
                    label=NAMES["mace"])
        if (runs / f"peer_{m}" / "train.log").is_file():
            h = peer_history(runs / f"peer_{m}" / "train.log")
            ax.plot([r["seconds"] / 60 for r in h], [r["val_f_mae_mev_A"] for r in h], "s-",
                    label=NAMES["peer"])
        ax.set_yscale("log")
        ax.set_xlabel("training wall-clock (min)")
        ax.set_ylabel("validation force MAE (meV/Å)")
        ax.set_title(m)
        ax.legend(fontsize=7)
    fig.tight_layout()
    written.append(_save(fig, docs / "mace_potential_learning.png"))
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    for k in NAMES:
        f = runs / f"{k}_aspirin" / "nve.npz"
        if f.is_file():
            d = np.load(f)
            n = 21
            etot = (d["epot"] + d["ekin"]) / n
            ax[0].plot(d["time_fs"] / 1000, 1e3 * (etot - etot[0]), label=NAMES[k], lw=0.8)
            ax[1].plot(d["time_fs"] / 1000, d["max_bond"], label=NAMES[k], lw=0.8)
    ax[0].set_xlabel("time (ps)")
    ax[0].set_ylabel("E_tot - E_tot(0) (meV/atom)")
    ax[1].set_xlabel("time (ps)")
    ax[1].set_ylabel("longest bond (Å)")
    ax[0].legend(fontsize=7)
    ax[0].set_title("aspirin NVE, 0.5 fs")
    fig.tight_layout()
    written.append(_save(fig, docs / "mace_potential_md.png"))
    return written


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m models.mace_potential.report",
                                description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=Path, default=Path("runs"))
    p.add_argument("--docs", type=Path, default=Path("docs"))
    p.add_argument("--molecules", nargs="+", default=["aspirin", "3bpa", "ethanol"])
    args = p.parse_args(argv)
    for path in plots(args.runs, args.docs, args.molecules):
        print(f"wrote {path}")
    print(error_table(args.runs, args.molecules), end="\n\n")
    print(cost_table(args.runs, args.molecules), end="\n\n")
    print(md_table(args.runs, args.molecules))
    bench = _load(args.runs / "bench_aspirin.json")
    if bench:
        print("\n" + json.dumps(bench, indent=1))
    return 0


if __name__ == "__main__":
    run_cli(main)
