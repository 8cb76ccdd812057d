r"""Difference of two seed groups scored on one shared test set, with an error that counts both sources.

::

    python -m models.top_tagging.paired --a runs/top_r8k_lorentz_tuned_nall_s{0,1,2} \
        --b runs/top_r8k_particlenet_nall_s{0,1,2} --data data/top_tagging_test60k

Every run must already be scored by :mod:`models.top_tagging.compare` on ``--data`` (it reads
``<run>/eval_<data>_all/test_scores.npz``).  For each metric ``M`` the difference is
``d = mean_a M - mean_b M`` over the seeds; its error combines

* the **seed** error of the two means, ``sqrt(s_a²/n_a + s_b²/n_b)`` (``s``: standard deviation over
  seeds), and
* the **test-set** error: the standard deviation of ``d`` over bootstrap replicas that resample the *same*
  jets for every run (all runs share one test set, so its sampling error does not average over seeds),

as ``sqrt(seed² + test²)``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from models.common.cli import run_cli
from models.common.io import DataError
from models.top_tagging.compare import point_metrics

__all__ = ["load_scores", "paired_difference"]


def load_scores(run: str | Path, data: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores of ``run`` on every jet of ``data``, as written by ``compare``."""
    path = Path(run) / f"eval_{Path(data).name}_all" / "test_scores.npz"
    if not path.is_file():
        raise DataError(f"{run}: no scores on {Path(data).name}; run models.top_tagging.compare on it first")
    with np.load(path, allow_pickle=False) as f:
        return f["label"], f["score"]


def _group_mean(scores: list[np.ndarray], labels: np.ndarray, idx: np.ndarray | None = None
                ) -> tuple[dict[str, float], dict[str, float]]:
    pick = (lambda x: x) if idx is None else (lambda x: x[idx])
    rows = [point_metrics(pick(labels), pick(s)) for s in scores]
    keys = rows[0].keys()
    mean = {k: float(np.mean([r[k] for r in rows])) for k in keys}
    var = {k: float(np.var([r[k] for r in rows], ddof=1)) / len(rows) if len(rows) > 1 else 0.0 for k in keys}
    return mean, var


def paired_difference(labels: np.ndarray, scores_a: list[np.ndarray], scores_b: list[np.ndarray],
                      replicas: int = 100, seed: int = 0) -> dict[str, tuple[float, float]]:
    """``{metric: (mean_a - mean_b, error)}`` for accuracy, AUC and ``1/eps_B`` at ``eps_S`` 0.3 and 0.5.

    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 2000)
    >>> good = [y + rng.normal(0, 0.5, y.size) for _ in range(3)]
    >>> bad = [y + rng.normal(0, 1.5, y.size) for _ in range(3)]
    >>> d, err = paired_difference(y, good, bad, replicas=20)["auc"]
    >>> d > 5 * err > 0
    True
    """
    if not scores_a or not scores_b:
        raise ValueError("paired_difference: both groups need at least one run")
    if any(len(s) != len(labels) for s in [*scores_a, *scores_b]):
        raise ValueError("paired_difference: every run must be scored on the same jets as the labels")
    mean_a, var_a = _group_mean(scores_a, labels)
    mean_b, var_b = _group_mean(scores_b, labels)
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {k: [] for k in mean_a}
    for _ in range(replicas):
        idx = rng.integers(0, len(labels), len(labels))
        a, _ = _group_mean(scores_a, labels, idx)
        b, _ = _group_mean(scores_b, labels, idx)
        for k in draws:
            draws[k].append(a[k] - b[k])
    out = {}
    for k in mean_a:
        with np.errstate(invalid="ignore"):  # 1/eps_B is infinite when no background passes
            test = float(np.std(draws[k], ddof=1)) if replicas > 1 else 0.0
        out[k] = (mean_a[k] - mean_b[k], float(np.sqrt(var_a[k] + var_b[k] + test**2)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.top_tagging.paired", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--a", nargs="+", required=True, help="run directories of group A (its seeds)")
    parser.add_argument("--b", nargs="+", required=True, help="run directories of group B (its seeds)")
    parser.add_argument("--data", required=True, help="the test set both groups were scored on")
    parser.add_argument("--bootstrap", type=int, default=100, help="bootstrap replicas of the test jets")
    args = parser.parse_args(argv)
    loaded = [load_scores(r, args.data) for r in [*args.a, *args.b]]
    labels = loaded[0][0]
    if any(not np.array_equal(lab, labels) for lab, _ in loaded):
        raise DataError("the runs were scored on different jets; score them all on --data first")
    scores = [s for _, s in loaded]
    result = paired_difference(labels, scores[:len(args.a)], scores[len(args.a):], args.bootstrap)
    for key, (d, err) in result.items():
        print(f"{key:>14}: A - B = {d:+.4g} ± {err:.2g}")
    return 0


if __name__ == "__main__":
    run_cli(main)
