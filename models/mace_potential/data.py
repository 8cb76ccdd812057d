r"""Generate the xTB benchmark: GFN2-xTB energies and forces on Langevin-MD frames of small molecules.

No rMD17/3BPA download is possible offline, so the benchmark is made here:

1. a start geometry from SMILES by RDKit (ETKDG embedding + MMFF94 relaxation, seeded);
2. ASE Langevin dynamics at temperature :math:`T` with ``tblite``'s GFN2-xTB as the force field
   (``fixcm=False`` plus a :class:`~ase.constraints.FixCom` constraint: ASE's default ``fixcm=True``
   overheats small molecules, see ``/work/shared/DATA.md``);
3. after an equilibration, one frame every ``sample_every`` steps, stored with its xTB energy
   ``REF_energy`` (eV) and forces ``REF_forces`` (eV/Å) in extended XYZ (``ase.io``).

Every *set* (``aspirin_train``, ``3bpa_test_1200K``, ...) is made of independent trajectories
(*chunks*), each with its own conformer and thermostat seed drawn from
``SeedSequence([seed, set, chunk])``; train and test sets never share a trajectory.  Chunks are
written atomically to ``chunks/`` as they finish, so an interrupted run resumes where it stopped.
``manifest.json`` (sha256, settings, seeds, package versions) is written last.

Command line: ``python -m models.mace_potential.data --out data/mace`` (``--help`` for options).
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
from models.common.io import atomic_path, verify_manifest, write_manifest
from models.common.progress import progress

__all__ = [
    "DEFAULT_DATA_DIR",
    "MOLECULES",
    "SETS",
    "SetSpec",
    "generate",
    "load_set",
    "start_geometry",
]

DEFAULT_DATA_DIR = Path("data/mace")
REGENERATE = "make mace-data (python -m models.mace_potential.data --out data/mace)"
PACKAGES = ("ase", "tblite", "rdkit", "numpy")

MOLECULES = {
    "aspirin": "CC(=O)Oc1ccccc1C(=O)O",
    "ethanol": "CCO",
    "3bpa": "Nc1ncccc1OCc1ccccc1",  # 3-(benzyloxy)pyridin-2-amine, the MACE paper's 3BPA
}


@dataclasses.dataclass(frozen=True)
class SetSpec:
    """One data set: ``frames`` frames of ``molecule`` at ``temperature_K`` from ``frames // chunk`` runs."""

    name: str
    molecule: str
    temperature_K: float
    frames: int
    chunk: int = 100


SETS = (
    SetSpec("aspirin_train", "aspirin", 500.0, 1000),
    SetSpec("aspirin_test", "aspirin", 500.0, 300),
    SetSpec("3bpa_train_300K", "3bpa", 300.0, 500),
    SetSpec("3bpa_test_300K", "3bpa", 300.0, 100),
    SetSpec("3bpa_test_600K", "3bpa", 600.0, 100),
    SetSpec("3bpa_test_1200K", "3bpa", 1200.0, 100),
    SetSpec("ethanol_train", "ethanol", 500.0, 1000),
    SetSpec("ethanol_test", "ethanol", 500.0, 300),
)


@dataclasses.dataclass(frozen=True)
class MDSettings:
    """Langevin MD settings shared by every trajectory."""

    timestep_fs: float = 0.5
    friction_per_fs: float = 0.01
    equilibration_steps: int = 400
    sample_every: int = 10


def start_geometry(smiles: str, seed: int):
    """An ``ase.Atoms`` from ``smiles``: RDKit ETKDG conformer (``randomSeed=seed``) relaxed with MMFF94.

    >>> start_geometry("CCO", 1).get_chemical_formula()
    'C2H6O'
    """
    from ase import Atoms
    from rdkit import Chem
    from rdkit.Chem import AllChem

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"RDKit cannot parse the SMILES {smiles!r}")
    mol = Chem.AddHs(mol)
    params = AllChem.ETKDGv3()
    params.randomSeed = int(seed)
    if AllChem.EmbedMolecule(mol, params) != 0:
        raise ValueError(f"RDKit ETKDG could not embed {smiles!r} with seed {seed}")
    AllChem.MMFFOptimizeMolecule(mol, maxIters=2000)
    positions = mol.GetConformer().GetPositions()
    symbols = [a.GetSymbol() for a in mol.GetAtoms()]
    return Atoms(symbols=symbols, positions=positions)


