"""How much glibc's page-fault behaviour costs CPU training steps (docs/nn.md, "CPU performance tip").

Runs each workload twice in fresh subprocesses, once with the default allocator settings and once
after ``models.common.memory.keep_freed_memory()`` (``M_MMAP_MAX = 0``, 1 GiB trim threshold),
and prints the best-of-5 forward+backward time of each:

* ``contraction``: ``SymmetricContraction`` 128 x (0e+1o+2e+3o) -> 0e+1o, correlation 3,
  10 elements, 300 nodes, float32;
* ``interaction``: one training step of a message-passing layer built from ``lie_nn.nn``: per-edge
  weights from an MLP, ``ChannelwiseTensorProduct`` 32 x (0e+1o+2e) x (0e+1o+2e) on 300 nodes /
  4800 edges, ``index_add_`` aggregation and a ``Linear``, float32 (the shape of a MACE or tagger
  interaction, without depending on any model package).

    .venv/bin/python benchmarks/bench_cpu_allocator.py [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def contraction():
    import torch

    from lie_nn import O3
    from lie_nn.nn import SymmetricContraction

    irs = [O3(0, 1), O3(1, -1), O3(2, 1), O3(3, -1)]
    sc = SymmetricContraction([(128, ir) for ir in irs], [O3(0, 1), O3(1, -1)], 3, 10, dtype=torch.float32)
    x = torch.randn(300, 128, 16, requires_grad=True)
    y = torch.randint(0, 10, (300,))
    return lambda: sc(x, y).square().sum().backward()


def interaction():
    import torch

    from lie_nn import O3
    from lie_nn.nn import ChannelwiseTensorProduct, Linear

    irreps = [(32, O3(0, 1)), (32, O3(1, -1)), (32, O3(2, 1))]
    sh = [(1, O3(0, 1)), (1, O3(1, -1)), (1, O3(2, 1))]
    tp = ChannelwiseTensorProduct(irreps, sh, [O3(0, 1), O3(1, -1), O3(2, 1)], internal_weights=False,
                                  dtype=torch.float32)
    lin = Linear(tp.irreps_out, irreps, dtype=torch.float32)
    mlp = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.SiLU(), torch.nn.Linear(32, tp.weight_numel))
    n_nodes, n_edges = 300, 4800
    h = torch.randn(n_nodes, tp.dim_in1)
    y = torch.randn(n_edges, tp.dim_in2)
    radial = torch.rand(n_edges, 8)
    sender, receiver = torch.randint(0, n_nodes, (n_edges,)), torch.randint(0, n_nodes, (n_edges,))
    params = [*mlp.parameters(), *lin.parameters()]
    opt = torch.optim.AdamW(params)

    def step():
        opt.zero_grad()
        msg = tp(h[sender], y, mlp(radial))
        agg = torch.zeros(n_nodes, msg.shape[-1]).index_add_(0, receiver, msg)
        lin(agg).square().mean().backward()
        opt.step()

    return step


def child(name: str, keep: bool, threads: int) -> None:
    """Time one workload in this process and print ``{"ms": ..., "applied": ...}``."""
    import torch

    from models.common.memory import keep_freed_memory

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    applied = keep_freed_memory() if keep else False
    fn = {"contraction": contraction, "interaction": interaction}[name]()
    fn()
    fn()
    times = []
    for _ in range(5):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    print(json.dumps({"ms": min(times) * 1e3, "applied": applied}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", nargs=2, metavar=("WORKLOAD", "KEEP"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1] == "1", args.threads)
        return
    print(f"| workload | default (ms) | keep_freed_memory (ms) | speed-up |  (threads={args.threads})")
    print("|---|---|---|---|")
    for name in ("contraction", "interaction"):
        ms = []
        for keep in ("0", "1"):
            out = subprocess.run([sys.executable, __file__, "--threads", str(args.threads), "--child", name,
                                  keep], capture_output=True, text=True, check=True, cwd=ROOT)
            ms.append(json.loads(out.stdout.strip().splitlines()[-1])["ms"])
        print(f"| {name} | {ms[0]:.0f} | {ms[1]:.0f} | {ms[0] / ms[1]:.2f}x |")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
