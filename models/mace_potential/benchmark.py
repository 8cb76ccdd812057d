r"""Speed of the lie_nn MACE potential vs mace-torch in ONE process: training step and ASE MD step.

Both trained models are loaded in the mace-torch venv (lie_nn from this checkout on ``PYTHONPATH``)
and timed in interleaved rounds on the same input, one CPU thread:

* training step: energies + forces (``create_graph``) of a batch of ``--batch`` frames, the weighted
  energy/force loss and its backward pass (batches collated beforehand for both);
* MD step: one ASE calculator call (neighbour list + energy + forces) on a molecule whose positions
  change at every call (no caching), ``float64`` as in the MD runs.

Reported: min / median / max CPU milliseconds (``time.process_time`` with one thread, so the load of
other processes on a shared machine does not enter) and the ratio mace-torch / lie_nn of the medians.

    PYTHONPATH=. /work/venvs/mace/bin/python -m models.mace_potential.benchmark \
        --ours runs/mace_aspirin/model.pt --peer runs/peer_aspirin/peer.model --set aspirin_test
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch

from models.common.cli import run_cli
from models.common.io import write_json_atomic
from models.mace_potential.data import DEFAULT_DATA_DIR, load_set

__all__ = ["interleaved"]


def interleaved(fns: dict, rounds: int, warmup: int = 2) -> dict[str, list[float]]:
    """CPU milliseconds per call (``time.process_time``, one thread: insensitive to other processes'
    load on a shared machine), every function once per round, alternating between them."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.process_time()
            fn()
            times[name].append(1e3 * (time.process_time() - start))
    return times


def _ours_train_step(model_path: Path, frames):
    from models.mace_potential.calculator import load_model
    from models.mace_potential.dataset import make_batch, samples_from_atoms

    model = load_model(model_path, dtype=torch.float32).train()
    batch = make_batch(samples_from_atoms(frames, model.config), torch.float32)

    def step() -> None:
        out = model(batch.graph)
        loss = ((out["energy"] - batch.energy) / batch.num_atoms).square().mean() + \
            100.0 * (out["forces"] - batch.forces).square().mean()
        loss.backward()
        model.zero_grad(set_to_none=True)
    return step, sum(p.numel() for p in model.parameters())


def _peer_train_step(model_path: Path, frames):
    from mace import data as mace_data
    from mace.tools import AtomicNumberTable, torch_geometric

    model = torch.load(model_path, weights_only=False, map_location="cpu").float().train()
    z_table = AtomicNumberTable([int(z) for z in model.atomic_numbers])
    cutoff = float(model.r_max)
    configs = [mace_data.config_from_atoms(a) for a in frames]  # labels unused: the loss uses ref_e, ref_f
    loader = torch_geometric.dataloader.DataLoader(
        [mace_data.AtomicData.from_config(c, z_table=z_table, cutoff=cutoff) for c in configs],
        batch_size=len(frames), shuffle=False)
    batch = next(iter(loader)).to_dict()
    ref_e = torch.tensor([a.info["REF_energy"] for a in frames], dtype=torch.float32)
    ref_f = torch.tensor(np.concatenate([a.arrays["REF_forces"] for a in frames]), dtype=torch.float32)
    natoms = torch.tensor([len(a) for a in frames], dtype=torch.float32)

    def step() -> None:
        out = model(dict(batch), training=True, compute_force=True)
        de, df = (out["energy"] - ref_e) / natoms, out["forces"] - ref_f
        loss = de.square().mean() + 100.0 * df.square().mean()
        loss.backward()
        model.zero_grad(set_to_none=True)
    return step, sum(p.numel() for p in model.parameters())


def _md_step(calc, atoms):
    atoms = atoms.copy()
    atoms.calc = calc
    rng = np.random.default_rng(0)
    base = atoms.positions.copy()

    def step() -> None:
        atoms.positions = base + rng.normal(scale=1e-3, size=base.shape)
        atoms.get_forces()
    return step


def _stats(ms: list[float]) -> dict[str, float]:
    return {"min_ms": round(min(ms), 2), "median_ms": round(float(np.median(ms)), 2),
            "max_ms": round(max(ms), 2)}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m models.mace_potential.benchmark",
                                description=__doc__.split("\n")[0])
    p.add_argument("--ours", type=Path, required=True, help="model.pt of models.mace_potential.train")
    p.add_argument("--peer", type=Path, required=True, help="peer.model of mace_run_train")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    p.add_argument("--set", default="aspirin_test")
    p.add_argument("--batch", type=int, default=5)
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--md-rounds", type=int, default=200)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    from mace.calculators import MACECalculator

    from models.mace_potential.calculator import LieMACECalculator

    frames = load_set(args.data, args.set)
    ours_step, ours_params = _ours_train_step(args.ours, frames[: args.batch])
    peer_step, peer_params = _peer_train_step(args.peer, frames[: args.batch])
    train = interleaved({"lie_nn": ours_step, "mace-torch": peer_step}, args.rounds)
    md = interleaved({"lie_nn": _md_step(LieMACECalculator(args.ours, dtype="float64"), frames[0]),
                      "mace-torch": _md_step(MACECalculator(model_paths=str(args.peer), device="cpu",
                                                            default_dtype="float64"), frames[0])},
                     args.md_rounds)
    result = {
        "set": args.set, "batch": args.batch, "rounds": args.rounds, "md_rounds": args.md_rounds,
        "threads": 1, "torch": torch.__version__, "machine": platform.processor() or platform.machine(),
        "parameters": {"lie_nn": ours_params, "mace-torch": peer_params},
        "train_step": {k: _stats(v) for k, v in train.items()},
        "md_step": {k: _stats(v) for k, v in md.items()},
    }
    for kind in ("train_step", "md_step"):
        r = result[kind]
        r["ratio_mace_over_lie"] = round(r["mace-torch"]["median_ms"] / r["lie_nn"]["median_ms"], 2)
    write_json_atomic(args.out, result)
    print(result)
    return 0


if __name__ == "__main__":
    run_cli(main)
