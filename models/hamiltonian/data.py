r"""Generate the Hamiltonian benchmark: pyscf Fock matrices on xTB Langevin-MD geometries.

1. Geometries: RDKit ETKDG + MMFF start (:func:`models.mace_potential.data.start_geometry`), then ASE
   Langevin MD at ``temperature_K`` with GFN2-xTB (``tblite``) forces, ``fixcm=False`` plus
   :class:`~ase.constraints.FixCom` (see ``/work/shared/DATA.md``), one frame every ``sample_every`` steps.
2. Labels: a closed-shell SCF at :class:`~models.hamiltonian.labels.Level` (default PBE/def2-SVP, grid
   level 3) per frame, warm-started from the previous frame's density; ``F`` and ``S`` are stored in
   lie_nn's real SO(3) AO basis (:mod:`models.hamiltonian.basis`), in Hartree.

Each molecule's frames come from independent trajectories (*chunks*, seeds from
``SeedSequence([seed, molecule, chunk])``), and the split is by trajectory (``train``/``val``/``test``
chunk lists), so no trajectory is shared between train and test.  Chunks are written atomically as
``chunks/<molecule>_<k>.npz`` and reused, so an interrupted run resumes; ``manifest.json`` comes last.

Command line: ``python -m models.hamiltonian.data --out data/hamiltonian`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np

from models.common.cli import run_cli
from models.common.io import DataError, atomic_path, verify_manifest, write_manifest
from models.common.progress import progress
from models.hamiltonian.labels import Level, scf_labels

__all__ = ["DEFAULT_DATA_DIR", "MOLECULES", "MoleculeSpec", "generate", "load_molecule", "md_geometries"]

DEFAULT_DATA_DIR = Path("data/hamiltonian")
REGENERATE = "make ham-data (python -m models.hamiltonian.data --out data/hamiltonian)"
PACKAGES = ("pyscf", "ase", "tblite", "rdkit", "numpy")
KEYS = ("numbers", "positions", "fock", "overlap", "mo_energy", "e_tot", "n_occ")


@dataclasses.dataclass(frozen=True)
class MoleculeSpec:
    """``chunks`` trajectories of ``chunk_frames`` frames; the last two chunks are validation and test."""

    name: str
    smiles: str
    chunks: int
    chunk_frames: int
    temperature_K: float = 500.0
    sample_every: int = 20

    @property
    def split(self) -> dict[str, list[int]]:
        return {"train": list(range(self.chunks - 2)), "val": [self.chunks - 2], "test": [self.chunks - 1]}


MOLECULES = (
    MoleculeSpec("water", "O", chunks=4, chunk_frames=50),
    MoleculeSpec("ethanol", "CCO", chunks=6, chunk_frames=20),
    MoleculeSpec("malondialdehyde", "O=C/C=C\\O", chunks=5, chunk_frames=16),
    MoleculeSpec("uracil", "O=C1C=CNC(=O)N1", chunks=5, chunk_frames=12),
)
# the benchmark's level: PBE/def2-SVP on a coarse grid (level 1) with SCF tolerances 1e-9 Ha / 1e-5,
# ~2-3x cheaper than grid 3 / 1e-11 and within ~40 µHa of it (far below the models' errors)
BENCHMARK_LEVEL = Level(grid_level=1, conv_tol=1e-9, conv_tol_grad=1e-5)


def md_geometries(spec: MoleculeSpec, n_frames: int, conformer_seed: int, thermostat_seed: int,
                  timestep_fs: float = 0.5, equilibration_steps: int = 400):
    """``(numbers (n,), positions (n_frames, n, 3) Å)`` from one GFN2-xTB Langevin trajectory."""
    from ase import units
    from ase.constraints import FixCom
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary, ZeroRotation
    from tblite.ase import TBLite

    from models.mace_potential.data import start_geometry

    atoms = start_geometry(spec.smiles, conformer_seed)
    atoms.calc = TBLite(method="GFN2-xTB", verbosity=0)
    rng = np.random.default_rng(thermostat_seed)
    MaxwellBoltzmannDistribution(atoms, temperature_K=spec.temperature_K, rng=rng)
    Stationary(atoms)
    ZeroRotation(atoms)
    atoms.set_constraint(FixCom())
    dyn = Langevin(atoms, timestep=timestep_fs * units.fs, temperature_K=spec.temperature_K,
                   friction=0.01 / units.fs, fixcm=False, rng=rng)
    dyn.run(equilibration_steps)
    frames = []
    for _ in range(n_frames):
        dyn.run(spec.sample_every)
        frames.append(atoms.get_positions().copy())
    return atoms.get_atomic_numbers().astype(np.int64), np.stack(frames)


def _chunk_seeds(seed: int, name: str, chunk: int) -> tuple[int, int]:
    """Seeds of one trajectory; the molecule enters by its index in :data:`MOLECULES` (stable whichever
    molecules one invocation makes), other molecules by a hash-free code of their name."""
    names = [m.name for m in MOLECULES]
    key = names.index(name) if name in names else int.from_bytes(name.encode()[:8], "little") + len(names)
    conformer, thermostat = np.random.SeedSequence([seed, key, chunk]).generate_state(2)
    return int(conformer % (2**31 - 1)), int(thermostat)


def _label_chunk(numbers, positions, level: Level, bar) -> dict:
    out = {k: [] for k in KEYS[2:]}
    dm = None
    for x in positions:
        labels = scf_labels(numbers, x, level, dm0=dm)
        dm = labels["dm"]
        for k in out:
            out[k].append(labels[k])
        bar.update(1)
    return {"numbers": numbers, "positions": positions, **{k: np.asarray(v) for k, v in out.items()}}


def _check_resume(chunk_dir: Path, level: Level, molecules, seed: int) -> None:
    """Chunks made with other settings are never mixed in: ``chunks/settings.json`` must match."""
    import json

    from models.common.io import write_json_atomic

    settings = {"level": dataclasses.asdict(level), "seed": seed,
                "molecules": {m.name: dataclasses.asdict(m) for m in molecules}}
    path = chunk_dir / "settings.json"
    if path.is_file():
        old = json.loads(path.read_text())
        clash = [m for m in settings["molecules"] if m in old["molecules"] and
                 old["molecules"][m] != settings["molecules"][m]]
        if old["level"] != settings["level"] or old["seed"] != seed or clash:
            raise DataError(f"{chunk_dir} holds chunks made with other settings ({path}); "
                            "use another --out or delete it")
        settings["molecules"] = {**old["molecules"], **settings["molecules"]}
    write_json_atomic(path, settings)


def generate(out: str | os.PathLike[str], *, molecules: tuple[MoleculeSpec, ...] = MOLECULES,
             level: Level | None = None, seed: int = 0, command: list[str] | None = None) -> Path:
    """Generate ``<out>/<molecule>.npz`` for every molecule (resumable by chunk) and the manifest."""
    level = level or BENCHMARK_LEVEL
    out = Path(out)
    chunk_dir = out / "chunks"
    todo = sum(m.chunk_frames for m in molecules for c in range(m.chunks)
               if not (chunk_dir / f"{m.name}_{c:02d}.npz").is_file())
    _check_resume(chunk_dir, level, molecules, seed)
    with progress(total=todo, desc=f"{level.method}/{level.basis} frames", unit="frame") as bar:
        for spec in molecules:
            for c in range(spec.chunks):
                conformer, thermostat = _chunk_seeds(seed, spec.name, c)
                path = chunk_dir / f"{spec.name}_{c:02d}.npz"
                if path.is_file():
                    continue
                start = time.process_time()
                numbers, positions = md_geometries(spec, spec.chunk_frames, conformer, thermostat)
                data = _label_chunk(numbers, positions, level, bar)
                with atomic_path(path) as tmp:
                    np.savez(tmp, chunk=np.full(spec.chunk_frames, c), **data)
                print(f"{path.name}: {spec.chunk_frames} frames, {time.process_time() - start:.1f} CPU s",
                      file=sys.stderr, flush=True)
    # the manifest covers every complete molecule in the directory (also those of earlier invocations)
    known = {m.name: m for m in MOLECULES} | {m.name: m for m in molecules}
    complete = tuple(m for m in known.values()
                     if all((chunk_dir / f"{m.name}_{c:02d}.npz").is_file() for c in range(m.chunks)))
    seeds = {f"{m.name}_{c:02d}": dict(zip(("conformer", "thermostat"), _chunk_seeds(seed, m.name, c),
                                           strict=True))
             for m in complete for c in range(m.chunks)}
    files = []
    for spec in complete:
        parts = [dict(np.load(chunk_dir / f"{spec.name}_{c:02d}.npz", allow_pickle=False))
                 for c in range(spec.chunks)]
        merged = {k: np.concatenate([p[k] for p in parts]) for k in ("chunk", *KEYS[1:])}
        merged["numbers"] = parts[0]["numbers"]
        with atomic_path(out / f"{spec.name}.npz") as tmp:
            np.savez(tmp, **merged)
        files.append(f"{spec.name}.npz")
    settings = {"level": dataclasses.asdict(level), "molecules": [dataclasses.asdict(m) for m in complete],
                "units": "positions in Angstrom; fock, mo_energy and e_tot in Hartree",
                "ao_basis": "lie_nn real SO(3) basis (models.hamiltonian.basis.to_lie_basis)"}
    split = {m.name: m.split for m in complete}
    write_manifest(out, files, settings=settings, seeds={"base": seed, "chunks": seeds}, split=split,
                   packages=PACKAGES, command=command)
    return out


def load_molecule(directory: str | os.PathLike[str], name: str, *, verify: bool = True) -> dict:
    """``{"numbers", "positions", "fock", "overlap", "mo_energy", "e_tot", "n_occ", "chunk", "split",
    "level"}`` of one molecule; checks the sha256 first and names how to regenerate on failure."""
    directory = Path(directory)
    manifest = verify_manifest(directory, regenerate=REGENERATE) if verify else None
    path = directory / f"{name}.npz"
    if not path.is_file():
        raise DataError(f"{path} not found; regenerate with: {REGENERATE}")
    with np.load(path, allow_pickle=False) as f:
        data = {k: f[k] for k in f.files}
    if manifest is not None:
        data["split"] = manifest["split"][name]
        data["level"] = manifest["settings"]["level"]
    return data


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.hamiltonian.data",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_DATA_DIR, help="output directory")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--method", default=BENCHMARK_LEVEL.method, help="HF or a pyscf functional")
    parser.add_argument("--basis", default=BENCHMARK_LEVEL.basis)
    parser.add_argument("--grid-level", type=int, default=BENCHMARK_LEVEL.grid_level,
                        help="DFT integration grid level (pyscf 0-9)")
    parser.add_argument("--conv-tol", type=float, default=BENCHMARK_LEVEL.conv_tol, help="SCF tolerance (Ha)")
    parser.add_argument("--conv-tol-grad", type=float, default=BENCHMARK_LEVEL.conv_tol_grad)
    parser.add_argument("--density-fit", action="store_true",
                        help="density fitting (def2-universal-jkfit); off by default, as it does not "
                             "speed up PBE at this size")
    parser.add_argument("--molecules", nargs="*", default=[m.name for m in MOLECULES],
                        choices=[m.name for m in MOLECULES])
    parser.add_argument("--frames-per-chunk", type=int, default=None, help="override (smoke tests)")
    args = parser.parse_args(argv)
    specs = tuple(m for m in MOLECULES if m.name in args.molecules)
    if args.frames_per_chunk is not None:
        if args.frames_per_chunk < 1:
            raise ValueError("--frames-per-chunk must be positive")
        specs = tuple(dataclasses.replace(m, chunk_frames=args.frames_per_chunk) for m in specs)
    level = Level(method=args.method, basis=args.basis, grid_level=args.grid_level, conv_tol=args.conv_tol,
                  conv_tol_grad=args.conv_tol_grad, density_fit=args.density_fit)
    out = generate(args.out, molecules=specs, level=level,
                   seed=args.seed, command=["python", "-m", "models.hamiltonian.data", *argv])
    print(f"wrote {out / 'manifest.json'}")
    return 0


if __name__ == "__main__":
    run_cli(main)
