r"""Train a top tagger on the locally generated jets and write a self-contained run directory.

::

    python -m models.top_tagging.train --model lorentz --data data/top_tagging --epochs 6 --out runs/lorentz
    python -m models.top_tagging.train --model deepsets --data data/top_tagging --epochs 20 \
        --out runs/deepsets
    python -m models.top_tagging.metrics plot runs/lorentz runs/deepsets --out docs/top_tagging_roc.png

Run directory (every file written atomically: temporary file + ``os.replace``):

* ``config.json``        model kind, model hyper-parameters, training arguments, parameter count
* ``best.pt``            ``state_dict`` of the model with the best validation AUC (tensors only)
* ``checkpoint.pt``      last epoch's model / optimiser / scheduler state for ``--resume`` (tensors and
  plain Python values only: loadable with ``torch.load(..., weights_only=True)``)
* ``history.json``       per-epoch train loss, validation loss / accuracy / AUC, wall time
* ``test_metrics.json``  accuracy, AUC, ``1/eps_B`` at ``eps_S = 0.3`` of ``best.pt`` on the test split
* ``test_scores.npz``    test labels and scores (for ROC plots), ``roc.png`` if matplotlib is installed

No whole models are pickled: :func:`load_model` rebuilds the model from ``config.json`` and loads
``best.pt`` with ``weights_only=True``.  Shuffling uses a generator seeded by ``(seed, epoch)``, so a
resumed run sees the same batches as an uninterrupted one.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.common.io import atomic_path, write_json_atomic
from models.common.progress import progress as progress_bar
from models.top_tagging.baseline import DeepSetsConfig, DeepSetsTagger
from models.top_tagging.metrics import all_metrics, auc
from models.top_tagging.model import LorentzTagger, LorentzTaggerConfig, count_parameters

MODELS = ("lorentz", "deepsets")


# ------------------------------------------------------------------------------------------- files
def save_torch(path: Path, obj: Any) -> None:
    """``torch.save`` of tensors and plain values, atomically."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


# ------------------------------------------------------------------------------------------- model
def build_model(kind: str, model_config: dict[str, Any]) -> torch.nn.Module:
    """A fresh model of ``kind`` (``"lorentz"`` or ``"deepsets"``) from its config dict (float32)."""
    if kind == "lorentz":
        return LorentzTagger(LorentzTaggerConfig(**model_config))
    if kind == "deepsets":
        return DeepSetsTagger(DeepSetsConfig(**model_config))
    raise ValueError(f"unknown model {kind!r}; choose one of {MODELS}")


def load_model(run: str | Path, weights: str = "best.pt") -> torch.nn.Module:
    """Rebuild the model of a run directory and load its weights (``weights_only=True``)."""
    run = Path(run)
    config = json.loads((run / "config.json").read_text())
    model = build_model(config["model"], config["model_config"])
    model.load_state_dict(torch.load(run / weights, weights_only=True))
    return model.eval()


def model_config_from_args(args: argparse.Namespace) -> dict[str, Any]:
    if args.model == "lorentz":
        return LorentzTaggerConfig(channels=args.channels, layers=args.layers, correlation=args.correlation,
                                   k=None if args.k <= 0 else args.k).to_dict()
    return DeepSetsConfig(hidden=args.hidden, latent=args.hidden).to_dict()


def keep_freed_memory() -> bool:
    """Ask glibc to serve large blocks from the heap and keep freed memory (Linux only).

    Each training step allocates and frees the same large edge tensors (tens of MB); by default
    glibc maps those as fresh pages whose first touch page-faults, which costs 5-25 % of a
    Lorentz-tagger or symmetric-contraction step on CPU (benchmarks/bench_cpu_allocator.py).
    With ``M_MMAP_MAX = 0`` and a 1 GiB trim threshold the pages are reused.  Returns whether the
    settings were applied.
    """
    import ctypes
    import ctypes.util

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_top_pad, m_mmap_max = -1, -2, -4
        ok = libc.mallopt(m_mmap_max, 0)
        ok &= libc.mallopt(m_trim_threshold, 2**30) & libc.mallopt(m_top_pad, 2**28)
        return bool(ok)
    except (OSError, AttributeError):
        return False


