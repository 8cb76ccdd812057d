r"""Train the lie_nn MACE potential on one set of the xTB benchmark (CLI and Python API).

Loss per batch (energies per atom, as in mace-torch's ``weighted`` loss):

.. math:: L = w_E \,\overline{\big((E - \hat E)/n\big)^2} + w_F\, \overline{(F - \hat F)^2}

with the mean over structures and over force components.  The training frames are split into train
and validation by :func:`~models.mace_potential.dataset.split_train_valid` (the same split is written
for mace-torch by :mod:`models.mace_potential.peer`).  The loop is :class:`models.common.training.Trainer`
(AdamW, warm-up + cosine or plateau schedule, EMA of the weights, ``checkpoint.pt``/``best.pt``,
``history.jsonl``, bit-exact ``--resume``, ``torchrun`` DDP).  At the end ``model.pt`` holds the
weights of ``best.pt`` (EMA weights of the epoch with the lowest validation loss) with the model
configuration, for :class:`~models.mace_potential.calculator.LieMACECalculator`.

    python -m models.mace_potential.train --data data/mace --train-set aspirin_train --out runs/mace_aspirin
    torchrun --nproc_per_node 2 -m models.mace_potential.train ...   # 2 CPU processes
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import torch

from models.common.args import add_training_arguments, options_from_args, settings_from_args
from models.common.checkpoint import load_checkpoint, save_state
from models.common.cli import run_cli
from models.common.io import write_json_atomic
from models.common.training import RunOptions, Trainer, TrainSettings, prepare, torch_dtype
from models.mace_potential.budget import run_with_cpu_budget
from models.mace_potential.data import DEFAULT_DATA_DIR, load_set
from models.mace_potential.dataset import Batch, make_batch, samples_from_atoms, split_train_valid, statistics
from models.mace_potential.model import MACEConfig, MACEPotential

__all__ = ["LossWeights", "MODEL_FORMAT", "export_model", "loss_fn", "main", "train"]

MODEL_FORMAT = "lie_nn.mace_potential/2"
MARKER = "Started training"
ELEMENTS = (1, 6, 7, 8)  # H C N O: every molecule of the benchmark


@dataclasses.dataclass(frozen=True)
class LossWeights:
    """Weights of the per-atom energy and the force terms of the loss (mace-torch's defaults)."""

    energy: float = 1.0
    forces: float = 100.0


def loss_fn(weights: LossWeights):
    """``loss(model, batch) -> (loss, metrics)`` for the common trainer; metrics in meV and meV/Å."""
    def compute(model: torch.nn.Module, batch: Batch):
        out = model(batch.graph)
        de = (out["energy"] - batch.energy) / batch.num_atoms
        df = out["forces"] - batch.forces
        loss = weights.energy * de.square().mean() + weights.forces * df.square().mean()
        with torch.no_grad():
            metrics = {"e_mae_mev_atom": 1e3 * de.abs().mean(), "f_mae_mev_A": 1e3 * df.abs().mean(),
                       "f_rmse_mev_A": 1e3 * df.square().mean().sqrt()}
        return loss, metrics
    return compute


class _Samples:
    """Batchable list of samples (``len``, ``batch(indices)``) collated in one dtype."""

    def __init__(self, samples, dtype: torch.dtype) -> None:
        self.samples, self.dtype = samples, dtype

    def __len__(self) -> int:
        return len(self.samples)

    def batch(self, indices) -> Batch:
        return make_batch([self.samples[int(i)] for i in indices], self.dtype)


def export_model(model: MACEPotential, path: Path, dtype: str, extra: dict | None = None) -> Path:
    """Write a self-contained model file (config + weights; loads with ``weights_only=True``)."""
    return save_state(path, {"format": MODEL_FORMAT, "config": model.config.to_dict(), "dtype": dtype,
                             "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                             **(extra or {})})


def train(data: Path, train_set: str, config: MACEConfig, settings: TrainSettings, options: RunOptions, *,
          weights: LossWeights = LossWeights(), valid_fraction: float = 0.05, amsgrad: bool = False) -> dict:
    """Train on ``<data>/<train_set>.xyz``; returns the trainer's result (``model.pt`` written at the end).

    ``amsgrad=True`` switches the common trainer's AdamW to its AMSGrad variant (mace-torch's
    default), set on the parameter groups before the first step (saved and resumed with them).
    """
    ctx = prepare(settings, options)
    dtype = torch_dtype(settings.dtype)
    frames = load_set(data, train_set)
    samples = samples_from_atoms(frames, config)
    train_idx, valid_idx = split_train_valid(len(samples), valid_fraction, settings.seed)
    train_samples = [samples[i] for i in train_idx]
    stats = statistics(train_samples, len(config.elements))
    config = dataclasses.replace(config, avg_num_neighbors=round(stats.avg_num_neighbors, 6))
    model = MACEPotential(config, e0=stats.e0, scale=stats.scale, shift=stats.shift, dtype=dtype)
    identity = {"model": config.to_dict(), "data": str(data), "train_set": train_set,
                "valid_fraction": valid_fraction, "loss_weights": dataclasses.asdict(weights),
                "statistics": dataclasses.asdict(stats), "amsgrad": amsgrad}
    trainer = Trainer(model, loss_fn(weights), _Samples(train_samples, dtype), settings, options,
                      val_data=_Samples([samples[i] for i in valid_idx], dtype), identity=identity, ctx=ctx)
    for group in trainer.optimizer.param_groups:
        group["amsgrad"] = amsgrad
    if ctx.is_main:
        print(f"{MARKER} on {len(train_samples)} frames ({len(valid_idx)} for validation)", file=sys.stderr,
              flush=True)
    result = trainer.fit()
    if ctx.is_main and (Path(options.out) / "best.pt").is_file():
        trainer.log(f"wrote {export_from_run(options.out)} (weights of best.pt)")
    return result


def export_from_run(run: Path) -> Path:
    """``<run>/model.pt``: the configuration of ``run.json`` with the weights of lower validation loss
    among ``best.pt`` (EMA weights of the best epoch) and the raw weights of ``checkpoint.pt`` (end of
    the last finished epoch).

    The common trainer's EMA has no warm-up, so after a few hundred steps an EMA of decay 0.99 still
    holds ``0.99^steps`` of the random initial weights; in short (budgeted) runs the raw weights are
    often better.  The choice uses the validation frames only, and is recorded in ``model.pt``.
    """
    run = Path(run)
    info = json.loads((run / "run.json").read_text())
    identity = info["identity"]
    config = MACEConfig.from_dict(identity["model"])
    dtype = info["settings"]["dtype"]
    candidates = {"ema-best": load_checkpoint(run / "best.pt", expect_format=None)}
    if (run / "checkpoint.pt").is_file():
        candidates["raw-last-epoch"] = load_checkpoint(run / "checkpoint.pt", expect_format=None)["model"]
    frames = load_set(identity["data"], identity["train_set"])
    _, valid_idx = split_train_valid(len(frames), identity["valid_fraction"], info["settings"]["seed"])
    batch = make_batch(samples_from_atoms([frames[i] for i in valid_idx], config), torch_dtype(dtype))
    compute = loss_fn(LossWeights(**identity["loss_weights"]))
    losses = {}
    for name, state in candidates.items():
        model = MACEPotential(config, dtype=torch_dtype(dtype))
        model.load_state_dict(state)
        losses[name] = float(compute(model.eval(), batch)[0])
    chosen = min(losses, key=losses.get)
    model = MACEPotential(config, dtype=torch_dtype(dtype))
    model.load_state_dict(candidates[chosen])
    extra = {"statistics": identity["statistics"], "train_set": identity["train_set"], "weights": chosen,
             "val_losses": losses}
    return export_model(model, run / "model.pt", dtype, extra)


DEFAULTS = TrainSettings(epochs=60, batch_size=5, lr=0.01, clip=10.0, warmup=0.0, schedule="plateau",
                         ema=0.99, monitor="val_loss")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m models.mace_potential.train",
                                description="Train the lie_nn MACE potential on an xTB benchmark set.")
    d = p.add_argument_group("data")
    d.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR, help="data directory (make mace-data)")
    d.add_argument("--train-set", default="aspirin_train", help="set name, e.g. 3bpa_train_300K")
    d.add_argument("--valid-fraction", type=float, default=0.05)
    m = p.add_argument_group("model")
    m.add_argument("--channels", type=int, default=16)
    m.add_argument("--max-ell", type=int, default=3)
    m.add_argument("--hidden-ell", type=int, default=1, help="1: Cx0e+Cx1o between layers, 2: +Cx2e")
    m.add_argument("--correlation", type=int, default=3)
    m.add_argument("--num-layers", type=int, default=2)
    m.add_argument("--r-max", type=float, default=5.0)
    m.add_argument("--num-bessel", type=int, default=8)
    m.add_argument("--radial-hidden", type=int, nargs="+", default=[64, 64, 64], help="radial MLP widths")
    m.add_argument("--element-skip", action=argparse.BooleanOptionalAction, default=False,
                   help="mace-torch's layer layout: per-element message mixing / residuals (blocks.py)")
    m.add_argument("--normalised-act", action=argparse.BooleanOptionalAction, default=True,
                   help="SiLU scaled to unit second moment in the radial and readout MLPs")
    w = p.add_argument_group("loss")
    w.add_argument("--energy-weight", type=float, default=LossWeights.energy)
    w.add_argument("--forces-weight", type=float, default=LossWeights.forces)
    p.add_argument("--amsgrad", action=argparse.BooleanOptionalAction, default=False,
                   help="AMSGrad variant of AdamW (mace-torch's default)")
    add_training_arguments(p, DEFAULTS)  # its --cpu-budget runs here as a budgeted subprocess (budget.py),
    return p                              # exactly like mace-torch's, so both are counted the same way


def _with_cpu_budget(args: argparse.Namespace, argv: list[str]) -> int:
    """Re-run this command without ``--cpu-budget`` under :func:`run_with_cpu_budget`; export model.pt."""
    k = argv.index("--cpu-budget")
    child = [sys.executable, "-m", "models.mace_potential.train", *argv[:k], *argv[k + 2:]]
    args.out.mkdir(parents=True, exist_ok=True)
    result = run_with_cpu_budget(child, args.out / "train.log", 60.0 * args.cpu_budget)
    if not result["stopped_by_budget"] and result["returncode"] != 0:
        raise RuntimeError(f"training failed (exit {result['returncode']}); see {args.out / 'train.log'}")
    if not (args.out / "best.pt").is_file():
        raise RuntimeError(f"no epoch finished within {args.cpu_budget} CPU minutes; "
                           f"see {args.out / 'train.log'}")
    write_json_atomic(args.out / "budget.json", {**result, "budget_cpu_min": args.cpu_budget})
    print(f"wrote {export_from_run(args.out)}; {result}")
    return 0


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.cpu_budget is not None:
        return _with_cpu_budget(args, argv)
    config = MACEConfig(elements=ELEMENTS, r_max=args.r_max, num_bessel=args.num_bessel, max_ell=args.max_ell,
                        channels=args.channels, hidden_ell=args.hidden_ell, num_layers=args.num_layers,
                        correlation=args.correlation, radial_hidden=tuple(args.radial_hidden),
                        element_skip=args.element_skip, normalised_act=args.normalised_act)
    settings, options = settings_from_args(args, DEFAULTS), options_from_args(args)
    result = train(args.data, args.train_set, config, settings, options,
                   weights=LossWeights(args.energy_weight, args.forces_weight),
                   valid_fraction=args.valid_fraction, amsgrad=args.amsgrad)
    print(f"{result['status']} after {result['epochs']} epochs; run in {args.out}")
    return 0


if __name__ == "__main__":
    run_cli(main)
