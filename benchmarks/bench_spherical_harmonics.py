"""Benchmark lie_nn.nn.spherical_harmonics against e3nn (and sphericart-torch when installed) on CPU.

Cases: ``l <= 3`` on 100k vectors and ``l <= 8`` on 10k vectors, float32, forward (no grad) and
forward+backward (gradient w.r.t. the vectors), torch at 1 and 2 threads.  ``lie_nn`` is the native
torch recurrence; ``lie_nn[sphericart]`` is ``spherical_harmonics(..., backend="sphericart")`` (same
values in lie_nn's basis, computed by sphericart-torch); ``sphericart`` is its raw call in its own
basis.  Every round times each implementation once, in turn (interleaved, so load on a shared
machine hits all alike); the table gives min / median / max of the per-round times and of the
per-round ratio ``peer / lie_nn``.

Usage: ``.venv/bin/python benchmarks/bench_spherical_harmonics.py [--rounds 15] [--out docs/...md]``.
Needs ``e3nn`` (``pip install e3nn``); ``sphericart-torch`` is optional.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import torch
from e3nn import o3

from lie_nn.nn import spherical_harmonics

CASES = [(3, 100_000), (8, 10_000)]


def sphericart_fn(lmax: int) -> Callable[[torch.Tensor], torch.Tensor] | None:
    try:
        import sphericart.torch as sct
    except ImportError:
        return None
    return sct.SphericalHarmonics(lmax).compute  # integral-normalised, its own basis (no conversion)


def implementations(lmax: int) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    ls = list(range(lmax + 1))
    e3nn_sh = o3.SphericalHarmonics(ls, normalize=True, normalization="component")
    out = {"lie_nn": lambda x: spherical_harmonics(ls, x), "e3nn": e3nn_sh}
    sph = sphericart_fn(lmax)
    if sph is not None:
        out["sphericart"] = sph
        out["lie_nn[sphericart]"] = lambda x: spherical_harmonics(ls, x, backend="sphericart")
    return out


def timed(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, backward: bool) -> float:
    start = time.perf_counter()
    if backward:
        xg = x.detach().requires_grad_()
        torch.autograd.grad(fn(xg).square().sum(), xg)
    else:
        with torch.no_grad():
            fn(x)
    return time.perf_counter() - start


def run_case(lmax: int, n: int, backward: bool, rounds: int) -> dict[str, list[float]]:
    x = torch.randn(n, 3, generator=torch.Generator().manual_seed(0))
    impls = implementations(lmax)
    times: dict[str, list[float]] = {name: [] for name in impls}
    for fn in impls.values():  # warm-up (tables, allocator)
        timed(fn, x, backward)
    for _ in range(rounds):
        for name, fn in impls.items():
            times[name].append(timed(fn, x, backward))
    return times


def stats(values: list[float], scale: float = 1.0, fmt: str = "{:.2f}") -> str:
    lo, med, hi = min(values), statistics.median(values), max(values)
    return " / ".join(fmt.format(scale * v) for v in (lo, med, hi))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    # descending: sphericart-torch corrupts memory when the thread count grows after its first call
    parser.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    parser.add_argument("--out", default=None, help="write the markdown table to this file")
    args = parser.parse_args()
    header = ("| threads | l ≤ | vectors | pass | lie_nn ms (min / med / max) | e3nn ms | e3nn / lie_nn "
              "| sphericart ms | sphericart / lie_nn | lie_nn[sphericart] ms "
              "| sphericart / lie_nn[sphericart] |")
    rows = [header, "|" + "---|" * (header.count("|") - 1)]
    print(rows[0], flush=True)
    for threads in sorted(args.threads, reverse=True):
        torch.set_num_threads(threads)
        for lmax, n in CASES:
            for backward in (False, True):
                t = run_case(lmax, n, backward, args.rounds)
                lie = t["lie_nn"]
                cells = [str(threads), str(lmax), f"{n:,}", "fwd+bwd" if backward else "fwd",
                         stats(lie, 1e3)]
                for peer, ours in (("e3nn", "lie_nn"), ("sphericart", "lie_nn"),
                                   ("sphericart", "lie_nn[sphericart]")):
                    if peer in t:
                        ratios = [p / q for p, q in zip(t[peer], t[ours], strict=True)]
                        timed_ms = t[ours] if ours != "lie_nn" else t[peer]
                        cells += [stats(timed_ms, 1e3), stats(ratios, fmt="{:.2f}x")]
                    else:
                        cells += ["–", "–"]
                rows.append("| " + " | ".join(cells) + " |")
                print(rows[-1], flush=True)
    setup = (f"{args.rounds} interleaved rounds, float32, torch {torch.__version__}, "
             f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs visible")
    if args.out:
        text = "\n".join([setup, "", *rows, ""])
        tmp = f"{args.out}.tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, args.out)
    print(setup)


if __name__ == "__main__":
    main()
