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
import sys
from pathlib import Path

import numpy as np

__all__ = ["accuracy", "all_metrics", "auc", "auc_standard_error", "background_rejection", "plot_history",
           "plot_roc", "roc_curve"]


def _check(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    if labels.ndim != 1 or labels.shape != scores.shape:
        raise ValueError(f"labels and scores must be 1-d arrays of equal length, got {labels.shape} and "
                         f"{scores.shape}")
    if not np.all(np.isin(labels, (0, 1))):
        raise ValueError("labels must be 0 (background) or 1 (signal)")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores contain NaN or infinite values")
    if labels.sum() == 0 or labels.sum() == len(labels):
        raise ValueError("both classes must be present")
    return labels.astype(bool), scores


def accuracy(labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> float:
    """Fraction of jets with ``(score >= threshold) == label``.

    >>> accuracy(np.array([0, 1, 1]), np.array([0.2, 0.9, 0.4]))
    0.6666666666666666
    """
    labels, scores = _check(labels, scores)
    return float(np.mean((scores >= threshold) == labels))


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(eps_B, eps_S, thresholds)`` for the cuts ``score >= t``, ``t`` running over the distinct scores
    in decreasing order; the curve starts at ``(0, 0)`` (``t = +inf``) and ends at ``(1, 1)``.  Tied
    scores form one point, so the curve is the exact step/diagonal ROC.

    >>> eps_b, eps_s, _ = roc_curve(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    >>> eps_b.tolist(), eps_s.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    labels, scores = _check(labels, scores)
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # last index of each distinct score
    tp, fp = np.cumsum(y)[last], np.cumsum(~y)[last]
    eps_s = np.r_[0.0, tp / y.sum()]
    eps_b = np.r_[0.0, fp / (~y).sum()]
    return eps_b, eps_s, np.r_[np.inf, s[last]]


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (trapezoids; equals the Mann–Whitney probability that a random signal
    jet scores above a random background jet, ties counting 1/2).

    >>> auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    eps_b, eps_s, _ = roc_curve(labels, scores)
    return float(np.sum(np.diff(eps_b) * (eps_s[1:] + eps_s[:-1]) / 2))


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


def auc_standard_error(labels: np.ndarray, scores: np.ndarray) -> float:
    r"""Statistical standard error of the AUC ``A`` (Hanley & McNeil, Radiology 143 (1982) 29):

    .. math:: \sigma^2 = \frac{A(1-A) + (n_S - 1)(Q_1 - A^2) + (n_B - 1)(Q_2 - A^2)}{n_S n_B},
              \quad Q_1 = \frac{A}{2 - A}, \quad Q_2 = \frac{2A^2}{1 + A}.

    >>> round(auc_standard_error(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])), 4)
    0.2763
    """
    labels, scores = _check(labels, scores)
    a, n_s, n_b = auc(labels, scores), int(labels.sum()), int((~labels).sum())
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n_s - 1) * (q1 - a * a) + (n_b - 1) * (q2 - a * a)) / (n_s * n_b)
    return float(np.sqrt(max(var, 0.0)))


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
    from models.top_tagging.plotting import pyplot, save_figure

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
    """Training loss and validation AUC per epoch (``history.json``) of every run, into ``out`` (PNG)."""
    from models.top_tagging.plotting import pyplot, save_figure

    plt = pyplot()
    fig, (ax_loss, ax_auc) = plt.subplots(1, 2, figsize=(8.0, 3.2), dpi=110)
    for run in runs:
        path = Path(run) / "history.json"
        if not path.exists():
            raise FileNotFoundError(f"{path} not found: is {run} a run directory of "
                                    "models.top_tagging.train?")
        history = json.loads(path.read_text())
        epochs = [h["epoch"] for h in history]
        ax_loss.plot(epochs, [h["train_loss"] for h in history], label=Path(run).name)
        ax_auc.plot(epochs, [h["val_auc"] for h in history], label=Path(run).name)
    ax_loss.set_ylabel("training loss (BCE)")
    ax_auc.set_ylabel("validation AUC")
    for ax in (ax_loss, ax_auc):
        ax.set_xlabel("epoch")
        ax.legend(fontsize=6)
    return save_figure(fig, out)


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
    sys.exit(main())
