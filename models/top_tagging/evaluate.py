r"""Evaluate trained top taggers on any generated data set (e.g. a large independent test set).

::

    python -m models.top_tagging.data generate --out data/top_tagging_test --n-jets 60000 --seed 2
    python -m models.top_tagging.evaluate runs/top_lorentz runs/top_deepsets \
        --data data/top_tagging_test --split all --plot docs/top_tagging_roc.png

For every run directory this writes ``<run>/eval_<data name>_<split>/`` with ``test_metrics.json``
(accuracy, AUC and its standard error, ``1/eps_B`` at ``eps_S = 0.3`` and ``0.5`` with Poisson errors)
and ``test_scores.npz``, in the format :func:`models.top_tagging.metrics.plot_roc` reads.  The model
sees the same number of leading constituents as in training (from the run's ``config.json``).

Why a separate test set: with the 10 % test split of a 40,000-jet set (2,000 QCD jets) a rejection
``1/eps_B ~ 1000`` rests on two background jets; 30,000 QCD jets give ~30.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.common.cli import run_cli
from models.common.io import atomic_path, write_json_atomic
from models.top_tagging.metrics import all_metrics, background_rejection, plot_roc
from models.top_tagging.train import load_model, load_split, predict

__all__ = ["evaluate_run"]


def evaluate_run(run: str | Path, data: str | Path, split: str | None, batch_size: int = 512,
                 progress: bool = True) -> tuple[Path, dict[str, Any]]:
    """Score ``split`` (``None`` = every jet) of ``data`` with ``<run>/best.pt``; returns the output
    directory and the metrics written there."""
    run, data = Path(run), Path(data)
    model = load_model(run)  # checks that run is a run directory
    config = json.loads((run / "config.json").read_text())
    jets = load_split(str(data), split, config["train_args"]["n_constituents"], None)
    t0 = time.perf_counter()
    scores = predict(model, jets, batch_size, progress)
    labels = jets["label"].numpy().astype(np.int64)
    result = {"model": config["model"], "run": run.name, "data": str(data), "split": split or "all",
              **all_metrics(labels, scores),
              "rejection_at_eps_s_0.5": background_rejection(labels, scores, 0.5),
              "n_params": config["n_params"], "seconds": time.perf_counter() - t0}
    out = run / f"eval_{data.name}_{split or 'all'}"
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "test_metrics.json", result)
    with atomic_path(out / "test_scores.npz") as tmp:
        np.savez(tmp, label=labels, score=scores)
    return out, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.top_tagging.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="run directories written by models.top_tagging.train")
    parser.add_argument("--data", required=True, help="data directory (manifest.json + jets.npz)")
    parser.add_argument("--split", default="all", choices=("train", "val", "test", "all"))
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--plot", default=None, help="PNG path for the ROC curves of all runs")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    outs = []
    for run in args.runs:
        out, result = evaluate_run(run, args.data, None if args.split == "all" else args.split,
                                   args.batch_size, not args.quiet)
        outs.append(out)
        print(json.dumps(result))
    if args.plot:
        print(plot_roc(outs, args.plot, f"{Path(args.data).name} ({args.split})"))
    return 0


if __name__ == "__main__":
    run_cli(main)
