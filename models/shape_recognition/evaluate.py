r"""Test accuracy of trained runs in four poses: canonical, random SO(3) rotation, mirror ``z → -z``,
and rotation times mirror (a random improper orthogonal matrix).

    python -m models.shape_recognition.evaluate runs/shapes_eq runs/shapes_pointnet --data data/shapes

For each run, writes ``evaluation.json`` into the run directory: overall and class-mean accuracy per
pose (random poses: mean ± std over ``--draws`` independent draws, one random matrix per test cloud
per draw), confusion matrices, parameter count, mean wall seconds and CPU seconds per training epoch.
Tuning runs (``train --validation``) are refused: they are judged on their validation split only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from models.common.cli import run_cli
from models.common.io import write_json_atomic
from models.common.training import torch_dtype
from models.shape_recognition.data import load_shapes
from models.shape_recognition.poses import POSES, pose_matrices, transform
from models.shape_recognition.train import cpu_seconds_per_epoch, load_run, predict

__all__ = ["accuracies", "confusion_matrix", "evaluate_run", "paired_bootstrap"]


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """``M[t, p]`` = number of test clouds of class ``t`` predicted as ``p``.

    >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1]), 2).tolist()
    [[1, 0], [1, 1]]
    """
    m = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(m, (labels, predicted), 1)
    return m


def accuracies(confusion: np.ndarray) -> tuple[float, float]:
    """``(overall, class-mean)`` accuracy of a confusion matrix (classes without samples skipped).

    >>> accuracies(np.array([[3, 1], [0, 1]]))
    (0.8, 0.875)
    """
    totals = confusion.sum(axis=1)
    per_class = np.diag(confusion)[totals > 0] / totals[totals > 0]
    return float(np.trace(confusion) / confusion.sum()), float(per_class.mean())


def evaluate_run(run: Path, data: str | None, draws: int, seed: int = 1234) -> dict:
    """Evaluate one run directory (see the module docstring); returns the dictionary it writes."""
    settings, train_settings, model, identity, history = load_run(run)
    if identity.get("validation"):
        raise ValueError(f"{run} is a tuning run (--validation {identity['validation']}); its validation "
                         "accuracy is in history.jsonl, and it is never evaluated on the test set")
    classes = identity["classes"]
    shapes = load_shapes(data or identity["data"])
    if list(shapes.classes) != classes:
        raise ValueError(f"{run} was trained on classes {classes}, the data has {list(shapes.classes)}")
    test_x, test_y = shapes.part(test=True)
    clouds = torch.from_numpy(test_x[:, : settings.points]).to(torch_dtype(train_settings.dtype))
    result: dict = {"run": str(run), "model": settings.model, "augment": settings.augment,
                    "parameters": sum(p.numel() for p in model.parameters()),
                    "epochs": len(history), "epochs_planned": train_settings.epochs,
                    "seconds_per_epoch": float(np.mean([h["train_seconds"] for h in history])),
                    "train_minutes": float(sum(h["train_seconds"] for h in history) / 60),
                    "cpu_seconds_per_epoch": cpu_seconds_per_epoch(run), "poses": {}}
    for pose in POSES:
        n_draws = draws if pose.startswith("rotated") else 1
        overall, class_mean, total = [], [], np.zeros((len(classes), len(classes)), dtype=np.int64)
        for d in range(n_draws):
            gen = torch.Generator().manual_seed(seed + 1000 * d)
            moved = transform(clouds, pose_matrices(pose, len(clouds), gen, clouds.dtype))
            confusion = confusion_matrix(test_y, predict(model, moved).argmax(-1).numpy(), len(classes))
            total += confusion
            a, c = accuracies(confusion)
            overall.append(a)
            class_mean.append(c)
        result["poses"][pose] = {"accuracy": float(np.mean(overall)), "accuracy_std": float(np.std(overall)),
                                 "class_mean_accuracy": float(np.mean(class_mean)),
                                 "class_mean_accuracy_std": float(np.std(class_mean)),
                                 "draws": n_draws, "confusion": total.tolist()}
    write_json_atomic(Path(run) / "evaluation.json", result)
    return result


def _correct(run: Path, pose: str, data: str | None, seed: int = 1234) -> np.ndarray:
    """Per test cloud: is the prediction of ``run`` in ``pose`` (first random draw) right?"""
    settings, train_settings, model, identity, _ = load_run(run)
    test_x, test_y = load_shapes(data or identity["data"]).part(test=True)
    clouds = torch.from_numpy(test_x[:, : settings.points]).to(torch_dtype(train_settings.dtype))
    generator = torch.Generator().manual_seed(seed)
    moved = transform(clouds, pose_matrices(pose, len(clouds), generator, clouds.dtype))
    return predict(model, moved).argmax(-1).numpy() == test_y


def paired_bootstrap(a: np.ndarray, b: np.ndarray, samples: int = 10_000, seed: int = 0) -> dict:
    """Accuracy difference ``mean(a) - mean(b)`` of two classifiers on the same clouds, its 95 %
    bootstrap interval (clouds resampled jointly) and the fraction of resamples with ``a <= b``.

    >>> r = paired_bootstrap(np.array([1, 1, 1, 0] * 10, bool), np.array([1, 0, 0, 0] * 10, bool))
    >>> round(r["difference"], 2), r["p_a_not_better"] < 0.01
    (0.5, True)
    """
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(a), size=(samples, len(a)))
    diffs = a[idx].mean(axis=1) - b[idx].mean(axis=1)
    low, high = np.percentile(diffs, [2.5, 97.5])
    return {"difference": float(a.mean() - b.mean()), "ci95": [float(low), float(high)],
            "p_a_not_better": float(np.mean(diffs <= 0)), "both_right": int(np.sum(a & b)),
            "only_a": int(np.sum(a & ~b)), "only_b": int(np.sum(~a & b))}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m models.shape_recognition.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="run directories written by train")
    parser.add_argument("--data", default=None, help="data directory (default: the one the run used)")
    parser.add_argument("--draws", type=int, default=3, help="random draws for the rotated poses")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--paired", nargs=2, metavar=("A_POSE", "B_POSE"), default=None,
                        help="instead: paired bootstrap of run A in pose A_POSE vs run B in pose B_POSE "
                             "(the two runs given as RUNS)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.paired is not None:
        if len(args.runs) != 2 or any(p not in POSES for p in args.paired):
            raise ValueError(f"--paired needs two runs and two poses out of {', '.join(POSES)}")
        a, b = (_correct(Path(r), p, args.data) for r, p in zip(args.runs, args.paired, strict=True))
        print(json.dumps(paired_bootstrap(a, b)))
        return
    for run in args.runs:
        r = evaluate_run(Path(run), args.data, args.draws)
        cells = "  ".join(f"{p} {r['poses'][p]['accuracy']:.3f}" for p in POSES)
        print(f"{run}: {cells}", file=sys.stderr)


if __name__ == "__main__":
    run_cli(main)
