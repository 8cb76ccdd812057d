r"""Dice per class on the test cubes, in the training pose and rotated; parameters; CPU time per step.

    python -m models.voxel_segmentation.evaluate runs/voxel_eq runs/voxel_monai runs/voxel_monai_rot \
        --data data/voxel --out runs/voxel_eval.json

Poses (:mod:`models.voxel_segmentation.crops`): the training pose; the 23 other rotations of the cube
(exact voxel permutations); rotations by ``--angles`` degrees about ``--axes`` random axes (resampled:
trilinear input, nearest-neighbour labels).  A test crop of ``crop³`` voxels is cut in the pose, the
model segments it, and the central ``score³`` voxels are scored against the labels cut in the same pose.
Dice of class ``c`` = ``2 |P_c ∩ T_c| / (|P_c| + |T_c|)`` over all test cubes of one pose, then averaged
over the poses of a group.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.common.cli import run_cli
from models.common.io import write_json_atomic
from models.voxel_segmentation.crops import axis_rotations, crop, cube_rotations, random_axes
from models.voxel_segmentation.data import CLASSES, Volume, load_volume
from models.voxel_segmentation.model import count_parameters
from models.voxel_segmentation.train import load_run, loss_fn

__all__ = ["cube_set", "dice_counts", "dice_from_counts", "evaluate_pose", "step_seconds"]


def dice_counts(pred: torch.Tensor, truth: torch.Tensor, n_classes: int = len(CLASSES)) -> np.ndarray:
    """``(n_classes, 3)``: ``|P ∩ T|``, ``|P|``, ``|T|`` per class for integer label tensors.

    >>> dice_counts(torch.tensor([0, 1, 1]), torch.tensor([0, 1, 0]), 2).tolist()
    [[1, 1, 2], [1, 2, 1]]
    """
    p, t = pred.flatten(), truth.flatten()
    inter = torch.bincount(t[p == t], minlength=n_classes)
    return torch.stack([inter, torch.bincount(p, minlength=n_classes),
                        torch.bincount(t, minlength=n_classes)], 1).numpy()


def dice_from_counts(counts: np.ndarray) -> np.ndarray:
    """Dice per class (NaN for a class absent from prediction and truth)."""
    denom = counts[:, 1] + counts[:, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 2 * counts[:, 0] / denom, np.nan)


@torch.no_grad()
def evaluate_pose(model: torch.nn.Module, volume: Volume, rotation: np.ndarray, batch: int = 4) -> np.ndarray:
    """Dice counts ``(4, 3)`` of ``model`` on every test cube in pose ``rotation``."""
    size, score = volume.settings.crop, volume.settings.score
    lo = (size - score) // 2
    inner = (slice(None), slice(lo, lo + score), slice(lo, lo + score), slice(lo, lo + score))
    counts = np.zeros((len(CLASSES), 3), dtype=np.int64)
    centres = volume.test_centres
    dtype = next(model.parameters()).dtype
    for start in range(0, len(centres), batch):
        pairs = [crop(volume.t1, volume.labels, c, size, rotation) for c in centres[start:start + batch]]
        images = torch.stack([p[0] for p in pairs]).to(dtype)
        labels = torch.stack([p[1] for p in pairs])
        pred = model(images).argmax(1)
        counts += dice_counts(pred[inner], labels[inner])
    return counts


def step_seconds(model: torch.nn.Module, volume: Volume, repeats: int = 3) -> float:
    """Smallest CPU time (s) of one training step (forward + backward, batch 2, no augmentation)."""
    size = volume.settings.crop
    pairs = [crop(volume.t1, volume.labels, o + (size - 1) / 2, size) for o in volume.train_origins[:2]]
    batch = {"image": torch.stack([p[0] for p in pairs]), "labels": torch.stack([p[1] for p in pairs])}
    model.train()
    best = float("inf")
    for _ in range(repeats + 1):
        t0 = time.process_time()
        loss, _ = loss_fn(model, batch)
        loss.backward()
        best = min(best, time.process_time() - t0)
    model.zero_grad(set_to_none=True)
    model.eval()
    return best


def cube_set(all_cube: bool) -> list[np.ndarray]:
    """The 23 non-trivial rotations of the cube, or (``all_cube=False``) the 9 about the coordinate axes.

    >>> len(cube_set(True)), len(cube_set(False))
    (23, 9)
    """
    rotations = [r for r in cube_rotations() if not np.allclose(r, np.eye(3))]
    return rotations if all_cube else [r for r in rotations if np.any(np.diag(r) == 1)]


def evaluate_run(run: Path, volume: Volume, angles: Sequence[float], axes: np.ndarray,
                 all_cube: bool = False) -> dict[str, Any]:
    model, identity = load_run(run)
    out: dict[str, Any] = {"run": str(run), "model": identity["model"],
                           "rotate_augment": identity["rotate_augment"],
                           "parameters": count_parameters(model)}
    identity_counts = evaluate_pose(model, volume, np.eye(3))
    out["train_pose"] = dice_from_counts(identity_counts).tolist()
    cube = [dice_from_counts(evaluate_pose(model, volume, r)) for r in cube_set(all_cube)]
    out["cube_rotations"] = np.mean(cube, axis=0).tolist()
    out["cube_rotations_min_mean_fg"] = float(min(np.nanmean(d[1:]) for d in cube))
    curve = []
    for angle in angles:
        per_axis = [identity_counts if angle == 0 else evaluate_pose(model, volume, axis_rotations(a, angle))
                    for a in axes]
        curve.append(np.mean([dice_from_counts(c) for c in per_axis], axis=0).tolist())
    out["angles"], out["angle_curve"] = list(angles), curve
    out["step_cpu_seconds"] = step_seconds(model, volume)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.voxel_segmentation.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--data", type=Path, default=Path("data/voxel"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--angles", type=float, nargs="+", default=[0, 30, 60, 90, 120, 150, 180])
    parser.add_argument("--axes", type=int, default=1, help="random rotation axes (seeded)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--all-cube", action="store_true",
                        help="all 23 rotations of the cube (default: the 9 about the coordinate axes)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # as in training (denormal floats slow CPU kernels several-fold)
    volume = load_volume(args.data)
    axes = random_axes(args.axes, args.seed)
    results = {"classes": list(CLASSES), "axes": axes.tolist(), "test_cubes": len(volume.test_centres),
               "runs": [evaluate_run(run, volume, args.angles, axes, args.all_cube) for run in args.runs]}
    write_json_atomic(args.out, results)
    for r in results["runs"]:
        print(f"{r['run']}: train pose {np.round(r['train_pose'], 3).tolist()}, cube rotations "
              f"{np.round(r['cube_rotations'], 3).tolist()}")
    return 0


if __name__ == "__main__":
    run_cli(main)
