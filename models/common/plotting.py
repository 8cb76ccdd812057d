"""Plots shared by the models: headless matplotlib, atomic PNG output, learning curves.

matplotlib is optional (the ``[hep]``/plotting extras); every function here raises ``ImportError``
naming it when it is missing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from models.common.io import atomic_path

__all__ = ["plot_learning_curves", "pyplot", "save_figure"]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend (ImportError without matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, out: str | os.PathLike[str]) -> Path:
    """Lay out ``fig``, write it to ``out`` atomically (format from the suffix), close it."""
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp)
    pyplot().close(fig)
    return Path(out)


def plot_learning_curves(histories: Mapping[str, Sequence[Mapping[str, Any]]], keys: Sequence[str],
                         out: str | os.PathLike[str], *, log_keys: Sequence[str] = ()) -> Path:
    """One panel per history key (e.g. ``["train_loss", "val_auc"]``) against the epoch, one line per
    run (``{run name: history entries}``, as :func:`models.common.training.read_history` returns)."""
    if not keys:
        raise ValueError("plot_learning_curves: no keys to plot")
    plt = pyplot()
    fig, axes = plt.subplots(1, len(keys), figsize=(4.0 * len(keys), 3.2), dpi=110, squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        for name, history in histories.items():
            points = [(h["epoch"], h[key]) for h in history if key in h]
            if points:
                ax.plot(*zip(*points, strict=True), marker=".", label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        if key in log_keys:
            ax.set_yscale("log")
        ax.legend(fontsize=6)
    return save_figure(fig, out)
