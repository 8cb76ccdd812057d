r"""The table and figures of docs/voxel_segmentation.md from the evaluation JSON and the runs.

    python -m models.voxel_segmentation.report runs/voxel_eval.json --data data/voxel --docs docs

Writes ``voxel_segmentation_angles.png`` (Dice vs rotation angle, every model),
``voxel_segmentation_slices.png`` (one test crop: input, truth, predictions in the training pose and
rotated by 45° about z), ``voxel_segmentation_curves.png`` (learning curves); prints the markdown table.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.common.cli import run_cli
from models.common.io import read_history
from models.common.plotting import plot_learning_curves, pyplot, save_figure
from models.voxel_segmentation.crops import axis_rotations, crop
from models.voxel_segmentation.data import CLASSES, load_volume
from models.voxel_segmentation.train import load_run

__all__ = ["label_of", "markdown_table"]


def label_of(run: dict[str, Any]) -> str:
    """Display name of an evaluated run."""
    if run["model"] == "equivariant":
        return "lie_nn equivariant U-Net"
    return "MONAI UNet + rotation aug." if run["rotate_augment"] else "MONAI UNet"


def _fmt(values: Sequence[float]) -> str:
    return " | ".join(f"{v:.3f}" for v in values)


def markdown_table(result: dict[str, Any]) -> str:
    """Dice per class (CSF / GM / WM and their mean) in three pose groups, parameters, CPU s per step."""
    lines = ["| model | params | CPU s / step | pose | CSF | GM | WM | mean |",
             "|---|---|---|---|---|---|---|---|"]
    for run in result["runs"]:
        curve = np.array(run["angle_curve"])
        rotated = curve[np.array(run["angles"]) > 0][:, 1:]
        groups = [("training pose", np.array(run["train_pose"])[1:]),
                  ("90° rotations (exact)", np.array(run["cube_rotations"])[1:]),
                  (f"any angle ({', '.join(f'{a:g}' for a in run['angles'] if a > 0)}°)", rotated.mean(0))]
        for k, (pose, dice) in enumerate(groups):
            head = (f"{label_of(run)} | {run['parameters']:,} | {run['step_cpu_seconds']:.2f}" if k == 0
                    else " | | ")
            lines.append(f"| {head} | {pose} | {_fmt(dice)} | {np.mean(dice):.3f} |")
    return "\n".join(lines)


def plot_angles(result: dict[str, Any], out: Path) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6), sharey=True)
    for run in result["runs"]:
        curve = np.array(run["angle_curve"])
        angles = run["angles"]
        series = [curve[:, 1:].mean(1)] + [curve[:, k] for k in range(1, len(CLASSES))]
        for ax, values in zip(axes, series, strict=True):
            ax.plot(angles, values, marker="o", label=label_of(run))
    for ax, title in zip(axes, ["mean of CSF, GM, WM", *CLASSES[1:]], strict=True):
        ax.set_title(f"Dice: {title}")
        ax.set_xlabel("rotation angle (degrees)")
        ax.set_xticks([0, 45, 90, 135, 180])
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("Dice on the test cubes")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, out)


@torch.no_grad()
def plot_slices(result: dict[str, Any], data: Path, out: Path) -> None:
    volume = load_volume(data)
    models = [(label_of(r), load_run(Path(r["run"]))[0]) for r in result["runs"]]
    centre = volume.test_centres[np.argmax([(volume.labels[tuple(np.round(c).astype(int))] > 0)
                                            for c in volume.test_centres])]
    size = volume.settings.crop
    poses = [("training pose", np.eye(3)), ("rotated 45° about z", axis_rotations(np.array([0, 0, 1.0]), 45))]
    plt = pyplot()
    cmap = plt.get_cmap("viridis", len(CLASSES))
    fig, axes = plt.subplots(len(poses), 2 + len(models), figsize=(2.6 * (2 + len(models)), 2.8 * len(poses)))
    for row, (pose, rotation) in enumerate(poses):
        image, labels = crop(volume.t1, volume.labels, centre, size, rotation)
        panels = [("T1 input", image[0], "gray"), ("truth", labels, cmap)]
        panels += [(name, m(image[None])[0].argmax(0), cmap) for name, m in models]
        for col, (title, values, colours) in enumerate(panels):
            ax = axes[row, col]
            vmax = 1 if colours == "gray" else len(CLASSES) - 1
            ax.imshow(np.asarray(values[:, :, size // 2]).T, origin="lower", cmap=colours, vmin=0, vmax=vmax)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(title if row == 0 else "", fontsize=9)
        axes[row, 0].set_ylabel(pose)
    fig.suptitle(f"test crop at voxel {np.round(centre, 1).tolist()} (axial slice; colours: "
                 + ", ".join(f"{k} {c}" for k, c in enumerate(CLASSES)) + ")", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.voxel_segmentation.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("evaluation", type=Path)
    parser.add_argument("--data", type=Path, default=Path("data/voxel"))
    parser.add_argument("--docs", type=Path, default=Path("docs"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    result = json.loads(args.evaluation.read_text())
    plot_angles(result, args.docs / "voxel_segmentation_angles.png")
    plot_slices(result, args.data, args.docs / "voxel_segmentation_slices.png")
    histories = {label_of(r): read_history(r["run"]) for r in result["runs"]}
    plot_learning_curves(histories, ["train_loss", "val_loss", "val_accuracy"],
                         args.docs / "voxel_segmentation_curves.png")
    print(markdown_table(result))
    return 0


if __name__ == "__main__":
    run_cli(main)
