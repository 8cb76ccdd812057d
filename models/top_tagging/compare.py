r"""Side-by-side comparison of trained taggers on one test set: bootstrap errors, cost, a markdown table.

::

    python -m models.top_tagging.compare runs/top_r8k_* --data data/top_tagging_test16k \
        --out runs/top_r8k_compare.json --table runs/top_r8k_table.md \
        --plot docs/top_tagging_r8k_roc.png

For every run directory: scores of ``best.pt`` on every jet of ``--data`` (the independent test set),
accuracy, AUC and ``1/eps_B`` at ``eps_S = 0.3`` and ``0.5`` each with a **bootstrap** standard error
(jets resampled with replacement, ``--bootstrap`` replicas, fixed seed), parameters, CPU seconds per
training epoch (from ``history.jsonl``), inference jets per second (one thread, ``--batch-size``).
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
from models.common.io import atomic_path, read_history, write_json_atomic, write_text_atomic
from models.top_tagging.metrics import accuracy, auc, background_rejection, plot_roc
from models.top_tagging.train import load_model, load_split, predict

__all__ = ["bootstrap_metrics", "compare_runs", "markdown_table", "plot_data_efficiency", "plot_roc"]

EPS_S = (0.3, 0.5)


def point_metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Accuracy, AUC and ``1/eps_B`` at each of :data:`EPS_S`."""
    out = {"accuracy": accuracy(labels, scores), "auc": auc(labels, scores)}
    for eps in EPS_S:
        out[f"rejection_{eps}"] = background_rejection(labels, scores, eps)
    return out


def bootstrap_metrics(labels: np.ndarray, scores: np.ndarray, replicas: int = 200,
                      seed: int = 0) -> dict[str, float]:
    """:func:`point_metrics` with ``<name>_err``: the standard deviation over bootstrap resamples.

    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 500); s = y + rng.normal(size=1000)
    >>> m = bootstrap_metrics(y, s, replicas=50)
    >>> 0.005 < m["auc_err"] < 0.03 and m["auc"] > 0.7
    True
    """
    labels, scores = np.asarray(labels), np.asarray(scores)
    out = point_metrics(labels, scores)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(replicas):
        idx = rng.integers(0, len(labels), size=len(labels))
        draws.append(point_metrics(labels[idx], scores[idx]))
    for name in list(out):
        values = np.array([d[name] for d in draws])
        finite = values[np.isfinite(values)]
        out[f"{name}_err"] = float(finite.std(ddof=1)) if len(finite) > 1 else float("nan")
    out["n_jets"], out["n_background"] = int(len(labels)), int((labels == 0).sum())
    return out


def _run_cost(run: Path) -> dict[str, Any]:
    config = json.loads((run / "config.json").read_text())
    history = read_history(run)
    seconds = [h["train_seconds"] for h in history]
    cpu = [h.get("train_cpu_seconds", h.get("cpu_seconds")) for h in history]
    return {"model": config["model"], "model_config": config["model_config"], "n_params": config["n_params"],
            "n_train": config["n_train"], "epochs": len(history), "train_seconds": float(sum(seconds)),
            "seconds_per_epoch": float(np.mean(seconds)) if seconds else float("nan"),
            "cpu_seconds_per_epoch": (float(np.mean(cpu)) if cpu and all(c is not None for c in cpu)
                                      else None),
            "best_val_auc": max((h["val_auc"] for h in history), default=float("nan")),
            "seed": config["train_args"].get("seed")}


