r"""Generate (``generate``) and load (``load_trajectories``) the chignolin MD data set.

Each trajectory is one independent OpenMM Langevin run (:mod:`models.md_jump.system`) from an
``extended`` or ``folded`` (hairpin-like) start with its own thermostat seed.  All-atom positions (nm)
are saved every ``save_every_ps``; runs are cut into chunks of ``chunk_ps``: after every chunk its
frames (``chunks/<traj>_<k>.npz``) and an OpenMM checkpoint of the simulation are written atomically,
so an interrupted ``make md-data`` continues where it stopped (on the same machine the continuation
is bit-exact: OpenMM's CPU platform checkpoints hold the integrator's random state).

Files: ``<traj>.npz`` (``positions`` ``[n_frames, n_atoms, 3]`` float32 nm, ``time_ps``),
``topology.pdb`` (atom names and residues, extended start), ``folded.pdb`` (the folded reference
structure) and ``manifest.json`` (sha256, settings, seeds, split, package versions; written last).
The split is by trajectory: ``train`` and ``test`` never share one.

Command line: ``python -m models.md_jump.data --out data/md_jump`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from models.common.cli import run_cli
from models.common.io import DataError, atomic_path, sha256_file, verify_manifest, write_manifest
from models.common.progress import progress

__all__ = ["DEFAULT_DATA_DIR", "TRAJECTORIES", "Trajectory", "TrajectorySpec", "generate",
           "load_trajectories", "parse_extra", "trajectory_specs"]

DEFAULT_DATA_DIR = Path("data/md_jump")
REGENERATE = "make md-data (python -m models.md_jump.data --out data/md_jump)"
PACKAGES = ("openmm", "pdbfixer", "PeptideBuilder", "biopython", "numpy")
# OpenMM's seeds are C ints; 2**31 - 1 is what seed 0 becomes (system.integrator_seed), so the largest
# seed that can neither overflow nor repeat another trajectory's thermostat noise is 2**31 - 2.
MAX_SEED = 2**31 - 2


@dataclasses.dataclass(frozen=True)
class TrajectorySpec:
    """One trajectory: its name, split, start structure, thermostat seed and length."""

    name: str
    split: str
    start: str
    seed: int
    length_ps: float = 1000.0


TRAJECTORIES = (
    TrajectorySpec("train_extended_s1", "train", "extended", 1),
    TrajectorySpec("train_folded_s2", "train", "folded", 2),
    TrajectorySpec("test_folded_s3", "test", "folded", 3),
)


def parse_extra(text: str) -> TrajectorySpec:
    """An extra trajectory ``SPLIT:START:SEED:LENGTH_PS``, named ``<split>_<start>_s<seed>``.

    >>> parse_extra("test:folded:4:3000")
    TrajectorySpec(name='test_folded_s4', split='test', start='folded', seed=4, length_ps=3000.0)
    """
    parts = text.split(":")
    if len(parts) != 4:
        raise ValueError(f"--add {text!r}: expected SPLIT:START:SEED:LENGTH_PS, e.g. test:folded:4:3000")
    split, start, seed, length = parts
    if split not in ("train", "test"):
        raise ValueError(f"--add {text!r}: split must be 'train' or 'test', not {split!r}")
    if start not in ("extended", "folded"):
        raise ValueError(f"--add {text!r}: start must be 'extended' or 'folded', not {start!r}")
    try:
        seed_i, length_f = int(seed), float(length)
    except ValueError:
        raise ValueError(f"--add {text!r}: SEED must be an integer and LENGTH_PS a number") from None
    if not 0 <= seed_i <= MAX_SEED or not length_f > 0:
        raise ValueError(f"--add {text!r}: SEED must be in [0, {MAX_SEED}] and LENGTH_PS > 0")
    return TrajectorySpec(f"{split}_{start}_s{seed_i}", split, start, seed_i, length_f)


def trajectory_specs(base: tuple[TrajectorySpec, ...], previous: list[dict] | tuple = (),
                     extra: list[TrajectorySpec] | tuple = ()) -> tuple[TrajectorySpec, ...]:
    """``base``, then the trajectories of an earlier manifest (``previous``) not in ``base``, then ``extra``.

    A data set only grows: an earlier ``--add`` stays in it. A name given twice with different
    settings, or two trajectories sharing a thermostat seed, are refused (``ValueError``).

    >>> old = [dict(name="test_folded_s4", split="test", start="folded", seed=4, length_ps=3000.0)]
    >>> [s.name for s in trajectory_specs(TRAJECTORIES, old)]
    ['train_extended_s1', 'train_folded_s2', 'test_folded_s3', 'test_folded_s4']
    """
    out: dict[str, TrajectorySpec] = {s.name: s for s in base}
    for spec in [TrajectorySpec(**d) for d in previous] + list(extra):
        if spec.name in out and out[spec.name] != spec:
            raise ValueError(f"trajectory {spec.name} already exists with other settings ({out[spec.name]}); "
                             f"use a new seed or a new --out")
        out.setdefault(spec.name, spec)
    seeds = [s.seed for s in out.values()]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"two trajectories share a thermostat seed ({sorted(seeds)}); seeds must differ")
    return tuple(out.values())


@dataclasses.dataclass(frozen=True)
class Trajectory:
    """Loaded frames of one trajectory: ``positions`` ``[n_frames, n_atoms, 3]`` in Å, ``time_ps``."""

    name: str
    split: str
    start: str
    positions: np.ndarray
    time_ps: np.ndarray

    @property
    def save_every_ps(self) -> float:
        return float(self.time_ps[1] - self.time_ps[0])


def _save_npz(path: Path, **arrays) -> None:
    with atomic_path(path) as tmp:
        np.savez(tmp, **arrays)


def _write_pdb(path: Path, topology, positions) -> None:
    import openmm.app as app

    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            app.PDBFile.writeFile(topology, positions, f)


def _run_one(spec: TrajectorySpec, out: Path, *, save_every_ps: float, chunk_ps: float, md, bar) -> Path:
    """Simulate (or resume) one trajectory in chunks; returns the path of the joined ``<name>.npz``."""
    import openmm.unit as u

    from models.md_jump.system import build_start, make_simulation, positions_nm

    final = out / f"{spec.name}.npz"
    if final.is_file():
        bar.update(round(spec.length_ps / chunk_ps))
        return final
    steps_per_frame = round(save_every_ps * 1000.0 / md.timestep_fs)
    frames_per_chunk = round(chunk_ps / save_every_ps)
    n_chunks = round(spec.length_ps / chunk_ps)
    topology, positions = build_start(spec.start, md, seed=spec.seed)
    sim = make_simulation(topology, md, seed=spec.seed)
    chunk_dir = out / "chunks"
    chunk_dir.mkdir(parents=True, exist_ok=True)
    done = [k for k in range(n_chunks) if (chunk_dir / f"{spec.name}_{k}.chk").is_file()]
    first = (max(done) + 1) if done else 0
    if first > 0:
        sim.context.loadCheckpoint((chunk_dir / f"{spec.name}_{first - 1}.chk").read_bytes())
        bar.update(first)
    else:
        sim.context.setPositions(positions)
        sim.context.setVelocitiesToTemperature(md.temperature_K * u.kelvin, spec.seed)
        _save_npz(chunk_dir / f"{spec.name}_start.npz", positions=positions_nm(positions).astype(np.float32))
    for k in range(first, n_chunks):
        frames = np.empty((frames_per_chunk, topology.getNumAtoms(), 3), dtype=np.float32)
        for i in range(frames_per_chunk):
            sim.step(steps_per_frame)
            frames[i] = positions_nm(sim.context.getState(getPositions=True))
        _save_npz(chunk_dir / f"{spec.name}_{k}.npz", positions=frames)
        with atomic_path(chunk_dir / f"{spec.name}_{k}.chk") as tmp:
            tmp.write_bytes(sim.context.createCheckpoint())
        bar.update(1)
    start = np.load(chunk_dir / f"{spec.name}_start.npz")["positions"]
    parts = [start[None]] + [np.load(chunk_dir / f"{spec.name}_{k}.npz")["positions"]
                             for k in range(n_chunks)]
    positions_all = np.concatenate(parts)
    time_ps = np.arange(len(positions_all), dtype=np.float64) * save_every_ps
    _save_npz(final, positions=positions_all, time_ps=time_ps)
    return final


def generate(out: str | os.PathLike[str], *, trajectories: tuple[TrajectorySpec, ...] = TRAJECTORIES,
             save_every_ps: float = 1.0, chunk_ps: float = 50.0, md=None,
             command: list[str] | None = None) -> Path:
    """Simulate every trajectory of ``trajectories`` into ``out`` (resumable); returns ``out``.

    Frame 0 of every trajectory is its (minimised) start, frame ``k`` is at ``k * save_every_ps``.
    """
    from models.md_jump.system import MDSettings, build_start

    md = MDSettings() if md is None else md
    out = Path(out)
    for spec in trajectories:
        if spec.length_ps % chunk_ps or chunk_ps % save_every_ps:
            raise ValueError(f"{spec.name}: length {spec.length_ps} ps must be a multiple of chunk_ps "
                             f"{chunk_ps}, itself a multiple of save_every_ps {save_every_ps}")
    out.mkdir(parents=True, exist_ok=True)
    _check_unchanged(out)
    # The start structures are built once and then kept: later calls (resume, --add) must not move the
    # RMSD reference (two builds are not bit-identical, see docs/md_jump.md, Limitations).
    for name, kind in (("topology.pdb", "extended"), ("folded.pdb", "folded")):
        if not (out / name).is_file():
            _write_pdb(out / name, *build_start(kind, md, seed=0))
    total = sum(round(s.length_ps / chunk_ps) for s in trajectories)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    files = ["topology.pdb", "folded.pdb"]
    cpu_per_traj = dict(_previous_settings(out).get("cpu_seconds_per_trajectory", {}))
    with progress(total=total, desc="md-data", unit="chunk") as bar:
        for spec in trajectories:
            fresh, cpu1 = not (out / f"{spec.name}.npz").is_file(), time.process_time()
            files.append(_run_one(spec, out, save_every_ps=save_every_ps, chunk_ps=chunk_ps, md=md,
                                  bar=bar).name)
            if fresh:  # CPU time of this call only (a resumed trajectory's earlier chunks are not in it)
                cpu_per_traj[spec.name] = round(time.process_time() - cpu1, 1)
    settings = {"md": dataclasses.asdict(md), "save_every_ps": save_every_ps, "chunk_ps": chunk_ps,
                "trajectories": [dataclasses.asdict(s) for s in trajectories],
                "platform": "OpenMM CPU, 1 thread",
                "cpu_seconds_this_call": round(time.process_time() - cpu0, 1),
                "wall_seconds_this_call": round(time.perf_counter() - wall0, 1),
                "cpu_seconds_per_trajectory": cpu_per_traj}
    split = {s.name: s.split for s in trajectories}
    write_manifest(out, files, settings=settings, seeds={s.name: s.seed for s in trajectories},
                   split=split, packages=PACKAGES, command=command)
    return out


def _check_unchanged(out: Path) -> None:
    """Refuse (``DataError``) to rewrite the manifest of ``out`` over a listed file that no longer
    matches its sha256: a later call (resume, ``--add``) keeps existing files and would otherwise
    record the changed file's new sum.  A missing file is fine (it is made again)."""
    path = out / "manifest.json"
    for name, meta in (_previous_manifest(out).get("files") or {}).items():
        expected = meta.get("sha256") if isinstance(meta, dict) else None
        if (out / name).is_file() and sha256_file(out / name) != expected:
            raise DataError(f"{out / name} does not match its sha256 in {path}; delete it to make it again")


