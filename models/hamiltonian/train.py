r"""Train the equivariant Hamiltonian network or the MLP peer on one molecule of ``make ham-data``.

Loss (mean over a batch), with ``s`` the model's output scale (Hartree) and ``ε_occ`` the occupied
orbital energies of the predicted ``F`` and the reference ``S``
(:func:`~models.hamiltonian.eigen.orbital_energies`):

.. math:: \mathcal L = \overline{(F - F^{ref})^2} / s^2 + w_ε\, \overline{(ε_{occ} - ε^{ref}_{occ})^2} / s^2

The peer (``--model mlp``) trains with a random rotation of every frame at every step (positions, ``F``
and ``S`` rotated together).  Both share ``--cpu-budget`` (CPU minutes of this process) and the split.

``python -m models.hamiltonian.train --molecule water --model equivariant --out runs/ham_water_eq``
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

import lie_nn as lnn
from models.common.args import add_training_arguments, options_from_args, settings_from_args
from models.common.batching import TensorData
from models.common.checkpoint import load_checkpoint
from models.common.cli import run_cli
from models.common.io import write_json_atomic
from models.common.training import Trainer, TrainSettings, prepare, torch_dtype
from models.hamiltonian.data import DEFAULT_DATA_DIR, load_molecule
from models.hamiltonian.dataset import MoleculeData, element_shells, onsite_reference, split_frames
from models.hamiltonian.eigen import HARTREE_TO_MEV, orbital_energies
from models.hamiltonian.model import HamiltonianConfig, HamiltonianNet
from models.hamiltonian.peer import FockMLP, rotate_batch

__all__ = ["build_model", "load_run", "loss_fn", "main"]

MODELS = ("equivariant", "mlp")
DEFAULTS = TrainSettings(epochs=200, batch_size=8, lr=5e-3, clip=10.0, warmup=0.02, schedule="cosine",
                         monitor="val_loss")


def _frame_ls(numbers, config: HamiltonianConfig) -> list[int]:
    return [ell for z in numbers for ell in config.shells[config.elements.index(int(z))]]


def loss_fn(numbers, ls: list[int], n_occ: int, eps_weight: float, augment: bool):
    """``loss_fn(model, batch)`` for :class:`~models.common.training.Trainer` (see module docstring)."""
    def compute(model: torch.nn.Module, batch: dict):
        if augment and model.training:
            q = torch.randn(len(batch["positions"]), 4, dtype=torch.float64)
            rotations = lnn.quaternion_to_matrix((q / q.norm(dim=1, keepdim=True)).numpy())
            batch = rotate_batch(batch, ls, rotations)
        pred = model(numbers, batch["positions"])
        scale2 = model.scale.square()
        eps = orbital_energies(pred, batch["overlap"])[:, :n_occ]
        f_err, e_err = pred - batch["fock"], eps - batch["eps_occ"]
        loss = f_err.square().mean() / scale2 + eps_weight * e_err.square().mean() / scale2
        return loss, {"fock_mae_uHa": f_err.abs().mean().detach() * 1e6,
                      "eps_mae_meV": e_err.abs().mean().detach() * HARTREE_TO_MEV}
    return compute


def build_model(identity: dict, dtype: torch.dtype) -> torch.nn.Module:
    """The (untrained) model of a run's identity, with its reference and scale set."""
    config = HamiltonianConfig.from_dict(identity["config"])
    ref = identity["reference"]
    if identity["model"] == "equivariant":
        model = HamiltonianNet(config, dtype=dtype)
        model.set_reference([np.array(b) for b in ref["onsite"]], ref["scale"])
    else:
        model = FockMLP(identity["numbers"], identity["nao"], tuple(identity["hidden"]), dtype=dtype)
        model.set_reference(np.array(ref["full"]), ref["scale"])
    return model


def load_run(run: str | Path, *, weights: str = "best.pt") -> tuple[torch.nn.Module, dict]:
    """The trained model of a run directory (``run.json`` + ``best.pt``, ``weights_only`` loading)."""
    run = Path(run)
    if not (run / "run.json").is_file():
        raise FileNotFoundError(f"{run} is not a training run (no run.json)")
    info = json.loads((run / "run.json").read_text())
    model = build_model(info["identity"], torch_dtype(info["settings"]["dtype"]))
    model.load_state_dict(load_checkpoint(run / weights, expect_format=None))
    return model.eval(), info


