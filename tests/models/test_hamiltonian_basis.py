"""The pyscf → lie_nn AO map: derived signed permutations, locked by golden values, and checked on real
SCF matrices: F(R x) = D(R) F(x) D(R)^T with D from lie_nn.wigner_D (HF is grid-free, so exact)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyscf")

import lie_nn as lnn  # noqa: E402
from models.hamiltonian.basis import BasisError, ao_map, ao_rotation, shell_ls, shell_map, to_lie_basis  # noqa: E402
from models.hamiltonian.labels import Level, make_mol, scf_labels  # noqa: E402

WATER = (np.array([8, 1, 1]), np.array([[0.0, 0.0, 0.1], [0.96, 0.05, 0.0], [-0.24, 0.93, 0.02]]))


def test_shell_maps_golden() -> None:
    assert shell_map(0)[0].tolist() == [0]
    assert shell_map(1)[0].tolist() == [1, 2, 0] and shell_map(1)[1].tolist() == [1, 1, 1]  # (y, z, x)
    assert shell_map(2)[0].tolist() == [0, 1, 2, 3, 4] and shell_map(2)[1].tolist() == [1] * 5
    for ell in (3, 4):
        assert shell_map(ell)[0].tolist() == list(range(2 * ell + 1))
        assert shell_map(ell)[1].tolist() == [-1.0] * (2 * ell + 1)


def test_ao_functions_match_lie_nn_harmonics() -> None:
    """Evaluated pyscf AOs of a d shell, mapped, are lie_nn's spherical harmonics times a radial factor."""
    import torch

    from lie_nn.nn import spherical_harmonics

    mol = make_mol([8], [[0, 0, 0]], "def2-svp")
    points = lnn.random_rotation(0, 20)[:, 0] * 0.7  # 20 points on a sphere of radius 0.7 Å
    values = mol.eval_gto("GTOval_sph", points / 0.52917721092)  # bohr
    index, sign = ao_map(mol)
    mapped = values[:, index] * sign
    d = [k for k, (_, ell) in enumerate(shell_ls(mol)) if ell == 2][0]
    start = sum(2 * ell + 1 for _, ell in shell_ls(mol)[:d])
    y = spherical_harmonics(2, torch.tensor(points), normalization="norm").numpy()
    ratio = mapped[:, start:start + 5] / y
    assert np.allclose(ratio, ratio[0, 0], rtol=1e-9)


@pytest.mark.parametrize("basis", ["sto-3g", "def2-svp"])
def test_fock_rotates_with_wigner_d(basis: str) -> None:
    numbers, x = WATER
    level = Level(method="HF", basis=basis)
    ls = [ell for _, ell in shell_ls(make_mol(numbers, x, basis))]
    ref = scf_labels(numbers, x, level)
    for k, rotation in enumerate([lnn.random_rotation(1), lnn.random_rotation(2), -lnn.random_rotation(3)]):
        moved = scf_labels(numbers, x @ rotation.T, level, dm0=None)
        if k < 2:
            d = ao_rotation(ls, rotation)
        else:  # reflection: AO shell l has parity (-1)^l
            parity = np.repeat([(-1.0) ** ell for ell in ls], [2 * ell + 1 for ell in ls])
            d = ao_rotation(ls, -rotation) * parity
        assert np.abs(moved["fock"] - d @ ref["fock"] @ d.T).max() < 1e-9
        assert np.abs(moved["overlap"] - d @ ref["overlap"] @ d.T).max() < 1e-10
        assert np.allclose(moved["mo_energy"], ref["mo_energy"], atol=1e-9)


def test_without_the_map_rotation_fails() -> None:
    """The raw pyscf p order (x, y, z) is NOT acted on by wigner_D: the test above could fail."""
    from pyscf import scf

    numbers, x = WATER
    rotation = lnn.random_rotation(4)
    mols = [make_mol(numbers, y, "sto-3g") for y in (x, x @ rotation.T)]
    raw = []
    for mol in mols:
        mf = scf.RHF(mol)
        mf.conv_tol = 1e-11
        mf.kernel()
        raw.append(mf.get_fock())
    d = ao_rotation([ell for _, ell in shell_ls(mols[0])], rotation)
    assert np.abs(raw[1] - d @ raw[0] @ d.T).max() > 1e-3
    assert np.abs(to_lie_basis(raw[1], mols[1]) - d @ to_lie_basis(raw[0], mols[0]) @ d.T).max() < 1e-9


def test_bad_input_errors() -> None:
    with pytest.raises(BasisError, match="no-such-basis"):
        make_mol([8, 1, 1], WATER[1], "no-such-basis")
    with pytest.raises(ValueError, match="closed-shell|spin|Electron"):
        make_mol([8, 1], WATER[1][:2], "sto-3g")
    with pytest.raises(ValueError, match="positions"):
        make_mol([8, 1, 1], WATER[1][:2], "sto-3g")
    with pytest.raises(BasisError, match="AO matrices"):
        to_lie_basis(np.zeros((3, 3)), make_mol(*WATER, "sto-3g"))


def test_density_fitting_labels_covariant_and_close() -> None:
    """Density fitting (an option of the labels) keeps F(R x) = D F(x) D^T exact (the auxiliary basis
    rotates with the atoms) and changes F only slightly."""
    numbers, x = WATER
    level = Level(method="HF", basis="sto-3g", density_fit=True)
    ls = [ell for _, ell in shell_ls(make_mol(numbers, x, "sto-3g"))]
    ref = scf_labels(numbers, x, level)
    rotation = lnn.random_rotation(5)
    moved = scf_labels(numbers, x @ rotation.T, level)
    d = ao_rotation(ls, rotation)
    assert np.abs(moved["fock"] - d @ ref["fock"] @ d.T).max() < 1e-9
    exact = scf_labels(numbers, x, Level(method="HF", basis="sto-3g"))
    assert 1e-9 < np.abs(ref["fock"] - exact["fock"]).max() < 1e-3
