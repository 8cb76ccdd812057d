r"""Train the equivariant autoencoder or its non-equivariant peer on the protein fragments.

Loss per batch: the mean squared heavy-atom error (Å², symmetric atoms by
:func:`~models.protein_autoencoder.geometry.symmetric_squared_error`, no superposition) plus
``--type-weight`` × the cross-entropy of the residue types:

.. math:: L = \frac{\sum_i e_i}{\sum_{ik} m_{ik}} + w_t \,\mathrm{CE}(\ell, t).

The peer sees every fragment under a fresh uniformly random rotation (``--augment``, its default);
the equivariant model does not need it (its loss is rotation-invariant).  The loop is
:class:`models.common.training.Trainer`; ``--cpu-budget`` stops both models after the same CPU time.
At the end ``<out>/model.pt`` holds the configuration and the weights of ``best.pt``.

    python -m models.protein_autoencoder.train --model equivariant --levels 2 --out runs/protein_eq_f4 \
        --cpu-budget 3 --threads 1
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from models.common.args import add_training_arguments, options_from_args, positive_int, settings_from_args
from models.common.batching import TensorData
from models.common.checkpoint import load_checkpoint, save_state
from models.common.cli import run_cli
from models.common.io import sha256_file, write_json_atomic
from models.common.training import Trainer, TrainSettings, prepare, torch_dtype
from models.protein_autoencoder.data import DEFAULT_DATA, load_split
from models.protein_autoencoder.geometry import CA, random_rotations, symmetric_squared_error
from models.protein_autoencoder.model import AutoencoderConfig, EquivariantAutoencoder
from models.protein_autoencoder.peer import PeerAutoencoder

__all__ = ["KINDS", "build_model", "load_model", "loss_fn", "main", "tensors"]

KINDS = {"equivariant": EquivariantAutoencoder, "peer": PeerAutoencoder}
MODEL_FORMAT = "lie_nn.protein_autoencoder/1"
DEFAULTS = TrainSettings(
    epochs=200, batch_size=8, lr=3e-3, clip=10.0, warmup=0.02, schedule="plateau", patience=4
)


def build_model(kind: str, config: AutoencoderConfig, dtype: torch.dtype = torch.float32) -> torch.nn.Module:
    if kind not in KINDS:
        raise ValueError(f"model must be one of {sorted(KINDS)}, got {kind!r}")
    return KINDS[kind](config, dtype=dtype)


def tensors(arrays: dict, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """Torch columns ``types``, ``coords``, ``mask`` of a split's numpy arrays."""
    return {
        "types": torch.as_tensor(arrays["types"], dtype=torch.long),
        "coords": torch.as_tensor(arrays["coords"], dtype=dtype),
        "mask": torch.as_tensor(arrays["mask"], dtype=torch.bool),
    }


def rotate(coords: torch.Tensor) -> torch.Tensor:
    """Every fragment ``(B, L, 14, 3)`` under its own random rotation about its Cα centroid."""
    r = random_rotations(coords.shape[0], dtype=coords.dtype)
    centre = coords[:, :, CA].mean(1)[:, None, None]
    return torch.einsum("bij,blkj->blki", r, coords - centre) + centre


def loss_fn(type_weight: float = 1.0, augment: bool = False):
    """``loss(model, batch) -> (loss, metrics)`` (module docstring); metrics in Å and fractions."""

    def compute(model: torch.nn.Module, batch: dict):
        coords = rotate(batch["coords"]) if augment and model.training else batch["coords"]
        pred, logits = model(batch["types"], coords, batch["mask"])
        err = symmetric_squared_error(pred, coords, batch["mask"], batch["types"])
        mse = err.sum() / batch["mask"].sum()
        ce = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), batch["types"].reshape(-1)
        )
        with torch.no_grad():
            metrics = {
                "rmsd": mse.sqrt(),
                "ca_rmsd": (pred[:, :, CA] - coords[:, :, CA]).square().sum(-1).mean().sqrt(),
                "type_acc": (logits.argmax(-1) == batch["types"]).float().mean(),
            }
        return mse + type_weight * ce, metrics

    return compute


def load_model(path: Path) -> tuple[torch.nn.Module, dict]:
    """The model of a ``model.pt`` (``weights_only=True``) and its metadata."""
    state = load_checkpoint(path, expect_format=MODEL_FORMAT)
    model = build_model(
        state["kind"], AutoencoderConfig.from_dict(state["config"]), torch_dtype(state["dtype"])
    )
    model.load_state_dict(state["state_dict"])
    return model.eval(), state


def export(run: Path) -> Path:
    """``<run>/model.pt`` from ``run.json`` and ``best.pt``."""
    info = json.loads((run / "run.json").read_text())
    identity = info["identity"]
    best = load_checkpoint(run / "best.pt", expect_format=None)
    return save_state(
        run / "model.pt",
        {
            "format": MODEL_FORMAT,
            "kind": identity["kind"],
            "config": identity["model"],
            "dtype": info["settings"]["dtype"],
            "data_sha256": identity["data_sha256"],
            "state_dict": best,
        },
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m models.protein_autoencoder.train",
        description="Train the protein autoencoder (equivariant or peer).",
    )
    p.add_argument("--model", choices=sorted(KINDS), default="equivariant")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="make protein-data")
    p.add_argument("--levels", type=positive_int, default=2, help="compression factor 2^levels (default 2)")
    p.add_argument("--scalars", type=positive_int, default=AutoencoderConfig.scalars)
    p.add_argument("--vectors", type=positive_int, default=AutoencoderConfig.vectors)
    p.add_argument("--tensors", type=int, default=AutoencoderConfig.tensors)
    p.add_argument("--type-weight", type=float, default=1.0, help="weight of the residue-type cross-entropy")
    p.add_argument(
        "--augment",
        choices=("auto", "yes", "no"),
        default="auto",
        help="random rotations of the training fragments (auto: for the peer only)",
    )
    add_training_arguments(p, DEFAULTS)
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    settings, options = settings_from_args(args, DEFAULTS), options_from_args(args)
    ctx = prepare(settings, options)
    dtype = torch_dtype(settings.dtype)
    config = AutoencoderConfig(
        levels=args.levels, scalars=args.scalars, vectors=args.vectors, tensors=args.tensors
    )
    augment = args.augment == "yes" or (args.augment == "auto" and args.model == "peer")
    model = build_model(args.model, config, dtype)
    train, val = (tensors(load_split(args.data, s), dtype) for s in ("train", "val"))
    identity = {
        "kind": args.model,
        "model": config.to_dict(),
        "augment": augment,
        "type_weight": args.type_weight,
        "data_sha256": sha256_file(Path(args.data) / "manifest.json"),
    }
    trainer = Trainer(
        model,
        loss_fn(args.type_weight, augment),
        TensorData(train),
        settings,
        options,
        val_data=TensorData(val),
        identity=identity,
        ctx=ctx,
    )
    cpu_start = time.process_time()
    result = trainer.fit()
    if ctx.is_main:
        cpu = {"fit_cpu_seconds": time.process_time() - cpu_start, "status": result["status"],
               "epochs": result["epochs"]}
        write_json_atomic(Path(options.out) / "cpu.json", cpu)
    if ctx.is_main and (Path(options.out) / "best.pt").is_file():
        trainer.log(f"wrote {export(Path(options.out))}")
    print(f"{result['status']} after {result['epochs']} epochs; run in {options.out}")
    return 0


if __name__ == "__main__":
    run_cli(main)
