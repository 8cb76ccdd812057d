"""Per-trajectory state statistics of an MD data set: folded fraction and 10 ps mobility.

Used to choose added training runs by their *own* statistics (never by test results):
``python -m models.md_jump.traj_stats --data data/md_jump`` prints, for every trajectory, the folded
fraction (Cα RMSD to ``folded.pdb`` below 2.5 Å), that fraction by block, and the mean Cα RMSD between
frames ``lag`` ps apart (after superposition), overall and from folded frames only.  With ``--chunks``
it also reads the unfinished trajectories' 50 ps chunks (to watch a run while it is simulated).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

from models.md_jump.dataset import load_topology
from models.md_jump.metrics import rmsd_to
from models.md_jump.onejump import pair_rmsd
from models.md_jump.topology import read_pdb

FOLDED_RMSD = 2.5  # Å, the docs' threshold


def state_stats(ca: np.ndarray, folded: np.ndarray, *, lag: int = 10, block: int = 100) -> dict:
    """Folded fraction, by block of ``block`` frames, and mean ``lag``-frame jump RMSD (all / folded starts).

    >>> x = np.random.default_rng(0).normal(size=(30, 5, 3))
    >>> s = state_stats(x, x[0], lag=10, block=10)
    >>> len(s["folded_by_block"]), len(s["jump10_by_block"]), s["frames"]
    (3, 2, 30)
    """
    def blocks(a: np.ndarray) -> list[float]:
        return [round(float(a[i:i + block].mean()), 2) for i in range(0, len(a), block)]

    r = rmsd_to(ca, folded)
    fold = r < FOLDED_RMSD
    jump = pair_rmsd(ca[:-lag], ca[lag:])
    from_folded = jump[fold[:-lag]]
    return {"frames": int(len(ca)), "folded_fraction": round(float(fold.mean()), 3),
            "median_rmsd": round(float(np.median(r)), 2),
            "folded_by_block": blocks(fold),
            f"jump{lag}_mean": round(float(jump.mean()), 3),
            f"jump{lag}_by_block": blocks(jump),
            f"jump{lag}_from_folded": round(float(from_folded.mean()), 3) if len(from_folded) else None,
            "n_folded_starts": int(len(from_folded))}


def _positions(data: Path, name: str, chunks: bool) -> np.ndarray | None:
    """All-atom positions (Å) of trajectory ``name``: its ``.npz``, else (``chunks``) start + chunks."""
    if (data / f"{name}.npz").is_file():
        with np.load(data / f"{name}.npz") as z:
            return 10.0 * z["positions"].astype(np.float64)
    start = data / "chunks" / f"{name}_start.npz"
    if not chunks or not start.is_file():
        return None
    parts = [np.load(start)["positions"][None]]
    idx = sorted(int(m.group(1)) for p in (data / "chunks").glob(f"{name}_*.npz")
                 if (m := re.fullmatch(rf"{re.escape(name)}_(\d+)\.npz", p.name)))
    for i in range(len(idx)):  # contiguous chunks only
        if idx[i] != i:
            break
        parts.append(np.load(data / "chunks" / f"{name}_{i}.npz")["positions"])
    return 10.0 * np.concatenate(parts).astype(np.float64)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.md_jump.traj_stats",
                                description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True, help="data directory (with manifest.json)")
    p.add_argument("--chunks", action="store_true", help="also read unfinished runs' chunks")
    p.add_argument("--lag", type=int, default=10, help="jump lag in frames (1 ps each; default 10)")
    args = p.parse_args(argv)
    try:
        top, heavy = load_topology(args.data)
        ftop, fheavy, _ = read_pdb(args.data / "folded.pdb")
        top.check(ftop)
        names = sorted({m.group(1) for f in [*args.data.glob("*.npz"), *args.data.glob("chunks/*_start.npz")]
                        if (m := re.fullmatch(r"((?:train|test)_\w+?_s\d+)(?:_start)?\.npz", f.name))})
    except (OSError, ValueError) as err:
        print(f"{p.prog}: error: {err}", file=sys.stderr)
        return 1
    ca = heavy[top.ca]
    for name in names:
        pos = _positions(args.data, name, args.chunks)
        if pos is None or len(pos) <= args.lag:
            continue
        print(json.dumps({"name": name, **state_stats(pos[:, ca], fheavy[top.ca], lag=args.lag)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
