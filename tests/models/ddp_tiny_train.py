"""A tiny regression trained with models.common.training; run by test_common_training.py, once as a
plain process and once under torchrun with 2 gloo processes (same global batch).

    python tests/models/ddp_tiny_train.py --out RUN [--epochs 2 ...]
    python -m torch.distributed.run --standalone --nproc-per-node 2 tests/models/ddp_tiny_train.py --out RUN
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from models.common.args import add_training_arguments, options_from_args, settings_from_args  # noqa: E402
from models.common.batching import TensorData  # noqa: E402
from models.common.cli import run_cli  # noqa: E402
from models.common.training import Trainer, TrainSettings, prepare, torch_dtype  # noqa: E402


def tiny_data(n: int, seed: int, dtype: torch.dtype) -> TensorData:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g, dtype=dtype)
    y = torch.sin(x[:, :1]) + 0.5 * x[:, 1:2] * x[:, 2:3]
    return TensorData({"x": x, "y": y})


def loss_fn(model: torch.nn.Module, batch: dict[str, torch.Tensor]):
    pred = model(batch["x"])
    return torch.nn.functional.mse_loss(pred, batch["y"]), {"mae": (pred - batch["y"]).abs().mean()}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    add_training_arguments(parser, TrainSettings(epochs=2, batch_size=8, lr=1e-2, dtype="float64"))
    parser.add_argument("--n-train", type=int, default=21)
    parser.add_argument("--dropout", type=float, default=0.0)
    args = parser.parse_args(argv)
    settings, options = settings_from_args(args), options_from_args(args)
    ctx = prepare(settings, options)
    dtype = torch_dtype(settings.dtype)
    model = torch.nn.Sequential(torch.nn.Linear(3, 16, dtype=dtype), torch.nn.Tanh(),
                                torch.nn.Dropout(args.dropout), torch.nn.Linear(16, 1, dtype=dtype))
    trainer = Trainer(model, loss_fn, tiny_data(args.n_train, 1, dtype), settings, options,
                      val_data=tiny_data(7, 2, dtype), identity={"n_train": args.n_train}, ctx=ctx)
    result = trainer.fit()
    if ctx.is_main:
        print(result["status"], result["epochs"])
    return 0


if __name__ == "__main__":
    run_cli(main)
