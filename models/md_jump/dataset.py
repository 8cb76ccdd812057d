r"""Frame pairs ``(x_t, x_{t+Δ})`` for training, from the trajectories of :mod:`models.md_jump.data`.

The atoms of the graph are a selection of the heavy-atom topology: ``"ca"`` (the Cα atoms) or
``"heavy"`` (all heavy atoms).  Every pair is centred on ``x_t`` and ``x_{t+Δ}`` is rigidly superposed
on ``x_t`` (Kabsch): the jump model learns internal motion, not the tumbling of the molecule, and
the superposition is itself rotation-covariant.

Within every training trajectory the last ``val_fraction`` of the frames is the validation part; a
pair belongs to the training part when both frames do, to the validation part when both do, and is
dropped when it straddles the two (no frame is shared).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from models.common.batching import TensorData
from models.md_jump.data import Trajectory, load_trajectories
from models.md_jump.interpolant import kabsch_align
from models.md_jump.metrics import Projection
from models.md_jump.topology import Topology, read_pdb

__all__ = ["ATOM_SETS", "EvalData", "frame_pairs", "lag_steps", "load_eval_data", "load_topology",
           "select_atoms", "training_pairs"]

ATOM_SETS = ("ca", "heavy")


def select_atoms(topology: Topology, atoms: str) -> np.ndarray:
    """Indices (into the heavy atoms) of the graph's nodes: ``"ca"`` or ``"heavy"``.

    >>> select_atoms(Topology((0, 0, 1), ("GLY", "GLY", "TYR"), ("N", "CA", "CA")), "ca").tolist()
    [1, 2]
    """
    if atoms == "ca":
        return topology.ca
    if atoms == "heavy":
        return np.arange(len(topology))
    raise ValueError(f"unknown atom selection {atoms!r}; expected one of {ATOM_SETS}")


def load_topology(data: str | Path) -> tuple[Topology, np.ndarray]:
    """The heavy-atom topology of ``<data>/topology.pdb`` and the heavy atoms' indices in the frames."""
    top, _, heavy = read_pdb(Path(data) / "topology.pdb")
    return top, heavy


class EvalData(NamedTuple):
    """What the evaluations of :mod:`models.md_jump.evaluate` and :mod:`models.md_jump.onejump_eval` share."""

    topology: Topology
    heavy: np.ndarray  # heavy atoms' indices in the frames
    trajs: list[Trajectory]
    test: Trajectory  # the first test trajectory
    folded: np.ndarray  # Cα positions of <data>/folded.pdb
    proj: Projection  # fitted on the training trajectories' Cα, lag 10 ps


def load_eval_data(data: str | Path) -> EvalData:
    """Topology, trajectories, folded Cα structure and the projection fitted on the training Cα."""
    topology, heavy = load_topology(data)
    trajs = load_trajectories(data)
    test = next(t for t in trajs if t.split == "test")
    ftop, fheavy, _ = read_pdb(Path(data) / "folded.pdb")
    topology.check(ftop)
    ca = heavy[topology.ca]
    train = [t.positions[:, ca] for t in trajs if t.split == "train"]
    proj = Projection(train, lag=lag_steps(10.0, test.save_every_ps))
    return EvalData(topology, heavy, trajs, test, fheavy[topology.ca], proj)


def lag_steps(lag_ps: float, save_every_ps: float) -> int:
    """Number of saved frames in a jump of ``lag_ps`` (must be a positive whole multiple).

    >>> lag_steps(100, 1.0)
    100
    """
    steps = round(lag_ps / save_every_ps)
    if steps < 1 or abs(steps * save_every_ps - lag_ps) > 1e-6 * lag_ps:
        raise ValueError(f"a jump of {lag_ps} ps is not a positive multiple of the frame interval "
                         f"{save_every_ps} ps")
    return steps


def frame_pairs(positions: np.ndarray, steps: int, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``(x_t, x_{t+Δ})`` of a trajectory ``(frames, n, 3)``, starts every ``stride`` frames, centred
    on ``x_t`` and superposed on it; float64 arrays ``(pairs, n, 3)``.

    >>> x0, x1 = frame_pairs(np.random.default_rng(0).normal(size=(5, 4, 3)), 2)
    >>> x0.shape, bool(np.allclose(x0.mean(axis=1), 0))
    ((3, 4, 3), True)
    """
    if steps >= len(positions):
        raise ValueError(f"a jump of {steps} frames needs a trajectory longer than {len(positions)} frames")
    starts = np.arange(0, len(positions) - steps, stride)
    x0 = positions[starts] - positions[starts].mean(axis=1, keepdims=True)
    x1 = kabsch_align(torch.from_numpy(positions[starts + steps]), torch.from_numpy(x0)).numpy()
    return x0, x1


def _split_pairs(traj: Trajectory, sel: np.ndarray, steps: int, val_fraction: float):
    n_frames = len(traj.positions)
    cut = int(round(n_frames * (1 - val_fraction)))
    pos = traj.positions[:, sel]
    parts = {}
    for name, chunk in (("train", pos[:cut]), ("val", pos[cut:])):
        parts[name] = frame_pairs(chunk, steps) if len(chunk) > steps else (np.zeros((0, len(sel), 3)),) * 2
    return parts


def training_pairs(data: str | Path, atoms: str, lags_ps: Sequence[float], *, val_fraction: float = 0.15,
                   dtype: torch.dtype = torch.float32) -> tuple[TensorData, TensorData, dict]:
    """Training and validation :class:`TensorData` (``x0, x1 (n, 3)``, ``lag`` index into ``lags_ps``) of
    the ``train`` trajectories of ``data``, and a summary (pair counts, topology, selection)."""
    topology, heavy = load_topology(data)
    sel = select_atoms(topology, atoms)
    trajs = load_trajectories(data, "train")
    out: dict[str, list] = {"train": [], "val": []}
    counts: dict[str, dict[str, int]] = {"train": {}, "val": {}}
    for k, lag in enumerate(lags_ps):
        for traj in trajs:
            steps = lag_steps(lag, traj.save_every_ps)
            heavy_traj = Trajectory(traj.name, traj.split, traj.start, traj.positions[:, heavy], traj.time_ps)
            for name, (x0, x1) in _split_pairs(heavy_traj, sel, steps, val_fraction).items():
                out[name].append((x0, x1, np.full(len(x0), k)))
                counts[name][f"{lag:g}ps"] = counts[name].get(f"{lag:g}ps", 0) + len(x0)
    sets = []
    for name in ("train", "val"):
        x0 = np.concatenate([p[0] for p in out[name]])
        if len(x0) == 0:
            raise ValueError(f"no {name} pairs: the trajectories are too short for jumps of "
                             f"{list(lags_ps)} ps")
        sets.append(TensorData({"x0": torch.tensor(x0, dtype=dtype),
                                "x1": torch.tensor(np.concatenate([p[1] for p in out[name]]), dtype=dtype),
                                "lag": torch.tensor(np.concatenate([p[2] for p in out[name]]))}))
    summary = {"pairs": counts, "topology": topology.to_dict(), "atoms": atoms, "selection": sel.tolist(),
               "trajectories": [t.name for t in trajs]}
    return sets[0], sets[1], summary
