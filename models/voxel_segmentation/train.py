r"""Train the equivariant voxel U-Net or the MONAI U-Net on the training region of the template.

    python -m models.voxel_segmentation.train --model equivariant --data data/voxel --out runs/voxel_eq \
        --cpu-budget 8

:class:`models.common.training.Trainer` runs the loop (AdamW, checkpoints loaded with ``weights_only=True``,
bit-exact ``--resume`` refusing changed settings, ``history.jsonl``, DDP under ``torchrun``).  An epoch is
``--samples-per-epoch`` augmented crops (:mod:`models.voxel_segmentation.augment`); the learning rate is
constant after no warm-up and ``--epochs`` is a ceiling: ``--cpu-budget`` (CPU minutes of this process,
the same for every model) ends the run.  The loss is MONAI's ``DiceCELoss`` (soft Dice + cross-entropy);
``best.pt`` holds the EMA weights with the lowest loss on ``--val-crops`` fixed crops of the training
region (the test region is never looked at during training).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.common.args import add_training_arguments, options_from_args, positive_int, settings_from_args
from models.common.checkpoint import load_checkpoint
from models.common.cli import run_cli
from models.common.io import DataError, sha256_file
from models.common.training import Trainer, TrainSettings, prepare, torch_dtype
from models.voxel_segmentation.augment import TrainCrops, ValCrops
from models.voxel_segmentation.data import NPZ_NAME, load_volume
from models.voxel_segmentation.model import UNetConfig, build_model, count_parameters

__all__ = ["DEFAULTS", "PRESETS", "dice_ce_loss", "load_run", "loss_fn", "split_validation"]

DEFAULTS = TrainSettings(epochs=1000, batch_size=2, lr=1e-2, weight_decay=1e-4, warmup=0.0,
                         schedule="constant", ema=0.98, monitor="val_loss", mode="min")


def dice_ce_loss() -> torch.nn.Module:
    """MONAI ``DiceCELoss`` on logits ``(B, 4, ...)`` and integer labels ``(B, 1, ...)``."""
    try:
        from monai.losses import DiceCELoss
    except ImportError as err:
        raise ImportError("training needs monai: pip install 'lie_nn[voxel]'") from err
    return DiceCELoss(to_onehot_y=True, softmax=True)


PRESETS = {"default": UNetConfig(),
           "tiny": UNetConfig(level0=(2, 1, 0), level1=(2, 1, 0), level2=(2, 1, 0), kernel_size=3,
                              monai_channels=(2, 4, 8))}

_LOSS: list[torch.nn.Module] = []


def loss_fn(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, Any]]:
    """Dice + cross-entropy of the batch, and the voxel accuracy."""
    if not _LOSS:
        _LOSS.append(dice_ce_loss())
    image = batch["image"].to(next(model.parameters()).dtype)
    logits = model(image)
    loss = _LOSS[0](logits, batch["labels"][:, None])
    accuracy = (logits.argmax(1) == batch["labels"]).double().mean()
    return loss, {"accuracy": accuracy}


def split_validation(origins: np.ndarray, n_val: int, crop: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """``(train, val)`` origins: ``n_val`` evenly spaced validation crops, and the training crops that do not
    overlap any of them.

    >>> tr, va = split_validation(np.array([[0, 0, 0], [8, 0, 0], [40, 0, 0], [80, 0, 0]]), 1)
    >>> va.tolist(), len(tr)
    ([[0, 0, 0]], 2)
    """
    val = origins[np.linspace(0, len(origins) - 1, n_val).round().astype(int)] if n_val else origins[:0]
    overlaps = np.zeros(len(origins), dtype=bool)
    for v in val:
        overlaps |= np.all(np.abs(origins - v) < crop, axis=1)
    train = origins[~overlaps]
    if not len(train):
        raise DataError(f"no training crops left after holding out {n_val} validation crops")
    return train, val


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.voxel_segmentation.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_training_arguments(parser, DEFAULTS)
    m = parser.add_argument_group("model and data")
    m.add_argument("--model", choices=("equivariant", "monai"), required=True)
    m.add_argument("--rotate-augment", action="store_true", help="random rotations (peer (b)); not for ours")
    m.add_argument("--data", type=Path, default=Path("data/voxel"))
    m.add_argument("--samples-per-epoch", type=positive_int, default=16)
    m.add_argument("--val-crops", type=positive_int, default=4)
    m.add_argument("--preset", choices=sorted(PRESETS), default="default",
                   help="network widths: 'default' (documented runs) or 'tiny' (tests)")
    args = parser.parse_args(argv)
    if args.model == "equivariant" and args.rotate_augment:
        parser.error("the equivariant model is trained without rotation augmentation")
    settings, options = settings_from_args(args, DEFAULTS), options_from_args(args)
    volume = load_volume(args.data)
    train_origins, val_origins = split_validation(volume.train_origins, args.val_crops,
                                                  volume.settings.crop)
    ctx = prepare(settings, options)
    torch.set_flush_denormal(True)  # denormal floats made the equivariant U-Net's step 3x slower
    config = PRESETS[args.preset]
    model = build_model(args.model, config, torch_dtype(settings.dtype))
    identity = {"model": args.model, "rotate_augment": args.rotate_augment, "config": config.to_dict(),
                "data_sha256": sha256_file(args.data / NPZ_NAME), "samples_per_epoch": args.samples_per_epoch,
                "val_crops": args.val_crops, "parameters": count_parameters(model),
                "spacing": list(volume.spacing)}
    train = TrainCrops(volume, train_origins, rotate=args.rotate_augment,
                       samples_per_epoch=args.samples_per_epoch)
    trainer = Trainer(model, loss_fn, train, settings, options, val_data=ValCrops(volume, val_origins),
                      identity=identity, ctx=ctx)
    result = trainer.fit()
    trainer.log(f"{result['status']} after {result['epochs']} epochs; best {result['best']}")
    return 0


def load_run(run: Path, dtype: torch.dtype = torch.float32) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The model of a run directory with its ``best.pt`` weights (eval mode) and the run's identity."""
    run = Path(run)
    info_path, weights = run / "run.json", run / "best.pt"
    if not info_path.is_file() or not weights.is_file():
        raise DataError(f"{run} is not a finished training run (run.json / best.pt missing)")
    identity = json.loads(info_path.read_text())["identity"]
    config = UNetConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in identity["config"].items()})
    model = build_model(identity["model"], config, dtype)
    state = load_checkpoint(weights, expect_format=None)
    state = {k.removeprefix("module."): v for k, v in state.items() if k != "n_averaged"}
    model.load_state_dict(state)
    return model.eval(), identity


if __name__ == "__main__":
    run_cli(main)
