r"""Chignolin in implicit solvent with OpenMM: structures, force field and Langevin dynamics.

* Sequence GYDPETGTWG (chignolin).  The extended chain comes from ``PeptideBuilder``; ``pdbfixer`` adds
  the C-terminal OXT and the hydrogens at pH 7.
* Force field ``amber99sbildn.xml`` + ``amber99_obc.xml`` (OBC implicit solvent), no cutoff,
  bonds to hydrogen constrained, hydrogen mass repartitioned to 4 amu, Langevin (middle scheme) at
  300 K, friction 1/ps, time step 4 fs (measured ~380 ns/day on one core of this machine).
* A *folded-ish* start (no PDB download is possible offline): the chain is built with hairpin
  backbone dihedrals, then annealed for a few ps at high friction with flat-bottom restraints that
  pull the cross-strand Cα pairs (1,10), (2,9), (3,8) within 5.5 Å, then minimised without restraints.
  This is a β-hairpin *like* chignolin's, not its NMR structure (PDB 1UAO).

OpenMM and friends are imported inside the functions: they are the optional ``[md]`` extra.
"""

from __future__ import annotations

import dataclasses
import io
import random

import numpy as np

__all__ = ["SEQUENCE", "MDSettings", "build_start", "integrator_seed", "make_simulation", "positions_nm"]

SEQUENCE = "GYDPETGTWG"
# (phi, psi) per residue of the hairpin-like start: β strands, a turn at P4-E5-T6-G7.
_HAIRPIN_DIHEDRALS = [(-120, 130), (-120, 130), (-120, 130), (-60, -30), (-90, 0), (-90, 0), (90, 0),
                      (-120, 130), (-120, 130), (-120, 130)]
_HAIRPIN_PAIRS = [(0, 9), (1, 8), (2, 7)]


@dataclasses.dataclass(frozen=True)
class MDSettings:
    """Langevin MD settings shared by every trajectory (units: K, 1/ps, fs, amu)."""

    temperature_K: float = 300.0
    friction_per_ps: float = 1.0
    timestep_fs: float = 4.0
    hydrogen_mass_amu: float = 4.0
    forcefield: tuple[str, ...] = ("amber99sbildn.xml", "amber99_obc.xml")


def _fixed(structure, seed: int = 0):
    """pdbfixer topology + positions (missing heavy atoms, then hydrogens at pH 7) of a Bio.PDB structure.

    Deterministic: OpenMM's ``Modeller.addHydrogens`` places new hydrogens with Python's global
    ``random`` before minimising them, and pdbfixer seeds its own minimiser randomly unless told; both
    are seeded with ``seed`` here (the global ``random`` state is restored afterwards; pdbfixer's
    integrator gets :func:`integrator_seed`, since OpenMM reads 0 as "random") and run on the
    Reference platform.  Without this, two builds in one process differed by up to 0.18 nm.
    """
    import Bio.PDB
    import openmm as mm
    from pdbfixer import PDBFixer

    buf = io.StringIO()
    writer = Bio.PDB.PDBIO()
    writer.set_structure(structure)
    writer.save(buf)
    fixer = PDBFixer(pdbfile=io.StringIO(buf.getvalue()), platform=mm.Platform.getPlatformByName("Reference"))
    fixer.findMissingResidues()
    fixer.findMissingAtoms()
    state = random.getstate()
    random.seed(seed)
    try:
        fixer.addMissingAtoms(seed=integrator_seed(seed))
        fixer.addMissingHydrogens(7.0)
    finally:
        random.setstate(state)
    return fixer.topology, fixer.positions


def build_start(kind: str, md: MDSettings = MDSettings(), seed: int = 0):
    """``(topology, positions)`` of chignolin: ``kind="extended"`` or ``"folded"`` (hairpin-like).

    Both are energy-minimised in the force field of ``md``; ``seed`` drives the annealing thermostat.
    """
    import openmm.unit as u
    import PeptideBuilder

    if kind == "extended":
        topology, positions = _fixed(PeptideBuilder.make_extended_structure(SEQUENCE))
    elif kind == "folded":
        phi = [p for p, _ in _HAIRPIN_DIHEDRALS[1:]]
        psi = [s for _, s in _HAIRPIN_DIHEDRALS[:-1]]
        topology, positions = _fixed(PeptideBuilder.make_structure(SEQUENCE, phi, psi))
    else:
        raise ValueError(f"unknown start {kind!r}; expected 'extended' or 'folded'")
    restraint = _hairpin_restraint(topology) if kind == "folded" else None
    sim = make_simulation(topology, md, seed=seed, friction_per_ps=10.0 if restraint else None,
                          extra_force=restraint)
    sim.context.setPositions(positions)
    sim.minimizeEnergy(maxIterations=500)
    if restraint is not None:
        sim.context.setVelocitiesToTemperature(md.temperature_K * u.kelvin, seed)
        sim.step(5000)  # 20 ps with restraints
        sim.context.setParameter("k_hairpin", 0.0)
        sim.minimizeEnergy(maxIterations=500)
    state = sim.context.getState(getPositions=True)
    return topology, state.getPositions()


def _hairpin_restraint(topology):
    """Flat-bottom harmonic restraints pulling the cross-strand Cα pairs within 0.55 nm."""
    import openmm as mm

    ca = [a.index for a in topology.atoms() if a.name == "CA"]
    force = mm.CustomBondForce("0.5*k_hairpin*max(0, r - r0)^2")
    force.addGlobalParameter("k_hairpin", 2000.0)  # kJ/mol/nm^2
    force.addPerBondParameter("r0")
    for i, j in _HAIRPIN_PAIRS:
        force.addBond(ca[i], ca[j], [0.55])
    return force


def make_simulation(topology, md: MDSettings = MDSettings(), *, seed: int = 0, threads: int = 1,
                    friction_per_ps: float | None = None, extra_force=None):
    """An ``openmm.app.Simulation`` of ``topology`` on the CPU platform with ``threads`` threads."""
    import openmm as mm
    import openmm.app as app
    import openmm.unit as u

    forcefield = app.ForceField(*md.forcefield)
    system = forcefield.createSystem(topology, nonbondedMethod=app.NoCutoff, constraints=app.HBonds,
                                     hydrogenMass=md.hydrogen_mass_amu * u.amu)
    if extra_force is not None:
        system.addForce(extra_force)
    friction = md.friction_per_ps if friction_per_ps is None else friction_per_ps
    integrator = mm.LangevinMiddleIntegrator(md.temperature_K * u.kelvin, friction / u.picosecond,
                                             md.timestep_fs * u.femtosecond)
    integrator.setRandomNumberSeed(integrator_seed(seed))
    platform = mm.Platform.getPlatformByName("CPU")
    return app.Simulation(topology, system, integrator, platform, {"Threads": str(int(threads))})


def integrator_seed(seed: int) -> int:
    """The Langevin integrator's random seed for ``seed``: OpenMM reads 0 as "pick one at random" (so
    seed 0 was not reproducible), hence 0 maps to a fixed non-zero value; other seeds are kept.

    >>> integrator_seed(0), integrator_seed(3)
    (2147483647, 3)
    """
    return int(seed) if int(seed) != 0 else 2**31 - 1


def positions_nm(state_or_positions) -> np.ndarray:
    """Positions ``[n_atoms, 3]`` in nm (float64) of an OpenMM state or position list."""
    import openmm.unit as u

    pos = state_or_positions
    if hasattr(pos, "getPositions"):
        pos = pos.getPositions(asNumpy=True)
    return np.asarray(pos.value_in_unit(u.nanometer), dtype=np.float64)
