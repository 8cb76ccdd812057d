r"""Classifier metrics for top tagging: accuracy, ROC curve, AUC, background rejection; ROC plots.

Conventions (those of the top-tagging literature): signal = top (label 1), background = QCD (label 0);
``eps_S`` (signal efficiency, true-positive rate) and ``eps_B`` (background mistag rate, false-positive
rate) for the cut ``score >= t``; background rejection ``1/eps_B`` quoted at ``eps_S = 0.3``.

Command line::

    python -m models.top_tagging.metrics plot runs/a runs/b [--out docs/top_tagging_roc.png]

reads ``test_scores.npz`` (arrays ``label``, ``score``) and ``test_metrics.json`` of every run directory
and draws ``1/eps_B`` against ``eps_S`` on a log scale, one curve per run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from models.common.cli import run_cli
from models.common.io import read_history
from models.common.metrics import accuracy, auc, auc_standard_error, roc_curve
from models.common.plotting import plot_learning_curves, pyplot, save_figure

__all__ = ["accuracy", "all_metrics", "auc", "auc_standard_error", "background_rejection", "plot_history",
           "plot_roc", "roc_curve"]


def background_rejection(labels: np.ndarray, scores: np.ndarray, eps_s: float = 0.3) -> float:
    """``1/eps_B`` at signal efficiency ``eps_s``, ``eps_B`` linearly interpolated along the ROC curve
    between the last point with ``eps_S < eps_s`` and the first with ``eps_S >= eps_s``; ``inf`` when
    ``eps_B = 0`` there.

    >>> background_rejection(np.array([0, 0, 0, 0, 1, 1]), np.array([.1, .2, .3, .9, .8, .7]), 0.5)
    4.0
    """
    if not 0.0 < eps_s <= 1.0:
        raise ValueError(f"eps_s must be in (0, 1], got {eps_s}")
    eb, es, _ = roc_curve(labels, scores)
    i = int(np.argmax(es >= eps_s))
    frac = (eps_s - es[i - 1]) / (es[i] - es[i - 1])
    value = eb[i - 1] + frac * (eb[i] - eb[i - 1])
    return float("inf") if value <= 0 else float(1.0 / value)


def all_metrics(labels: np.ndarray, scores: np.ndarray, eps_s: float = 0.3) -> dict[str, float]:
    """Accuracy, AUC with its standard error, ``1/eps_B`` at ``eps_s`` with its relative statistical
    error ``1/sqrt(n_pass)`` (Poisson; ``n_pass = eps_B · n_B`` background jets pass the cut), counts."""
    labels_arr = np.asarray(labels)
    rejection = background_rejection(labels, scores, eps_s)
    n_pass = (labels_arr == 0).sum() / rejection
    return {"accuracy": accuracy(labels, scores), "auc": auc(labels, scores),
            "auc_stat_error": auc_standard_error(labels, scores),
            "rejection_at_eps_s": rejection, "eps_s": eps_s,
            "rejection_rel_stat_error": float("inf") if n_pass == 0 else float(1 / np.sqrt(n_pass)),
            "n_background_passing": float(n_pass), "n_jets": int(len(labels))}


def load_run(run: str | Path) -> tuple[str, np.ndarray, np.ndarray, dict]:
    """``(name, labels, scores, metrics)`` of a run directory written by ``train.py``."""
    run = Path(run)
    path = run / "test_scores.npz"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run `python -m models.top_tagging.train ... --out {run}`")
    with np.load(path) as f:
        labels, scores = f["label"], f["score"]
    metrics_path = run / "test_metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    return metrics.get("run", run.name), labels, scores, metrics


def plot_roc(runs: list[str | Path], out: str | Path, title: str = "") -> Path:
    """Plot ``1/eps_B`` vs ``eps_S`` (log scale) of every run into ``out`` (PNG); returns the path."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.0, 4.0), dpi=110)
    for run in runs:
        name, labels, scores, metrics = load_run(run)
        eb, es, _ = roc_curve(labels, scores)
        keep = eb > 0
        label = f"{metrics.get('model', name)} ({name}): AUC {auc(labels, scores):.4f}, " \
                f"1/εB(0.3) {background_rejection(labels, scores):.0f}"
        ax.plot(es[keep], 1.0 / eb[keep], label=label)
    grid = np.linspace(0.01, 1.0, 100)
    ax.plot(grid, 1.0 / grid, "k:", lw=0.8, label="random")
    ax.set_yscale("log")
    ax.set_xlabel("signal efficiency εS (top)")
    ax.set_ylabel("background rejection 1/εB (QCD)")
    ax.set_xlim(0, 1)
    ax.axvline(0.3, color="grey", lw=0.5)
    ax.legend(fontsize=6)
    if title:
        ax.set_title(title, fontsize=8)
    return save_figure(fig, out)


def plot_history(runs: list[str | Path], out: str | Path) -> Path:
    """Training loss and validation AUC per epoch (``history.jsonl``) of every run, into ``out`` (PNG)."""
    histories = {Path(run).name: read_history(run) for run in runs}
    return plot_learning_curves(histories, ["train_loss", "val_auc"], out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.top_tagging.metrics", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    plot = sub.add_parser("plot", help="ROC curves of one or more run directories")
    plot.add_argument("runs", nargs="+")
    plot.add_argument("--out", default=None, help="PNG path (default: <first run>/roc.png)")
    plot.add_argument("--title", default="")
    hist = sub.add_parser("history", help="training loss and validation AUC per epoch of run directories")
    hist.add_argument("runs", nargs="+")
    hist.add_argument("--out", required=True, help="PNG path")
    show = sub.add_parser("show", help="print the test metrics of run directories")
    show.add_argument("runs", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "plot":
        out = args.out or str(Path(args.runs[0]) / "roc.png")
        print(plot_roc(args.runs, out, args.title))
    elif args.command == "history":
        print(plot_history(args.runs, args.out))
    else:
        for run in args.runs:
            name, labels, scores, _ = load_run(run)
            print(name, json.dumps(all_metrics(labels, scores)))
    return 0


if __name__ == "__main__":
    run_cli(main)
