"""Benchmark lie_nn.nn.SymmetricContraction against mace-torch's SymmetricContraction (CPU, float32).

MACE sizes: 128 channels, irreps_in 0e+1o+2e+3o per channel, out 0e+1o, correlation 3, 10 elements,
1000 nodes.  Both modules get the same input (lie_nn takes element indices, mace-torch one-hot
weights) and are checked for O(3) equivariance.  Writes docs/benchmarks_symmetric_contraction.md.

    .venv/bin/python benchmarks/bench_nn_symmetric_contraction.py [--repeat 5] [--channels 32 --nodes 300
        --correlation 1 --no-write]

mace-torch is loaded without its package ``__init__`` files (which import its training stack), so
only ``mace.tools.cg``, ``mace.tools.compile`` and ``mace.modules.symmetric_contraction`` are needed.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch

from lie_nn._src.groups.o3 import O3
from lie_nn.nn._symmetric_contraction import SymmetricContraction

ROOT = Path(__file__).resolve().parents[1]
CHANNELS, BATCH, ELEMENTS, CORRELATION = 128, 1000, 10, 3
IRS_IN = [O3(0, 1), O3(1, -1), O3(2, 1), O3(3, -1)]
IRS_OUT = [O3(0, 1), O3(1, -1)]


def load_mace() -> type | None:
    """mace-torch's SymmetricContraction class, or None when it is not installed."""
    try:
        import mace
    except ImportError:
        return None
    root = Path(mace.__file__).parent
    for sub in ("tools", "modules"):  # stub packages: skip the heavy __init__ files
        if f"mace.{sub}" not in sys.modules:
            pkg = types.ModuleType(f"mace.{sub}")
            pkg.__path__ = [str(root / sub)]
            sys.modules[f"mace.{sub}"] = pkg
    return importlib.import_module("mace.modules.symmetric_contraction").SymmetricContraction


def timeit(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def rotation(seed: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """A random rotation times inversion, as (D on 0e+1o+2e+3o per channel, [D_0e, D_1o])."""
    from lie_nn.testing import GroupElement, represent

    g = GroupElement.random(IRS_IN[0], seed=seed, discrete=False)
    g = GroupElement(g.algebra_coefficients, (0,))
    ds = [torch.as_tensor(np.real(represent(ir, g)), dtype=torch.float32) for ir in IRS_IN]
    return torch.block_diag(*ds), ds[:2]


def e3nn_matrices(seed: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    from e3nn import o3

    torch.manual_seed(seed)
    rot = o3.rand_matrix()
    irreps = o3.Irreps("0e+1o+2e+3o")
    d = irreps.D_from_matrix(-rot)
    return d, [o3.Irreps("0e").D_from_matrix(-rot), o3.Irreps("1o").D_from_matrix(-rot)]


def equivariance(fn, d_in: torch.Tensor, d_out: list[torch.Tensor], x, y) -> float:
    out = fn(x, y)
    rot = fn(torch.einsum("ij,bcj->bci", d_in, x), y)
    parts, start = [], 0
    for d in d_out:
        n = CHANNELS * d.shape[0]
        parts.append(torch.einsum("ij,bcj->bci", d, out[:, start : start + n].reshape(BATCH, CHANNELS, -1))
                     .reshape(BATCH, n))
        start += n
    return float((rot - torch.cat(parts, -1)).abs().max() / out.abs().max())


def main() -> None:
    global CHANNELS, BATCH, CORRELATION  # the sizes used by every helper below
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: stable on a shared box)")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--channels", type=int, default=CHANNELS)
    parser.add_argument("--nodes", type=int, default=BATCH)
    parser.add_argument("--correlation", type=int, default=CORRELATION)
    args = parser.parse_args()
    CHANNELS, BATCH, CORRELATION = args.channels, args.nodes, args.correlation
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(BATCH, CHANNELS, 16)
    idx = torch.randint(0, ELEMENTS, (BATCH,))
    onehot = torch.nn.functional.one_hot(idx, ELEMENTS).float()
    ours = SymmetricContraction([(CHANNELS, ir) for ir in IRS_IN], IRS_OUT, CORRELATION, ELEMENTS,
                                dtype=torch.float32)
    cases = [("lie_nn (indices)", ours, idx, *rotation(1)), ("lie_nn (one-hot)", ours, onehot, *rotation(1))]
    mace_cls = load_mace()
    if mace_cls is not None:
        from e3nn import o3

        theirs = mace_cls(o3.Irreps(f"{CHANNELS}x0e+{CHANNELS}x1o+{CHANNELS}x2e+{CHANNELS}x3o"),
                          o3.Irreps(f"{CHANNELS}x0e+{CHANNELS}x1o"), CORRELATION, num_elements=ELEMENTS)
        cases.append(("mace-torch (one-hot)", theirs, onehot, *e3nn_matrices(1)))
    xg = x.clone().requires_grad_()
    times = {name: ([], []) for name, *_ in cases}
    for _ in range(args.repeat + 1):  # interleaved, so load on a shared machine hits all alike
        for name, module, y, *_ in cases:
            times[name][0].append(timeit(lambda m=module, y=y: m(x, y)))
            times[name][1].append(timeit(lambda m=module, y=y: m(xg, y).square().sum().backward()))
    rows = []
    for name, module, y, d_in, d_out in cases:
        fwd, bwd = (min(t[1:]) for t in times[name])  # first round is warm-up
        with torch.no_grad():
            err = equivariance(module, d_in, d_out, x, y)
        rows.append((name, fwd, bwd, err))
        print(f"{name:28s} forward {fwd:8.1f} ms   forward+backward {bwd:8.1f} ms   equivariance {err:.1e}")
    if not args.no_write:
        write(rows, mace_cls is not None, args.repeat)


def write(rows, have_mace: bool, repeat: int) -> None:
    import mace  # noqa: F401  (version, when present)

    lines = ["# SymmetricContraction benchmark (CPU, float32)", "",
             f"`benchmarks/bench_nn_symmetric_contraction.py`: {CHANNELS} channels, irreps 0e+1o+2e+3o per "
             f"channel → 0e+1o, correlation {CORRELATION}, {ELEMENTS} elements, {BATCH} nodes; best of "
             f"{repeat} interleaved runs, {torch.get_num_threads()} threads, torch {torch.__version__}, "
             f"{platform.processor() or platform.machine()}.", "",
             "| implementation | forward (ms) | forward+backward (ms) | rel. equivariance error |",
             "|---|---|---|---|"]
    for name, fwd, bwd, err in rows:
        lines.append(f"| {name} | {fwd:.1f} | {bwd:.1f} | {err:.1e} |")
    if have_mace:
        ref = rows[-1]
        lines += ["", "Speed-up of lie_nn over mace-torch (higher is better):", ""]
        for name, fwd, bwd, _ in rows[:-1]:
            lines.append(f"* {name}: forward {ref[1] / fwd:.2f}x, forward+backward {ref[2] / bwd:.2f}x")
        import importlib.metadata as md

        lines += ["", f"mace-torch {md.version('mace-torch')}, e3nn {md.version('e3nn')}."]
    else:
        lines += ["", "mace-torch is not installed: no comparison."]
    lines += ["", "Measured on a 2-core VM with default glibc allocator settings (see docs/nn.md for "
              "`keep_freed_memory`); runs are interleaved and the best of each is reported."]
    (ROOT / "docs" / "benchmarks_symmetric_contraction.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
