r"""Compare jump-model rollouts with the held-out reference MD; measure speed and rotation robustness.

For every model (``model.pt``) and trained Δ: ``--n-traj`` rollouts of ``--ns`` ns from the first frame
of the test trajectory, then, against the test trajectory (every saved frame):

* Jensen–Shannon divergences (bits, 40 shared bins) of Cα RMSD to the folded structure, Cα radius of
  gyration and TIC1 (TICA of Cα pair distances fitted on the training trajectories), with bootstrap
  standard errors over the rollouts;
* the folded fraction (RMSD < ``--folded-rmsd`` Å) and the autocorrelation of the folded indicator at
  ``--acf-ps``;
* speed: simulated ns per wall-clock second of the batched rollout and of one trajectory, against
  OpenMM on this machine (same settings as the data, one thread, measured here);
* the validation loss on test pairs (fixed ``s, z``) as given and with the pairs randomly rotated.

An "MD vs MD" row compares an independent training trajectory from a folded start with the test
trajectory: the spread of the divergences between two runs of the real dynamics of this length.

    python -m models.md_jump.evaluate runs/md_jump_equivariant runs/md_jump_plain --data data/md_jump \
        --out runs/md_jump_eval
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from models.common.args import positive_float, positive_int
from models.common.cli import run_cli
from models.common.io import atomic_path, write_json_atomic
from models.md_jump.dataset import frame_pairs, lag_steps, load_eval_data
from models.md_jump.interpolant import interpolant_loss
from models.md_jump.jumper import Jumper
from models.md_jump.metrics import Projection, autocorrelation, js_divergence, radius_of_gyration, rmsd_to
from models.md_jump.train import random_rotations

__all__ = ["compare", "features", "main", "openmm_speed", "rollout_lags"]


def features(x: np.ndarray, folded: np.ndarray, proj: Projection) -> dict[str, np.ndarray]:
    """``rmsd``, ``rg``, ``tic1``, ``tic2`` and ``bond`` (mean Cα(i)–Cα(i+1) distance) of Cα frames
    ``x (..., n, 3)``."""
    tic = proj(x)
    bond = np.linalg.norm(x[..., 1:, :] - x[..., :-1, :], axis=-1).mean(-1)
    return {"rmsd": rmsd_to(x, folded), "rg": radius_of_gyration(x), "tic1": tic[..., 0], "tic2": tic[..., 1],
            "bond": bond}


def compare(ref: dict[str, np.ndarray], model: dict[str, np.ndarray], folded_rmsd: float, acf_frames_ref: int,
            acf_frames_model: int, n_boot: int = 200, seed: int = 0) -> dict:
    """Divergences and folded statistics of ``model`` features ``(n_traj, frames)`` vs ``ref (frames,)``.

    Frame 0 (the common start) is left out of the distributions (it would weigh ``n_traj`` times in the
    rollouts); the autocorrelations use whole series.  Errors: bootstrap over the rollouts.
    """
    out: dict = {}
    rng = np.random.default_rng(seed)
    n_traj = model["rmsd"].shape[0]
    boots = [rng.integers(0, n_traj, n_traj) for _ in range(n_boot)]
    for key in ("rmsd", "rg", "tic1"):
        r, m = ref[key][1:], model[key][:, 1:]
        value = js_divergence(r, m)
        spread = [js_divergence(r, m[b]) for b in boots] if n_traj > 1 else [value]
        out[f"js_{key}"] = value
        out[f"js_{key}_se"] = float(np.std(spread))
    folded = (model["rmsd"] < folded_rmsd).astype(np.float64)
    out["folded_fraction"] = float(folded[:, 1:].mean())
    out["folded_fraction_se"] = float(np.std([folded[b, 1:].mean() for b in boots])) if n_traj > 1 else 0.0
    long_enough = folded.shape[1] > acf_frames_model
    out["folded_acf"] = autocorrelation(folded, acf_frames_model) if long_enough else None
    ref_folded = (ref["rmsd"] < folded_rmsd).astype(np.float64)
    out["ref_folded_fraction"] = float(ref_folded[1:].mean())
    out["bond_mean"], out["bond_sd"] = float(model["bond"][:, 1:].mean()), float(model["bond"][:, 1:].std())
    out["ref_bond_mean"], out["ref_bond_sd"] = float(ref["bond"][1:].mean()), float(ref["bond"][1:].std())
    out["ref_folded_acf"] = autocorrelation(ref_folded[None], acf_frames_ref)
    return out


def rollout_lags(trained: tuple[float, ...] | list[float], requested: list[float] | None) -> list[float]:
    """The Δs to roll out: every trained one, or those ``requested`` (each must be trained).

    >>> rollout_lags([10.0, 100.0], None), rollout_lags([10.0, 100.0], [100.0])
    ([10.0, 100.0], [100.0])
    """
    if requested is None:
        return list(trained)
    missing = [f"{lag:g}" for lag in requested if lag not in trained]
    if missing:
        raise ValueError(f"--lags {' '.join(missing)}: not trained (trained: "
                         f"{', '.join(f'{lag:g}' for lag in trained)} ps)")
    return list(dict.fromkeys(requested))


def openmm_speed(data: Path, ps: float = 20.0) -> dict:
    """Wall-clock ns per second of OpenMM (data settings, CPU platform, 1 thread) on the folded start."""
    import openmm.app as app

    from models.md_jump.system import MDSettings, make_simulation

    md = MDSettings()
    pdb = app.PDBFile(str(data / "folded.pdb"))
    sim = make_simulation(pdb.topology, md, seed=0)
    sim.context.setPositions(pdb.positions)
    sim.step(50)
    steps = round(ps * 1000 / md.timestep_fs)
    t0, c0 = time.perf_counter(), time.process_time()
    sim.step(steps)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"ps": ps, "wall_seconds": wall, "cpu_seconds": cpu, "ns_per_second": ps / 1000 / wall,
            "ns_per_cpu_second": ps / 1000 / cpu, "ns_per_day": ps / 1000 / wall * 86400}


def rotated_losses(jumper: Jumper, test: np.ndarray, lag_ps: float, save_every_ps: float,
                   n_rot: int = 8, seed: int = 0) -> dict:
    """Mean loss on test pairs (Cα) with fixed ``s, z``: as given, and with pairs and ``z`` rotated by
    ``n_rot`` random rotations (identical for an exactly equivariant network)."""
    steps = lag_steps(lag_ps, save_every_ps)
    x0, x1 = frame_pairs(test, steps, stride=max(1, steps // 2))
    dtype = jumper.dtype
    x0t, x1t = torch.tensor(x0, dtype=dtype), torch.tensor(x1, dtype=dtype)
    lag = torch.full((len(x0),), jumper.lag_index(lag_ps), dtype=torch.long)
    net = jumper.network.eval()

    gen = torch.Generator().manual_seed(seed)
    s = torch.rand(len(x0), generator=gen, dtype=dtype)
    z = torch.randn(x0t.shape, generator=gen, dtype=dtype)

    def loss(rot):
        with torch.no_grad():
            return float(interpolant_loss(net, jumper.interpolant, x0t @ rot.T, x1t @ rot.T, lag,
                                          jumper.config.r_cut, s=s, z=z @ rot.T)[0])

    plain = loss(torch.eye(3, dtype=dtype))
    torch.manual_seed(seed + 1)
    rotated = [loss(r) for r in random_rotations(n_rot, dtype)]
    return {"pairs": len(x0), "loss": plain, "loss_rotated_mean": float(np.mean(rotated)),
            "loss_rotated_max": float(np.max(rotated))}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m models.md_jump.evaluate", description=__doc__.split("\n")[0])
    p.add_argument("runs", type=Path, nargs="+", help="run directories holding model.pt")
    p.add_argument("--data", type=Path, default=Path("data/md_jump"))
    p.add_argument("--out", type=Path, required=True, help="directory for eval.json and the rollouts")
    p.add_argument("--ns", type=positive_float, default=1.0)
    p.add_argument("--n-traj", type=positive_int, default=48)
    p.add_argument("--folded-rmsd", type=positive_float, default=2.5, help="folded if Cα RMSD < this (Å)")
    p.add_argument("--acf-ps", type=positive_float, default=100.0)
    p.add_argument("--lags", type=positive_float, nargs="+", default=None,
                   help="Δs to roll out (ps; default: every Δ a model was trained for)")
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    torch.set_num_threads(1)
    jumpers = [(run, Jumper.load(run / "model.pt")) for run in args.runs]
    lags = {run: rollout_lags(jumper.lags_ps, args.lags) for run, jumper in jumpers}  # refuse before any work
    topology, heavy, trajs, test, folded, proj = load_eval_data(args.data)
    ca = heavy[topology.ca]
    every = test.save_every_ps
    ref = features(test.positions[:, ca], folded, proj)
    report: dict = {"projection": proj.method, "reference": test.name, "folded_rmsd": args.folded_rmsd,
                    "n_traj": args.n_traj, "ns": args.ns, "rows": []}
    acf_ref = lag_steps(args.acf_ps, every)
    for other in (t for t in trajs if t.split == "train" and t.start == test.start):
        md = features(other.positions[:, ca][None], folded, proj)
        report["rows"].append({"model": f"MD ({other.name})", "lag_ps": every,
                               **compare(ref, md, args.folded_rmsd, acf_ref, acf_ref)})
    report["openmm"] = openmm_speed(args.data)
    args.out.mkdir(parents=True, exist_ok=True)
    start_pdb = args.out / "test_start.pdb"
    import openmm.app as app
    import openmm.unit as u
    pdb = app.PDBFile(str(args.data / "topology.pdb"))
    with atomic_path(start_pdb) as tmp, open(tmp, "w") as f:
        app.PDBFile.writeFile(pdb.topology, test.positions[0] * u.angstrom, f)
    from models.md_jump.rollout import rollout_from_pdb

    for run, jumper in jumpers:
        for lag in lags[run]:
            ro = rollout_from_pdb(jumper, start_pdb, args.ns, lag, args.n_traj, args.seed)
            one = rollout_from_pdb(jumper, start_pdb, min(args.ns, 10 * lag / 1000), lag, 1, args.seed)
            feats = features(ro["positions"], folded, proj)
            acf_model = max(1, round(args.acf_ps / lag))
            row = {"model": run.name, "kind": jumper.kind, "lag_ps": lag,
                   **compare(ref, feats, args.folded_rmsd, acf_ref, acf_model, seed=args.seed),
                   "ns_per_second_batched": ro["simulated_ns"] / ro["wall_seconds"],
                   "ns_per_second_single": one["simulated_ns"] / one["wall_seconds"],
                   "rotation": rotated_losses(jumper, test.positions[:, ca], lag, every)}
            row["speedup_batched"] = row["ns_per_second_batched"] / report["openmm"]["ns_per_second"]
            row["speedup_batched_cpu"] = (ro["simulated_ns"] / ro["cpu_seconds"]
                                          / report["openmm"]["ns_per_cpu_second"])
            row["speedup_single"] = row["ns_per_second_single"] / report["openmm"]["ns_per_second"]
            report["rows"].append(row)
            with atomic_path(args.out / f"rollout_{run.name}_{lag:g}ps.npz") as tmp:
                np.savez(tmp, positions=ro["positions"].astype(np.float32), time_ps=ro["time_ps"], **feats)
            print(f"{run.name} Δ={lag:g} ps: JS rmsd {row['js_rmsd']:.3f} rg {row['js_rg']:.3f} "
                  f"tic1 {row['js_tic1']:.3f}, folded {row['folded_fraction']:.2f} "
                  f"(ref {row['ref_folded_fraction']:.2f}), speed-up {row['speedup_batched']:.3g}",
                  file=sys.stderr, flush=True)
    with atomic_path(args.out / "reference.npz") as tmp:
        np.savez(tmp, time_ps=test.time_ps, **ref)
    write_json_atomic(args.out / "eval.json", report)
    print(f"wrote {args.out / 'eval.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_cli(main)
