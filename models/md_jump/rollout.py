r"""Roll a trained jump model out for N nanoseconds from a PDB start (command line and API).

    python -m models.md_jump.rollout --model runs/md_jump_equivariant/model.pt \
        --pdb data/md_jump/folded.pdb --ns 1 --lag 100 --n-traj 8 --out runs/rollout.npz

The start structure's heavy atoms must be the model's training topology (hydrogens are ignored);
the output holds ``positions (n_traj, frames, n, 3)`` in Å of the graph nodes (the Cα atoms for the
documented models), ``time_ps``, ``lag_ps`` and the wall-clock seconds; ``--pdb-out`` also writes the
first trajectory as a multi-model PDB of those atoms.
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
from models.common.io import atomic_path
from models.common.progress import progress
from models.md_jump.jumper import Jumper
from models.md_jump.topology import read_pdb

__all__ = ["main", "rollout_from_pdb", "write_pdb_frames"]


def rollout_from_pdb(jumper: Jumper, pdb: str | Path, ns: float, lag_ps: float, n_traj: int = 1,
                     seed: int = 0, show_progress: bool | None = None) -> dict:
    """``{"positions", "time_ps", "lag_ps", "wall_seconds", "cpu_seconds", "simulated_ns"}`` of
    ``n_traj`` rollouts."""
    jumper.lag_index(lag_ps)
    n_jumps = round(1000.0 * ns / lag_ps)
    if n_jumps < 1:
        raise ValueError(f"{ns} ns is shorter than one jump of {lag_ps} ps")
    topology, heavy, _ = read_pdb(pdb)
    start = jumper.nodes(topology, heavy)
    t0, c0 = time.perf_counter(), time.process_time()
    with progress(total=n_jumps, desc=f"rollout {jumper.kind} Δ={lag_ps:g} ps", unit="jump",
                  disable=None if show_progress is None else not show_progress) as bar:
        positions = jumper.rollout(start, lag_ps, n_jumps, n_traj, seed, progress_bar=bar)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"positions": positions, "time_ps": np.arange(n_jumps + 1) * lag_ps, "lag_ps": lag_ps,
            "wall_seconds": wall, "cpu_seconds": cpu, "simulated_ns": n_traj * n_jumps * lag_ps / 1000.0}


def write_pdb_frames(path: str | Path, jumper: Jumper, frames: np.ndarray) -> Path:
    """A multi-model PDB of ``frames (T, n, 3)`` (Å) of the model's graph nodes (atoms ``selection``)."""
    import openmm.app as app
    import openmm.unit as u

    top = app.Topology()
    chain = top.addChain()
    residues: dict[int, object] = {}
    for i in jumper.selection:
        r = jumper.topology.residue_index[i]
        if r not in residues:
            residues[r] = top.addResidue(jumper.topology.residue_names[i], chain)
        name = jumper.topology.atom_names[i]
        top.addAtom(name, app.Element.getBySymbol(name[0]), residues[r])
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            app.PDBFile.writeHeader(top, f)
            for k, x in enumerate(frames):
                app.PDBFile.writeModel(top, x * u.angstrom, f, modelIndex=k + 1)
            app.PDBFile.writeFooter(top, f)
    return Path(path)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m models.md_jump.rollout", description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, required=True, help="model.pt of models.md_jump.train")
    p.add_argument("--pdb", type=Path, required=True, help="start structure (PDB, hydrogens optional)")
    p.add_argument("--ns", type=positive_float, default=1.0, help="simulated nanoseconds per trajectory")
    p.add_argument("--lag", type=positive_float, default=100.0, help="jump Δ in ps (one the model knows)")
    p.add_argument("--n-traj", type=positive_int, default=1, help="independent trajectories (one batch)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=positive_int, default=1)
    p.add_argument("--out", type=Path, required=True, help="output .npz")
    p.add_argument("--pdb-out", type=Path, default=None, help="also write trajectory 0 as a multi-model PDB")
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.out.suffix != ".npz":
        raise ValueError(f"--out must end in .npz, got {args.out}")
    jumper = Jumper.load(args.model)
    result = rollout_from_pdb(jumper, args.pdb, args.ns, args.lag, args.n_traj, args.seed)
    with atomic_path(args.out) as tmp:
        np.savez(tmp, **result)
    if args.pdb_out is not None:
        write_pdb_frames(args.pdb_out, jumper, result["positions"][0])
    rate = result["simulated_ns"] / result["wall_seconds"]
    print(f"wrote {args.out}: {args.n_traj} x {args.ns:g} ns in {result['wall_seconds']:.2f} s "
          f"({rate:.3g} simulated ns per wall second)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_cli(main)
