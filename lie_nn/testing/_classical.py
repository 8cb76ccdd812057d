"""Generators of classical Lie algebras in their defining representations, for user-group examples.

These are the inputs a user of :class:`lie_nn.GenericRep` typically has: a basis of the real Lie
algebra as matrices, nothing else. They are used by the tests and tutorials of user-defined groups.
"""

from __future__ import annotations

import numpy as np

__all__ = ["so_generators", "sp_generators"]


def so_generators(n: int) -> np.ndarray:
    r"""Basis ``L_ij = E_ji - E_ij`` (``i < j``) of :math:`\mathfrak{so}(n)` acting on ``R^n``.

    Returns an array ``(n(n-1)/2, n, n)`` of real antisymmetric matrices.

    >>> so_generators(4).shape
    (6, 4, 4)
    >>> bool(np.allclose(so_generators(3)[0], -so_generators(3)[0].T))
    True
    """
    if not isinstance(n, int) or n < 2:
        raise ValueError(f"so_generators: n must be an integer >= 2, got {n!r}")
    out = []
    for i in range(n):
        for j in range(i + 1, n):
            m = np.zeros((n, n))
            m[i, j], m[j, i] = -1.0, 1.0
            out.append(m)
    return np.array(out)


def _u_basis(d: int) -> np.ndarray:
    """A real basis of u(d): anti-Hermitian ``d x d`` matrices, ``d²`` of them."""
    out = []
    for i in range(d):
        for j in range(d):
            e = np.zeros((d, d), complex)
            if i == j:
                e[i, i] = 1j
            elif i < j:
                e[i, j], e[j, i] = 1, -1
            else:
                e[i, j], e[j, i] = 1j, 1j
            out.append(e)
    return np.array(out)


def sp_generators(n: int) -> np.ndarray:
    r"""Basis of the compact :math:`\mathfrak{sp}(n)` acting on ``C^{2n}``.

    The anti-Hermitian ``X`` with ``X^T J + J X = 0``, ``J = [[0, 1], [-1, 0]]`` (blocks ``n x n``):
    the null space of that linear condition inside a real basis of :math:`\mathfrak{u}(2n)`.
    Returns ``(n(2n+1), 2n, 2n)`` complex matrices.

    >>> x = sp_generators(2)
    >>> x.shape
    (10, 4, 4)
    >>> bool(np.allclose(x + x.conj().transpose(0, 2, 1), 0))
    True
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"sp_generators: n must be an integer >= 1, got {n!r}")
    eye, zero = np.eye(n), np.zeros((n, n))
    J = np.block([[zero, eye], [-eye, zero]])
    u = _u_basis(2 * n)
    cond = (np.einsum("aji,jk->aik", u, J) + np.einsum("ij,ajk->aik", J, u)).reshape(len(u), -1)
    _, s, vh = np.linalg.svd(np.concatenate([cond.real, cond.imag], axis=1).T)
    return np.einsum("ka,aij->kij", vh[np.sum(s > 1e-10):], u)
