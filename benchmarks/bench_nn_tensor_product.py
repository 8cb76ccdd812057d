"""Benchmark lie_nn.nn ChannelwiseTensorProduct and Linear against e3nn on CPU (run on demand).

MACE-like sizes: ``128x0e+128x1o+128x2e ⊗ (1x0e+1x1o+1x2e+1x3o)`` restricted to ``l <= 3``, per-edge
weights, float32.  Usage: ``.venv/bin/python benchmarks/bench_nn_tensor_product.py [--edges N]``.
Needs ``e3nn`` (``pip install e3nn --no-deps`` plus ``opt-einsum`` and ``opt-einsum-fx``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from e3nn import o3

from lie_nn._src.groups.o3 import O3
from lie_nn.nn import ChannelwiseTensorProduct, Linear


def _timeit(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _e3nn_channelwise(irreps1: o3.Irreps, irreps2: o3.Irreps, keep: set) -> o3.TensorProduct:
    out, instructions = [], []
    for i, (mul, ir1) in enumerate(irreps1):
        for j, (_, ir2) in enumerate(irreps2):
            for ir in ir1 * ir2:
                if ir in keep:
                    instructions.append((i, j, len(out), "uvu", True))
                    out.append((mul, ir))
    return o3.TensorProduct(irreps1, irreps2, o3.Irreps(out), instructions, shared_weights=False,
                            internal_weights=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edges", type=int, default=10_000)
    parser.add_argument("--mul", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    n, mul = args.edges, args.mul
    e_in1 = o3.Irreps(f"{mul}x0e+{mul}x1o+{mul}x2e")
    e_sh = o3.Irreps("1x0e+1x1o+1x2e+1x3o")
    keep = {o3.Irrep(l, p) for l in range(4) for p in (1, -1)}
    e_tp = _e3nn_channelwise(e_in1, e_sh, keep)

    def to_lie(irreps: o3.Irreps) -> list:
        return [(m, O3(ir.l, ir.p)) for m, ir in irreps]

    l_tp = ChannelwiseTensorProduct(to_lie(e_in1), [O3(ir.l, ir.p) for _, ir in e_sh],
                                    filter_ir_out=[O3(ir.l, ir.p) for ir in keep], internal_weights=False)
    assert l_tp.weight_numel == e_tp.weight_numel and l_tp.dim_out == e_tp.irreps_out.dim
    x1, x2 = torch.randn(n, e_in1.dim), torch.randn(n, e_sh.dim)
    w = torch.randn(n, e_tp.weight_numel)
    rows = [f"edges={n}, mul={mul}, float32, torch threads={torch.get_num_threads()}", ""]
    rows.append("| benchmark | e3nn (ms) | lie_nn (ms) | speed-up (e3nn / lie_nn) |")
    rows.append("|---|---|---|---|")

    def add(name: str, f_e3nn: Callable, f_lie: Callable) -> None:
        t_e, t_l = _timeit(f_e3nn, args.repeat), _timeit(f_lie, args.repeat)
        rows.append(f"| {name} | {1e3 * t_e:.1f} | {1e3 * t_l:.1f} | {t_e / t_l:.2f}x |")
        print(rows[-1], flush=True)

    with torch.no_grad():
        add("channelwise TP forward", lambda: e_tp(x1, x2, w), lambda: l_tp(x1, x2, w))

    x1g, wg = x1.clone().requires_grad_(), w.clone().requires_grad_()

    def fwd_bwd(tp: torch.nn.Module) -> Callable:
        return lambda: torch.autograd.grad(tp(x1g, x2, wg).square().sum(), (x1g, wg))

    add("channelwise TP forward+backward", fwd_bwd(e_tp), fwd_bwd(l_tp))

    e_lin = o3.Linear(e_tp.irreps_out, e_in1)
    l_lin = Linear(to_lie(e_tp.irreps_out), to_lie(e_in1))
    y = torch.randn(n, e_tp.irreps_out.dim)
    with torch.no_grad():
        add(f"Linear {e_tp.irreps_out.dim} -> {e_in1.dim} forward", lambda: e_lin(y), lambda: l_lin(y))
    node = torch.randn(n, e_in1.dim)
    e_lin2, l_lin2 = o3.Linear(e_in1, e_in1), Linear(to_lie(e_in1), to_lie(e_in1))
    with torch.no_grad():
        add(f"Linear {e_in1} -> itself forward", lambda: e_lin2(node), lambda: l_lin2(node))
    print("\n".join(rows))


if __name__ == "__main__":
    main()
