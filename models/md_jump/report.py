r"""Figures and the results table of docs/md_jump.md from an evaluation directory.

    python -m models.md_jump.report runs/md_jump_eval --docs docs

Writes ``md_jump_tica.png`` (free-energy-like ``-ln p`` maps of TIC1/TIC2: reference MD vs each
model, seed 0, per Δ, on three times the reference's range; samples outside are not drawn),
``md_jump_traj.png`` (Cα RMSD to the folded structure and ``R_g`` against time: the reference
trajectory and three rollouts per model), ``md_jump_history.png`` (learning curves) and
prints the markdown table (means ± spread over seeds; bootstrap errors for a single seed).
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

from models.common.cli import run_cli
from models.common.io import read_history
from models.common.plotting import plot_learning_curves, pyplot, save_figure

__all__ = ["main", "table"]


def _group(rows: list[dict]) -> dict[tuple[str, float], list[dict]]:
    groups: dict[tuple[str, float], list[dict]] = defaultdict(list)
    for row in rows:
        name = re.sub(r"_s\d+$", "", row["model"])
        groups[(name, row["lag_ps"])].append(row)
    return groups


def _cell(rows: list[dict], key: str, digits: int = 3) -> str:
    values = [r[key] for r in rows if r.get(key) is not None]
    if not values:
        return "–"
    if len(values) == 1:
        se = rows[0].get(f"{key}_se")
        return f"{values[0]:.{digits}f}" + (f" ± {se:.{digits}f}" if se else "")
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"


def table(report: dict) -> str:
    """The markdown results table of ``eval.json``."""
    head = ("| model | Δ (ps) | seeds | JS RMSD | JS R_g | JS TIC1 | folded fraction | folded ACF (100 ps) "
            "| Cα–Cα (i, i+1) Å | speed-up vs OpenMM, wall (batched / one traj.) "
            "| speed-up, CPU time (batched) | test loss as given / rotated |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|\n")
    lines = []
    for (name, lag), rows in _group(report["rows"]).items():
        speed, cpu, rot = "1", "1", "–"
        if "speedup_batched" in rows[0]:
            cpu = f"{np.mean([r['speedup_batched_cpu'] for r in rows]):.3g}"
            speed = (f"{np.mean([r['speedup_batched'] for r in rows]):.3g} / "
                     f"{np.mean([r['speedup_single'] for r in rows]):.3g}")
            rot = (f"{np.mean([r['rotation']['loss'] for r in rows]):.3f} / "
                   f"{np.mean([r['rotation']['loss_rotated_mean'] for r in rows]):.3f}")
        lines.append(f"| {name} | {lag:g} | {len(rows)} | {_cell(rows, 'js_rmsd')} | "
                     f"{_cell(rows, 'js_rg')} | "
                     f"{_cell(rows, 'js_tic1')} | {_cell(rows, 'folded_fraction', 2)} | "
                     f"{_cell(rows, 'folded_acf', 2)} | {_cell(rows, 'bond_mean', 2)} | "
                     f"{speed} | {cpu} | {rot} |")
    ref = report["rows"][0]
    foot = (f"\nReference (held-out MD, {report['reference']}): folded fraction "
            f"{ref['ref_folded_fraction']:.2f}, folded ACF {ref['ref_folded_acf']:.2f}, Cα–Cα "
            f"{ref['ref_bond_mean']:.2f} ± {ref['ref_bond_sd']:.2f} Å; projection: "
            f"{report['projection']}; OpenMM {report['openmm']['ns_per_day']:.0f} ns/day on one thread "
            f"(wall; {report['openmm']['ns_per_cpu_second'] * 86400:.0f} ns per CPU-day).\n")
    return head + "\n".join(lines) + "\n" + foot


def _tica_maps(ev: Path, report: dict, out: Path, models: list[str]) -> Path:
    plt = pyplot()
    ref = np.load(ev / "reference.npz")
    lags = sorted({r["lag_ps"] for r in report["rows"] if "kind" in r})
    fig, axes = plt.subplots(len(lags), 1 + len(models), figsize=(3.2 * (1 + len(models)), 3.0 * len(lags)),
                             dpi=110, squeeze=False)
    rollouts = {(m, lag): np.load(ev / f"rollout_{m}_{lag:g}ps.npz") for m in models for lag in lags}
    bins = []
    for v in (ref["tic1"], ref["tic2"]):  # the reference's range, widened by its width on both sides
        lo, hi = np.percentile(v, [0.5, 99.5])
        bins.append(np.linspace(lo - (hi - lo), hi + (hi - lo), 45))
    for i, lag in enumerate(lags):
        panels = [("reference MD", ref["tic1"][1:], ref["tic2"][1:])] + [
            (f"{m} Δ={lag:g} ps", rollouts[(m, lag)]["tic1"][:, 1:].ravel(),
             rollouts[(m, lag)]["tic2"][:, 1:].ravel())
            for m in models]
        for ax, (title, x, y) in zip(axes[i], panels, strict=True):
            h, xe, ye = np.histogram2d(x, y, bins=bins, density=True)
            with np.errstate(divide="ignore"):
                f = -np.log(h.T)
            f -= np.nanmin(f[np.isfinite(f)])
            mesh = ax.pcolormesh(xe, ye, np.where(np.isfinite(f), f, np.nan), cmap="viridis", vmax=6)
            ax.set_title(title, fontsize=8)
            ax.set_xlabel("TIC1")
            ax.set_ylabel("TIC2")
        fig.colorbar(mesh, ax=axes[i, -1], label="-ln p (kT)")
    return save_figure(fig, out)


def _trajectories(ev: Path, report: dict, out: Path, models: list[str]) -> Path:
    plt = pyplot()
    ref = np.load(ev / "reference.npz")
    fig, axes = plt.subplots(2, 1, figsize=(8, 5.2), dpi=110, sharex=True)
    for ax, key, label in zip(axes, ("rmsd", "rg"), ("Cα RMSD to folded (Å)", "Cα R_g (Å)"), strict=True):
        ax.plot(ref["time_ps"], ref[key], color="black", lw=0.8, label="reference MD (held out)")
        for k, row in enumerate(r for r in report["rows"] if r["model"] in models):
            ro = np.load(ev / f"rollout_{row['model']}_{row['lag_ps']:g}ps.npz")
            color = f"C{k}"
            for j in range(3):
                marker = "." if row["lag_ps"] >= 100 else None
                ax.plot(ro["time_ps"], ro[key][j], color=color, lw=0.8, marker=marker,
                        alpha=0.8, label=f"{row['model']} Δ={row['lag_ps']:g} ps" if j == 0 else None)
        ax.set_ylabel(label)
    axes[0].axhline(report["folded_rmsd"], color="grey", ls=":", lw=0.8)
    axes[1].set_xlabel("time (ps)")
    axes[0].legend(fontsize=6, ncol=2)
    return save_figure(fig, out)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m models.md_jump.report", description=__doc__.split("\n")[0])
    p.add_argument("eval", type=Path, help="output directory of models.md_jump.evaluate")
    p.add_argument("--docs", type=Path, default=Path("docs"))
    p.add_argument("--plot", nargs="+", default=None, help="run names in the figures (default: all *_s0)")
    args = p.parse_args(argv)
    report = json.loads((args.eval / "eval.json").read_text())
    models = args.plot or sorted({r["model"] for r in report["rows"]
                                  if "kind" in r and r["model"].endswith("_s0")})
    _tica_maps(args.eval, report, args.docs / "md_jump_tica.png", models)
    _trajectories(args.eval, report, args.docs / "md_jump_traj.png", models)
    runs = sorted({r["model"] for r in report["rows"] if "kind" in r})
    histories = {}
    for name in runs:
        run = args.eval.parent / name
        if (run / "history.jsonl").is_file():
            histories[name] = read_history(run)
    if histories:
        plot_learning_curves(histories, ["train_loss", "val_loss"], args.docs / "md_jump_history.png")
    print(table(report))
    return 0


if __name__ == "__main__":
    run_cli(main)
