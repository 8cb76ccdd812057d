"""The command-line flags every model's ``train.py`` shares, and their conversion to settings.

::

    parser = argparse.ArgumentParser(prog="python -m models.<name>.train")
    add_training_arguments(parser, TrainSettings(epochs=30, lr=1e-3, batch_size=16))
    parser.add_argument(...)                      # the model's own flags
    args = parser.parse_args(argv)
    settings, options = settings_from_args(args), options_from_args(args)

Flags: ``--epochs --batch-size --lr --weight-decay --clip --warmup --schedule --min-lr --ema --seed
--dtype`` (:class:`~models.common.training.TrainSettings`; a resumed run must keep them) and ``--out
--resume --force --threads --time-budget --cpu-budget --stop-after --device --quiet``
(:class:`~models.common.training.RunOptions`).
"""

from __future__ import annotations

import argparse
from dataclasses import fields, replace
from pathlib import Path

from models.common.schedule import SCHEDULES
from models.common.training import DTYPES, RunOptions, TrainSettings

__all__ = ["add_training_arguments", "options_from_args", "positive_float", "positive_int",
           "settings_from_args"]


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1.

    >>> positive_int("3")
    3
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    value = _number(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _fraction(text: str) -> float:
    value = _number(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def add_training_arguments(parser: argparse.ArgumentParser, defaults: TrainSettings | None = None, *,
                           out_required: bool = True) -> argparse.ArgumentParser:
    """Add the shared flags to ``parser`` with the model's ``defaults``; returns the parser."""
    d = defaults or TrainSettings()
    g = parser.add_argument_group("training (a resumed run must keep these, unless --force)")
    g.add_argument("--epochs", type=positive_int, default=d.epochs, help=f"(default {d.epochs})")
    g.add_argument("--batch-size", type=positive_int, default=d.batch_size,
                   help=f"global batch over all processes (default {d.batch_size})")
    g.add_argument("--lr", type=positive_float, default=d.lr, help=f"peak learning rate (default {d.lr})")
    g.add_argument("--weight-decay", type=float, default=d.weight_decay,
                   help=f"AdamW (default {d.weight_decay})")
    g.add_argument("--clip", type=float, default=d.clip,
                   help=f"gradient-norm clipping, 0 = off (default {d.clip})")
    g.add_argument("--warmup", type=_fraction, default=d.warmup,
                   help=f"linear warm-up, fraction of all steps (default {d.warmup})")
    g.add_argument("--schedule", choices=SCHEDULES, default=d.schedule, help=f"(default {d.schedule})")
    g.add_argument("--min-lr", type=float, default=d.min_lr,
                   help=f"final / smallest learning rate as a fraction of --lr (default {d.min_lr})")
    g.add_argument("--ema", type=_fraction, default=d.ema,
                   help=f"decay of the moving average of the weights, 0 = off (default {d.ema})")
    g.add_argument("--seed", type=int, default=d.seed, help=f"(default {d.seed})")
    g.add_argument("--dtype", choices=sorted(DTYPES), default=d.dtype, help=f"(default {d.dtype})")
    r = parser.add_argument_group("this invocation")
    r.add_argument("--out", type=Path, required=out_required, help="run directory")
    r.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint.pt")
    r.add_argument("--force", action="store_true",
                   help="with --resume: accept changed settings; without: start afresh over an existing run")
    r.add_argument("--threads", type=positive_int, default=1, help="torch threads per process (default 1)")
    r.add_argument("--time-budget", type=positive_float, default=None, metavar="MINUTES",
                   help="stop (with a checkpoint) after this much training time; continue with --resume")
    r.add_argument("--cpu-budget", type=positive_float, default=None, metavar="CPU_MINUTES",
                   help="like --time-budget, counting this process's CPU time (fair on a shared machine)")
    r.add_argument("--stop-after", type=positive_int, default=None, metavar="EPOCHS",
                   help="train at most this many epochs in this invocation (the schedule spans --epochs)")
    r.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="(default cpu)")
    r.add_argument("--quiet", action="store_true", help="no progress bars or log lines")
    return parser


def settings_from_args(args: argparse.Namespace, defaults: TrainSettings | None = None) -> TrainSettings:
    """The :class:`TrainSettings` of parsed flags (fields without a flag, e.g. ``monitor``, from
    ``defaults``)."""
    base = defaults or TrainSettings()
    given = {f.name: getattr(args, f.name) for f in fields(TrainSettings) if hasattr(args, f.name)}
    return replace(base, **given)


def options_from_args(args: argparse.Namespace) -> RunOptions:
    """The :class:`RunOptions` of parsed flags."""
    return RunOptions(out=Path(args.out), resume=args.resume, force=args.force, threads=args.threads,
                      time_budget=args.time_budget, cpu_budget=args.cpu_budget,
                      stop_after=args.stop_after, quiet=args.quiet, device=args.device)
