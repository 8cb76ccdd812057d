r"""Figures and the results table of docs/shape_recognition.md from evaluated runs.

    python -m models.shape_recognition.report runs/shapes_* --data data/shapes --docs docs

Writes ``shape_recognition_gallery.png`` (sampled clouds per class), ``shape_recognition_curves.png``
(learning curves), ``shape_recognition_confusion.png`` (the first equivariant run named, under random
rotations, next to the best baseline in its training pose) into ``--docs`` and prints the markdown table.
Needs ``evaluation.json`` in every run (``python -m models.shape_recognition.evaluate``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from models.common.cli import run_cli
from models.common.io import atomic_path
from models.common.training import read_history
from models.shape_recognition.data import ShapeSet, load_shapes
from models.shape_recognition.poses import POSES
from models.shape_recognition.train import cpu_seconds_per_epoch

__all__ = ["markdown_table", "load_evaluations", "tuning_table"]

POSE_TITLES = {"canonical": "canonical", "rotated": "SO(3)-rotated", "mirrored": "mirrored (z→−z)",
               "rotated_mirrored": "rotated + mirrored"}


def load_evaluations(runs: list[str]) -> list[dict]:
    """The ``evaluation.json`` of every run, in the given order."""
    out = []
    for run in runs:
        path = Path(run) / "evaluation.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found; run: python -m models.shape_recognition.evaluate "
                                    f"{run}")
        out.append(json.loads(path.read_text()))
    return out


def _cell(pose: dict, key: str) -> str:
    std = pose[f"{key}_std"]
    return f"{100 * pose[key]:.1f}" + (f" ± {100 * std:.1f}" if pose["draws"] > 1 else "")


def _cpu(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def markdown_table(evaluations: list[dict]) -> str:
    """One row per run: accuracy (class-mean in parentheses) per pose, parameters, epochs, time.

    >>> pose = {"accuracy": 0.5, "accuracy_std": 0.0, "class_mean_accuracy": 0.4,
    ...         "class_mean_accuracy_std": 0.0, "draws": 1}
    >>> row = {"run": "runs/pn", "model": "pointnet", "augment": "none", "parameters": 10, "epochs": 2,
    ...        "epochs_planned": 2, "seconds_per_epoch": 1.0, "train_minutes": 0.03,
    ...        "poses": {p: pose for p in POSES}}
    >>> markdown_table([row]).splitlines()[2].startswith("| pn | pointnet | none | 50.0 (40.0)")
    True
    """
    head = ["run", "model", "augmentation", *(f"{POSE_TITLES[p]} % (class-mean)" for p in POSES),
            "parameters", "epochs", "wall s / epoch", "CPU s / epoch"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in evaluations:
        cells = [f"{_cell(e['poses'][p], 'accuracy')} ({_cell(e['poses'][p], 'class_mean_accuracy')})"
                 for p in POSES]
        epochs, cpu = f"{e['epochs']}/{e['epochs_planned']}", _cpu(e.get("cpu_seconds_per_epoch"))
        lines.append(f"| {Path(e['run']).name} | {e['model']} | {e['augment']} | " + " | ".join(cells)
                     + f" | {e['parameters']:,} | {epochs} | {e['seconds_per_epoch']:.0f} | {cpu} |")
    return "\n".join(lines)


def _tuning_row(run: Path) -> str:
    identity = json.loads((run / "run.json").read_text())["identity"]
    if not identity.get("validation"):
        raise ValueError(f"{run} is not a tuning run (trained without --validation)")
    m = identity["model"]
    history = read_history(run)
    last = [100 * h["val_acc"] for h in history[-3:]]
    seconds = _cpu(cpu_seconds_per_epoch(run))
    flags = "–"
    if m["model"] == "equivariant":
        flags = (f"C={m['channels']}, layers={m.get('layers', 2)}, geometry={m.get('geometry') or '–'}, "
                 f"point head={m.get('point_head', 0) or '–'}"
                 + (f", dropout={m['dropout']}" if m.get("dropout") else ""))
    return (f"| {run.name} | {m['model']} | {flags} | {last[-1]:.1f} | {np.mean(last):.1f} | "
            f"{100 * history[-1]['train_acc']:.1f} | {len(history)} | {seconds} |")


def tuning_table(runs: list[str]) -> str:
    """Validation accuracy of tuning runs (``train --validation``): last epoch, mean of the last three,
    training accuracy of the last epoch, epochs and CPU seconds per epoch."""
    head = ["run", "model", "settings", "val % (last)", "val % (mean of last 3)", "train % (last)", "epochs",
            "CPU s / epoch"]
    return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head),
                      *(_tuning_row(Path(r)) for r in runs)])


def _save(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")


def plot_gallery(shapes: ShapeSet, path: Path, per_class: int = 3, seed: int = 0) -> None:
    """``per_class`` random training clouds of every class (512 points each), one row per class."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    n = len(shapes.classes)
    fig = plt.figure(figsize=(2.2 * per_class, 2.0 * n))
    for k, name in enumerate(shapes.classes):
        members = np.flatnonzero((shapes.labels == k) & ~shapes.is_test)
        for j, i in enumerate(rng.choice(members, size=min(per_class, len(members)), replace=False)):
            ax = fig.add_subplot(n, per_class, k * per_class + j + 1, projection="3d")
            x = shapes.points[i, :512]
            ax.scatter(x[:, 0], x[:, 1], x[:, 2], s=1.5, c=x[:, 2], cmap="viridis")
            ax.set_axis_off()
            ax.set_box_aspect(np.ptp(x, axis=0) + 1e-3)
            ax.set_title(f"{name}\n{str(shapes.names[i]).split('/')[-1][:28]}" if j == 0 else
                         str(shapes.names[i]).split("/")[-1][:28], fontsize=6)
    _save(fig, path)
    plt.close(fig)