def _previous_manifest(out: Path) -> dict:
    """The existing ``manifest.json`` of ``out`` (``{}`` if none; ``DataError`` if it is not valid)."""
    path = out / "manifest.json"
    if not path.is_file():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{path} is not a valid manifest ({err}); delete it to regenerate") from err
    if not isinstance(manifest, dict):
        raise DataError(f"{path} is not a valid manifest (not a JSON object); delete it to regenerate")
    return manifest


def _previous_settings(out: Path) -> dict:
    """The ``settings`` of an existing ``manifest.json`` in ``out`` (``{}`` if none)."""
    return dict(_previous_manifest(out).get("settings") or {})


def load_trajectories(data: str | os.PathLike[str], split: str | None = None) -> list[Trajectory]:
    """The trajectories of ``data`` (positions in Å), optionally only those of ``split``.

    The manifest's sha256 sums are checked first (a :class:`DataError` says how to regenerate).
    """
    data = Path(data)
    manifest = verify_manifest(data, regenerate=REGENERATE)
    specs = manifest["settings"]["trajectories"]
    if split is not None and split not in {s["split"] for s in specs}:
        have = sorted({s["split"] for s in specs})
        raise DataError(f"{data}: no trajectory in split {split!r} (have {have})")
    out = []
    for s in specs:
        if split is not None and s["split"] != split:
            continue
        with np.load(data / f"{s['name']}.npz") as z:
            out.append(Trajectory(s["name"], s["split"], s["start"], 10.0 * z["positions"].astype(np.float64),
                                  z["time_ps"].astype(np.float64)))
    return out


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m models.md_jump.data", description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_DATA_DIR, help="output directory (%(default)s)")
    p.add_argument("--length-ps", type=float, default=None,
                   help="override the length of every trajectory (ps; default 1000)")
    p.add_argument("--save-every-ps", type=float, default=1.0, help="frame interval (ps)")
    p.add_argument("--chunk-ps", type=float, default=50.0, help="checkpoint interval (ps)")
    p.add_argument("--add", action="append", default=[], metavar="SPLIT:START:SEED:LENGTH_PS",
                   help="add one more trajectory to the data set (repeatable), e.g. test:folded:4:3000; "
                        "existing trajectories and start structures are kept, the manifest is rewritten")
    p.add_argument("--info", action="store_true", help="print the manifest summary of --out and exit")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.info:
        manifest = verify_manifest(args.out, regenerate=REGENERATE)
        print(json.dumps({"split": manifest["split"], "settings": manifest["settings"]}, indent=1))
        return 0
    specs = TRAJECTORIES
    if args.length_ps is not None:
        specs = tuple(dataclasses.replace(s, length_ps=args.length_ps) for s in specs)
    previous = _previous_settings(args.out)
    if previous and (previous.get("save_every_ps"), previous.get("chunk_ps")) != (args.save_every_ps,
                                                                                 args.chunk_ps):
        raise ValueError(f"{args.out} was made with --save-every-ps {previous.get('save_every_ps')} "
                         f"--chunk-ps {previous.get('chunk_ps')}; use the same values or a new --out")
    specs = trajectory_specs(specs, previous.get("trajectories", ()), [parse_extra(a) for a in args.add])
    out = generate(args.out, trajectories=specs, save_every_ps=args.save_every_ps, chunk_ps=args.chunk_ps,
                   command=[sys.executable, "-m", "models.md_jump.data", *(argv or sys.argv[1:])])
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    run_cli(main)
