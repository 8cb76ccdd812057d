"""One-command GPU (or CPU) benchmark: lie_nn own path vs lie_nn through cuEquivariance vs peers.

Rows: the MACE channel-wise tensor product (edges), the symmetric contraction (nodes, correlation 3) and a
whole MACE interaction (linear up, TP with radial weights, scatter, linear), in float32 and float64,
forward and forward+backward.  Candidates (each only when importable): ``lie_nn`` (own torch layers),
``lie_nn->cue`` (:func:`lie_nn.nn.to_cuequivariance`: CUDA kernels when ``cuequivariance-ops-torch`` is
installed, else cuEquivariance's naive torch method), ``cue`` (``cuequivariance_torch`` native layers),
``e3nn`` (``o3.TensorProduct`` "uvu") and ``mace`` (mace-torch's SymmetricContraction).  Rounds are
interleaved (every candidate once per round) and min/median/max milliseconds are printed as a markdown
table, with ratios ``peer / lie_nn`` (> 1: lie_nn faster).  ``--compile`` adds ``torch.compile``d lie_nn.

    python benchmarks/bench_gpu.py --device cuda                      # the GPU table (docs/gpu_backend.md)
    python benchmarks/bench_gpu.py --device cpu --small --compile     # the CPU table
"""

from __future__ import annotations

import argparse
import copy
import importlib
import statistics
import sys
import time
from collections.abc import Callable

import torch

import lie_nn as lnn
from lie_nn.nn import ChannelwiseTensorProduct, MACEInteraction, SymmetricContraction, to_cuequivariance

O3 = lnn.O3
NODE_IRS = [O3(0, 1), O3(1, -1), O3(2, 1), O3(3, -1)]
SH_IRS = NODE_IRS
OUT_IRS = [O3(0, 1), O3(1, -1), O3(2, 1), O3(3, -1)]


def optional(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn: Callable[[], object], device: str) -> float:
    sync(device)
    t0 = time.perf_counter()
    fn()
    sync(device)
    return (time.perf_counter() - t0) * 1e3


def runner(fn: Callable[[], torch.Tensor], backward: bool, leaves: list[torch.Tensor]
           ) -> Callable[[], object]:
    if not backward:
        def forward() -> object:
            with torch.no_grad():
                return fn()
        return forward

    def both() -> object:
        out = fn()
        return torch.autograd.grad(out.square().sum(), leaves, allow_unused=True)
    return both


def e3nn_irreps(irs: list, mul: int):
    from e3nn import o3
    return o3.Irreps([(mul, (ir.l, ir.p)) for ir in irs])


def channelwise_candidates(args, dtype) -> tuple[dict, list]:
    dev, mul, n = args.device, args.mul, args.edges
    irreps1 = [(mul, ir) for ir in NODE_IRS]
    ours = ChannelwiseTensorProduct(irreps1, SH_IRS, OUT_IRS, internal_weights=False, dtype=dtype).to(dev)
    x1 = torch.randn(n, ours.dim_in1, dtype=dtype, device=dev, requires_grad=True)
    x2 = torch.randn(n, ours.dim_in2, dtype=dtype, device=dev, requires_grad=True)
    w = torch.randn(n, ours.weight_numel, dtype=dtype, device=dev, requires_grad=True)
    cands = {"lie_nn": lambda: ours(x1, x2, w)}
    if args.compile:
        compiled = torch.compile(ours)
        cands["lie_nn compiled"] = lambda: compiled(x1, x2, w)
    if optional("cuequivariance_torch"):
        twin = to_cuequivariance(ours).to(dev)
        cands["lie_nn->cue"] = lambda: twin(x1, x2, w)
        cands.update(_cue_native_tp(args, dtype, x1, x2, ours.weight_numel))
    if optional("e3nn"):
        sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
        from bench_nn_tensor_product import _e3nn_channelwise
        keep = {(ir.l, ir.p) for ir in OUT_IRS}
        tp = _e3nn_channelwise(e3nn_irreps(NODE_IRS, mul), e3nn_irreps(SH_IRS, 1),
                               {__import__("e3nn").o3.Irrep(*k) for k in keep}).to(dev, dtype)
        cands["e3nn"] = lambda: tp(x1, x2, w[:, : tp.weight_numel])
    return cands, [x1, x2, w]


def _cue_native_tp(args, dtype, x1, x2, numel) -> dict:
    import cuequivariance as cue
    import cuequivariance_torch as cuet
    irr = cue.Irreps("O3", "+".join(f"{args.mul}x{ir.l}{'e' if ir.p == 1 else 'o'}" for ir in NODE_IRS))
    sh = cue.Irreps("O3", "0e+1o+2e+3o")
    tp = cuet.ChannelWiseTensorProduct(irr, sh, [cue.O3(ir.l, ir.p) for ir in OUT_IRS], layout=cue.mul_ir,
                                       shared_weights=False, internal_weights=False, dtype=dtype,
                                       device=args.device)
    wn = torch.randn(x1.shape[0], tp.weight_numel, dtype=dtype, device=args.device)
    return {"cue": lambda: tp(x1, x2, wn)}