def plot_curves(runs: list[str], path: Path) -> None:
    """Training loss and canonical-pose test accuracy per epoch of every run."""
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    for run in runs:
        history = read_history(run)
        epochs = [h["epoch"] for h in history]
        label = Path(run).name.removeprefix("shapes_")
        ax1.plot(epochs, [h["train_loss"] for h in history], marker=".", label=label)
        ax2.plot(epochs, [100 * h["val_acc"] for h in history], marker=".", label=label)
    ax1.set(xlabel="epoch", ylabel="training loss", yscale="log", xscale="log")
    ax2.set(xlabel="epoch", ylabel="test accuracy, canonical pose (%)", xscale="log")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def plot_confusions(panels: list[tuple[str, np.ndarray]], classes: list[str], path: Path) -> None:
    """Row-normalised confusion matrices side by side."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.8))
    for ax, (title, m) in zip(np.atleast_1d(axes), panels, strict=True):
        rates = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
        ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
        for (t, p), value in np.ndenumerate(rates):
            if value >= 0.005:
                ax.text(p, t, f"{100 * value:.0f}", ha="center", va="center", fontsize=6,
                        color="white" if value > 0.6 else "black")
        ax.set_xticks(range(len(classes)), classes, rotation=70, fontsize=7)
        ax.set_yticks(range(len(classes)), classes, fontsize=7)
        ax.set(xlabel="predicted", ylabel="true", title=title)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m models.shape_recognition.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--data", default="data/shapes")
    parser.add_argument("--docs", default="docs")
    parser.add_argument("--tuning", action="store_true",
                        help="the runs are tuning runs (--validation): print their validation table only")
    args = parser.parse_args(argv)
    if args.tuning:
        print(tuning_table(args.runs))
        return
    import matplotlib

    matplotlib.use("Agg")
    evaluations = load_evaluations(args.runs)
    shapes = load_shapes(args.data)
    docs = Path(args.docs)
    plot_gallery(shapes, docs / "shape_recognition_gallery.png")
    plot_curves(args.runs, docs / "shape_recognition_curves.png")
    equivariant = [e for e in evaluations if e["model"] == "equivariant"]
    baselines = [e for e in evaluations if e["model"] != "equivariant"]
    panels = []
    if equivariant:  # the first one named: choosing by test accuracy would select on the test set
        best = equivariant[0]
        panels.append((f"{Path(best['run']).name}, {POSE_TITLES['rotated']} test",
                       np.array(best["poses"]["rotated"]["confusion"])))
    if baselines:
        best = max(baselines, key=lambda e: e["poses"]["canonical"]["accuracy"])
        panels.append((f"{Path(best['run']).name}, canonical test",
                       np.array(best["poses"]["canonical"]["confusion"])))
    plot_confusions(panels, list(shapes.classes), docs / "shape_recognition_confusion.png")
    print(markdown_table(evaluations))


if __name__ == "__main__":
    run_cli(main)
