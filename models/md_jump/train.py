r"""Train a jump model (equivariant or plain peer) on frame pairs of the chignolin MD data.

The loss is :func:`~models.md_jump.interpolant.interpolant_loss` (velocity + denoiser least squares
with random ``s`` and ``z``); ``--augment`` rotates every pair by an independent Haar-random rotation
(drawn from torch's generator, so resumes stay exact) — the peer's substitute for equivariance.  The
loop is :class:`models.common.training.Trainer` (``--cpu-budget`` CPU minutes, bit-exact ``--resume``,
``history.jsonl``, ``best.pt`` by validation loss).  At the end ``model.pt`` (see
:class:`~models.md_jump.jumper.Jumper`) holds the best weights with everything the sampler needs.

    python -m models.md_jump.train --data data/md_jump --model equivariant --out runs/md_jump_equivariant \
        --cpu-budget 6
    python -m models.md_jump.train --data data/md_jump --model plain --augment --out runs/md_jump_plain \
        --cpu-budget 6
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import torch

from models.common.args import add_training_arguments, options_from_args, positive_float, settings_from_args
from models.common.checkpoint import load_checkpoint
from models.common.cli import run_cli
from models.common.training import RunOptions, Trainer, TrainSettings, prepare, torch_dtype
from models.md_jump.data import DEFAULT_DATA_DIR
from models.md_jump.dataset import ATOM_SETS, training_pairs
from models.md_jump.interpolant import Interpolant, interpolant_loss
from models.md_jump.jumper import NETWORKS, Jumper, build_network
from models.md_jump.model import JumpConfig, jump_graph
from models.md_jump.topology import Topology

__all__ = ["DEFAULTS", "main", "random_rotations", "train"]

DEFAULTS = TrainSettings(epochs=200, batch_size=32, lr=3e-3, clip=10.0, warmup=0.02, schedule="cosine")


def random_rotations(n: int, dtype: torch.dtype) -> torch.Tensor:
    """``n`` Haar-random rotation matrices ``(n, 3, 3)`` from torch's global generator (unit quaternions
    of normalised Gaussians).

    >>> R = random_rotations(4, torch.float64)
    >>> bool(torch.allclose(R @ R.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand(4, 3, 3)))
    True
    """
    q = torch.randn(n, 4, dtype=dtype)
    w, x, y, z = (q / q.norm(dim=1, keepdim=True)).unbind(1)
    return torch.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
        2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
        2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], dim=1).reshape(n, 3, 3)


def loss_fn(interp: Interpolant, r_cut: float, augment: bool, start_noise: float = 0.0):
    """``loss(model, batch)`` for the trainer (batches of :func:`~models.md_jump.dataset.training_pairs`).

    In training mode, ``augment`` rotates every pair; ``start_noise`` (Å) adds Gaussian noise to the
    start frame ``x_t`` (the target stays clean), so that the model learns to jump from slightly
    perturbed frames — the frames it meets in chained rollouts (the noise trick of learned simulators).
    """
    def compute(model: torch.nn.Module, batch: dict[str, torch.Tensor]):
        x0, x1 = batch["x0"], batch["x1"]
        if augment and model.training:
            rot = random_rotations(x0.shape[0], x0.dtype).transpose(1, 2)
            x0, x1 = x0 @ rot, x1 @ rot
        if start_noise > 0 and model.training:
            x0 = x0 + start_noise * torch.randn_like(x0)
        return interpolant_loss(model, interp, x0, x1, batch["lag"], r_cut)
    return compute


def _avg_neighbors(data, r_cut: float) -> float:
    x0 = data.batch(list(range(0, len(data), max(1, len(data) // 200))))["x0"]
    graph = jump_graph(x0, r_cut)
    return round(graph.edge_index.shape[1] / graph.atom.shape[0], 3)


def train(data: Path, kind: str, atoms: str, lags: tuple[float, ...], config_args: dict, interp: Interpolant,
          augment: bool, settings: TrainSettings, options: RunOptions, start_noise: float = 0.0) -> dict:
    """Train and export ``<out>/model.pt``; returns the trainer's result."""
    ctx = prepare(settings, options)
    dtype = torch_dtype(settings.dtype)
    train_set, val_set, summary = training_pairs(data, atoms, lags, dtype=dtype)
    n_nodes = train_set.columns["x0"].shape[1]
    config = JumpConfig(num_atoms=n_nodes, num_lags=len(lags), **config_args)
    config = dataclasses.replace(config, avg_num_neighbors=_avg_neighbors(train_set, config.r_cut))
    network = build_network(kind, config, dtype)
    identity = {"kind": kind, "config": config.to_dict(), "interpolant": dataclasses.asdict(interp),
                "augment": augment, "start_noise": start_noise, "data": str(data), "lags_ps": list(lags),
                "atoms": atoms, "pairs": summary["pairs"]}
    trainer = Trainer(network, loss_fn(interp, config.r_cut, augment, start_noise), train_set, settings,
                      options, val_data=val_set, identity=identity, ctx=ctx)
    trainer.log(f"training {kind} ({sum(p.numel() for p in network.parameters())} parameters) on "
                f"{len(train_set)} pairs, validating on {len(val_set)}: {summary['pairs']}")
    result = trainer.fit()
    best = Path(options.out) / "best.pt"
    if ctx.is_main and best.is_file():
        network.load_state_dict(load_checkpoint(best, expect_format=None))
        jumper = Jumper(kind, network, interp, lags, Topology.from_dict(summary["topology"]),
                        tuple(summary["selection"]))
        jumper.save(Path(options.out) / "model.pt", {"best": result["best"], "status": result["status"],
                                                      "epochs": result["epochs"], "augment": augment,
                                                      "start_noise": start_noise})
        trainer.log(f"wrote {Path(options.out) / 'model.pt'} (best epoch {result['best']})")
    return result


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m models.md_jump.train", description=__doc__.split("\n")[0])
    d = p.add_argument_group("data")
    d.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR, help="data directory (make md-data)")
    d.add_argument("--atoms", choices=ATOM_SETS, default="ca", help="graph nodes (default %(default)s)")
    d.add_argument("--lags", type=positive_float, nargs="+", default=[10.0, 100.0], help="jumps Δ in ps")
    m = p.add_argument_group("model")
    m.add_argument("--model", choices=sorted(NETWORKS), default="equivariant")
    m.add_argument("--augment", action="store_true", help="random rotation of every training pair")
    m.add_argument("--start-noise", type=float, default=0.0,
                   help="Gaussian noise (Å) added to x_t in training (rollout robustness); default 0")
    m.add_argument("--channels", type=int, default=16)
    m.add_argument("--num-layers", type=int, default=3)
    m.add_argument("--max-ell", type=int, default=2)
    m.add_argument("--r-cut", type=positive_float, default=12.0, help="graph radius in x_t (Å)")
    m.add_argument("--sigma", type=float, default=Interpolant.sigma, help="γ(s) = σ s (1 - s), Å")
    m.add_argument("--eps0", type=float, default=Interpolant.eps0, help="sampler diffusion ε_0 (Å)")
    m.add_argument("--steps", type=int, default=Interpolant.steps, help="sampler steps per jump")
    add_training_arguments(p, DEFAULTS)
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    settings, options = settings_from_args(args, DEFAULTS), options_from_args(args)
    config_args = {"channels": args.channels, "num_layers": args.num_layers, "max_ell": args.max_ell,
                   "r_cut": args.r_cut}
    interp = Interpolant(args.sigma, args.eps0, args.steps)
    if not args.start_noise >= 0:
        raise ValueError(f"--start-noise must be >= 0, got {args.start_noise}")
    result = train(args.data, args.model, args.atoms, tuple(args.lags), config_args, interp, args.augment,
                   settings, options, start_noise=args.start_noise)
    print(f"{result['status']} after {result['epochs']} epochs; run in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_cli(main)
