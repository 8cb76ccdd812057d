r"""Atomic-orbital layout: pyscf's AO order and phases mapped onto lie_nn's real ``SO3(l)`` basis.

A pyscf basis (``mol.cart = False``) lists, atom by atom, its shells; a shell of angular momentum
``l`` holds ``2l+1`` real solid-harmonic functions ``R(r) Y^{pyscf}_{l,k}(\hat r)``.  lie_nn's
``SO3(l)`` basis is the one of :func:`lie_nn.nn.spherical_harmonics` (``m = -l..l``, ``Y_1 ∝ (y, z, x)``),
the basis in which :func:`lie_nn.wigner_D` acts.  For each ``l`` there is a signed permutation
``M_l`` with ``Y^{lie}_l(\hat r) = M_l Y^{pyscf}_l(\hat r)``; it is *derived* here, not assumed, by
evaluating one pyscf shell on points of the unit sphere and solving for ``M_l`` by least squares
(:func:`shell_map`).  The result, locked by a golden test, is

====  =====================================  =================
``l``  pyscf order                           lie_nn = ``M_l`` · pyscf
====  =====================================  =================
0     s                                      s
1     p_x, p_y, p_z                          (p_y, p_z, p_x)
2     d_xy, d_yz, d_z², d_xz, d_x²−y²         same order, same signs
3, 4  m = −l..l                              same order, all signs flipped
====  =====================================  =================

With ``M`` the block-diagonal AO matrix of the ``M_l`` (one block per shell), a pyscf matrix ``A``
(Fock, overlap) becomes ``M A M^T`` (:func:`to_lie_basis`), and then a rotation ``R`` of the molecule
acts as ``A(R x) = D(R) A(x) D(R)^T`` with ``D(R)`` block-diagonal of ``wigner_D(SO3(l), R)``
(:func:`ao_rotation`); ``tests/models/test_hamiltonian_basis.py`` checks this on HF Fock matrices.

>>> shell_map(1)
(array([1, 2, 0]), array([1., 1., 1.]))
"""

from __future__ import annotations

import functools

import numpy as np

import lie_nn as lnn

__all__ = ["BasisError", "ao_map", "ao_rotation", "shell_ls", "shell_map", "to_lie_basis"]


class BasisError(ValueError):
    """An element or basis set is not available, or a matrix does not match the AO layout."""


@functools.cache
def _shell_map_cached(ell: int) -> tuple[tuple[int, ...], tuple[float, ...]]:
    import torch
    from pyscf import gto

    from lie_nn.nn import spherical_harmonics

    points = np.random.default_rng(ell).normal(size=(64, 3))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    mol = gto.M(atom="He 0 0 0", basis={"He": [[ell, [1.0, 1.0]]]}, verbose=0)
    pyscf_values = mol.eval_gto("GTOval_sph", points)  # (64, 2l+1), a common radial factor
    lie_values = spherical_harmonics(ell, torch.tensor(points), normalization="norm").numpy()
    m, *_ = np.linalg.lstsq(pyscf_values, lie_values, rcond=None)  # lie = pyscf @ m
    m = (m / np.abs(m).max()).T  # (lie index, pyscf index), scale-free
    index = np.abs(m).argmax(axis=1)
    sign = np.sign(m[np.arange(2 * ell + 1), index])
    exact = np.zeros_like(m)
    exact[np.arange(2 * ell + 1), index] = sign
    if sorted(index.tolist()) != list(range(2 * ell + 1)) or np.abs(m - exact).max() > 1e-8:
        raise BasisError(f"pyscf's l={ell} real harmonics are not a signed permutation of lie_nn's")
    return tuple(int(i) for i in index), tuple(float(s) for s in sign)


def shell_map(ell: int) -> tuple[np.ndarray, np.ndarray]:
    """``(index, sign)`` with ``Y^{lie}_{l}[k] = sign[k] · Y^{pyscf}_{l}[index[k]]`` (derived, cached).

    >>> shell_map(2)
    (array([0, 1, 2, 3, 4]), array([1., 1., 1., 1., 1.]))
    """
    index, sign = _shell_map_cached(int(ell))
    return np.array(index), np.array(sign)


def shell_ls(mol) -> list[tuple[int, int]]:
    """``[(atom, l), ...]`` for every shell of a pyscf ``Mole`` in AO order (contracted functions
    expanded: a shell with ``n`` contractions counts ``n`` times)."""
    if mol.cart:
        raise BasisError("Cartesian AO basis (mol.cart=True) is not supported: use spherical AOs")
    return [(int(mol.bas_atom(b)), int(mol.bas_angular(b))) for b in range(mol.nbas)
            for _ in range(mol.bas_nctr(b))]


def ao_map(mol) -> tuple[np.ndarray, np.ndarray]:
    """``(index, sign)`` over all AOs: ``A_lie = (sign ⊗ sign) · A_pyscf[index][:, index]``."""
    index, sign, offset = [], [], 0
    for _, ell in shell_ls(mol):
        i, s = shell_map(ell)
        index.append(offset + i)
        sign.append(s)
        offset += 2 * ell + 1
    if offset != mol.nao:
        raise BasisError(f"AO count mismatch: shells give {offset}, pyscf says {mol.nao}")
    return np.concatenate(index), np.concatenate(sign)


def to_lie_basis(matrix: np.ndarray, mol) -> np.ndarray:
    """A pyscf AO matrix ``(..., nao, nao)`` in lie_nn's basis, ``M A M^T`` (see module docstring)."""
    index, sign = ao_map(mol)
    matrix = np.asarray(matrix)
    if matrix.shape[-2:] != (mol.nao, mol.nao):
        raise BasisError(f"expected AO matrices (..., {mol.nao}, {mol.nao}), got {matrix.shape}")
    return matrix[..., index, :][..., :, index] * sign[:, None] * sign[None, :]


def ao_rotation(ls: list[int], rotation: np.ndarray) -> np.ndarray:
    """Block-diagonal ``D(R)`` (nao × nao) of ``wigner_D(SO3(l), R)`` for the shells ``ls`` in order.

    >>> D = ao_rotation([0, 1, 2], lnn.random_rotation(0))
    >>> D.shape, bool(np.allclose(D @ D.T, np.eye(9)))
    ((9, 9), True)
    """
    blocks = [lnn.wigner_D(lnn.SO3(ell), rotation) for ell in ls]
    n = sum(b.shape[0] for b in blocks)
    out = np.zeros((n, n))
    offset = 0
    for b in blocks:
        d = b.shape[0]
        out[offset:offset + d, offset:offset + d] = b
        offset += d
    return out
