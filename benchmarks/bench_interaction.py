"""MACE interaction block: lie_nn.nn.MACEInteraction vs the same pipeline built from e3nn 0.6 parts.

Pipeline (both libraries): ``Linear(h) → gather senders → channel-wise "uvu" TP with the spherical
harmonics (weights from a radial MLP of the Bessel features) → scatter-sum on receivers / avg_num_neighbors
→ Linear``; mace-torch's default sizes (128 channels ``0e+1o``, harmonics ``l ≤ 3``, 8 radial features,
radial MLP ``[8, 64, 64, 64, weight_numel]``), ~30 neighbours per node, float32.  The spherical harmonics
are part of the timed pipeline.

Speed: forward and forward+backward (gradients w.r.t. node features and edge vectors), interleaved
rounds, min / median / max of the per-round ratio e3nn / lie_nn, for each thread count.

Equivariance (float32): for random rotations ``R``, the relative error
``max|f(R·x) - D(R) f(x)| / max|f(x)|`` with both sides in float32 (the usual measure), and the
"layer" error ``max|f32(R·x) - D(R) f64(x)| / max|f64(x)|``, where the rotated inputs are formed in
float64 and only then cast, so it holds the float32 rounding of the layer alone (``D(R) f64(x)`` is the
exact answer to float64 precision).

Usage (from the repository root): ``PYTHONPATH=. .venv/bin/python benchmarks/bench_interaction.py
[--nodes 500 --neighbors 30 --rounds 5 --threads 1 2]``; writes ``docs/benchmarks_interaction.md``
unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from e3nn import nn as e3nn_nn
from e3nn import o3

from lie_nn import O3
from lie_nn.nn import BesselBasis, MACEInteraction, PolynomialCutoff, scatter_sum, spherical_harmonics

R_MAX, NUM_RADIAL, RADIAL_HIDDEN = 5.0, 8, (64, 64, 64)
NOTES = "## Diagnosis"  # everything from this heading on is kept when the table is rewritten
PERM = [1, 2, 0]  # lie_nn's l = 1 basis is (y, z, x); Y_l^lie(r) = ±Y_l^e3nn(r[PERM]) per l


class E3nnInteraction(torch.nn.Module):
    """The interaction from e3nn parts (as mace-torch's RealAgnosticInteractionBlock, no skip)."""

    def __init__(self, node: o3.Irreps, sh: o3.Irreps, out: o3.Irreps, avg_num_neighbors: float) -> None:
        super().__init__()
        self.sh = o3.SphericalHarmonics(sh, normalize=True, normalization="component")
        self.linear_up = o3.Linear(node, node)
        keep = {ir for _, ir in out}
        mid, instructions = [], []
        for i, (mul, ir1) in enumerate(node):
            for j, (_, ir2) in enumerate(sh):
                for ir in ir1 * ir2:
                    if ir in keep:
                        instructions.append((i, j, len(mid), "uvu", True))
                        mid.append((mul, ir))
        self.tp = o3.TensorProduct(node, sh, o3.Irreps(mid), instructions, shared_weights=False,
                                   internal_weights=False)
        self.radial = e3nn_nn.FullyConnectedNet([NUM_RADIAL, *RADIAL_HIDDEN, self.tp.weight_numel],
                                                torch.nn.functional.silu)
        self.linear = o3.Linear(self.tp.irreps_out.simplify(), out)
        self.avg = avg_num_neighbors

    def forward(self, h: torch.Tensor, vec: torch.Tensor, radial: torch.Tensor,
                edge_index: torch.Tensor) -> torch.Tensor:
        senders, receivers = edge_index
        m = self.tp(self.linear_up(h)[senders], self.sh(vec), self.radial(radial))
        return self.linear(torch.zeros(h.shape[0], m.shape[1], dtype=m.dtype).index_add(0, receivers, m)
                           / self.avg)


class LieInteraction(torch.nn.Module):
    """``lie_nn.nn.MACEInteraction`` with its spherical harmonics (same call signature)."""

    def __init__(self, node: o3.Irreps, sh: o3.Irreps, out: o3.Irreps, avg_num_neighbors: float) -> None:
        super().__init__()
        self.ls = [ir.l for _, ir in sh]
        self.block = MACEInteraction(to_lie(node), [ir for _, ir in to_lie(sh)], to_lie(out), NUM_RADIAL,
                                     RADIAL_HIDDEN, avg_num_neighbors)

    def forward(self, h: torch.Tensor, vec: torch.Tensor, radial: torch.Tensor,
                edge_index: torch.Tensor) -> torch.Tensor:
        return self.block(h, spherical_harmonics(self.ls, vec), radial, edge_index)


class LieInteractionConcat(LieInteraction):
    """The same modules, summed the way MACEInteraction did before: one per-edge concatenation of the
    tensor product's output, then ``scatter_sum`` (the ablation of ``--concat-ablation``)."""

    def forward(self, h: torch.Tensor, vec: torch.Tensor, radial: torch.Tensor,
                edge_index: torch.Tensor) -> torch.Tensor:
        b, senders, receivers = self.block, edge_index[0], edge_index[1]
        x = b.linear_up(h)
        messages = b.tp(x[senders], spherical_harmonics(self.ls, vec), b.radial(radial))
        return b.linear(scatter_sum(messages, receivers, h.shape[0]) / b.avg_num_neighbors)


def to_lie(irreps: o3.Irreps) -> list:
    return [(mul, O3(ir.l, ir.p)) for mul, ir in irreps]


def graph(nodes: int, neighbors: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Random neighbour graph (``neighbors`` senders per receiver) in a box where most edges are < r_max."""
    gen = torch.Generator().manual_seed(seed)
    pos = 3.5 * torch.rand(nodes, 3, generator=gen, dtype=torch.float64)
    receivers = torch.arange(nodes).repeat_interleave(neighbors)
    senders = (receivers + torch.randint(1, nodes, (receivers.shape[0],), generator=gen)) % nodes
    return pos, torch.stack([senders, receivers])


def radial_features(vec: torch.Tensor) -> torch.Tensor:
    r = vec.norm(dim=-1)
    return BesselBasis(R_MAX, NUM_RADIAL).to(vec.dtype)(r) * PolynomialCutoff(R_MAX)(r).unsqueeze(-1)


def timeit(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def speed(models: dict[str, torch.nn.Module], inputs: tuple, rounds: int,
          reference: str = "e3nn") -> dict[str, list[float]]:
    """Per-round ratios reference / lie_nn for forward and forward+backward (rounds interleaved)."""
    h, vec, edge_index = inputs
    radial = radial_features(vec)

    def fwd(m: torch.nn.Module) -> Callable[[], object]:
        def run() -> None:
            with torch.no_grad():
                m(h, vec, radial, edge_index)
        return run

    def bwd(m: torch.nn.Module) -> Callable[[], object]:
        def run() -> None:
            hg, vg = h.clone().requires_grad_(), vec.clone().requires_grad_()
            torch.autograd.grad(m(hg, vg, radial_features(vg), edge_index).square().sum(), (hg, vg))
        return run

    ratios: dict[str, list[float]] = {"forward": [], "forward+backward": []}
    times: dict[str, list[float]] = {f"{k} {n}": [] for k in ratios for n in models}
    for r in range(rounds + 1):  # round 0 is the warm-up
        for kind, make in (("forward", fwd), ("forward+backward", bwd)):
            t = {name: timeit(make(m)) for name, m in models.items()}
            if r:
                ratios[kind].append(t[reference] / t["lie_nn"])
                for name in models:
                    times[f"{kind} {name}"].append(t[name])
    return ratios | {k: v for k, v in times.items()}


def d_matrix(model: torch.nn.Module, irreps: o3.Irreps, rot: torch.Tensor) -> torch.Tensor:
    """``D(R)`` of ``irreps`` in the model's basis, in float64, fitted from the model's own harmonics.

    ``Y_l(R r) = D_l(R) Y_l(r)`` on 64 random points, solved by least squares (e3nn's ``D_from_matrix``
    is only float32-accurate, which would hide the float64 reference).
    """
    points = torch.randn(64, 3, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    blocks = []
    for mul, ir in irreps:
        if isinstance(model, LieInteraction):
            y, y_rot = (spherical_harmonics(ir.l, p) for p in (points, points @ rot.T))
        else:
            y, y_rot = (o3.spherical_harmonics(ir.l, p, normalize=True) for p in (points, points @ rot.T))
        d = torch.linalg.lstsq(y, y_rot).solution.T  # y_rot = y @ D^T
        sign = 1.0 if ir.p == (-1) ** ir.l or torch.det(rot) > 0 else -1.0
        blocks += [sign * d] * mul
    return torch.block_diag(*blocks)


def equivariance(model: torch.nn.Module, irreps_in: o3.Irreps, irreps_out: o3.Irreps, inputs: tuple,
                 n_rot: int) -> tuple[float, float, float]:
    """(float32 error, float32 layer error vs the float64 answer, float64 error), max over rotations."""
    h, vec, edge_index = (t.double() if t.is_floating_point() else t for t in inputs)
    m64, m32 = model.double(), None
    with torch.no_grad():
        out64 = m64(h, vec, radial_features(vec), edge_index)
        rots = [o3.rand_matrix(dtype=torch.float64) for _ in range(n_rot)]
        rotated = []
        for rot in rots:
            d_in, d_out = d_matrix(model, irreps_in, rot), d_matrix(model, irreps_out, rot)
            h_r, v_r = h @ d_in.T, vec @ rot.T
            rotated.append((h_r, v_r, out64 @ d_out.T, d_out))
        err64 = max(float((m64(h_r, v_r, radial_features(v_r), edge_index) - expect).abs().max())
                    for h_r, v_r, expect, _ in rotated) / float(out64.abs().max())
        m32 = model.float()
        out32 = m32(h.float(), vec.float(), radial_features(vec.float()), edge_index)
        err32, layer32 = 0.0, 0.0
        for h_r, v_r, expect, d_out in rotated:
            v32 = v_r.float()
            got = m32(h_r.float(), v32, radial_features(v32), edge_index)
            err32 = max(err32, float((got - out32 @ d_out.float().T).abs().max() / out32.abs().max()))
            layer32 = max(layer32, float((got.double() - expect).abs().max() / out64.abs().max()))
    return err32, layer32, err64


def stats(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--neighbors", type=int, default=30)
    parser.add_argument("--channels", type=int, default=128)
    parser.add_argument("--node-irreps", default="0e+1o", help="irreps of each node channel")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rotations", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--concat-ablation", action="store_true",
                        help="only time MACEInteraction against its per-edge-concatenation variant")
    args = parser.parse_args()
    c = args.channels
    node = o3.Irreps("+".join(f"{c}x{ir}" for _, ir in o3.Irreps(args.node_irreps)))
    sh = o3.Irreps("0e+1o+2e+3o")
    out = o3.Irreps(f"{c}x0e+{c}x1o+{c}x2e+{c}x3o")
    torch.manual_seed(0)
    models = {"e3nn": E3nnInteraction(node, sh, out, float(args.neighbors)),
              "lie_nn": LieInteraction(node, sh, out, float(args.neighbors))}
    pos, edge_index = graph(args.nodes, args.neighbors)
    if args.concat_ablation:
        concat_ablation(models["lie_nn"], pos, edge_index, node, args)
        return
    vec = (pos[edge_index[1]] - pos[edge_index[0]])
    h = torch.randn(args.nodes, node.dim, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    errors = {name: equivariance(m, node, out, (h, vec, edge_index), args.rotations)
              for name, m in models.items()}
    for name, (e32, l32, e64) in errors.items():
        print(f"{name:7s} equivariance float32 {e32:.2e}  layer float32 vs float64 {l32:.2e}  "
              f"float64 {e64:.1e}", flush=True)
    inputs = (h.float(), vec.float(), edge_index)
    for m in models.values():
        m.float()
    results = {}
    for threads in args.threads:
        torch.set_num_threads(threads)
        results[threads] = speed(models, inputs, args.rounds)
        for kind in ("forward", "forward+backward"):
            print(f"threads={threads} {kind:17s} e3nn/lie_nn min/median/max {stats(results[threads][kind])}  "
                  f"(median ms: e3nn {1e3 * statistics.median(results[threads][f'{kind} e3nn']):.0f}, "
                  f"lie_nn {1e3 * statistics.median(results[threads][f'{kind} lie_nn']):.0f})", flush=True)
    if not args.no_write:
        write(args, errors, results)


def concat_ablation(lie: LieInteraction, pos: torch.Tensor, edge_index: torch.Tensor, node: o3.Irreps,
                    args: argparse.Namespace) -> None:
    """concatenated / per-block time of the same weights (float32), interleaved rounds."""
    concat = LieInteractionConcat.__new__(LieInteractionConcat)
    torch.nn.Module.__init__(concat)
    concat.ls, concat.block = lie.ls, lie.block  # shared modules and weights
    vec = (pos[edge_index[1]] - pos[edge_index[0]]).float()
    h = torch.randn(args.nodes, node.dim, generator=torch.Generator().manual_seed(1))
    lie.float()
    torch.testing.assert_close(concat(h, vec, radial_features(vec), edge_index),
                               lie(h, vec, radial_features(vec), edge_index), rtol=1e-4, atol=1e-4)
    for threads in args.threads:
        torch.set_num_threads(threads)
        result = speed({"concat": concat, "lie_nn": lie}, (h, vec, edge_index), args.rounds, "concat")
        for kind in ("forward", "forward+backward"):
            print(f"threads={threads} {kind:17s} concatenated/per-block min/median/max {stats(result[kind])}")


def write(args: argparse.Namespace, errors: dict, results: dict) -> None:
    import e3nn

    cmd = ("PYTHONPATH=. .venv/bin/python benchmarks/bench_interaction.py "
           f"--nodes {args.nodes} --neighbors {args.neighbors} --channels {args.channels} "
           f"--node-irreps {args.node_irreps} --rounds {args.rounds} --rotations {args.rotations} "
           "--threads " + " ".join(map(str, args.threads)))
    c = args.channels
    lines = ["# MACE interaction block: lie_nn vs e3nn parts (CPU, float32)", "",
             f"Command: `{cmd}`", "",
             f"`{c}x({args.node_irreps})` node features, spherical harmonics `0e+1o+2e+3o` (computed inside "
             "the timed pipeline), 8 Bessel features, radial MLP `[8, 64, 64, 64, weight_numel]`, output "
             f"`{c}x(0e+1o+2e+3o)`, {args.nodes} nodes × {args.neighbors} neighbours = "
             f"{args.nodes * args.neighbors} edges.  e3nn {e3nn.__version__}, torch {torch.__version__}, "
             f"{platform.machine()}; shared 2-core machine, so absolute times are noisy — the ratios come "
             f"from interleaved rounds (one e3nn run, one lie_nn run, per round; {args.rounds} rounds "
             "after a warm-up).", "",
             "| threads | pass | e3nn / lie_nn min / median / max | median e3nn (ms) | median lie_nn (ms) |",
             "|---|---|---|---|---|"]
    for threads, res in results.items():
        for kind in ("forward", "forward+backward"):
            lines.append(f"| {threads} | {kind} | {stats(res[kind])} | "
                         f"{1e3 * statistics.median(res[f'{kind} e3nn']):.0f} | "
                         f"{1e3 * statistics.median(res[f'{kind} lie_nn']):.0f} |")
    lines += ["", f"Equivariance, max over {args.rotations} random rotations (relative to max |output|):", "",
              "| implementation | float32 `f(Rx)` vs `D f(x)` | float32 `f(Rx)` vs float64 `D f(x)` "
              "| float64 |",
              "|---|---|---|---|"]
    for name, (e32, l32, e64) in errors.items():
        lines.append(f"| {name} | {e32:.2e} | {l32:.2e} | {e64:.1e} |")
    path = Path("docs/benchmarks_interaction.md")
    kept = path.read_text().split(NOTES, 1) if path.exists() else []
    if len(kept) == 2:  # the hand-written notes below the marker survive a rerun
        lines += ["", NOTES + kept[1].rstrip("\n")]
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, path)

if __name__ == "__main__":
    main()
