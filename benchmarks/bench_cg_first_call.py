"""Benchmark: the first SO(3) Clebsch–Gordan call of a fresh process, with and without torch imported.

Issue 17 item 4: with torch imported, the first closed-form SO(3) CG at (10, 10, 20) used to trigger
full garbage collections that scan torch's ~170k objects.  Each sample is a fresh interpreter that
(optionally) imports torch, then times one call of

* ``closed``: ``so3_clebsch_gordan(10, 10, 20)`` (the exact closed form, uncached);
* ``public``: ``lie_nn.clebsch_gordan(SO3(10), SO3(10), SO3(20))`` with the disk cache off
  (closed form + certification),

and counts the garbage collections (``gc.callbacks``) during the call.  Configurations are
interleaved round by round; min / median / max over rounds are reported.

Run (from the repository root; ``PYTHONPATH`` selects the lie_nn checkout to measure)::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_cg_first_call.py --rounds 15
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import gc, json, sys, time
if sys.argv[1] == "torch":
    import torch  # noqa: F401
import lie_nn
from lie_nn._src.groups.so3 import so3_clebsch_gordan
collections = []
gc.callbacks.append(lambda phase, info: collections.append(info["generation"]) if phase == "stop" else None)
start = time.perf_counter()
if sys.argv[2] == "closed":
    so3_clebsch_gordan(10, 10, 20)
else:
    lie_nn.clebsch_gordan(lie_nn.SO3(10), lie_nn.SO3(10), lie_nn.SO3(20))
elapsed = time.perf_counter() - start
print(json.dumps({"ms": 1e3 * elapsed, "gc": len(collections), "gen2": collections.count(2)}))
"""


def sample(torch: bool, what: str) -> dict:
    env = dict(os.environ, LIE_NN_DISK_CACHE="0", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", CHILD, "torch" if torch else "none", what],
                         capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    configs = [(torch, what) for what in ("closed", "public") for torch in (True, False)]
    results: dict[tuple, list[dict]] = {c: [] for c in configs}
    for _ in range(args.rounds):
        for config in configs:
            results[config].append(sample(*config))
    import lie_nn

    print(f"lie_nn from {os.path.dirname(lie_nn.__file__)}, {args.rounds} rounds, fresh process each")
    print("| call | torch imported | min ms | median ms | max ms | gc runs (median) | full gc (max) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for (torch, what), runs in results.items():
        ms = [r["ms"] for r in runs]
        gc_runs, full = statistics.median(r["gc"] for r in runs), max(r["gen2"] for r in runs)
        print(f"| {what} | {'yes' if torch else 'no'} | {min(ms):.1f} | {statistics.median(ms):.1f} | "
              f"{max(ms):.1f} | {gc_runs:g} | {full} |")


if __name__ == "__main__":
    main()
