r"""Train a top tagger on the locally generated jets and write a self-contained run directory.

::

    python -m models.top_tagging.train --model lorentz --data data/top_tagging --epochs 6 --out runs/lorentz
    python -m models.top_tagging.train --model deepsets --data data/top_tagging --epochs 20 \
        --out runs/deepsets
    python -m models.top_tagging.metrics plot runs/lorentz runs/deepsets --out docs/top_tagging_roc.png
    torchrun --standalone --nproc-per-node 2 -m models.top_tagging.train ...   # data-parallel (DDP)

The loop is :class:`models.common.training.Trainer` (AdamW, linear warm-up then cosine decay to 1 % of
``--lr``, gradient clipping, optional ``--ema``; ``--time-budget``, ``--stop-after``, ``--resume``).
Run directory (every file written atomically: temporary file + ``os.replace``):

* ``config.json``        model kind, model hyper-parameters, training arguments, parameter count
* ``run.json``           the training settings and the model/data identity a resumed run must keep
* ``best.pt``            ``state_dict`` of the model with the best validation AUC (tensors only)
* ``checkpoint.pt``      model / optimiser / schedule / RNG state, settings and history for ``--resume``
  (loadable with ``torch.load(..., weights_only=True)``)
* ``history.jsonl``      per epoch: train loss, validation loss / accuracy / AUC, learning rate, wall time
* ``test_metrics.json``  accuracy, AUC, ``1/eps_B`` at ``eps_S = 0.3`` of ``best.pt`` on the test split
* ``test_scores.npz``    test labels and scores (for ROC plots), ``roc.png`` if matplotlib is installed

No whole models are pickled: :func:`load_model` rebuilds the model from ``config.json`` and loads
``best.pt`` with ``weights_only=True``.  Shuffling uses a generator seeded by ``(seed, epoch)``, so a
resumed run sees the same batches as an uninterrupted one; ``--resume`` refuses changed settings
unless ``--force`` is given.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.common.args import add_training_arguments, options_from_args, positive_int, settings_from_args
from models.common.batching import TensorData, epoch_batches
from models.common.checkpoint import load_checkpoint
from models.common.cli import run_cli
from models.common.io import atomic_path, write_json_atomic
from models.common.memory import keep_freed_memory
from models.common.progress import progress as progress_bar
from models.common.training import Trainer, TrainSettings, prepare, torch_dtype
from models.top_tagging.baseline import DeepSetsConfig, DeepSetsTagger
from models.top_tagging.generate import GenerationConfig
from models.top_tagging.lorentznet import LorentzNet, LorentzNetConfig
from models.top_tagging.metrics import all_metrics, auc
from models.top_tagging.model import LorentzTagger, LorentzTaggerConfig, count_parameters

PEER_MODELS = ("lgatr", "pelican", "particlenet", "part")  # adapters of models.top_tagging.peers
MODELS = ("lorentz", "deepsets", "lorentznet", *PEER_MODELS)
MAX_CONSTITUENTS = GenerationConfig().max_constituents  # stored per jet by models.top_tagging.data
DEFAULTS = TrainSettings(epochs=10, batch_size=128, lr=2e-3, weight_decay=1e-4, clip=1.0, warmup=0.02,
                         schedule="cosine", min_lr=0.01, monitor="val_auc", mode="max")


# ------------------------------------------------------------------------------------------- model
def build_model(kind: str, model_config: dict[str, Any],
                dtype: torch.dtype = torch.float32) -> torch.nn.Module:
    """A fresh model of ``kind`` (one of :data:`MODELS`) from its config dict."""
    if kind == "lorentz":
        return LorentzTagger(LorentzTaggerConfig(**model_config), dtype=dtype)
    if kind == "deepsets":
        return DeepSetsTagger(DeepSetsConfig(**model_config), dtype=dtype)
    if kind == "lorentznet":
        return LorentzNet(LorentzNetConfig(**model_config), dtype=dtype)
    if kind in PEER_MODELS:
        from models.top_tagging.peers import build_peer

        return build_peer(kind, model_config, dtype)
    raise ValueError(f"unknown model {kind!r}; choose one of {MODELS}")


def load_model(run: str | Path, weights: str = "best.pt") -> torch.nn.Module:
    """Rebuild the model of a run directory and load its weights (``weights_only=True``)."""
    run = Path(run)
    if not (run / "config.json").is_file():
        raise FileNotFoundError(f"{run / 'config.json'} not found: is {run} a run directory of "
                                "models.top_tagging.train?")
    config = json.loads((run / "config.json").read_text())
    dtype = torch_dtype(config["train_args"].get("dtype", "float32"))
    model = build_model(config["model"], config["model_config"], dtype)
    model.load_state_dict(load_checkpoint(run / weights, expect_format=None))
    return model.eval()


# LorentzTagger options added by issue 15 and their values in the runs made before them (which lack the keys)
LEGACY_DEFAULTS = {"basis": "complex", "input_norm": False, "edge_scalars": False}


def recorded_config(out: Path, model_config: dict[str, Any], resume: bool) -> dict[str, Any]:
    """``model_config`` as the run in ``out`` records it: when resuming a run made before issue 15's
    options, the options it lacks are left out if they have the values it was trained with
    (:data:`LEGACY_DEFAULTS`), so ``--resume`` still compares every setting that run knows.

    >>> recorded_config(Path("no/such/run"), {"k": 8, "basis": "complex"}, True)
    {'k': 8, 'basis': 'complex'}
    """
    path = out / "checkpoint.pt"
    if not (resume and path.is_file()):
        return model_config
    saved = load_checkpoint(path).get("identity", {}).get("model_config", {})
    return {key: value for key, value in model_config.items()
            if key in saved or key not in LEGACY_DEFAULTS or LEGACY_DEFAULTS[key] != value}


def model_config_from_args(args: argparse.Namespace) -> dict[str, Any]:
    if args.model == "lorentz":
        return LorentzTaggerConfig(channels=args.channels, layers=args.layers, correlation=args.correlation,
                                   k=None if args.k <= 0 else args.k, massless=args.massless,
                                   basis=args.basis, input_norm=args.input_norm,
                                   edge_scalars=args.edge_scalars).to_dict()
    if args.model == "lorentznet":
        return LorentzNetConfig(hidden=args.width, layers=args.blocks or LorentzNetConfig.layers).to_dict()
    if args.model in PEER_MODELS:
        from models.top_tagging.peers import PeerConfig

        return PeerConfig(width=args.width, blocks=args.blocks or PeerConfig.blocks, latent=args.width,
                          heads=args.heads).to_dict()
    return DeepSetsConfig(hidden=args.hidden, latent=args.hidden).to_dict()


# -------------------------------------------------------------------------------------------- data
def load_split(data: str, split: str | None, n_constituents: int,
               limit: int | None) -> dict[str, torch.Tensor]:
    """``p`` (n, N, 4) float32, ``mask`` (n, N) bool, ``label`` (n,) float32 of one split (``None``: all
    jets); the first ``N`` (leading-pT) constituents (fewer if the data store fewer); at most ``limit``
    jets (a fixed, class-mixed subset).  ValueError if ``N < 1``, ``limit < 1`` or the split is empty."""
    from models.top_tagging.dataset import load_jets

    if not (isinstance(n_constituents, int) and n_constituents >= 1):
        raise ValueError(f"--n-constituents must be a positive integer, got {n_constituents!r}")
    if limit is not None and not (isinstance(limit, int) and limit >= 1):
        raise ValueError(f"the number of jets to use must be a positive integer, got {limit!r}")
    arrays = load_jets(data, split)
    n = len(arrays["label"])
    if n == 0:
        raise ValueError(f"the {split or 'whole'} split of {data} holds no jets")
    rows = np.arange(n)
    if limit is not None and limit < n:
        rows = np.sort(np.random.default_rng(12345).permutation(n)[:limit])
    return {"p": torch.from_numpy(np.ascontiguousarray(arrays["constituents"][rows, :n_constituents])),
            "mask": torch.from_numpy(np.ascontiguousarray(arrays["mask"][rows, :n_constituents])),
            "label": torch.from_numpy(arrays["label"][rows].astype(np.float32))}


# ---------------------------------------------------------------------------------------- training
@torch.no_grad()
def predict(model: torch.nn.Module, data: dict[str, torch.Tensor], batch_size: int,
            progress: bool = False) -> np.ndarray:
    """Probabilities ``sigmoid(logit)`` of every jet (model in eval mode), float64."""
    model.eval()
    jets = TensorData(data)
    out = []
    for idx in progress_bar(epoch_batches(len(jets), batch_size, None, 0), desc="predict", unit="batch",
                            disable=None if progress else True):
        batch = jets.batch(idx)
        out.append(torch.sigmoid(model(batch["p"], batch["mask"]).double()))
    return torch.cat(out).numpy()


def evaluate(model: torch.nn.Module, data: dict[str, torch.Tensor], batch_size: int) -> dict[str, float]:
    """Validation loss (binary cross-entropy), accuracy and AUC of ``model`` on ``data``."""
    scores = predict(model, data, batch_size)
    labels = data["label"].numpy().astype(np.int64)
    eps = 1e-7
    bce = -np.mean(labels * np.log(scores + eps) + (1 - labels) * np.log(1 - scores + eps))
    return {"loss": float(bce), "accuracy": float(np.mean((scores >= 0.5) == labels)),
            "auc": auc(labels, scores)}


def loss_fn(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
    """Mean binary cross-entropy of the logits against the labels (1 = top)."""
    logits = model(batch["p"], batch["mask"])
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, batch["label"].to(logits.dtype)), {}


def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = settings_from_args(args, DEFAULTS)
    options = options_from_args(args)
    ctx = prepare(settings, options)
    keep_freed_memory()
    out = Path(args.out)
    log = (lambda *a: None) if args.quiet or not ctx.is_main else (lambda *a: print(*a, file=sys.stderr,
                                                                                     flush=True))
    train = load_split(args.data, "train", args.n_constituents, args.max_train)
    val = load_split(args.data, "val", args.n_constituents, args.max_val)
    model_config = model_config_from_args(args)
    model = build_model(args.model, model_config, torch_dtype(settings.dtype))
    identity = {"model": args.model, "model_config": recorded_config(out, model_config, args.resume),
                "n_constituents": args.n_constituents,
                "n_train": len(train["label"]), "n_val": len(val["label"]),
                "data_sha256": data_fingerprint(args.data)}
    trainer = Trainer(model, loss_fn, TensorData(train), settings, options, identity=identity, ctx=ctx,
                      evaluate=lambda m: evaluate(m, val, args.eval_batch_size))
    trainer.start()  # refuses an existing run / changed settings before anything is written
    config = {"model": args.model, "model_config": model_config, "n_params": count_parameters(model),
              "train_args": {k: v for k, v in vars(args).items()
                             if k not in ("resume", "quiet", "stop_after", "force", "time_budget")},
              "n_train": len(train["label"]), "n_val": len(val["label"]), "torch": torch.__version__,
              "world": ctx.world}
    if ctx.is_main:
        write_json_atomic(out / "config.json", config)
    log(f"{args.model}: {config['n_params']} parameters, {config['n_train']} train / "
        f"{config['n_val']} val jets")
    result = trainer.fit()
    if result["status"] != "finished":
        return {"stopped_after_epoch": result["epochs"]}
    if not ctx.is_main:
        return {}
    return finish(args, out, config, result["history"])


def data_fingerprint(data: str | Path) -> str:
    """The sha256 of the data set's ``jets.npz`` from its manifest (which ``load_jets`` verified)."""
    from models.top_tagging.dataset import NPZ_NAME, load_manifest

    return str(load_manifest(data)["files"][NPZ_NAME]["sha256"])


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
    add_training_arguments(p, DEFAULTS)
    p.add_argument("--overwrite", dest="force", action="store_true", help="the same as --force")
    p.add_argument("--eval-batch-size", type=positive_int, default=512)
    p.add_argument("--n-constituents", type=positive_int, default=32, help="leading-pT constituents per jet")
    p.add_argument("--max-train", type=positive_int, default=None, help="at most this many training jets")
    p.add_argument("--max-val", type=positive_int, default=None)
    p.add_argument("--max-test", type=positive_int, default=None)
    p.add_argument("--channels", type=positive_int, default=16, help="lorentz: channels per irrep")
    p.add_argument("--layers", type=positive_int, default=2, help="lorentz: interaction layers")
    p.add_argument("--correlation", type=positive_int, default=2, help="lorentz: symmetric-contraction order")
    p.add_argument("--k", type=int, default=8, help="lorentz: neighbours (<= 0: fully connected)")
    p.add_argument("--massless", action="store_true",
                   help="lorentz: invariants of (|p|, p) (robust to float32-rounded energies)")
    p.add_argument("--basis", choices=("real", "complex"), default="real",
                   help="lorentz: (1/2,1/2) as the real 4-vector or in the complex SO13 basis")
    p.add_argument("--input-norm", action="store_true", help="lorentz: BatchNorm of the invariant inputs")
    p.add_argument("--edge-scalars", action="store_true",
                   help="lorentz: edge weights also read the invariant channels of both ends")
    p.add_argument("--hidden", type=positive_int, default=64, help="deepsets: hidden / latent width")
    p.add_argument("--width", type=positive_int, default=32, help="lorentznet and peers: hidden width")
    p.add_argument("--blocks", type=positive_int, default=None,
                   help="lorentznet and peers: blocks (default: LorentzNet 4, peers 2)")
    p.add_argument("--heads", type=positive_int, default=4, help="lgatr / part: attention heads")
    args = p.parse_args(argv)
    if args.n_constituents > MAX_CONSTITUENTS:
        p.error(f"argument --n-constituents: jets hold at most {MAX_CONSTITUENTS} constituents, "
                f"got {args.n_constituents}")
    return args


def main(argv: list[str] | None = None) -> int:
    run(parse_args(argv))
    return 0


if __name__ == "__main__":
    run_cli(main)