# -------------------------------------------------------------------------------------------- data
def load_split(data: str, split: str | None, n_constituents: int,
               limit: int | None) -> dict[str, torch.Tensor]:
    """``p`` (n, N, 4) float32, ``mask`` (n, N) bool, ``label`` (n,) float32 of one split (``None``: all
    jets); the first
    ``N`` (leading-pT) constituents; at most ``limit`` jets (a fixed, class-mixed subset)."""
    from models.top_tagging.dataset import load_jets

    arrays = load_jets(data, split)
    n = len(arrays["label"])
    rows = np.arange(n)
    if limit is not None and limit < n:
        rows = np.sort(np.random.default_rng(12345).permutation(n)[:limit])
    return {"p": torch.from_numpy(np.ascontiguousarray(arrays["constituents"][rows, :n_constituents])),
            "mask": torch.from_numpy(np.ascontiguousarray(arrays["mask"][rows, :n_constituents])),
            "label": torch.from_numpy(arrays["label"][rows].astype(np.float32))}


def batches(data: dict[str, torch.Tensor], size: int, generator: torch.Generator | None) -> Iterator[dict]:
    n = len(data["label"])
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    for start in range(0, n, size):
        idx = order[start : start + size]
        yield {key: value[idx] for key, value in data.items()}


# ---------------------------------------------------------------------------------------- training
@torch.no_grad()
def predict(model: torch.nn.Module, data: dict[str, torch.Tensor], batch_size: int,
            progress: bool = False) -> np.ndarray:
    """Probabilities ``sigmoid(logit)`` of every jet (model in eval mode)."""
    model.eval()
    out = []
    with progress_bar(total=math.ceil(len(data["label"]) / batch_size), desc="predict", unit="batch",
                      disable=None if progress else True) as bar:
        for batch in batches(data, batch_size, None):
            out.append(torch.sigmoid(model(batch["p"], batch["mask"]).double()))
            bar.update(1)
    return torch.cat(out).numpy()


def evaluate(model: torch.nn.Module, data: dict[str, torch.Tensor], batch_size: int) -> dict[str, float]:
    scores = predict(model, data, batch_size)
    labels = data["label"].numpy().astype(np.int64)
    eps = 1e-7
    bce = -np.mean(labels * np.log(scores + eps) + (1 - labels) * np.log(1 - scores + eps))
    return {"loss": float(bce), "accuracy": float(np.mean((scores >= 0.5) == labels)),
            "auc": auc(labels, scores)}


def train_epoch(model, opt, sched, data, args, epoch: int) -> float:
    model.train()
    gen = torch.Generator().manual_seed(args.seed * 100_003 + epoch)
    n_batches = math.ceil(len(data["label"]) / args.batch_size)
    total, count = 0.0, 0
    loss_fn = torch.nn.BCEWithLogitsLoss()
    with progress_bar(total=n_batches, desc=f"epoch {epoch + 1}/{args.epochs}", unit="batch",
                      disable=True if args.quiet else None) as bar:
        for batch in batches(data, args.batch_size, gen):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(batch["p"], batch["mask"]), batch["label"])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(batch["label"])
            count += len(batch["label"])
            bar.update(1)
            bar.set_postfix(loss=total / count)
    return total / count


def make_optimizer(model: torch.nn.Module, args: argparse.Namespace, steps: int):
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    warmup = max(1, steps // 50)

    def factor(step: int) -> float:  # linear warm-up then cosine decay to 1 % of lr
        if step < warmup:
            return (step + 1) / warmup
        t = min(1.0, (step - warmup) / max(1, steps - warmup))
        return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * t))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


