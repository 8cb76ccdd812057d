r"""Diagnose jump models on the *validation* pairs (never the test trajectories).

Two cheap measurements per trained model (``model.pt``), on the validation part of the training
trajectories (:func:`~models.md_jump.dataset.training_pairs`, the last 15 % of each):

* ``loss_by_s``: the velocity and denoiser losses of :func:`~models.md_jump.interpolant.interpolant_loss`
  at fixed interpolation times ``s`` (the same noise ``z`` for every model): where in ``s`` a network
  fails;
* ``sampler_scan``: for sampler settings ``(steps, ε_0)``, ``k`` sampled jumps from every validation
  start, scored against the MD's actual jumps: mean jump RMSD (MD: ``md_mean_jump_rmsd``), W1 and
  CRPS of the jump RMSD and of ΔR_g (:mod:`models.md_jump.onejump`).  With exact ``b`` and ``η``
  every ``ε_0`` gives the same distribution; a strong dependence on ``ε_0`` measures model error.
  Sampler settings chosen here are chosen on validation data.

    python -m models.md_jump.val_scan runs/md_jump_equivariant_s0 runs/md_jump_plain_s0 \
        --data data/md_jump --out runs/md_jump_val_scan
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import torch

from models.common.args import positive_int
from models.common.cli import run_cli
from models.common.io import write_json_atomic
from models.md_jump.dataset import training_pairs
from models.md_jump.interpolant import interpolant_loss, sample_jump
from models.md_jump.jumper import Jumper
from models.md_jump.metrics import radius_of_gyration
from models.md_jump.onejump import crps, pair_rmsd, wasserstein_1d
from models.md_jump.topology import Topology, TopologyError

__all__ = ["loss_by_s", "main", "sampler_scan", "validation_pairs"]

S_GRID = (0.02, 0.1, 0.3, 0.5, 0.7, 0.9, 0.98)


def validation_pairs(data: Path, jumper: Jumper) -> dict[str, torch.Tensor]:
    """``x0, x1 (P, n, 3)`` and ``lag (P,)`` (index into ``jumper.lags_ps``) of the validation pairs.

    The data's topology must be the model's (:class:`~models.md_jump.topology.TopologyError` otherwise).
    """
    atoms = "ca" if list(jumper.selection) == list(jumper.topology.ca) else "heavy"
    _, val, summary = training_pairs(data, atoms, jumper.lags_ps, dtype=jumper.dtype)
    try:
        jumper.topology.check(Topology.from_dict(summary["topology"]))
    except TopologyError as err:
        raise TopologyError(f"{data} does not hold the model's molecule: {err}") from None
    return {k: val.columns[k] for k in ("x0", "x1", "lag")}


def loss_by_s(jumper: Jumper, pairs: dict[str, torch.Tensor], s_grid=S_GRID, seed: int = 0) -> list[dict]:
    """``[{s, loss_b, loss_eta}]``: the losses at each fixed ``s``, one noise draw ``z`` per pair."""
    x0, x1, lag = pairs["x0"], pairs["x1"], pairs["lag"]
    z = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed), dtype=x0.dtype)
    out = []
    jumper.network.eval()
    with torch.no_grad():
        for s in s_grid:
            _, parts = interpolant_loss(jumper.network, jumper.interpolant, x0, x1, lag, jumper.config.r_cut,
                                        s=torch.full((len(x0),), float(s), dtype=x0.dtype), z=z)
            out.append({"s": float(s), "loss_b": float(parts["loss_b"]),
                        "loss_eta": float(parts["loss_eta"])})
    return out


def sampler_scan(jumper: Jumper, pairs: dict[str, torch.Tensor], settings: list[tuple[int, float]], k: int,
                 seed: int = 0) -> list[dict]:
    """Per Δ and sampler setting ``(steps, eps0)``: the jump statistics of ``k`` samples per start."""
    rows = []
    jumper.network.eval()
    for index, lag_ps in enumerate(jumper.lags_ps):
        m = pairs["lag"] == index
        x0, x1 = pairs["x0"][m], pairs["x1"][m]
        if len(x0) == 0:
            continue
        a, b = x0.double().numpy(), x1.double().numpy()
        md_jump, md_drg = pair_rmsd(a, b), radius_of_gyration(b) - radius_of_gyration(a)
        for steps, eps0 in settings:
            interp = dataclasses.replace(jumper.interpolant, steps=int(steps), eps0=float(eps0))
            gen = torch.Generator().manual_seed(seed)
            starts = x0.repeat_interleave(k, dim=0)
            lag = torch.full((len(starts),), index, dtype=torch.long)
            xs = sample_jump(jumper.network, interp, starts, lag, jumper.config.r_cut, generator=gen)
            xs = xs.double().numpy().reshape(len(x0), k, *x0.shape[1:])
            jump, drg = pair_rmsd(a[:, None], xs), radius_of_gyration(xs) - radius_of_gyration(a)[:, None]
            rows.append({"lag_ps": lag_ps, "steps": int(steps), "eps0": float(eps0), "pairs": len(x0),
                         "md_mean_jump_rmsd": float(md_jump.mean()), "mean_jump_rmsd": float(jump.mean()),
                         "w1_jump_rmsd": wasserstein_1d(jump, md_jump),
                         "w1_d_rg": wasserstein_1d(drg, md_drg),
                         "crps_jump_rmsd": float(crps(jump, md_jump).mean()),
                         "crps_d_rg": float(crps(drg, md_drg).mean())})
    return rows


def _setting(text: str) -> tuple[int, float]:
    try:
        steps, eps0 = text.split(":")
        out = int(steps), float(eps0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected STEPS:EPS0 such as 20:0.5, got {text!r}") from None
    if out[0] < 1 or not out[1] >= 0:
        raise argparse.ArgumentTypeError(f"need STEPS >= 1 and EPS0 >= 0, got {text!r}")
    return out


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m models.md_jump.val_scan", description=__doc__.split("\n")[0])
    p.add_argument("runs", type=Path, nargs="+", help="run directories holding model.pt")
    p.add_argument("--data", type=Path, default=Path("data/md_jump"))
    p.add_argument("--out", type=Path, required=True, help="directory for val_scan.json")
    p.add_argument("--settings", type=_setting, nargs="+", default=[(20, 0.5)], metavar="STEPS:EPS0",
                   help="sampler settings to scan (default 20:0.5, the trained models' sampler)")
    p.add_argument("--samples", type=positive_int, default=4, help="sampled jumps per validation start")
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    torch.set_num_threads(1)
    results = []
    for run in args.runs:
        jumper = Jumper.load(run / "model.pt")
        pairs = validation_pairs(args.data, jumper)
        res = {"run": str(run), "kind": jumper.kind, "loss_by_s": loss_by_s(jumper, pairs, seed=args.seed),
               "sampler": sampler_scan(jumper, pairs, args.settings, args.samples, args.seed)}
        results.append(res)
        print(f"{run.name}: loss_b/loss_eta by s: " + ", ".join(
            f"{r['s']:g}: {r['loss_b']:.2f}/{r['loss_eta']:.2f}" for r in res["loss_by_s"]))
        for r in res["sampler"]:
            print(f"  Δ {r['lag_ps']:g} ps, {r['steps']} steps, ε0 {r['eps0']:g}: mean jump RMSD "
                  f"{r['mean_jump_rmsd']:.3f} (MD {r['md_mean_jump_rmsd']:.3f}), "
                  f"W1 jump {r['w1_jump_rmsd']:.3f}, W1 ΔRg {r['w1_d_rg']:.3f}, "
                  f"CRPS jump {r['crps_jump_rmsd']:.3f}, CRPS ΔRg {r['crps_d_rg']:.3f}")
    write_json_atomic(args.out / "val_scan.json", {"results": results, "settings": {
        **vars(args), "runs": [str(r) for r in args.runs], "data": str(args.data), "out": str(args.out)}})
    print(f"wrote {args.out / 'val_scan.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_cli(main)
