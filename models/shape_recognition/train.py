r"""Train a shape classifier (equivariant MACE, PointNet or DGCNN) on a :class:`~.data.ShapeSet`.

    python -m models.shape_recognition.train --model equivariant --data data/shapes --out runs/shapes_eq

Every model gets the same budget: ``--epochs`` epochs or ``--budget-minutes`` of training wall time,
whichever ends first (checked after each epoch).  Each epoch draws a fresh random subset of
``--points`` of the stored surface samples per cloud (and, with ``--augment so3``, a random rotation
per cloud) from a generator seeded by ``(seed, epoch)``, so ``--resume`` continues bit-exactly.
Files in ``--out``: ``settings.json``, ``checkpoint.pt`` (``torch.load(weights_only=True)``),
``history.json`` (learning curve, rewritten after every epoch).  The learning rate follows a cosine
from ``--lr`` to ``lr/50`` over ``--epochs``; AdamW, cross-entropy.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from models.common.cli import run_cli
from models.common.io import atomic_path, write_json_atomic
from models.common.progress import progress
from models.shape_recognition.baselines import DGCNN, PointNet
from models.shape_recognition.data import load_shapes
from models.shape_recognition.model import EquivariantConfig, EquivariantShapeClassifier
from models.shape_recognition.poses import random_rotations, transform

__all__ = ["MODELS", "Settings", "build_model", "load_run", "predict", "train"]

MODELS = ("equivariant", "pointnet", "dgcnn")
DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class Settings:
    """Everything that determines a run; ``--resume`` refuses a change."""

    model: str
    data: str
    augment: str = "none"
    epochs: int = 15
    budget_minutes: float = 20.0
    points: int = 128
    batch_size: int = 16
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    dtype: str = "float32"
    channels: int = 16
    k: int = 12
    correlation: int = 3

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; expected one of {', '.join(MODELS)}")
        if self.augment not in ("none", "so3"):
            raise ValueError(f"--augment must be 'none' or 'so3', got {self.augment!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"--dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        for name in ("epochs", "points", "batch_size", "channels", "k"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if self.points <= self.k:
            raise ValueError(f"--points ({self.points}) must exceed --k ({self.k})")


def build_model(settings: Settings, num_classes: int) -> torch.nn.Module:
    """The network named by ``settings.model`` in ``settings.dtype``."""
    dtype = DTYPES[settings.dtype]
    if settings.model == "equivariant":
        config = EquivariantConfig(num_classes=num_classes, channels=settings.channels, k=settings.k,
                                   correlation=settings.correlation)
        return EquivariantShapeClassifier(config, dtype=dtype).to(dtype)
    if settings.model == "pointnet":
        return PointNet(num_classes, dtype=dtype)
    return DGCNN(num_classes, k=settings.k, dtype=dtype)


def learning_rate(settings: Settings, epoch: int) -> float:
    """Cosine from ``lr`` (epoch 0) towards ``lr / 50`` (after the last epoch).

    >>> round(learning_rate(Settings(model="pointnet", data="d", lr=1.0, epochs=2), 1), 3)
    0.51
    """
    return settings.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * epoch / settings.epochs)))


def epoch_batches(points: np.ndarray, labels: np.ndarray, settings: Settings, epoch: int):
    """Yield ``(clouds (b, points, 3), labels (b,))`` training batches of one epoch (seeded)."""
    gen = torch.Generator().manual_seed(1_000_003 * settings.seed + epoch)
    dtype = DTYPES[settings.dtype]
    order = torch.randperm(len(labels), generator=gen)
    for start in range(0, len(order), settings.batch_size):
        idx = order[start : start + settings.batch_size]
        if len(idx) < 2:  # BatchNorm needs two samples
            break
        x = torch.from_numpy(points[idx.numpy()]).to(dtype)
        pick = torch.rand(x.shape[0], x.shape[1], generator=gen).argsort(dim=1)[:, : settings.points]
        x = torch.gather(x, 1, pick.unsqueeze(-1).expand(-1, -1, 3))
        if settings.augment == "so3":
            x = transform(x, random_rotations(x.shape[0], gen, dtype))
        yield x, torch.from_numpy(labels[idx.numpy()])


@torch.no_grad()
def predict(model: torch.nn.Module, clouds: torch.Tensor, batch_size: int = 32) -> torch.Tensor:
    """Logits ``(M, C)`` of ``clouds (M, N, 3)`` in eval mode."""
    model.eval()
    return torch.cat([model(clouds[i : i + batch_size]) for i in range(0, len(clouds), batch_size)])


def _save_checkpoint(out: Path, model, optimizer, epoch: int, elapsed: float) -> None:
    with atomic_path(out / "checkpoint.pt") as tmp:
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "epoch": torch.tensor(epoch), "elapsed": torch.tensor(elapsed, dtype=torch.float64)}, tmp)


def load_run(run: str | Path) -> tuple[Settings, torch.nn.Module, list[str], list[dict]]:
    """``(settings, model with the checkpoint's weights, class names, history)`` of a run directory."""
    run = Path(run)
    for name in ("settings.json", "checkpoint.pt", "history.json"):
        if not (run / name).is_file():
            raise FileNotFoundError(f"{run / name} not found; is {run} a finished training run?")
    meta = json.loads((run / "settings.json").read_text())
    settings = Settings(**meta["settings"])
    model = build_model(settings, len(meta["classes"]))
    state = torch.load(run / "checkpoint.pt", weights_only=True, map_location="cpu")
    model.load_state_dict(state["model"])
    return settings, model.eval(), list(meta["classes"]), json.loads((run / "history.json").read_text())


def _start(out: Path, settings: Settings, classes: list[str], resume: bool, model, optimizer):
    meta = {"settings": asdict(settings), "classes": classes}
    if (out / "checkpoint.pt").is_file():
        if not resume:
            raise FileExistsError(f"{out} already holds a run; pass --resume to continue it or pick another "
                                  "--out")
        old = json.loads((out / "settings.json").read_text())
        if old != meta:
            changed = sorted(k for k in meta["settings"] if old["settings"].get(k) != meta["settings"][k])
            raise ValueError(f"--resume refuses changed settings ({', '.join(changed) or 'classes'}) in "
                             f"{out}")
        state = torch.load(out / "checkpoint.pt", weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history = json.loads((out / "history.json").read_text())
        return int(state["epoch"]), float(state["elapsed"]), history
    write_json_atomic(out / "settings.json", meta)
    return 0, 0.0, []


def train(settings: Settings, out: Path, *, resume: bool = False, threads: int = 1) -> list[dict]:
    """Train (or continue) a run in ``out``; returns the history (one dict per epoch)."""
    torch.set_num_threads(threads)
    shapes = load_shapes(settings.data)
    (train_x, train_y), (test_x, test_y) = shapes.part(test=False), shapes.part(test=True)
    if settings.points > train_x.shape[1]:
        raise ValueError(f"--points {settings.points} exceeds the {train_x.shape[1]} stored per cloud")
    torch.manual_seed(settings.seed)
    model = build_model(settings, len(shapes.classes))
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    out.mkdir(parents=True, exist_ok=True)
    epoch, elapsed, history = _start(out, settings, list(shapes.classes), resume, model, optimizer)
    test_clouds = torch.from_numpy(test_x[:, : settings.points]).to(DTYPES[settings.dtype])
    while epoch < settings.epochs and elapsed < 60 * settings.budget_minutes:
        torch.manual_seed(1_000_003 * settings.seed + epoch)  # dropout
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(settings, epoch)
        model.train()
        start, losses, correct = time.perf_counter(), [], 0
        batches = progress(epoch_batches(train_x, train_y, settings, epoch),
                           total=math.ceil(len(train_y) / settings.batch_size), desc=f"epoch {epoch + 1}")
        for x, y in batches:
            logits = model(x)
            loss = torch.nn.functional.cross_entropy(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item() * len(y))
            correct += int((logits.argmax(-1) == y).sum())
        seconds = time.perf_counter() - start
        elapsed += seconds
        test_acc = float((predict(model, test_clouds).argmax(-1).numpy() == test_y).mean())
        epoch += 1
        history.append({"epoch": epoch, "lr": learning_rate(settings, epoch - 1), "seconds": seconds,
                        "train_loss": sum(losses) / len(train_y), "train_acc": correct / len(train_y),
                        "test_acc_canonical": test_acc})
        _save_checkpoint(out, model, optimizer, epoch, elapsed)
        write_json_atomic(out / "history.json", history)
        print(f"epoch {epoch}: loss {history[-1]['train_loss']:.3f} train {correct / len(train_y):.3f} "
              f"test {test_acc:.3f} ({seconds:.0f} s)", file=sys.stderr, flush=True)
    return history


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m models.shape_recognition.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = Settings(model="equivariant", data="data/shapes")
    parser.add_argument("--model", choices=MODELS, required=True)
    parser.add_argument("--out", required=True, help="run directory")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    for name, value in asdict(defaults).items():
        if name != "model":
            parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    args = vars(parser.parse_args(argv))
    out, resume, threads = Path(args.pop("out")), args.pop("resume"), args.pop("threads")
    train(Settings(**args), out, resume=resume, threads=threads)


if __name__ == "__main__":
    run_cli(main)