def compare_runs(runs: list[str | Path], data: str | Path, batch_size: int = 256,
                 replicas: int = 200) -> list[dict[str, Any]]:
    """Score every run on all jets of ``data``; write ``<run>/eval_<data>_all/`` and return the rows."""
    rows = []
    for run in map(Path, runs):
        out = run / f"eval_{Path(data).name}_all"
        if (previous := _previous_row(out, run, replicas)) is not None:
            rows.append(previous)
            continue
        model = load_model(run)
        config = json.loads((run / "config.json").read_text())
        jets = load_split(str(data), None, config["train_args"]["n_constituents"], None)
        t0 = time.process_time()
        scores = predict(model, jets, batch_size)
        cpu = time.process_time() - t0
        labels = jets["label"].numpy().astype(np.int64)
        row = {"run": run.name, **_run_cost(run), **bootstrap_metrics(labels, scores, replicas),
               "inference_jets_per_cpu_s": len(labels) / max(cpu, 1e-9), "data": str(data),
               "bootstrap": replicas, "best_pt_mtime_ns": (run / "best.pt").stat().st_mtime_ns}
        out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(out / "test_metrics.json", row)
        with atomic_path(out / "test_scores.npz") as tmp:
            np.savez(tmp, label=labels, score=scores)
        rows.append(row)
    return rows


def _previous_row(out: Path, run: Path, replicas: int) -> dict[str, Any] | None:
    """The row an earlier call wrote for the same ``best.pt`` and bootstrap size (scoring is not repeated)."""
    path = out / "test_metrics.json"
    if not path.is_file() or not (run / "best.pt").is_file():
        return None
    row = json.loads(path.read_text())
    same = (row.get("bootstrap") == replicas
            and row.get("best_pt_mtime_ns") == (run / "best.pt").stat().st_mtime_ns)
    return row if same else None


def mass_window_row(data: str | Path, replicas: int = 200, centre: float = 172.0) -> dict[str, Any]:
    """The no-training reference: score ``-|m_J - centre|`` (GeV) with the jet mass of the 32 leading
    constituents, with bootstrap errors; a tagger below it has learned less than the jet mass."""
    from models.top_tagging.invariants import jet_features

    jets = load_split(str(data), None, 32, None)
    mass = 100.0 * np.exp(jet_features(jets["p"], jets["mask"])[:, 0].numpy())
    labels = jets["label"].numpy().astype(np.int64)
    return {"run": "mass_window", "model": f"|m_J - {centre:g} GeV| cut", "n_params": 0,
            **bootstrap_metrics(labels, -np.abs(mass - centre), replicas)}


def boost_probe(run: str | Path, data: str | Path, rapidity: float = 2.0, n_jets: int = 500,
                seed: int = 5) -> dict[str, float]:
    """How far a trained model's probabilities move when ``n_jets`` jets of ``data`` are boosted by
    ``rapidity`` (random axis and rotation, float64): ``max |Δp|`` with float64 inputs (exact
    invariance up to the network's rounding) and with the boosted momenta rounded to float32 (what a
    float32 data file would hold), also for the unboosted jets rounded to float32."""
    from lie_nn import four_vector_generators

    model = load_model(run)
    config = json.loads((Path(run) / "config.json").read_text())
    jets = load_split(str(data), None, config["train_args"]["n_constituents"], n_jets)
    rng = np.random.default_rng(seed)
    axis = rng.normal(size=3)
    theta = np.concatenate([rng.normal(size=3), rapidity * axis / np.linalg.norm(axis)])
    lam = torch.linalg.matrix_exp(torch.from_numpy(np.einsum("a,aij->ij", theta, four_vector_generators())))
    p, mask = jets["p"].to(torch.float64), jets["mask"]
    boosted = p @ lam.T
    with torch.no_grad():
        ref = torch.sigmoid(model(p, mask).double())

        def moved(q: torch.Tensor) -> float:
            return float((torch.sigmoid(model(q, mask).double()) - ref).abs().max())

        return {"rapidity": rapidity, "n_jets": len(p), "float64": moved(boosted),
                "float32_rounded": moved(boosted.float().double()),
                "unboosted_float32": moved(p.float().double())}


