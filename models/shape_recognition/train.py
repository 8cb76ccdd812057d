r"""Train a shape classifier (equivariant MACE, PointNet or DGCNN) on the common trainer.

    python -m models.shape_recognition.train --model equivariant --data data/shapes --out runs/shapes_eq \
        --epochs 15 --time-budget 20

:class:`models.common.training.Trainer` does the loop: AdamW, warm-up + cosine schedule, checkpoints
loaded with ``weights_only=True``, bit-exact ``--resume`` that refuses changed settings, ``history.jsonl``
written after every epoch, DDP under ``torchrun``.  Each training batch draws a random subset of
``--points`` of the stored surface samples per cloud (and, with ``--augment so3``, one Haar-random
rotation per cloud) from torch's global generator, whose state the checkpoints keep.  The test set is
evaluated after every epoch for the learning curve only (``val_*`` in the history): nothing is
selected on it -- the monitored metric is the training loss and the evaluation uses the final weights.

``--validation F`` makes a *tuning* run: whole part families holding a fraction ``F`` of every class
of the **training** part are held out as the validation set (``val_*`` in the history); the test
part is not touched.  ``cpu_time.json`` records the CPU seconds of every invocation (training and
the per-epoch validation, one thread), the fair time measure on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from models.common.args import add_training_arguments, options_from_args, settings_from_args
from models.common.checkpoint import load_checkpoint
from models.common.cli import run_cli
from models.common.io import write_json_atomic
from models.common.training import Trainer, TrainSettings, prepare, read_history, torch_dtype
from models.shape_recognition.baselines import DGCNN, PointNet
from models.shape_recognition.data import NPZ_NAME, ShapeSet, load_shapes
from models.shape_recognition.kicad import split_by_family
from models.shape_recognition.model import EquivariantConfig, EquivariantShapeClassifier
from models.shape_recognition.poses import random_rotations, transform

__all__ = ["DEFAULTS", "MODELS", "ModelSettings", "PointClouds", "build_model", "cpu_seconds_per_epoch",
           "load_run", "loss_fn", "predict", "training_parts"]

MODELS = ("equivariant", "pointnet", "dgcnn")
DEFAULTS = TrainSettings(epochs=15, batch_size=16, lr=3e-3, weight_decay=1e-4, min_lr=0.02,
                         monitor="train_loss", mode="min")


@dataclass(frozen=True)
class ModelSettings:
    """The network and its inputs (with :class:`TrainSettings`, what ``--resume`` must keep)."""

    model: str
    augment: str = "none"
    points: int = 128
    channels: int = 16
    k: int = 12
    correlation: int = 3
    global_readout: bool = False
    geometry: tuple[int, ...] = ()  # equivariant: kNN sizes of the invariant local descriptors
    lmax: int = 2  # equivariant: spherical harmonics / A-basis irreps up to l = lmax
    layers: int = 2  # equivariant: MACE layers
    point_head: int = 0  # equivariant: width of the per-point MLP before pooling (0 = off)
    dropout: float = 0.0  # equivariant: dropout in the readout MLP

    def __post_init__(self) -> None:
        object.__setattr__(self, "geometry", tuple(self.geometry))  # a list when read from a checkpoint
        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; expected one of {', '.join(MODELS)}")
        if self.augment not in ("none", "so3"):
            raise ValueError(f"--augment must be 'none' or 'so3', got {self.augment!r}")
        for name in ("points", "channels", "k", "correlation", "lmax", "layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} must be positive, got {getattr(self, name)}")
        if self.points <= self.k:
            raise ValueError(f"--points ({self.points}) must exceed --k ({self.k})")
        if any(k < 2 or k > self.points for k in self.geometry):
            raise ValueError(f"--geometry sizes must lie in 2..--points ({self.points}), got {self.geometry}")
        if (self.geometry or self.point_head or self.dropout) and self.model != "equivariant":
            raise ValueError("--geometry, --point-head and --dropout apply to the equivariant model only")

    def to_identity(self) -> dict:
        """JSON-friendly ``asdict`` (the geometry as a list, as it reads back)."""
        return {**asdict(self), "geometry": list(self.geometry)}


def build_model(settings: ModelSettings, num_classes: int, dtype: torch.dtype) -> torch.nn.Module:
    """The network named by ``settings.model``."""
    if settings.model == "equivariant":
        config = EquivariantConfig(num_classes=num_classes, channels=settings.channels, k=settings.k,
                                   correlation=settings.correlation, global_readout=settings.global_readout,
                                   geometry=settings.geometry, lmax=settings.lmax,
                                   num_layers=settings.layers, point_head=settings.point_head,
                                   dropout=settings.dropout)
        return EquivariantShapeClassifier(config, dtype=dtype).to(dtype)
    if settings.model == "pointnet":
        return PointNet(num_classes, dtype=dtype)
    return DGCNN(num_classes, k=settings.k, dtype=dtype)


class PointClouds:
    """Batches ``{"x": (b, points, 3), "y": (b,)}``: training batches take a random subset of the
    stored samples (and a random rotation with ``augment``); evaluation batches the first ``points``
    samples in the stored pose (the samples are i.i.d. over the surface, so that is a uniform subset).

    >>> data = PointClouds(np.zeros((4, 10, 3), np.float32), np.arange(4), 5, train=True, augment=True)
    >>> len(data), tuple(data.batch([0, 2])["x"].shape)
    (4, (2, 5, 3))
    """

    def __init__(self, points: np.ndarray, labels: np.ndarray, n_points: int, *, train: bool, augment: bool,
                 dtype: torch.dtype = torch.float32) -> None:
        if n_points > points.shape[1]:
            raise ValueError(f"--points {n_points} exceeds the {points.shape[1]} samples stored per cloud")
        self.points, self.labels = torch.from_numpy(points).to(dtype), torch.from_numpy(labels).long()
        self.n_points, self.train, self.augment = n_points, train, augment

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        idx = torch.as_tensor(indices, dtype=torch.long)
        x = self.points[idx]
        if self.train:
            pick = torch.rand(x.shape[0], x.shape[1]).argsort(dim=1)[:, : self.n_points]
            x = torch.gather(x, 1, pick.unsqueeze(-1).expand(-1, -1, 3))
        else:
            x = x[:, : self.n_points]
        if self.augment:
            x = transform(x, random_rotations(x.shape[0], None, x.dtype))
        return {"x": x, "y": self.labels[idx]}


def loss_fn(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
    """Cross-entropy and accuracy of one batch."""
    logits = model(batch["x"])
    accuracy = (logits.argmax(-1) == batch["y"]).to(logits.dtype).mean()
    return torch.nn.functional.cross_entropy(logits, batch["y"]), {"acc": accuracy}


@torch.no_grad()
def predict(model: torch.nn.Module, clouds: torch.Tensor, batch_size: int = 32) -> torch.Tensor:
    """Logits ``(M, C)`` of ``clouds (M, N, 3)`` in eval mode."""
    model.eval()
    return torch.cat([model(clouds[i : i + batch_size]) for i in range(0, len(clouds), batch_size)])


def load_run(run: str | Path) -> tuple[ModelSettings, TrainSettings, torch.nn.Module, dict, list[dict]]:
    """``(model settings, train settings, model with the final weights, identity, history)``."""
    run = Path(run)
    state = load_checkpoint(run / "checkpoint.pt")
    identity = dict(state["identity"])
    settings = TrainSettings(**state["settings"])
    model_settings = ModelSettings(**identity["model"])
    model = build_model(model_settings, len(identity["classes"]), torch_dtype(settings.dtype))
    model.load_state_dict(state["model"])
    return model_settings, settings, model.eval(), identity, read_history(run)


def training_parts(shapes: ShapeSet, validation: float, seed: int = 1
                   ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``((train x, y), (monitor x, y))``: with ``validation == 0`` the training and the test part;
    otherwise the training part split again by family (:func:`.kicad.split_by_family`, seeded).

    >>> from models.shape_recognition.data import synthetic_shapes
    >>> (tx, _), (vx, _) = training_parts(synthetic_shapes(4, 8, seed=0), 0.25)
    >>> len(tx), len(vx)
    (12, 6)
    """
    train_x, train_y = shapes.part(test=False)
    if validation == 0:
        return (train_x, train_y), shapes.part(test=True)
    if not 0 < validation < 1:
        raise ValueError(f"--validation must lie in [0, 1), got {validation}")
    is_val = split_by_family(list(shapes.families[~shapes.is_test]), train_y, validation, seed)
    return (train_x[~is_val], train_y[~is_val]), (train_x[is_val], train_y[is_val])