def _bonds(smiles: str) -> np.ndarray:
    """Covalent bonds ``[n_bonds, 2]`` of the hydrogen-complete molecule (RDKit atom order)."""
    from rdkit import Chem

    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    return np.array([[b.GetBeginAtomIdx(), b.GetEndAtomIdx()] for b in mol.GetBonds()], dtype=np.int64)


def _xtb_calculator():
    from tblite.ase import TBLite

    return TBLite(method="GFN2-xTB", verbosity=0)


def _chunk_seeds(seed: int, set_index: int, chunk_index: int) -> tuple[int, int]:
    """(conformer seed, thermostat seed) for one trajectory, independent across sets and chunks."""
    conformer, thermostat = np.random.SeedSequence([seed, set_index, chunk_index]).generate_state(2)
    return int(conformer % (2**31 - 1)), int(thermostat)


def run_trajectory(spec: SetSpec, n_frames: int, conformer_seed: int, thermostat_seed: int,
                   md: MDSettings, calculator_factory=_xtb_calculator, bar=None) -> list:
    """``n_frames`` labelled frames (``ase.Atoms``) from one Langevin trajectory of ``spec.molecule``."""
    from ase import units
    from ase.calculators.singlepoint import SinglePointCalculator  # noqa: F401  (documented format)
    from ase.constraints import FixCom
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary, ZeroRotation

    smiles = MOLECULES[spec.molecule]
    bonds = _bonds(smiles)
    atoms = start_geometry(smiles, conformer_seed)
    atoms.calc = calculator_factory()
    rng = np.random.default_rng(thermostat_seed)
    MaxwellBoltzmannDistribution(atoms, temperature_K=spec.temperature_K, rng=rng)
    Stationary(atoms)
    ZeroRotation(atoms)
    atoms.set_constraint(FixCom())
    dyn = Langevin(atoms, timestep=md.timestep_fs * units.fs, temperature_K=spec.temperature_K,
                   friction=md.friction_per_fs / units.fs, fixcm=False, rng=rng)
    dyn.run(md.equilibration_steps)
    frames = []
    for k in range(n_frames):
        dyn.run(md.sample_every)
        frame = atoms.copy()
        frame.set_constraint()
        energy = float(atoms.get_potential_energy())
        forces = np.array(atoms.get_forces(apply_constraint=False), dtype=np.float64)
        bond = np.linalg.norm(frame.positions[bonds[:, 0]] - frame.positions[bonds[:, 1]], axis=1).max()
        frame.info.update(REF_energy=energy, set=spec.name, temperature_K=spec.temperature_K,
                          time_fs=md.timestep_fs * (md.equilibration_steps + (k + 1) * md.sample_every),
                          kinetic_temperature_K=float(atoms.get_temperature()), max_bond_A=float(bond))
        frame.arrays["REF_forces"] = forces
        frames.append(frame)
        if bar is not None:
            bar.update(1)
    return frames


def _write_extxyz(path: Path, frames: list) -> None:
    import ase.io

    with atomic_path(path) as tmp:
        ase.io.write(tmp, frames, format="extxyz")