def run(args: argparse.Namespace) -> dict[str, Any]:
    torch.set_num_threads(args.threads)
    keep_freed_memory()
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    out = Path(args.out)
    log = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    train = load_split(args.data, "train", args.n_constituents, args.max_train)
    val = load_split(args.data, "val", args.n_constituents, args.max_val)
    model_config = model_config_from_args(args)
    model = build_model(args.model, model_config)
    steps = args.epochs * math.ceil(len(train["label"]) / args.batch_size)
    opt, sched = make_optimizer(model, args, steps)
    config = {"model": args.model, "model_config": model_config, "n_params": count_parameters(model),
              "train_args": {k: v for k, v in vars(args).items()
                             if k not in ("resume", "quiet", "stop_after")},
              "n_train": len(train["label"]), "n_val": len(val["label"]), "torch": torch.__version__}
    start_epoch, best, history = 0, -1.0, []
    if args.resume and (out / "checkpoint.pt").exists():
        old = json.loads((out / "config.json").read_text())
        if old["model"] != args.model or old["model_config"] != model_config:
            raise ValueError(f"--resume: {out} holds a {old['model']} run with {old['model_config']}, "
                             f"not {args.model} with {model_config}")
        state = torch.load(out / "checkpoint.pt", weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        start_epoch, best = int(state["epoch"]) + 1, float(state["best_val_auc"])
        history = json.loads((out / "history.json").read_text()) if (out / "history.json").exists() else []
        history = history[:start_epoch]
        if old["train_args"].get("epochs") != args.epochs:
            log(f"warning: --epochs changed from {old['train_args'].get('epochs')} to {args.epochs}: the "
                "learning-rate schedule is stretched, results differ from an uninterrupted run")
        log(f"resumed from {out / 'checkpoint.pt'} after epoch {start_epoch}")
    elif out.exists() and (out / "checkpoint.pt").exists() and not args.overwrite:
        raise FileExistsError(f"{out} already holds a run; pass --resume to continue or --overwrite")
    write_json_atomic(out / "config.json", config)
    log(f"{args.model}: {config['n_params']} parameters, {config['n_train']} train / "
        f"{config['n_val']} val jets")
    stop = args.epochs if args.stop_after is None else min(args.epochs, start_epoch + args.stop_after)
    for epoch in range(start_epoch, stop):
        t0 = time.perf_counter()
        loss = train_epoch(model, opt, sched, train, args, epoch)
        t_train = time.perf_counter() - t0
        metrics = evaluate(model, val, args.eval_batch_size)
        entry = {"epoch": epoch + 1, "train_loss": loss, "train_seconds": t_train,
                 **{f"val_{k}": v for k, v in metrics.items()}}
        history.append(entry)
        if metrics["auc"] > best:
            best = metrics["auc"]
            save_torch(out / "best.pt", model.state_dict())
        save_torch(out / "checkpoint.pt", {"model": model.state_dict(), "optimizer": opt.state_dict(),
                                           "scheduler": sched.state_dict(), "epoch": epoch,
                                           "best_val_auc": best})
        write_json_atomic(out / "history.json", history)
        log(f"epoch {epoch + 1}: train loss {loss:.4f} ({t_train:.0f}s), val loss {metrics['loss']:.4f} "
            f"acc {metrics['accuracy']:.4f} auc {metrics['auc']:.4f}")
    if stop < args.epochs:
        log(f"stopped after epoch {stop} of {args.epochs}; continue with --resume")
        return {"stopped_after_epoch": stop}
    return finish(args, out, config, history)


def finish(args: argparse.Namespace, out: Path, config: dict, history: list[dict]) -> dict[str, Any]:
    """Evaluate ``best.pt`` on the test split and write ``test_metrics.json``, scores and ROC plot."""
    model = load_model(out)
    test = load_split(args.data, "test", args.n_constituents, args.max_test)
    t0 = time.perf_counter()
    scores = predict(model, test, args.eval_batch_size, not args.quiet)
    labels = test["label"].numpy().astype(np.int64)
    result = {"model": args.model, **all_metrics(labels, scores), "n_params": config["n_params"],
              "n_train": config["n_train"], "epochs": len(history),
              "train_seconds": sum(h["train_seconds"] for h in history),
              "test_seconds": time.perf_counter() - t0, "threads": args.threads,
              "best_val_auc": max((h["val_auc"] for h in history), default=float("nan"))}
    write_json_atomic(out / "test_metrics.json", result)
    with atomic_path(out / "test_scores.npz") as tmp:
        np.savez(tmp, label=labels, score=scores)
    try:
        from models.top_tagging.metrics import plot_roc

        plot_roc([out], out / "roc.png")
    except ImportError:
        pass
    print(json.dumps(result))
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m models.top_tagging.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=MODELS, required=True)
    p.add_argument("--data", default="data/top_tagging", help="data directory (manifest.json + jets.npz)")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--eval-batch-size", type=int, default=512)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--clip", type=float, default=1.0, help="gradient-norm clipping")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    p.add_argument("--n-constituents", type=int, default=32, help="leading-pT constituents per jet")
    p.add_argument("--max-train", type=int, default=None)
    p.add_argument("--max-val", type=int, default=None)
    p.add_argument("--max-test", type=int, default=None)
    p.add_argument("--channels", type=int, default=16, help="lorentz: channels per irrep")
    p.add_argument("--layers", type=int, default=2, help="lorentz: interaction layers")
    p.add_argument("--correlation", type=int, default=2, help="lorentz: symmetric-contraction order")
    p.add_argument("--k", type=int, default=8, help="lorentz: neighbours (<= 0: fully connected)")
    p.add_argument("--hidden", type=int, default=64, help="deepsets: hidden / latent width")
    p.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint.pt")
    p.add_argument("--stop-after", type=int, default=None,
                   help="train at most this many epochs in this invocation (then --resume); the schedule "
                        "still spans --epochs")
    p.add_argument("--overwrite", action="store_true", help="start afresh even if <out> holds a run")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    for name in ("epochs", "batch_size", "eval_batch_size", "threads", "n_constituents"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    run(parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