def _record_cpu(out: Path, epochs: tuple[int, int], seconds: float) -> None:
    """Append one invocation's CPU seconds to ``out/cpu_time.json``."""
    path = out / "cpu_time.json"
    runs = json.loads(path.read_text()) if path.is_file() and epochs[0] > 0 else []
    write_json_atomic(path, [*runs, {"epochs": list(epochs), "cpu_seconds": seconds}])


def cpu_seconds_per_epoch(run: str | Path) -> float | None:
    """CPU seconds per epoch from ``run/cpu_time.json`` (written by :func:`_record_cpu`), ``None`` for
    runs without it."""
    path = Path(run) / "cpu_time.json"
    if not path.is_file():
        return None
    parts = json.loads(path.read_text())
    epochs = sum(p["epochs"][1] - p["epochs"][0] for p in parts)
    return float(sum(p["cpu_seconds"] for p in parts) / epochs) if epochs else None


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m models.shape_recognition.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_training_arguments(parser, DEFAULTS)
    g = parser.add_argument_group("model and data")
    defaults = ModelSettings(model="equivariant")
    g.add_argument("--model", choices=MODELS, required=True)
    g.add_argument("--data", default="data/shapes", help="data directory (make shapes-data)")
    g.add_argument("--augment", choices=("none", "so3"), default="none",
                   help="random SO(3) rotation of every training cloud")
    for name in ("points", "channels", "k", "correlation", "lmax", "layers"):
        g.add_argument(f"--{name}", type=int, default=getattr(defaults, name),
                       help=f"(default {getattr(defaults, name)}; all but points, k: equivariant only)")
    g.add_argument("--global-readout", action="store_true",
                   help="equivariant: add a MACE layer on the edges point -> centre (whole-cloud invariants)")
    g.add_argument("--point-head", type=int, default=0, metavar="WIDTH",
                   help="equivariant: per-point MLP of every invariant channel before pooling (0 = off)")
    g.add_argument("--dropout", type=float, default=0.0,
                   help="equivariant: dropout in the readout MLP (the baselines use 0.3 in theirs)")
    g.add_argument("--geometry", type=int, nargs="*", default=[], metavar="K",
                   help="equivariant: invariant local descriptors on these kNN sizes (features.py)")
    g.add_argument("--validation", type=float, default=0.0, metavar="F",
                   help="tuning run: families with this fraction of TRAIN held out for validation (no test)")
    args = parser.parse_args(argv)
    settings, options = settings_from_args(args, DEFAULTS), options_from_args(args)
    model_settings = ModelSettings(args.model, args.augment, args.points, args.channels, args.k,
                                   args.correlation, args.global_readout, tuple(args.geometry), args.lmax,
                                   args.layers, args.point_head, args.dropout)
    ctx = prepare(settings, options)
    shapes = load_shapes(args.data)
    manifest = (Path(args.data) / "manifest.json").read_text()
    identity = {"model": model_settings.to_identity(), "data": str(args.data),
                "classes": list(shapes.classes),
                "data_sha256": json.loads(manifest)["files"][NPZ_NAME]["sha256"]}
    if args.validation:
        identity["validation"] = args.validation
    dtype = torch_dtype(settings.dtype)
    model = build_model(model_settings, len(shapes.classes), dtype)
    (train_x, train_y), (test_x, test_y) = training_parts(shapes, args.validation)
    n, augment = model_settings.points, model_settings.augment == "so3"
    train_data = PointClouds(train_x, train_y, n, train=True, augment=augment, dtype=dtype)
    test_data = PointClouds(test_x, test_y, n, train=False, augment=False, dtype=dtype)
    trainer = Trainer(model, loss_fn, train_data, settings, options, val_data=test_data, identity=identity,
                      ctx=ctx)
    trainer.start()
    first, cpu = trainer.epoch, time.process_time()
    trainer.fit()
    if ctx.is_main:
        _record_cpu(args.out, (first, trainer.epoch), time.process_time() - cpu)


if __name__ == "__main__":
    run_cli(main)