def _pm(value: float, err: float, digits: int) -> str:
    return f"{value:.{digits}f} ± {err:.{digits}f}"


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """One markdown row per run: parameters, epochs, time/epoch, jets/s, accuracy, AUC, rejections.

    >>> print(markdown_table([]).splitlines()[0][:9])
    | model |
    """
    head = ("| model | run | parameters | epochs | s/epoch | inference jets/s | accuracy | AUC "
            "| 1/εB at εS=0.3 | 1/εB at εS=0.5 |\n|---|---|---|---|---|---|---|---|---|---|\n")
    lines = []
    for r in rows:
        lines.append(f"| {r['model']} | {r['run']} | {r['n_params']:,} | {r['epochs']} | "
                     f"{r['seconds_per_epoch']:.0f} | {r['inference_jets_per_cpu_s']:.0f} | "
                     f"{_pm(r['accuracy'], r['accuracy_err'], 4)} | {_pm(r['auc'], r['auc_err'], 4)} | "
                     f"{_pm(r['rejection_0.3'], r['rejection_0.3_err'], 0)} | "
                     f"{_pm(r['rejection_0.5'], r['rejection_0.5_err'], 0)} |")
    return head + "\n".join(lines) + ("\n" if lines else "")


def seed_group(run: str) -> str:
    """The run name without its seed suffix: runs that differ only in the seed form one group.

    >>> seed_group("top_r8k_particlenet_nall_s2")
    'top_r8k_particlenet_nall'
    """
    head, _, tail = run.rpartition("_s")
    return head if head and tail.isdigit() else run


def seed_mean_spread(group: list[dict[str, Any]], key: str) -> tuple[float, float]:
    """Mean of ``key`` over a group of seeds and its error: the seeds' standard deviation (ddof 1, the
    seed-to-seed spread) for several seeds, the run's own bootstrap error ``key_err`` for one.

    >>> seed_mean_spread([{"rejection_0.3": 100.0}, {"rejection_0.3": 120.0}, {"rejection_0.3": 140.0}],
    ...                  "rejection_0.3")
    (120.0, 20.0)
    >>> seed_mean_spread([{"auc": 0.97, "auc_err": 0.002}], "auc")
    (0.97, 0.002)
    """
    values = np.array([r[key] for r in group], dtype=float)
    with np.errstate(invalid="ignore"):  # 1/eps_B is infinite when no background passes
        err = values.std(ddof=1) if len(group) > 1 else group[0][f"{key}_err"]
    return float(values.mean()), float(err)


