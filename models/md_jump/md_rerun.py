r"""The MD as a jump "model": fresh short OpenMM runs from saved frames (the matched noise floor).

``md_endpoints`` restarts the data's simulation (same force field, integrator and settings) from
saved all-atom frames with new Maxwell–Boltzmann velocities (frames are stored without velocities)
and runs it for Δ, ``k`` times per frame.  Scored like a model by :mod:`models.md_jump.onejump_eval`
(``--md-samples``), it gives what a *perfect* model would score against the MD's single actual
outcome on the same starts: the floor of the one-jump statistics, matched start by start.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["md_endpoints"]


def md_endpoints(data: Path, frames_angstrom: np.ndarray, lag_ps: float, k: int,
                 seed: int = 0) -> np.ndarray:
    """``k`` endpoints ``(P, k, n_atoms, 3)`` (Å) of ``lag_ps`` of MD from each all-atom frame
    ``frames_angstrom (P, n_atoms, 3)`` of the data set ``data`` (its ``topology.pdb``)."""
    import openmm.app as app
    import openmm.unit as u

    from models.md_jump.system import MDSettings, make_simulation, positions_nm

    md = MDSettings()
    pdb = app.PDBFile(str(Path(data) / "topology.pdb"))
    frames = np.asarray(frames_angstrom, dtype=np.float64)
    n_atoms = pdb.topology.getNumAtoms()
    if frames.ndim != 3 or frames.shape[1:] != (n_atoms, 3):
        raise ValueError(f"md_endpoints: frames must be (P, {n_atoms}, 3), got {frames.shape}")
    if not np.isfinite(frames).all():
        raise ValueError("md_endpoints: frames contain NaN or infinite values")
    steps = round(lag_ps * 1000.0 / md.timestep_fs)
    if steps < 1:
        raise ValueError(f"md_endpoints: Δ = {lag_ps} ps is shorter than one step")
    sim = make_simulation(pdb.topology, md, seed=seed)
    out = np.empty((len(frames), k, *frames.shape[1:]))
    for p, frame in enumerate(frames):
        for j in range(k):
            sim.context.setPositions(frame / 10.0 * u.nanometer)
            sim.context.applyConstraints(1e-6)
            vseed = int(seed) * 100003 + p * k + j + 1
            sim.context.setVelocitiesToTemperature(md.temperature_K * u.kelvin, vseed)
            sim.step(steps)
            out[p, j] = 10.0 * positions_nm(sim.context.getState(getPositions=True))
    return out