def contraction_candidates(args, dtype) -> tuple[dict, list]:
    dev, mul, n, elements = args.device, args.mul, args.nodes, 10
    ours = SymmetricContraction([(mul, ir) for ir in NODE_IRS], OUT_IRS[:2], 3, elements, dtype=dtype).to(dev)
    x = torch.randn(n, ours.dim_in, dtype=dtype, device=dev, requires_grad=True)
    y = torch.randint(0, elements, (n,), device=dev)
    cands = {"lie_nn": lambda: ours(x, y)}
    if args.compile:
        compiled = torch.compile(ours)
        cands["lie_nn compiled"] = lambda: compiled(x, y)
    if optional("cuequivariance_torch"):
        import cuequivariance as cue
        import cuequivariance_torch as cuet
        twin = to_cuequivariance(ours).to(dev)
        cands["lie_nn->cue"] = lambda: twin(x, y)
        irr = cue.Irreps("O3", f"{mul}x0e+{mul}x1o+{mul}x2e+{mul}x3o")
        sc = cuet.SymmetricContraction(irr, cue.Irreps("O3", f"{mul}x0e+{mul}x1o"), 3, elements,
                                       layout=cue.mul_ir, dtype=dtype, device=dev)
        cands["cue"] = lambda: sc(x, y)
    mace = optional("mace") and __import__("bench_nn_symmetric_contraction").load_mace()
    if mace:
        from e3nn import o3
        m = mace(e3nn_irreps(NODE_IRS, mul), o3.Irreps(f"{mul}x0e+{mul}x1o"), 3,
                 num_elements=elements).to(dev, dtype)
        onehot = torch.nn.functional.one_hot(y, elements).to(dtype)
        xm = x.detach().reshape(n, mul, -1).requires_grad_(True)  # channel-major input, as mace-torch takes
        cands["mace"] = lambda: m(xm, onehot)
    return cands, [x]


def interaction_candidates(args, dtype) -> tuple[dict, list]:
    dev, mul, nodes = args.device, args.mul, args.nodes
    edges = args.edges
    ours = MACEInteraction([(mul, ir) for ir in NODE_IRS], SH_IRS, [(mul, ir) for ir in OUT_IRS], 8,
                           avg_num_neighbors=edges / nodes, dtype=dtype).to(dev)
    h = torch.randn(nodes, ours.irreps_node.dim, dtype=dtype, device=dev, requires_grad=True)
    sh = torch.randn(edges, ours.irreps_edge_attr.dim, dtype=dtype, device=dev)
    radial = torch.randn(edges, 8, dtype=dtype, device=dev)
    index = torch.randint(0, nodes, (2, edges), device=dev)
    cands = {"lie_nn": lambda: ours(h, sh, radial, index)}
    if args.compile:
        compiled = torch.compile(ours)
        cands["lie_nn compiled"] = lambda: compiled(h, sh, radial, index)
    if optional("cuequivariance_torch"):
        twin = copy.deepcopy(ours)
        twin.tp = to_cuequivariance(twin.tp).to(dev)
        cands["lie_nn->cue"] = lambda: twin(h, sh, radial, index)
    return cands, [h]


def bench(name: str, build, args, rows: list) -> None:
    for dtype in (torch.float32, torch.float64):
        cands, leaves = build(args, dtype)
        for backward in (False, True):
            fns = {k: runner(f, backward, leaves) for k, f in cands.items()}
            for f in fns.values():
                f()  # warm-up (compilation, kernel JIT)
            times: dict[str, list[float]] = {k: [] for k in fns}
            for _ in range(args.repeat):
                for k, f in fns.items():
                    times[k].append(timed(f, args.device))
            base = statistics.median(times["lie_nn"])
            for k, t in times.items():
                rows.append((name, str(dtype).split(".")[-1], "fwd+bwd" if backward else "fwd", k, min(t),
                             statistics.median(t), max(t), statistics.median(t) / base))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--small", action="store_true", help="CPU size: mul 16, 300 nodes, 3000 edges")
    parser.add_argument("--mul", type=int, default=128)
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--edges", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--compile", action="store_true", help="add torch.compile'd lie_nn rows")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    args = parser.parse_args()
    if args.small:
        args.mul, args.nodes, args.edges = 16, 300, 3000
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("bench_gpu: --device cuda but torch sees no GPU")
    if args.threads:
        torch.set_num_threads(args.threads)
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    torch.manual_seed(0)
    kernels = optional("cuequivariance_ops_torch") is not None
    print(f"device={args.device} torch={torch.__version__} mul={args.mul} nodes={args.nodes} "
          f"edges={args.edges} repeat={args.repeat} cue_kernels={kernels}\n")
    rows: list = []
    for name, build in (("channelwise TP", channelwise_candidates),
                        ("symmetric contraction", contraction_candidates),
                        ("MACE interaction", interaction_candidates)):
        bench(name, build, args, rows)
    print("| layer | dtype | pass | candidate | min ms | median ms | max ms | median / lie_nn |")
    print("|---|---|---|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.2f} | {r[5]:.2f} | {r[6]:.2f} | {r[7]:.2f} |")


if __name__ == "__main__":
    main()