def summary_table(rows: list[dict[str, Any]]) -> str:
    """One markdown row per group of seeds (:func:`seed_group`): the mean over seeds ± their standard
    deviation (the seed-to-seed spread; a single seed shows the bootstrap error instead).  The column
    "± is" says which of the two a row shows (``sd over N seeds`` or ``bootstrap``).

    >>> print(summary_table([]).splitlines()[0][:15])
    | model | seeds
    """
    head = ("| model | seeds | ± is | parameters | epochs | CPU s/epoch | inference jets/s | accuracy | AUC "
            "| 1/εB at εS=0.3 | 1/εB at εS=0.5 |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(seed_group(r["run"]), []).append(r)
    lines = []
    for name, g in groups.items():
        def cell(key: str, digits: int, g: list[dict[str, Any]] = g) -> str:
            return _pm(*seed_mean_spread(g, key), digits)

        cpu = [r.get("cpu_seconds_per_epoch") for r in g]
        cpu_cell = f"{np.mean(cpu):.0f}" if all(c is not None for c in cpu) else "–"
        spread = f"sd over {len(g)} seeds" if len(g) > 1 else "bootstrap"
        lines.append(f"| {g[0]['model']} | {name} ({len(g)}) | {spread} | {g[0]['n_params']:,} | "
                     f"{np.mean([r['epochs'] for r in g]):.0f} | {cpu_cell} | "
                     f"{np.mean([r['inference_jets_per_cpu_s'] for r in g]):.0f} | {cell('accuracy', 4)} | "
                     f"{cell('auc', 4)} | {cell('rejection_0.3', 0)} | {cell('rejection_0.5', 0)} |")
    return head + "\n".join(lines) + ("\n" if lines else "")


def plot_data_efficiency(rows: list[dict[str, Any]], out: str | Path) -> Path:
    """AUC and ``1/eps_B`` at ``eps_S = 0.3`` against the number of training jets, one line per model:
    the mean over seeds with the seed-to-seed spread as error bar (:func:`seed_mean_spread`; a point
    with one seed shows its bootstrap error)."""
    from models.common.plotting import pyplot, save_figure

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    shown = []  # the plotted 1/eps_B means: a log axis needs one positive value
    for model in dict.fromkeys(r["model"] for r in rows):
        sizes = sorted({r["n_train"] for r in rows if r["model"] == model})
        for ax, key in zip(axes, ("auc", "rejection_0.3"), strict=True):
            sel = [[r for r in rows if r["model"] == model and r["n_train"] == n] for n in sizes]
            mean, err = np.array([seed_mean_spread(s, key) for s in sel]).T
            ok = np.isfinite(mean)  # 1/eps_B is infinite when no background jet passes (tiny test sets)
            if key == "rejection_0.3":
                shown += list(mean[ok])
            ax.errorbar(np.array(sizes)[ok], mean[ok], yerr=np.nan_to_num(err[ok]), marker="o", capsize=3,
                        label=model)
    for ax, label in zip(axes, ("AUC", "1/εB at εS = 0.3"), strict=True):
        ax.set_xscale("log")
        ax.set_xlabel("training jets")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    if any(v > 0 for v in shown):
        axes[1].set_yscale("log")
    axes[0].legend(fontsize=8)
    return save_figure(fig, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.top_tagging.compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="run directories written by models.top_tagging.train")
    parser.add_argument("--data", required=True, help="the test set: every jet of this data directory")
    parser.add_argument("--bootstrap", type=int, default=200, help="bootstrap replicas")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None, help="JSON file for all rows")
    parser.add_argument("--table", default=None, help="markdown file for the table")
    parser.add_argument("--plot", default=None, help="PNG path for the ROC curves of all runs")
    parser.add_argument("--boost-probe", type=float, default=None, metavar="RAPIDITY",
                        help="also print how far each model moves under a boost (float64 / float32 inputs)")
    parser.add_argument("--mass-window", action="store_true",
                        help="also print the no-training jet-mass window reference (|m_J - 172 GeV|)")
    parser.add_argument("--curve", default=None,
                        help="PNG path: AUC and 1/eps_B against training jets (runs of several data sets)")
    parser.add_argument("--summary", default=None, help="markdown file for the seed-mean summary table")
    args = parser.parse_args(argv)
    if args.bootstrap < 2:
        parser.error(f"argument --bootstrap: need at least 2 replicas, got {args.bootstrap}")
    torch.set_num_threads(args.threads)
    rows = compare_runs(args.runs, args.data, args.batch_size, args.bootstrap)
    table = markdown_table(rows)
    print(table)
    if args.boost_probe is not None:
        for run in args.runs:
            print(json.dumps({"run": Path(run).name, **boost_probe(run, args.data, args.boost_probe)}))
    if args.mass_window:
        print(json.dumps(mass_window_row(args.data, args.bootstrap)))
    if args.out:
        write_json_atomic(Path(args.out), {"rows": rows})
    if args.table:
        write_text_atomic(args.table, table)
    if args.summary:
        write_text_atomic(args.summary, summary_table(rows))
    if args.curve:
        print(plot_data_efficiency(rows, args.curve))
    if args.plot:
        print(plot_roc([Path(r) / f"eval_{Path(args.data).name}_all" for r in args.runs], args.plot,
                       f"{Path(args.data).name} (all jets)"))
    return 0


if __name__ == "__main__":
    run_cli(main)
