"""How much glibc's page-fault behaviour costs CPU training steps (docs/nn.md, "CPU performance tip").

Runs each workload twice in fresh subprocesses, once with the default allocator settings and once
after ``models.top_tagging.train.keep_freed_memory()`` (``M_MMAP_MAX = 0``, 1 GiB trim threshold),
and prints the best-of-5 forward+backward time of each:

* ``contraction``: ``SymmetricContraction`` 128 x (0e+1o+2e+3o) -> 0e+1o, correlation 3,
  10 elements, 300 nodes, float32;
* ``tagger``: one training step of the LorentzTagger (default config) on 64 synthetic jets of 32
  massless constituents.

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

    from lie_nn._src.groups.o3 import O3
    from lie_nn.nn import SymmetricContraction

    irs = [O3(0, 1), O3(1, -1), O3(2, 1), O3(3, -1)]
    sc = SymmetricContraction([(128, ir) for ir in irs], [O3(0, 1), O3(1, -1)], 3, 10, dtype=torch.float32)
    x = torch.randn(300, 128, 16, requires_grad=True)
    y = torch.randint(0, 10, (300,))
    return lambda: sc(x, y).square().sum().backward()


def tagger():
    import torch

    from models.top_tagging.model import LorentzTagger

    model = LorentzTagger()
    n_jets, n = 64, 32
    pt = torch.rand(n_jets, n) * 100 + 1
    eta, phi = torch.randn(n_jets, n) * 0.3, torch.randn(n_jets, n) * 0.3
    p = torch.stack([pt * torch.cosh(eta), pt * torch.cos(phi), pt * torch.sin(phi), pt * torch.sinh(eta)],
                    -1)
    mask = torch.ones(n_jets, n, dtype=torch.bool)
    label = torch.randint(0, 2, (n_jets,)).float()
    opt = torch.optim.AdamW(model.parameters())

    def step():
        opt.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(model(p, mask), label).backward()
        opt.step()

    return step


def child(name: str, keep: bool, threads: int) -> None:
    """Time one workload in this process and print ``{"ms": ..., "applied": ...}``."""
    import torch

    from models.top_tagging.train import keep_freed_memory

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    applied = keep_freed_memory() if keep else False
    fn = {"contraction": contraction, "tagger": tagger}[name]()
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
    for name in ("contraction", "tagger"):
        ms = []
        for keep in ("0", "1"):
            out = subprocess.run([sys.executable, __file__, "--threads", str(args.threads), "--child", name,
                                  keep], capture_output=True, text=True, check=True, cwd=ROOT)
            ms.append(json.loads(out.stdout.strip().splitlines()[-1])["ms"])
        print(f"| {name} | {ms[0]:.0f} | {ms[1]:.0f} | {ms[0] / ms[1]:.2f}x |")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
