"""Benchmark: Clebsch–Gordan coefficients from lie_nn vs e3nn vs the original lie-nn (PyPI 0.0.0).

Run on demand (not a test)::

    .venv/bin/pip install e3nn                       # must not replace torch
    python3 -m venv /tmp/orig_lienn_venv && /tmp/orig_lienn_venv/bin/pip install lie-nn
    .venv/bin/python benchmarks/bench_cg.py --orig-python /tmp/orig_lienn_venv/bin/python

The original lie-nn is imported as ``lie_nn`` too, so it cannot share an environment with this
package: it runs in a subprocess of its own interpreter (``python -I``) and reports JSON.

Timings (median of repeats; one run for calls slower than a few seconds):

* cold  — memory cache cleared, disk cache disabled, every ``functools`` cache of the library cleared;
* disk  — lie_nn only: memory cleared, entry read from the disk cache (checksum + certification);
* warm  — repeated calls after the first one.

BLAS runs single-threaded (``OPENBLAS_NUM_THREADS=1`` etc. unless already set) for every library.

The script writes a markdown report (default ``docs/benchmarks.md``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # single-threaded BLAS (inherited by the subprocess)

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lie_nn._src.cache import clear_cache  # noqa: E402
from lie_nn._src.cg import certify_clebsch_gordan, clebsch_gordan  # noqa: E402
from lie_nn._src.groups.so3 import SO3  # noqa: E402
from lie_nn._src.groups.sun import SUN  # noqa: E402

SO3_CASES = [(1, 1, 2), (2, 2, 2), (2, 3, 4), (3, 3, 6), (4, 4, 8), (5, 5, 10), (6, 6, 6), (6, 6, 12)]
SU3_15, SU3_15BAR = (3, 1, 0), (3, 2, 0)
SU3_TARGETS = {"1": (0, 0, 0), "8": (2, 1, 0), "10": (3, 3, 0), "27": (4, 2, 0), "35": (5, 1, 0)}
SLOW_S = 3.0

# Runs inside the original lie-nn's interpreter; reads cases as JSON on stdin.
ORIG_SCRIPT = r'''
import gc, json, statistics, sys, time
import numpy as np
import lie_nn as lie
from lie_nn.irreps import SO3, SU3

def clear():
    for mod in [m for name, m in list(sys.modules.items()) if name.startswith("lie_nn")]:
        for obj in list(vars(mod).values()):
            if hasattr(obj, "cache_clear"):
                obj.cache_clear()

def residual(r1, r2, r3, cg):  # the package's own convention (lie_nn.check_representation_triplet)
    X1, X2, X3 = r1.continuous_generators(), r2.continuous_generators(), r3.continuous_generators()
    left = np.einsum("zijk,dlk->zdijl", cg, X3)
    right = np.einsum("dil,zijk->zdljk", X1, cg) + np.einsum("djl,zijk->zdilk", X2, cg)
    return float(np.abs(left - right).max() / max(np.abs(cg).max(), 1e-300))

out = {"file": lie.__file__}
for case in json.load(sys.stdin):
    make = (lambda l: SO3(l=l)) if case["group"] == "SO3" else (lambda s: SU3(S=tuple(s)))
    irs = [make(x) for x in case["labels"]]
    times = []
    for _ in range(3):
        clear(); gc.collect()
        t = time.perf_counter(); cg = lie.clebsch_gordan(*irs); times.append(time.perf_counter() - t)
        if times[-1] > __SLOW__:
            break
    warm = None
    if times[0] < __SLOW__:
        n = max(1, int(0.2 / max(min(times), 1e-6)))
        t = time.perf_counter()
        for _ in range(n):
            lie.clebsch_gordan(*irs)
        warm = (time.perf_counter() - t) / n
    flat = cg.reshape(cg.shape[0], -1)
    rank = int(np.linalg.matrix_rank(flat, tol=1e-8 * max(np.abs(flat).max(), 1e-300))) if cg.shape[0] else 0
    out[case["name"]] = {"cold": statistics.median(times), "warm": warm, "mul": int(cg.shape[0]),
                         "rank": rank, "residual": residual(*irs, cg) if cg.shape[0] else 0.0}
print(json.dumps(out))
'''.replace("__SLOW__", repr(SLOW_S))


# ------------------------------------------------------------------------------------ helpers
def clear_lru(prefix: str) -> None:
    """Clear every functools cache found at module level in the modules under ``prefix``."""
    for name, module in list(sys.modules.items()):
        if name == prefix or name.startswith(prefix + "."):
            for obj in list(vars(module).values()):
                if callable(getattr(obj, "cache_clear", None)):
                    obj.cache_clear()


def cold_time(fn: Callable[[], object], clear: Callable[[], None], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        clear()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        if times[-1] > SLOW_S:
            break
    return statistics.median(times)


def warm_time(fn: Callable[[], object]) -> float:
    fn()
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=3, number=number)) / number


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or b is None else f"{a / b:.3g}×"


# ------------------------------------------------------------------------------------ measurements
def cases(su3_targets: list[str]) -> list[dict]:
    out = [{"name": f"SO(3) {a}⊗{b}→{c}", "group": "SO3", "labels": [a, b, c]} for a, b, c in SO3_CASES]
    for t in su3_targets:
        out.append({"name": f"SU(3) 15⊗15̄→{t}", "group": "SU3",
                    "labels": [list(SU3_15), list(SU3_15BAR), list(SU3_TARGETS[t])]})
    return out


def our_irreps(case: dict) -> tuple:
    if case["group"] == "SO3":
        return tuple(SO3(l) for l in case["labels"])
    return tuple(SUN(tuple(w)) for w in case["labels"])


def warm_up_imports() -> None:
    """Trigger lazy imports (intertwiner solver, scipy, ...) so that 'cold' measures computation."""
    os.environ["LIE_NN_DISK_CACHE"] = "0"
    clebsch_gordan(SO3(1), SO3(1), SO3(0))
    clebsch_gordan(SUN((1, 0, 0)), SUN((1, 1, 0)), SUN((0, 0, 0)))
    del os.environ["LIE_NN_DISK_CACHE"]
    clear_cache(memory=True)


def bench_lie_nn(case: dict, tmp: Path) -> dict:
    irs = our_irreps(case)
    call = lambda: clebsch_gordan(*irs)  # noqa: E731

    def clear_all() -> None:
        clear_cache(memory=True)
        clear_lru("lie_nn")

    os.environ["LIE_NN_DISK_CACHE"] = "0"
    cold = cold_time(call, clear_all)
    warm = warm_time(call)
    del os.environ["LIE_NN_DISK_CACHE"]
    os.environ["LIE_NN_CACHE_DIR"] = str(tmp)
    clear_all()
    C = call()  # writes the disk entry
    disk = cold_time(call, clear_all)
    del os.environ["LIE_NN_CACHE_DIR"]
    return {"cold": cold, "disk": disk, "warm": warm, "mul": C.shape[0], "C": C,
            "defect": certify_clebsch_gordan(*irs, C)}


def bench_e3nn(case: dict, ours: np.ndarray) -> dict | None:
    if case["group"] != "SO3":
        return None
    import torch
    from e3nn import o3

    call = lambda: o3.wigner_3j(*case["labels"], dtype=torch.float64)  # noqa: E731
    cold = cold_time(call, lambda: clear_lru("e3nn"))
    warm = warm_time(call)
    theirs = call().numpy()
    if ours.shape[0] == 0:
        agree = float(np.abs(theirs).max())
    else:  # e3nn normalises the whole tensor to norm 1; ours has orthonormal columns (norm² = d3)
        scaled = ours[0] / np.sqrt(ours.shape[-1])
        agree = min(float(np.abs(scaled - theirs).max()), float(np.abs(scaled + theirs).max()))
    return {"cold": cold, "warm": warm, "agree": agree}


def bench_orig(orig_python: str, todo: list[dict]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "orig_bench.py"
        script.write_text(ORIG_SCRIPT)
        proc = subprocess.run([orig_python, "-I", str(script)], input=json.dumps(todo), text=True,
                              capture_output=True, cwd=tmp, check=False)
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        raise RuntimeError(f"original lie-nn benchmark failed (exit {proc.returncode})")
    result = json.loads(proc.stdout)
    if str(ROOT) in result["file"]:
        raise RuntimeError(f"the subprocess imported this package ({result['file']}), not the original")
    return result


# ------------------------------------------------------------------------------------ report
def versions(orig_python: str | None) -> str:
    import torch

    parts = [f"Python {platform.python_version()}", f"numpy {np.__version__}", f"torch {torch.__version__}"]
    try:
        import e3nn

        parts.append(f"e3nn {e3nn.__version__}")
    except ImportError:
        pass
    if orig_python:
        parts.append("lie-nn 0.0.0 (PyPI, separate venv)")
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores; " + ", ".join(parts)


def report(rows: list[dict], env: str) -> str:
    date = datetime.date.today().isoformat()
    lines = [
        "# Benchmarks: Clebsch–Gordan coefficients",
        "",
        f"Generated by `benchmarks/bench_cg.py` on {date} ({env}).",
        "",
        "* **cold**: first call, memory cache cleared, disk cache off, library `functools` caches cleared;",
        "* **disk**: lie_nn reading its disk cache (checksum verified and result re-certified);",
        "* **warm**: repeated call (memory cache); lie_nn returns a fresh copy every time;",
        "* e3nn: `o3.wigner_3j(l1, l2, l3, dtype=torch.float64)`; it has no SU(3);",
        "* lie-nn 0.0.0: the original PyPI package, in its own interpreter (it also imports as `lie_nn`);",
        f"  it has no cache, so its warm time is not measured (—) when a call takes over {SLOW_S:g} s.",
        "",
        "All libraries run with single-threaded BLAS. Ratios above 1 mean lie_nn is faster.",
        "",
        "| case | mul | lie_nn cold | lie_nn disk | lie_nn warm | e3nn cold | e3nn warm | lie-nn 0.0.0 cold "
        "| lie-nn 0.0.0 warm | e3nn / lie_nn cold | e3nn / lie_nn warm | lie-nn 0.0.0 / lie_nn cold |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ours, e3, orig = r["ours"], r.get("e3nn") or {}, r.get("orig") or {}
        lines.append(
            f"| {r['name']} | {ours['mul']} | {fmt(ours['cold'])} | {fmt(ours['disk'])} "
            f"| {fmt(ours['warm'])} "
            f"| {fmt(e3.get('cold'))} | {fmt(e3.get('warm'))} | {fmt(orig.get('cold'))} "
            f"| {fmt(orig.get('warm'))} | {ratio(e3.get('cold'), ours['cold'])} "
            f"| {ratio(e3.get('warm'), ours['warm'])} | {ratio(orig.get('cold'), ours['cold'])} |")
    lines += [
        "",
        "## Correctness",
        "",
        "lie_nn defect: the certified relative residual (`certify_clebsch_gordan`, must be < 1e-10).",
        "e3nn agreement: max |C_lie_nn / sqrt(d3) ∓ C_e3nn| (same real basis; e3nn normalises to norm 1).",
        "lie-nn 0.0.0: number of copies returned (and their rank) vs the true multiplicity, and the",
        "relative intertwining residual in the package's own convention (`check_representation_triplet`).",
        "",
        "| case | lie_nn defect | e3nn agreement | lie-nn 0.0.0 copies (rank) | lie-nn 0.0.0 residual "
        "| verdict |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        ours, e3, orig = r["ours"], r.get("e3nn"), r.get("orig")
        agree = f"{e3['agree']:.1e}" if e3 else "—"
        if orig:
            ok = orig["mul"] == ours["mul"] and orig["rank"] == orig["mul"] and orig["residual"] < 1e-8
            copies, res, verdict = f"{orig['mul']} ({orig['rank']})", f"{orig['residual']:.1e}", \
                ("correct" if ok else "**wrong**")
        else:
            copies = res = verdict = "—"
        lines.append(f"| {r['name']} | {ours['defect']:.1e} | {agree} | {copies} | {res} | {verdict} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    default_orig = os.environ.get("LIE_NN_ORIG_PYTHON", "/tmp/orig_lienn_venv/bin/python")
    parser.add_argument("--orig-python", default=default_orig, help="interpreter with PyPI lie-nn installed")
    parser.add_argument("--no-orig", action="store_true", help="skip the original lie-nn")
    parser.add_argument("--su3", default="1,8,10,27,35",
                        help="SU(3) targets of 15⊗15̄ (subset of 1,8,10,27,35; empty for none)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()

    todo = cases([t for t in args.su3.split(",") if t])
    orig_python = None if args.no_orig or not Path(args.orig_python).exists() else args.orig_python
    if orig_python is None and not args.no_orig:
        print(f"original lie-nn interpreter {args.orig_python} not found: skipping it", file=sys.stderr)
    warm_up_imports()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in todo:
            ours = bench_lie_nn(case, Path(tmp))
            try:
                e3 = bench_e3nn(case, ours["C"])
            except ImportError:
                e3 = None
            rows.append({"name": case["name"], "ours": ours, "e3nn": e3})
            print(f"{case['name']}: lie_nn cold {fmt(ours['cold'])} warm {fmt(ours['warm'])}",
                  file=sys.stderr)
    if orig_python:
        orig = bench_orig(orig_python, todo)
        for row in rows:
            row["orig"] = orig[row["name"]]
    text = report(rows, versions(orig_python))
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