def epochs_for_budget(model: torch.nn.Module, compute, train: TensorData, n_val: int, batch_size: int,
                      cpu_minutes: float, steps: int = 3) -> int:
    """Epochs that fit ``cpu_minutes``: time ``steps`` optimiser steps (after one warm-up step) on a copy
    of ``model``, add the validation pass (~1/3 of a step per batch), keep 10 % slack.  The same rule for
    both models, so each one's cosine schedule ends where its CPU budget does.  Torch's RNG is restored.
    """
    rng = torch.get_rng_state()
    trial = copy.deepcopy(model).train()
    opt = torch.optim.AdamW(trial.parameters(), lr=1e-6)
    idx = list(range(min(batch_size, len(train))))
    t0 = 0.0
    for k in range(steps + 1):
        if k == 1:
            t0 = time.process_time()
        opt.zero_grad(set_to_none=True)
        compute(trial, train.batch(idx))[0].backward()
        opt.step()
    per_step = (time.process_time() - t0) / steps
    torch.set_rng_state(rng)
    per_epoch = per_step * (-(-len(train) // batch_size) + -(-n_val // batch_size) / 3)
    return max(1, int(0.9 * 60.0 * cpu_minutes / per_epoch))


def _full_reference(onsite, data: MoleculeData, config: HamiltonianConfig) -> np.ndarray:
    blocks = [onsite[config.elements.index(int(z))] for z in data.numbers]
    out = np.zeros(data.fock.shape[1:])
    off = 0
    for b in blocks:
        out[off:off + len(b), off:off + len(b)] = b
        off += len(b)
    return out


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m models.hamiltonian.train", description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    p.add_argument("--molecule", default="water")
    p.add_argument("--model", choices=MODELS, default="equivariant")
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--pair-channels", type=int, default=8)
    p.add_argument("--num-layers", type=int, default=2)
    p.add_argument("--hidden", type=int, nargs="+", default=[512, 512], help="MLP peer widths")
    p.add_argument("--eps-weight", type=float, default=0.01, help="weight of the orbital-energy loss")
    p.add_argument("--no-augment", action="store_true", help="MLP peer: no rotation augmentation")
    p.add_argument("--epochs-from-budget", action="store_true",
                   help="set --epochs from a timing of a few steps so the schedule ends with --cpu-budget "
                        "(fresh runs; pass the printed --epochs to --resume)")
    add_training_arguments(p, DEFAULTS)
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    settings, options = settings_from_args(args, DEFAULTS), options_from_args(args)
    ctx = prepare(settings, options)
    dtype = torch_dtype(settings.dtype)
    raw = load_molecule(args.data, args.molecule)
    data = MoleculeData.from_arrays(raw)
    parts = split_frames(data, raw["split"])
    elements = tuple(sorted({int(z) for z in data.numbers}))
    basis = raw["level"]["basis"]
    config = HamiltonianConfig(elements=elements, shells=element_shells(basis, elements), basis=basis,
                               channels=args.channels, pair_channels=args.pair_channels,
                               num_layers=args.num_layers)
    onsite, scale = onsite_reference(parts["train"], list(elements), config.shells)
    identity = {"model": args.model, "config": config.to_dict(), "numbers": data.numbers.tolist(),
                "nao": int(data.fock.shape[-1]), "hidden": list(args.hidden), "molecule": args.molecule,
                "data": str(args.data), "level": raw["level"], "eps_weight": args.eps_weight,
                "augment": args.model == "mlp" and not args.no_augment,
                "reference": {"onsite": [b.tolist() for b in onsite], "scale": scale,
                              "full": _full_reference(onsite, data, config).tolist()}}
    model = build_model(identity, dtype)
    compute = loss_fn(data.numbers.tolist(), _frame_ls(data.numbers, config), data.n_occ, args.eps_weight,
                      identity["augment"])
    train_data = TensorData(parts["train"].columns(dtype))
    if args.epochs_from_budget:
        if options.cpu_budget is None:
            raise ValueError("--epochs-from-budget needs --cpu-budget")
        epochs = epochs_for_budget(model, compute, train_data, len(parts["val"].positions),
                                   settings.batch_size, options.cpu_budget)
        settings = dataclasses.replace(settings, epochs=epochs)
        print(f"--epochs-from-budget: --epochs {epochs}", file=sys.stderr, flush=True)
    trainer = Trainer(model, compute, train_data, settings, options,
                      val_data=TensorData(parts["val"].columns(dtype)), identity=identity, ctx=ctx)
    print(f"{args.model} on {args.molecule}: {len(parts['train'].positions)} train / "
          f"{len(parts['val'].positions)} val frames, {sum(p.numel() for p in model.parameters())} "
          f"parameters", file=sys.stderr, flush=True)
    result = trainer.fit()
    if ctx.is_main:  # CPU seconds of this process (setup + training + validation), for the docs' table
        cpu = {"process_cpu_s": time.process_time(), "status": result["status"], "epochs": result["epochs"],
               "cpu_budget_min": options.cpu_budget}
        write_json_atomic(args.out / "cpu_time.json", cpu)
    print(f"{result['status']} after {result['epochs']} epochs; run in {args.out}")
    return 0


if __name__ == "__main__":
    run_cli(main)
