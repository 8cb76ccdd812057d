"""The Hamiltonian network: exact O(3) equivariance of F, symmetry, permutations, CG block assembly,
differentiable orbital energies, the MLP peer's augmentation, and errors on bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lie_nn as lnn
from models.hamiltonian.blocks import BlockAssembler
from models.hamiltonian.eigen import OverlapError, orbital_energies
from models.hamiltonian.model import HamiltonianConfig, HamiltonianNet
from models.hamiltonian.peer import FockMLP, ao_rotations, rotate_batch

SVP = HamiltonianConfig(elements=(1, 8), shells=((0, 0, 1), (0, 0, 0, 1, 1, 2)), basis="def2-svp", channels=4,
                        pair_channels=2, num_layers=1, radial_hidden=(8,))
NUMBERS = [8, 1, 1, 1, 8]  # not a real molecule: two O, three H, all pair types
X = np.array([[0.0, 0.0, 0.1], [0.96, 0.05, 0.0], [-0.24, 0.93, 0.02], [1.5, 1.2, -0.4], [2.1, 0.3, 0.5]])


def _ls(numbers, config=SVP) -> list[int]:
    return [ell for z in numbers for ell in config.shells[config.elements.index(z)]]


def _net(dtype) -> HamiltonianNet:
    torch.manual_seed(0)
    net = HamiltonianNet(SVP, dtype=dtype)
    net.set_reference([np.eye(5) * -0.3, np.eye(14) * -1.0], 0.5)
    with torch.no_grad():  # the block heads start at zero (F = F_0): give them weights to test
        for head in [*net.pair_heads.values(), *net.site_heads.values()]:
            head.weight.normal_()
    return net


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_fock_is_o3_equivariant(dtype, tol) -> None:
    net = _net(dtype)
    x = torch.tensor(X, dtype=dtype)[None]
    f = net(NUMBERS, x).double()
    scale = f.abs().max()
    rotations = np.stack([lnn.random_rotation(7), lnn.random_rotation(8), -lnn.random_rotation(9)])
    d = torch.tensor(ao_rotations(_ls(NUMBERS), rotations))
    moved = net(NUMBERS, (x.double() @ torch.tensor(rotations).transpose(1, 2)).to(dtype)).double()
    err = (moved - d @ f @ d.transpose(1, 2)).abs().max() / scale
    assert err < tol
    assert (moved - f).abs().max() / scale > 1e-3  # the rotation did change F: the test can fail


def test_symmetric_translation_and_permutation() -> None:
    net = _net(torch.float64)
    x = torch.tensor(X)[None]
    f = net(NUMBERS, x)[0]
    assert torch.equal(f, f.T)
    assert torch.allclose(net(NUMBERS, x + torch.tensor([1.0, -2.0, 0.5]))[0], f, atol=1e-12)
    perm = [1, 0, 2, 4, 3]
    sizes = [sum(2 * ell + 1 for ell in SVP.shells[SVP.elements.index(z)]) for z in NUMBERS]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    ao = np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i in perm])
    fp = net([NUMBERS[i] for i in perm], x[:, perm])[0]
    assert torch.allclose(fp, f[ao][:, ao], atol=1e-12)


def test_block_assembler_is_orthogonal_and_equivariant() -> None:
    asm = BlockAssembler((0, 1, 2), (1, 2))
    assert np.allclose(asm.matrix @ asm.matrix.T, np.eye(asm.matrix.shape[0]), atol=1e-12)
    rotation = lnn.random_rotation(3)
    v = np.random.default_rng(0).normal(size=asm.irreps.dim)
    dv = np.concatenate([lnn.wigner_D(m.ir, rotation) @ v[s] for m, s in zip(asm.irreps, asm.irreps.slices(),
                                                                              strict=True)])
    block = (v @ asm.matrix).reshape(asm.shape)
    di, dj = ao_rotations([0, 1, 2], rotation[None])[0], ao_rotations([1, 2], rotation[None])[0]
    assert np.allclose((dv @ asm.matrix).reshape(asm.shape), di @ block @ dj.T, atol=1e-12)


def test_orbital_energies_match_scipy_and_are_differentiable() -> None:
    import scipy.linalg

    rng = np.random.default_rng(0)
    a = rng.normal(size=(6, 6))
    s = a @ a.T + 6 * np.eye(6)
    f = rng.normal(size=(6, 6))
    f = f + f.T
    ft = torch.tensor(f, requires_grad=True)
    eps = orbital_energies(ft, torch.tensor(s))
    assert np.allclose(eps.detach().numpy(), scipy.linalg.eigh(f, s, eigvals_only=True), atol=1e-10)
    assert torch.autograd.gradcheck(lambda m: orbital_energies(0.5 * (m + m.T), torch.tensor(s))[:3], (ft,))


def test_singular_overlap_and_shape_errors() -> None:
    s = torch.ones(2, 2, dtype=torch.float64)  # two identical functions
    with pytest.raises(OverlapError, match="singular"):
        orbital_energies(torch.eye(2, dtype=torch.float64), s)
    with pytest.raises(ValueError, match="equal shape"):
        orbital_energies(torch.eye(2), torch.eye(3))


def test_unknown_element_and_bad_positions() -> None:
    net = _net(torch.float64)
    with pytest.raises(ValueError, match=r"unknown atomic number\(s\) \[6\]"):
        net([6, 1, 1], torch.zeros(1, 3, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="positions must be"):
        net([8, 1, 1], torch.zeros(1, 4, 3, dtype=torch.float64))


def test_mlp_peer_augmentation_and_atom_order() -> None:
    torch.manual_seed(0)
    numbers = [8, 1, 1]
    ls = _ls(numbers)
    peer = FockMLP(numbers, sum(2 * ell + 1 for ell in ls), hidden=(8,), dtype=torch.float64)
    x = torch.tensor(X[:3])[None]
    f = peer(numbers, x)
    assert torch.equal(f, f.transpose(1, 2))
    rotation = lnn.random_rotation(5)[None]
    batch = {"positions": x, "fock": f, "overlap": f}
    moved = rotate_batch(batch, ls, rotation)
    d = torch.tensor(ao_rotations(ls, rotation))
    assert torch.allclose(moved["fock"], d @ f @ d.transpose(1, 2))
    assert (peer(numbers, moved["positions"]) - moved["fock"]).abs().max() > 1e-3  # not equivariant
    with pytest.raises(ValueError, match="atom ordering"):
        peer([1, 8, 1], x)


def test_onsite_reference_is_rotation_invariant() -> None:
    from models.hamiltonian.dataset import MoleculeData, onsite_reference

    numbers = np.array([8, 1, 1])
    nao = sum(sum(2 * ell + 1 for ell in SVP.shells[SVP.elements.index(z)]) for z in numbers)
    rng = np.random.default_rng(0)
    fock = rng.normal(size=(4, nao, nao))
    data = MoleculeData(numbers, rng.normal(size=(4, 3, 3)), fock + fock.transpose(0, 2, 1), fock, fock[:, 0],
                        5, np.zeros(4))
    onsite, scale = onsite_reference(data, list(SVP.elements), SVP.shells)
    assert scale > 0
    for block, shells in zip(onsite, SVP.shells, strict=True):
        d = ao_rotations(shells, lnn.random_rotation(1)[None])[0]
        assert np.allclose(d @ block @ d.T, block, atol=1e-12)
        assert np.abs(block).max() > 0.1  # not trivially zero: s-s couplings of equal l are kept
