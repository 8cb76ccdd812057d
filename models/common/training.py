r"""A generic training loop: a model plugs in with a loss function and two data sets.

::

    def loss_fn(model, batch):              # mean over the samples of the batch
        pred = model(batch["x"])
        loss = torch.nn.functional.mse_loss(pred, batch["y"])
        return loss, {"mae": (pred - batch["y"]).abs().mean()}

    ctx = prepare(settings, options)        # threads, seeds, torch.distributed under torchrun
    model = MyModel(dtype=torch_dtype(settings.dtype))
    result = Trainer(model, loss_fn, TensorData(train), settings, options, val_data=TensorData(val)).fit()

Per optimiser step: the global batch (:func:`~models.common.batching.epoch_batches`, shuffled by
``(seed, epoch)``), this rank's slice of it, ``loss_fn``, backward (gradients averaged over ranks by
DDP), gradient clipping, AdamW, the learning-rate schedule (:mod:`models.common.schedule`) and the EMA
of the weights (``torch.optim.swa_utils.AveragedModel``).  After every epoch: validation (the mean of
``loss_fn``'s values over the validation set and/or ``evaluate(model)``), ``best.pt`` when the
monitored metric improves, ``checkpoint.pt`` and ``history.jsonl`` (one JSON line per epoch).

Run directory (rank 0 writes, atomically): ``run.json`` (settings, identity, world size),
``checkpoint.pt`` (everything needed to resume: model, optimiser, schedule, EMA, position, RNG states,
settings, history), ``best.pt`` (``state_dict`` of the evaluated weights -- the EMA ones when the EMA
is on -- at the best epoch), ``history.jsonl``.  ``--resume`` continues bit-exactly (also from the
middle of an epoch after ``--time-budget``) and refuses changed settings unless ``--force``.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch.optim.swa_utils import AveragedModel

from models.common import distributed
from models.common.batching import Batchable, epoch_batches, to_device
from models.common.checkpoint import (
    CHECKPOINT_FORMAT,
    load_checkpoint,
    restore_rng_states,
    rng_states,
    save_state,
    settings_differences,
)
from models.common.io import read_history, write_json_atomic, write_text_atomic
from models.common.progress import progress
from models.common.schedule import SCHEDULES, LRSchedule, make_optimizer

__all__ = ["DTYPES", "RunOptions", "TrainSettings", "Trainer", "prepare", "read_history", "torch_dtype",
           "warm_ema"]

DTYPES = {"float32": torch.float32, "float64": torch.float64}
LossFn = Callable[[torch.nn.Module, Any], tuple[torch.Tensor, Mapping[str, Any]]]


def warm_ema(decay: float) -> Callable[[list, list, Any], None]:
    r"""Moving average of the weights with a warm-up: after ``n`` averaged steps the next one uses
    ``d_n = min(decay, (1 + n) / (10 + n))``, ``ema ← d_n · ema + (1 - d_n) · w`` (the first step copies
    ``w``).  Without the warm-up an average with ``decay = 0.99`` still holds ``0.99^n`` of the random
    initial weights after ``n`` steps (37 % after 100); with it, the initial weights are forgotten like
    ``O(1/n)``.  Integer buffers follow the model.  For :class:`torch.optim.swa_utils.AveragedModel`
    (``multi_avg_fn``).

    >>> ema, w = [torch.zeros(1)], [torch.ones(1)]
    >>> warm_ema(0.99)(ema, w, torch.tensor(1)); ema   # d_1 = 2/11
    [tensor([0.8182])]
    """
    def update(averaged: list, current: list, num_averaged: Any) -> None:
        n = int(num_averaged)
        if averaged[0].is_floating_point() or averaged[0].is_complex():  # lists come grouped by dtype
            torch._foreach_lerp_(averaged, current, 1.0 - min(decay, (1.0 + n) / (10.0 + n)))
        else:  # integer buffers (counters, indices) are not averaged: they follow the model
            torch._foreach_copy_(averaged, current)
    return update


def _scalar(value: Any) -> float:
    return float(value.detach()) if isinstance(value, torch.Tensor) else float(value)


def torch_dtype(name: str) -> torch.dtype:
    """``"float32"`` or ``"float64"`` as a torch dtype.

    >>> torch_dtype("float64")
    torch.float64
    """
    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {name!r}")
    return DTYPES[name]


@dataclass(frozen=True)
class TrainSettings:
    """What determines the result of training (a resumed run must use the same, unless ``--force``)."""

    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    clip: float = 0.0  # gradient-norm clipping; 0 = off
    warmup: float = 0.02  # fraction of all optimiser steps
    schedule: str = "cosine"
    min_lr: float = 0.01  # final (cosine) or smallest (plateau) fraction of lr
    patience: int = 3  # plateau: epochs without improvement before the rate is halved
    ema: float = 0.0  # decay of the moving average of the weights (with warm-up, see warm_ema); 0 = off
    seed: int = 0
    dtype: str = "float32"
    monitor: str = "val_loss"  # history key that selects best.pt (and drives the plateau schedule)
    mode: str = "min"

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "patience"):
            if not (isinstance(getattr(self, name), int) and getattr(self, name) >= 1):
                raise ValueError(f"{name} must be an integer >= 1, got {getattr(self, name)!r}")
        if not (self.lr > 0 and self.weight_decay >= 0 and self.clip >= 0):
            raise ValueError(f"need lr > 0, weight_decay >= 0, clip >= 0; got {self.lr}, "
                             f"{self.weight_decay}, {self.clip}")
        if not 0.0 <= self.ema < 1.0:
            raise ValueError(f"ema decay must be in [0, 1), got {self.ema}")
        if self.schedule not in SCHEDULES or self.mode not in ("min", "max"):
            raise ValueError(f"schedule must be one of {SCHEDULES} and mode 'min' or 'max', got "
                             f"{self.schedule!r}, {self.mode!r}")
        torch_dtype(self.dtype)


@dataclass(frozen=True)
class RunOptions:
    """How this invocation runs (free to change between a run and its resumption)."""

    out: Path
    resume: bool = False
    force: bool = False
    threads: int | None = 1
    time_budget: float | None = None  # minutes of training in this invocation
    cpu_budget: float | None = None  # CPU minutes (this process, all threads) of training
    stop_after: int | None = None  # epochs to train in this invocation
    quiet: bool = False
    device: str = "cpu"


def prepare(settings: TrainSettings, options: RunOptions) -> distributed.Context:
    """Set threads, seed torch / numpy / random with ``settings.seed`` and join torchrun's process
    group; call it before building the model (so the initial weights follow the seed)."""
    import random

    import numpy as np

    if options.threads is not None:
        if options.threads < 1:
            raise ValueError(f"threads must be >= 1, got {options.threads}")
        torch.set_num_threads(options.threads)
    ctx = distributed.init(options.device)
    torch.manual_seed(settings.seed)
    np.random.seed(settings.seed)
    random.seed(settings.seed)
    return ctx


class Trainer:
    """Trains ``model`` with ``loss_fn(model, batch) -> (mean loss, {name: mean value})``.

    ``train_data`` / ``val_data``: :class:`~models.common.batching.Batchable` (``len`` and
    ``batch(indices)``).  ``evaluate(model) -> {name: value}`` adds validation metrics that are not
    batch means (AUC, ...); it runs on rank 0.  ``identity``: settings of the model and data that must
    not change on resume (they are compared like ``settings``).
    """

    def __init__(self, model: torch.nn.Module, loss_fn: LossFn, train_data: Batchable,
                 settings: TrainSettings, options: RunOptions, *, val_data: Batchable | None = None,
                 evaluate: Callable[[torch.nn.Module], Mapping[str, float]] | None = None,
                 identity: Mapping[str, Any] | None = None, eval_batch_size: int | None = None,
                 ctx: distributed.Context | None = None) -> None:
        self.ctx = ctx or distributed.init(options.device)
        self.settings, self.options, self.loss_fn = settings, options, loss_fn
        self.train_data, self.val_data, self.evaluate_fn = train_data, val_data, evaluate
        self.identity = dict(identity or {})
        self.eval_batch_size = eval_batch_size or settings.batch_size
        self.out = Path(options.out)
        wrong = {p.dtype for p in model.parameters() if p.is_floating_point()} - {torch_dtype(settings.dtype)}
        if wrong:
            raise ValueError(f"the model has {sorted(map(str, wrong))} parameters but --dtype is "
                             f"{settings.dtype}; build it with dtype=torch_dtype(settings.dtype)")
        self.model = model.to(self.ctx.device)
        self.ddp: torch.nn.Module = self.model
        if self.ctx.distributed:
            ids = [self.ctx.device.index] if self.ctx.device.type == "cuda" else None
            self.ddp = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self.ema = None
        if settings.ema > 0:
            self.ema = AveragedModel(self.model, multi_avg_fn=warm_ema(settings.ema),
                                     use_buffers=True)
        self.optimizer = make_optimizer(self.model, settings.lr, settings.weight_decay)
        per_epoch = len(epoch_batches(len(train_data), settings.batch_size, None, 0, self.ctx.world))
        self.schedule = LRSchedule(self.optimizer, settings.epochs * per_epoch, warmup=settings.warmup,
                                   kind=settings.schedule, min_lr=settings.min_lr,
                                   patience=settings.patience, mode=settings.mode)
        self.history: list[dict[str, Any]] = []
        self.epoch, self.batch, self.best = 0, 0, None
        self.partial: dict[str, float] = {}  # sums of the epoch in progress (mid-epoch checkpoints)
        self._started = False

    # ------------------------------------------------------------------------------------ helpers
    def log(self, message: str) -> None:
        if self.ctx.is_main and not self.options.quiet:
            print(message, file=sys.stderr, flush=True)

    @property
    def eval_model(self) -> torch.nn.Module:
        """The weights that are validated and saved as ``best.pt`` (the EMA when it is on)."""
        return self.ema.module if self.ema is not None else self.model

    def _current(self) -> dict[str, Any]:
        return {"settings": asdict(self.settings), "identity": self.identity}

    # ----------------------------------------------------------------------------- start / resume
    def start(self) -> None:
        """Check the run directory and resume from it (``--resume``) or claim it (``--force`` or empty);
        called by :meth:`fit`, or earlier by a model that writes its own files once the run is claimed."""
        if self._started:
            return
        self._started = True
        path = self.out / "checkpoint.pt"
        exists = path.is_file()
        if exists and self.options.resume:
            self._resume(load_checkpoint(path, map_location=self.ctx.device))
        elif exists and not self.options.force:
            raise FileExistsError(f"{self.out} already holds a run (checkpoint.pt); pass --resume to "
                                  "continue it or --force to start afresh")
        elif self.options.resume:
            self.log(f"nothing to resume in {self.out} (no checkpoint.pt); starting afresh")
        if self.ctx.distributed:
            torch.distributed.barrier()
        if self.ctx.is_main:
            if not (exists and self.options.resume):
                for name in ("checkpoint.pt", "best.pt", "history.jsonl"):
                    (self.out / name).unlink(missing_ok=True)
            write_json_atomic(self.out / "run.json", {**self._current(), "world": self.ctx.world,
                                                      "torch": torch.__version__})

    def _resume(self, state: dict[str, Any]) -> None:
        saved = {"settings": state["settings"], "identity": state["identity"]}
        diffs = settings_differences(saved, self._current())
        if diffs and not self.options.force:
            raise ValueError(f"--resume: {self.out} was trained with other settings ({'; '.join(diffs)}); "
                             "pass --force to continue with the new ones")
        if diffs:
            self.log(f"warning: resuming with changed settings ({'; '.join(diffs)}): the result differs "
                     "from an uninterrupted run")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        if self.ema is not None and state["ema"] is not None:
            self.ema.load_state_dict(state["ema"])
        elif self.ema is not None:
            self.ema = AveragedModel(self.model, multi_avg_fn=warm_ema(self.settings.ema),
                                     use_buffers=True)
        self.epoch, self.batch, self.best = int(state["epoch"]), int(state["batch"]), state["best"]
        self.history = list(state["history"])
        # the saved sums of a half-done epoch are over all ranks: rank 0 carries them on
        keep = self.ctx.is_main
        self.partial = {k: (v if keep or k == "seconds" else 0.0) for k, v in state["partial"].items()}
        restore_rng_states(state["rng"])
        self.log(f"resumed {self.out / 'checkpoint.pt'} at epoch {self.epoch + 1}, batch {self.batch}")

    def _save(self) -> None:
        if not self.ctx.is_main:
            return
        save_state(self.out / "checkpoint.pt", {
            "format": CHECKPOINT_FORMAT, "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(), "schedule": self.schedule.state_dict(),
            "ema": None if self.ema is None else self.ema.state_dict(), "epoch": self.epoch,
            "batch": self.batch, "best": self.best, "partial": self.partial, "history": self.history,
            "rng": rng_states(), "world": self.ctx.world, **self._current()})
        lines = "".join(json.dumps(entry, sort_keys=True) + "\n" for entry in self.history)
        write_text_atomic(self.out / "history.jsonl", lines)

    # ------------------------------------------------------------------------------------ training
    def _out_of_time(self, start: float) -> bool:
        wall, cpu = self.options.time_budget, self.options.cpu_budget
        if wall is None and cpu is None:
            return False
        late = ((wall is not None and time.perf_counter() - start > 60.0 * wall)
                or (cpu is not None and time.process_time() - self._cpu_start > 60.0 * cpu))
        flag = distributed.all_reduce_sum(torch.tensor([float(late)]), self.ctx)
        return bool(flag.item() > 0)

    def _budget_text(self) -> str:
        o = self.options
        parts = ([f"time budget of {o.time_budget} min"] if o.time_budget is not None else []) + (
            [f"CPU budget of {o.cpu_budget} CPU-min"] if o.cpu_budget is not None else [])
        return " / ".join(parts)

    def _train_epoch(self, start: float) -> bool:
        """Train from ``(self.epoch, self.batch)`` to the end of the epoch; False if stopped early."""
        s, ctx = self.settings, self.ctx
        batches = epoch_batches(len(self.train_data), s.batch_size, s.seed, self.epoch, ctx.world)
        self.model.train()
        t0 = time.perf_counter() - self.partial.get("seconds", 0.0)
        with progress(total=len(batches), desc=f"epoch {self.epoch + 1}/{s.epochs}", unit="batch",
                      disable=True if (self.options.quiet or not ctx.is_main) else None) as bar:
            bar.update(self.batch)
            while self.batch < len(batches):
                idx = batches[self.batch]
                local = distributed.rank_slice(idx, ctx)
                batch = to_device(self.train_data.batch(local), ctx.device)
                self.optimizer.zero_grad(set_to_none=True)
                loss, metrics = self.loss_fn(self.ddp, batch)
                scale = len(local) * ctx.world / len(idx)
                (loss if scale == 1.0 else loss * scale).backward()
                if s.clip > 0:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), s.clip)
                self.optimizer.step()
                self.schedule.step()
                if self.ema is not None:
                    self.ema.update_parameters(self.model)
                n = len(local)
                for key, value in {"loss": loss, **metrics}.items():
                    self.partial[key] = self.partial.get(key, 0.0) + _scalar(value) * n
                self.partial["n"] = self.partial.get("n", 0.0) + n
                self.batch += 1
                bar.update(1)
                bar.set_postfix(loss=self.partial["loss"] / self.partial["n"])
                self.partial["seconds"] = time.perf_counter() - t0
                if self.batch < len(batches) and self._out_of_time(start):
                    return False
        return True

    def _global_partial(self) -> dict[str, float]:
        """The epoch's sums over all ranks (``seconds``: this rank's wall time)."""
        keys = sorted(k for k in self.partial if k != "seconds")
        sums = torch.tensor([self.partial[k] for k in keys], dtype=torch.float64)
        sums = distributed.all_reduce_sum(sums, self.ctx)
        return {**dict(zip(keys, sums.tolist(), strict=True)), "seconds": self.partial["seconds"]}

    def _epoch_means(self) -> dict[str, float]:
        sums = self._global_partial()
        means = {f"train_{k}": v / sums["n"] for k, v in sums.items() if k not in ("n", "seconds")}
        return {**means, "train_seconds": sums["seconds"]}

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """``val_<name>``: means of ``loss_fn`` over the validation set (sharded over the ranks) and the
        values of ``evaluate`` (rank 0's, broadcast)."""
        out: dict[str, float] = {}
        model = self.eval_model
        model.eval()
        if self.val_data is not None:
            sums: dict[str, float] = {}
            for idx in epoch_batches(len(self.val_data), self.eval_batch_size, None, 0):
                local = distributed.rank_slice(idx, self.ctx)
                if len(local) == 0:
                    continue
                loss, metrics = self.loss_fn(model, to_device(self.val_data.batch(local), self.ctx.device))
                for key, value in {"loss": loss, **metrics}.items():
                    sums[key] = sums.get(key, 0.0) + _scalar(value) * len(local)
                sums["n"] = sums.get("n", 0.0) + len(local)
            keys = sorted(k for k in sums if k != "n")
            if self.ctx.distributed:  # every rank has the same keys (loss_fn returns the same names)
                keys = distributed.broadcast_object(keys, self.ctx)
            total = torch.tensor([sums.get(k, 0.0) for k in keys] + [sums.get("n", 0.0)], dtype=torch.float64)
            total = distributed.all_reduce_sum(total, self.ctx)
            out.update({f"val_{k}": float(v / total[-1]) for k, v in zip(keys, total[:-1], strict=True)})
        if self.evaluate_fn is not None:
            extra = dict(self.evaluate_fn(model)) if self.ctx.is_main else None
            extra = distributed.broadcast_object(extra, self.ctx)
            out.update({f"val_{k}": float(v) for k, v in extra.items()})
        model.train()
        return out

    def _improved(self, entry: Mapping[str, Any]) -> bool:
        key = self.settings.monitor
        if key not in entry:
            raise ValueError(f"monitor {key!r} is not among the epoch's values {sorted(entry)}")
        value = float(entry[key])
        if math.isnan(value):
            return False
        if self.best is None:
            return True
        return value < self.best["value"] if self.settings.mode == "min" else value > self.best["value"]

    def fit(self) -> dict[str, Any]:
        """Train to ``settings.epochs`` (or until ``stop_after`` / ``time_budget``); returns
        ``{"status": "finished" | "stopped", "epochs": completed epochs, "best": ..., "history": ...}``."""
        self.start()
        start, first = time.perf_counter(), self.epoch
        self._cpu_start = time.process_time()
        status = "finished"
        while self.epoch < self.settings.epochs:
            if self.options.stop_after is not None and self.epoch - first >= self.options.stop_after:
                status = "stopped"
                break
            if not self._train_epoch(start):
                self.partial = self._global_partial()
                self._save()
                self.log(f"{self._budget_text()} used up in epoch {self.epoch + 1} "
                         f"(batch {self.batch}); continue with --resume")
                status = "stopped"
                break
            entry = {"epoch": self.epoch + 1, **self._epoch_means(), "lr": self.schedule.lr}
            entry.update(self.validate())
            self.history.append(entry)
            if self._improved(entry):
                self.best = {"value": float(entry[self.settings.monitor]), "epoch": self.epoch + 1}
                if self.ctx.is_main:
                    save_state(self.out / "best.pt", self.eval_model.state_dict())
            self.schedule.epoch_end(entry.get(self.settings.monitor))
            self.epoch, self.batch, self.partial = self.epoch + 1, 0, {}
            self._save()
            self.log(f"epoch {entry['epoch']}: " + ", ".join(
                f"{k} {v:.4g}" for k, v in entry.items() if k != "epoch" and isinstance(v, float)))
            if self.epoch < self.settings.epochs and self._out_of_time(start):
                self.log(f"{self._budget_text()} used up; continue with --resume")
                status = "stopped"
                break
        if status == "stopped" and self.options.stop_after is not None:
            self.log(f"stopped after epoch {self.epoch} of {self.settings.epochs}; continue with --resume")
        return {"status": status, "epochs": self.epoch, "best": self.best, "history": self.history}