def generate(out: str | os.PathLike[str], *, sets: tuple[SetSpec, ...] = SETS, seed: int = 0,
             md: MDSettings = MDSettings(), scale: float = 1.0, calculator_factory=_xtb_calculator,
             command: list[str] | None = None) -> Path:
    """Generate every set of ``sets`` into ``out`` (``<name>.xyz`` + ``manifest.json``); resumable.

    Finished trajectories (``chunks/``) are kept and reused; the manifest lists every set whose
    trajectories are all present, including sets made by earlier calls with other ``sets``.

    ``scale`` multiplies the frame counts (``scale=0.01`` for a smoke test).  Returns ``out``.
    """
    import ase.io

    out = Path(out)
    chunk_dir = out / "chunks"
    every = []
    for set_index, spec in enumerate(SETS):
        total = max(1, round(spec.frames * scale))
        sizes = [min(spec.chunk, total - start) for start in range(0, total, spec.chunk)]
        every.append((set_index, spec, sizes))
    plan = [entry for entry in every if entry[1] in sets]
    remaining = sum(n for _, spec, sizes in plan for c, n in enumerate(sizes)
                    if not (chunk_dir / f"{spec.name}_{c:03d}.xyz").is_file())
    seeds = {}
    with progress(total=remaining, desc="xTB frames", unit="frame") as bar:
        for set_index, spec, sizes in plan:
            for c, n in enumerate(sizes):
                conformer_seed, thermostat_seed = _chunk_seeds(seed, set_index, c)
                seeds[f"{spec.name}_{c:03d}"] = {"conformer": conformer_seed, "thermostat": thermostat_seed}
                path = chunk_dir / f"{spec.name}_{c:03d}.xyz"
                if path.is_file():
                    continue
                start = time.perf_counter()
                frames = run_trajectory(spec, n, conformer_seed, thermostat_seed, md, calculator_factory, bar)
                _write_extxyz(path, frames)
                print(f"{path.name}: {n} frames in {time.perf_counter() - start:.1f} s", file=sys.stderr,
                      flush=True)
    # the manifest covers every complete set in the directory (also those of earlier invocations)
    plan = [(i, spec, sizes) for i, spec, sizes in every
            if all((chunk_dir / f"{spec.name}_{c:03d}.xyz").is_file() for c in range(len(sizes)))]
    for set_index, spec, sizes in plan:
        for c in range(len(sizes)):
            conformer_seed, thermostat_seed = _chunk_seeds(seed, set_index, c)
            seeds[f"{spec.name}_{c:03d}"] = {"conformer": conformer_seed, "thermostat": thermostat_seed}
    files = []
    for _, spec, sizes in plan:
        frames = [f for c in range(len(sizes))
                  for f in ase.io.read(chunk_dir / f"{spec.name}_{c:03d}.xyz", ":")]
        _write_extxyz(out / f"{spec.name}.xyz", frames)
        files.append(f"{spec.name}.xyz")
    settings = {
        "sets": [dataclasses.asdict(s) for _, s, _ in plan],
        "md": dataclasses.asdict(md),
        "scale": scale,
        "smiles": {s.molecule: MOLECULES[s.molecule] for _, s, _ in plan},
        "labels": "GFN2-xTB (tblite ASE calculator), REF_energy in eV, REF_forces in eV/Angstrom",
    }
    split = {s.name: {"trajectories": [f"{s.name}_{c:03d}" for c in range(len(sizes))]}
             for _, s, sizes in plan}
    write_manifest(out, files, settings=settings, seeds={"base": seed, "chunks": seeds}, split=split,
                   packages=PACKAGES, command=command)
    return out


def load_set(directory: str | os.PathLike[str], name: str, *, verify: bool = True) -> list:
    """The frames (``ase.Atoms`` with ``info['REF_energy']``, ``arrays['REF_forces']``) of one set.

    Checks the manifest's sha256 first (``verify=False`` skips it) and raises
    :class:`models.common.io.DataError` naming the file and how to regenerate it.
    """
    import ase.io

    from models.common.io import DataError

    directory = Path(directory)
    if verify:
        manifest = verify_manifest(directory, regenerate=REGENERATE)
        if f"{name}.xyz" not in manifest["files"]:
            known = ", ".join(sorted(f.removesuffix(".xyz") for f in manifest["files"]))
            raise DataError(f"no set {name!r} in {directory} (it has: {known}); "
                            f"regenerate with: {REGENERATE}")
    path = directory / f"{name}.xyz"
    if not path.is_file():
        raise DataError(f"{path} not found; regenerate with: {REGENERATE}")
    return ase.io.read(path, ":")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.mace_potential.data",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_DATA_DIR, help="output directory")
    parser.add_argument("--seed", type=int, default=0, help="base seed of every trajectory")
    parser.add_argument("--sets", nargs="*", default=[s.name for s in SETS], choices=[s.name for s in SETS],
                        help="which sets to make (default: all)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every frame count (smoke tests)")
    parser.add_argument("--sample-every", type=int, default=MDSettings.sample_every,
                        help="MD steps per frame")
    parser.add_argument("--timestep-fs", type=float, default=MDSettings.timestep_fs)
    args = parser.parse_args(argv)
    if args.scale <= 0:
        raise ValueError(f"--scale must be positive, got {args.scale}")
    md = MDSettings(timestep_fs=args.timestep_fs, sample_every=args.sample_every)
    sets = tuple(s for s in SETS if s.name in args.sets)
    out = generate(args.out, sets=sets, seed=args.seed, md=md, scale=args.scale,
                   command=["python", "-m", "models.mace_potential.data", *argv])
    print(f"wrote {out / 'manifest.json'}")
    return 0


if __name__ == "__main__":
    run_cli(main)
