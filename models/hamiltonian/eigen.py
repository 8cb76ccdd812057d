r"""Orbital energies from a Fock matrix: the generalized eigenproblem ``F C = S C ε``, differentiable.

With the Cholesky factor ``S = L L^T`` the problem becomes the ordinary symmetric one
``(L^{-1} F L^{-T}) y = ε y`` (``C = L^{-T} y``), solved by :func:`torch.linalg.eigh`; gradients of the
eigenvalues reach ``F`` (eigenvalue gradients stay finite for degenerate levels).

>>> F = torch.diag(torch.tensor([-1.0, 0.5], dtype=torch.float64))
>>> orbital_energies(F, torch.eye(2, dtype=torch.float64)).tolist()
[-1.0, 0.5]
"""

from __future__ import annotations

import torch

__all__ = ["OverlapError", "orbital_energies"]

HARTREE_TO_MEV = 27211.386245988


class OverlapError(ValueError):
    """The overlap matrix is not positive definite (coinciding atoms, linearly dependent basis)."""


def orbital_energies(fock: torch.Tensor, overlap: torch.Tensor, *,
                     min_eigenvalue: float = 1e-7) -> torch.Tensor:
    """Eigenvalues ``ε (..., nao)`` (ascending) of ``F C = S C ε`` for ``fock``, ``overlap (..., nao, nao)``.

    Raises :class:`OverlapError` when ``S`` is not positive definite or its smallest eigenvalue is below
    ``min_eigenvalue`` (numerically singular: the result would be noise).
    """
    if fock.shape != overlap.shape or fock.shape[-1] != fock.shape[-2]:
        raise ValueError(f"fock and overlap must be square and of equal shape, got {tuple(fock.shape)}, "
                         f"{tuple(overlap.shape)}")
    overlap = overlap.to(fock.dtype)
    chol, info = torch.linalg.cholesky_ex(overlap)
    smallest = torch.linalg.eigvalsh(overlap.detach()).min()
    if bool((info != 0).any()) or float(smallest) < min_eigenvalue:
        raise OverlapError(f"the overlap matrix is singular (smallest eigenvalue {float(smallest):.3g}): "
                           "atoms too close together or a linearly dependent basis")
    eye = torch.eye(fock.shape[-1], dtype=fock.dtype, device=fock.device).expand_as(fock)
    linv = torch.linalg.solve_triangular(chol, eye, upper=False)
    return torch.linalg.eigvalsh(linv @ fock @ linv.transpose(-1, -2))
