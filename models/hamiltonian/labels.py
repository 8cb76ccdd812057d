r"""Reference labels from pyscf: converged Fock/Kohn–Sham matrix ``F``, overlap ``S``, orbital energies.

For a closed-shell molecule the self-consistent field solution satisfies ``F C = S C ε``; this module
runs it (HF or a DFT functional, spherical AOs) and returns ``F`` and ``S`` in lie_nn's AO basis
(:func:`models.hamiltonian.basis.to_lie_basis`), all in Hartree, positions in Å.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from models.hamiltonian.basis import BasisError, to_lie_basis

__all__ = ["Level", "make_mol", "scf_labels"]


@dataclasses.dataclass(frozen=True)
class Level:
    """Level of theory: ``method`` ("HF" or a pyscf xc name such as "PBE", "B3LYP"), ``basis``,
    DFT integration grid ``grid_level`` (pyscf's default 3), SCF tolerances, and ``density_fit``:
    Coulomb (and exact-exchange) integrals by density fitting with ``aux_basis`` (several times cheaper,
    labels change by ~µHa-mHa; still exactly covariant, the auxiliary basis rotates with the atoms)."""

    method: str = "PBE"
    basis: str = "def2-svp"
    grid_level: int = 3
    conv_tol: float = 1e-11
    conv_tol_grad: float = 1e-7
    density_fit: bool = False
    aux_basis: str = "def2-universal-jkfit"


def make_mol(numbers, positions, basis: str):
    """A closed-shell pyscf ``Mole`` (Å, spherical AOs); :class:`BasisError` for an unknown basis or element.

    >>> make_mol([8, 1, 1], [[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]], "sto-3g").nao
    7
    """
    from pyscf import gto

    numbers = np.asarray(numbers, dtype=np.int64)
    positions = np.asarray(positions, dtype=np.float64)
    if positions.shape != (len(numbers), 3) or not np.isfinite(positions).all():
        raise ValueError(f"positions must be finite ({len(numbers)}, 3), got shape {positions.shape}")
    atoms = [(int(z), tuple(p)) for z, p in zip(numbers, positions, strict=True)]
    try:
        mol = gto.M(atom=atoms, basis=basis, unit="Angstrom", verbose=0, cart=False)
    except (KeyError, RuntimeError, ValueError, OSError) as err:
        raise BasisError(f"pyscf cannot build basis {basis!r} for elements {sorted(set(numbers.tolist()))}: "
                         f"{err}") from err
    missing = sorted({int(z) for z, a in zip(numbers, range(mol.natm), strict=True)
                      if not any(mol.bas_atom(b) == a for b in range(mol.nbas))})
    if missing:
        raise BasisError(f"basis {basis!r} has no functions for element(s) {missing}")
    if mol.nelectron % 2:
        raise ValueError("only closed-shell molecules (even electron count) are supported")
    return mol


def scf_labels(numbers, positions, level: Level = Level(), dm0: np.ndarray | None = None) -> dict:
    """Run RHF/RKS at ``level``; return ``fock``, ``overlap`` (lie_nn basis), ``mo_energy``, ``e_tot``,
    ``n_occ`` and the pyscf density ``dm`` (warm start for the next frame).  Raises if not converged."""
    from pyscf import dft, scf

    mol = make_mol(numbers, positions, level.basis)
    if level.method.upper() == "HF":
        mf = scf.RHF(mol)
    else:
        mf = dft.RKS(mol, xc=level.method)
        mf.grids.level = level.grid_level
    if level.density_fit:
        mf = mf.density_fit(auxbasis=level.aux_basis)
    mf.conv_tol, mf.conv_tol_grad = level.conv_tol, level.conv_tol_grad
    mf.kernel(dm0=dm0)
    if not mf.converged:
        raise RuntimeError(f"{level.method}/{level.basis} SCF did not converge")
    dm = mf.make_rdm1()
    fock = mf.get_fock(dm=dm)
    return {
        "fock": to_lie_basis(fock, mol),
        "overlap": to_lie_basis(mf.get_ovlp(), mol),
        "mo_energy": np.asarray(mf.mo_energy),
        "e_tot": float(mf.e_tot),
        "n_occ": mol.nelectron // 2,
        "dm": dm,
    }


def rotation_noise(numbers, positions, level: Level, rotation: np.ndarray) -> dict[str, float]:
    """How far the labels themselves are from covariant: ``|F(R x) - D F(x) D^T|`` (max and mean, Ha).

    HF is exact (~1e-13 Ha); DFT on an integration grid is not, because the grid does not rotate with the
    molecule (the floor of any µHa comparison on rotated geometries).
    """
    from models.hamiltonian.basis import ao_rotation, shell_ls

    ls = [ell for _, ell in shell_ls(make_mol(numbers, positions, level.basis))]
    d = ao_rotation(ls, rotation)
    a = scf_labels(numbers, positions, level)
    b = scf_labels(numbers, np.asarray(positions) @ np.asarray(rotation).T, level, dm0=None)
    diff = np.abs(b["fock"] - d @ a["fock"] @ d.T)
    return {"max_Ha": float(diff.max()), "mean_Ha": float(diff.mean()),
            "eps_max_Ha": float(np.abs(b["mo_energy"] - a["mo_energy"]).max())}


def main(argv: list[str]) -> int:
    """``python -m models.hamiltonian.labels --method PBE --basis def2-svp --grid-level 3``: label noise."""
    import argparse

    import lie_nn as lnn

    parser = argparse.ArgumentParser(prog="python -m models.hamiltonian.labels",
                                     description="rotation covariance of the SCF labels on a water geometry")
    parser.add_argument("--method", default=Level.method)
    parser.add_argument("--basis", default=Level.basis)
    parser.add_argument("--grid-level", type=int, default=Level.grid_level)
    parser.add_argument("--conv-tol", type=float, default=Level.conv_tol)
    parser.add_argument("--conv-tol-grad", type=float, default=Level.conv_tol_grad)
    parser.add_argument("--density-fit", action="store_true")
    parser.add_argument("--seed", type=int, default=0, help="seed of the rotation")
    args = parser.parse_args(argv)
    numbers, x = [8, 1, 1], np.array([[0.0, 0.0, 0.1], [0.96, 0.05, 0.0], [-0.24, 0.93, 0.02]])
    level = Level(method=args.method, basis=args.basis, grid_level=args.grid_level, conv_tol=args.conv_tol,
                  conv_tol_grad=args.conv_tol_grad, density_fit=args.density_fit)
    out = rotation_noise(numbers, x, level, lnn.random_rotation(args.seed))
    print(f"{args.method}/{args.basis} grid {args.grid_level}: |F(Rx) - D F D^T| "
          f"max {out['max_Ha'] * 1e6:.3g} µHa, mean {out['mean_Ha'] * 1e6:.3g} µHa; "
          f"orbital energies max {out['eps_max_Ha'] * 1e6:.3g} µHa")
    return 0


if __name__ == "__main__":
    from models.common.cli import run_cli

    run_cli(main)
