"""Benchmark lie_nn.nn.VoxelConvolution against e3nn's voxel ``Convolution`` and a plain ``Conv3d`` (CPU).

The incumbent is ``e3nn.nn.models.v2104.voxel_convolution.Convolution``, the layer of the e3nn_Unet design
(kernel = e3nn ``FullyConnectedTensorProduct.right`` of the lattice's spherical harmonics with per-voxel
weights from a radial embedding, plus a self-connection ``Linear``, then ``conv3d``).  Same irreps, filters
``l ≤ 2``, a 5×5×5 window, 3 radial functions; the plain ``Conv3d`` has the same channel counts and window.
Rounds are interleaved (every implementation once per round); min / median / max seconds per call.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_voxel_convolution.py [--size 32] [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from lie_nn import axis_angle_to_matrix
from lie_nn.nn import VoxelConvolution, field_rotation_matrix

IRREPS_IN = "8x0e + 2x1o + 1x2e"
IRREPS_OUT = "11x0e + 2x1o + 1x2e"


def _e3nn_conv() -> torch.nn.Module:
    from e3nn import o3
    from e3nn.nn.models.v2104.voxel_convolution import Convolution

    return Convolution(o3.Irreps(IRREPS_IN), o3.Irreps(IRREPS_OUT), o3.Irreps.spherical_harmonics(2),
                       diameter=5.0, num_radial_basis=3)


def rotation_error(spacing: float, rotation: np.ndarray) -> float:
    """Relative error ``|conv(f∘R^{-1})(0) - D(R) conv(f)(0)| / |conv(f)(0)|`` for a smooth scalar ``f``
    (three unit-width Gaussians) sampled on a grid of ``spacing``, one continuous kernel (radius 2.5, 3 radial
    functions, ``0e -> 0e + 1o + 2e``) at every resolution: the discretisation error of the convolution."""
    torch.manual_seed(4)
    k = int(round(2 / spacing)) * 2 + 1
    conv = VoxelConvolution("1x0e", "1x0e + 1x1o + 1x2e", k, spacing=spacing, r_max=2.5, num_radial=3,
                            padding=0, dtype=torch.float64)
    axis = (torch.arange(k, dtype=torch.float64) - (k - 1) / 2) * spacing
    grid = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), -1)
    centres = torch.tensor([[0.6, -0.3, 0.2], [-0.5, 0.4, -0.7], [0.1, 0.8, 0.5]], dtype=torch.float64)
    weights = torch.tensor([1.0, -0.7, 0.5], dtype=torch.float64)

    def blobs(points: torch.Tensor) -> torch.Tensor:
        return (weights * torch.exp(-((points[..., None, :] - centres) ** 2).sum(-1))).sum(-1)[None, None]

    with torch.no_grad():
        y = conv(blobs(grid))[0, :, 0, 0, 0]
        y_rot = conv(blobs(grid @ torch.as_tensor(rotation)))[0, :, 0, 0, 0]
    d = torch.as_tensor(field_rotation_matrix(conv.irreps_out, rotation))
    return float((y_rot - d @ y).norm() / y.norm())


def _step(module: torch.nn.Module, x: torch.Tensor, backward: bool) -> Callable[[], None]:
    def run() -> None:
        if backward:
            module.zero_grad(set_to_none=True)
            module(x).square().mean().backward()
        else:
            with torch.no_grad():
                module(x)
    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    ours = VoxelConvolution(IRREPS_IN, IRREPS_OUT, 5, num_radial=3)
    plain = torch.nn.Conv3d(ours.irreps_in.dim, ours.irreps_out.dim, 5, padding=2)
    modules = {"lie_nn VoxelConvolution": ours, "plain Conv3d": plain}
    try:
        modules["e3nn v2104 Convolution"] = _e3nn_conv()
    except ImportError:
        print("e3nn not installed: its row is skipped")
    x = torch.randn(args.batch, ours.irreps_in.dim, args.size, args.size, args.size)
    params = {name: sum(p.numel() for p in m.parameters()) for name, m in modules.items()}
    print(f"{IRREPS_IN} -> {IRREPS_OUT}, 5^3 window, input {tuple(x.shape)}, float32, "
          f"{args.threads} thread(s), {args.rounds} interleaved rounds")
    kernels = {"lie_nn VoxelConvolution": lambda: ours.kernel()}
    if "e3nn v2104 Convolution" in modules:
        kernels["e3nn v2104 Convolution"] = modules["e3nn v2104 Convolution"].kernel
    for label, backward in (("forward", False), ("forward+backward", True)):
        times: dict[str, list[float]] = {name: [] for name in modules}
        steps = {name: _step(m, x, backward) for name, m in modules.items()}
        for step in steps.values():
            step()  # warm-up
        for _ in range(args.rounds):
            for name, step in steps.items():
                t0 = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - t0)
        base = statistics.median(times["plain Conv3d"])
        print(f"\n{label}:  name | params | min / median / max ms | median / plain Conv3d")
        for name, t in times.items():
            med = statistics.median(t)
            print(f"  {name:26s} {params[name]:7d}  {1e3 * min(t):8.1f} / {1e3 * med:8.1f} / "
                  f"{1e3 * max(t):8.1f}   {med / base:5.2f}x")
    rotation = np.asarray(axis_angle_to_matrix(np.array([0.3, -0.5, 0.8]), 0.7))
    print("\narbitrary rotation (0.7 rad about (0.3, -0.5, 0.8)), smooth input: relative error vs spacing")
    for h in (1.0, 0.5, 0.25):
        print(f"  spacing {h:<5g} (window {int(round(2 / h)) * 2 + 1}^3): {rotation_error(h, rotation):.2e}")
    print("\nkernel assembly alone (no grad): min / median / max ms")
    with torch.no_grad():
        for name, fn in kernels.items():
            fn()
            t = []
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                fn()
                t.append(time.perf_counter() - t0)
            med = statistics.median(t)
            print(f"  {name:26s} {1e3 * min(t):8.2f} / {1e3 * med:8.2f} / {1e3 * max(t):8.2f}")


if __name__ == "__main__":
    main()
