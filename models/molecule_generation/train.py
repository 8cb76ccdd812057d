r"""Train the generator by teacher forcing on QM9 fragments (``make qm9-train``).

::

    python -m models.molecule_generation.train --data data/qm9 --out runs/qm9gen \
        --cpu-budget 12 --samples 100000 [--kind equivariant|mlp] [--resume]

One epoch is ``--samples`` fragments (item ``i``: molecule ``train[i mod n_train]``, a random BFS
ordering and step seeded by ``i``); the validation loss uses 512 fragments of the validation
molecules.  Every invocation ends by adding its CPU time to ``cpu.json`` and saving the weights as
``snapshots/cpu_<total CPU minutes>_<chunk>.pt``: training in chunks (``--cpu-budget 3 --resume``, repeated)
gives the points of the validity-vs-CPU-time learning curve.  The run directory also holds
``model.json`` (config), ``checkpoint.pt`` / ``best.pt`` (``weights_only`` loadable) and
``history.jsonl``; ``--resume`` continues bit-exactly and refuses changed settings.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from models.common.args import (
    add_training_arguments,
    options_from_args,
    positive_float,
    positive_int,
    settings_from_args,
)
from models.common.checkpoint import load_checkpoint, save_state
from models.common.cli import run_cli
from models.common.io import write_json_atomic
from models.common.training import Trainer, TrainSettings, prepare, torch_dtype
from models.molecule_generation.data import load
from models.molecule_generation.fragments import ELEMENTS, species_of
from models.molecule_generation.model import GeneratorConfig, MoleculeGenerator
from models.molecule_generation.objective import FragmentData, loss_fn

__all__ = ["first_element_log_frequencies", "load_generator", "main"]


def first_element_log_frequencies(molecules, indices) -> torch.Tensor:
    """Log-frequencies ``(5,)`` of the heavy elements (the BFS start atoms) over the given molecules."""
    counts = np.zeros(len(ELEMENTS))
    for k in indices:
        numbers = molecules.molecule(int(k))[0]
        heavy = numbers[numbers > 1]
        start = heavy if heavy.size else numbers
        np.add.at(counts, species_of(start), 1.0 / start.size)
    with np.errstate(divide="ignore"):
        return torch.tensor(np.log(counts / counts.sum()))


def load_generator(path: str | Path, dtype: torch.dtype = torch.float64) -> MoleculeGenerator:
    """A generator from a run directory (its latest snapshot, else ``best.pt``) or from a ``.pt`` file of
    one (a snapshot or ``best.pt``)."""
    path = Path(path)
    run = path if path.is_dir() else path.parent.parent if path.parent.name == "snapshots" else path.parent
    config_file = run / "model.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{config_file} not found: is {run} a run of "
                                "models.molecule_generation.train?")
    model = MoleculeGenerator(GeneratorConfig.from_dict(json.loads(config_file.read_text())["config"]), dtype)
    snapshots = sorted((run / "snapshots").glob("cpu_*.pt")) if path.is_dir() else []
    weights = (snapshots[-1] if snapshots else path / "best.pt") if path.is_dir() else path
    state = load_checkpoint(weights, expect_format=None)
    state = state.get("model", state) if isinstance(state.get("model"), dict) else state
    model.load_state_dict(state)
    return model.eval()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m models.molecule_generation.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_training_arguments(parser, TrainSettings(epochs=1, batch_size=32, lr=3e-3, clip=10.0, warmup=0.02,
                                                 min_lr=0.02))
    m = parser.add_argument_group("model and data")
    m.add_argument("--data", type=Path, required=True, help="directory made by make qm9-data")
    m.add_argument("--kind", choices=("equivariant", "mlp"), default="equivariant")
    m.add_argument("--channels", type=positive_int, default=16)
    m.add_argument("--samples", type=positive_int, default=100_000, help="fragments per epoch")
    m.add_argument("--total-cpu-budget", type=positive_float, default=None, metavar="CPU_MINUTES",
                   help="do nothing once the run's recorded CPU time (cpu.json) reaches this; chunks of "
                   "--cpu-budget up to it make `make qm9-train` idempotent")
    return parser


def _snapshot(out: Path, model: MoleculeGenerator, cpu_seconds: float, config: GeneratorConfig) -> None:
    """Add this invocation's CPU time to ``cpu.json`` and save the weights as
    ``snapshots/cpu_<min>_<chunk>.pt`` (the points of the learning curve: sample from each snapshot;
    the chunk number keeps two very short invocations from sharing a name)."""
    write_json_atomic(out / "model.json", {"config": config.to_dict()})
    record = out / "cpu.json"
    old = json.loads(record.read_text()) if record.is_file() else {"cpu_minutes": 0.0}
    total, chunk = old["cpu_minutes"] + cpu_seconds / 60, old.get("chunks", 0) + 1
    write_json_atomic(record, {"cpu_minutes": total, "chunks": chunk})
    save_state(out / "snapshots" / f"cpu_{total:07.3f}_{chunk:03d}.pt", model.state_dict())


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    settings, options = settings_from_args(args), options_from_args(args)
    if args.total_cpu_budget is not None and args.resume:
        record = Path(args.out) / "cpu.json"
        spent = json.loads(record.read_text())["cpu_minutes"] if record.is_file() else 0.0
        if spent >= args.total_cpu_budget - 0.05:
            print(f"{args.out} has trained {spent:.2f} of --total-cpu-budget {args.total_cpu_budget} "
                  "CPU-min; nothing to do")
            return
        remaining = args.total_cpu_budget - spent
        options = dataclasses.replace(options, cpu_budget=min(options.cpu_budget or remaining, remaining))
    dtype = torch_dtype(settings.dtype)
    molecules, split, manifest = load(args.data)
    ctx = prepare(settings, options)
    config = GeneratorConfig(kind=args.kind, channels=args.channels)
    model = MoleculeGenerator(config, dtype)
    model.first_element.copy_(first_element_log_frequencies(molecules, split["train"]))
    train = FragmentData(molecules, split["train"], length=args.samples, seed=settings.seed,
                         cutoff=config.cutoff, rotate=args.kind == "mlp", dtype=dtype)
    val = FragmentData(molecules, split["valid"], length=min(512, len(split["valid"])), seed=10**6,
                       cutoff=config.cutoff, dtype=dtype)
    identity = {"model": config.to_dict(), "data": manifest["files"], "samples": args.samples}
    trainer = Trainer(model, loss_fn, train, settings, options, val_data=val, identity=identity, ctx=ctx)
    trainer.start()
    if trainer.ctx.is_main and trainer.epoch == 0 and trainer.batch == 0:  # a fresh run: no old snapshots
        (options.out / "cpu.json").unlink(missing_ok=True)
        for old in (options.out / "snapshots").glob("cpu_*.pt"):
            old.unlink()
    cpu0, position = time.process_time(), (trainer.epoch, trainer.batch)
    result = trainer.fit()
    if trainer.ctx.is_main and (trainer.epoch, trainer.batch) != position:  # it trained in this call
        _snapshot(options.out, model, time.process_time() - cpu0, config)
    print(f"{result['status']} after {result['epochs']} epoch(s); run directory {options.out}")


if __name__ == "__main__":
    run_cli(main)
