"""Canonical orthonormal bases of solution spaces (versioned with ``CONVENTIONS_VERSION``).

The numeric solver (:mod:`lie_nn._src.intertwiner`) finds *some* orthonormal basis of a space of
intertwiners; this module turns it into the unique one defined below, so the returned coefficients
depend only on the space, not on random elements or on the path taken by the solver.

With the ``k`` solutions flattened row-major into vectors of length ``dA * dB``:

1. take the reduced row echelon form of the space: pivot columns ``j_1 < ... < j_k`` chosen greedily
   (``j_t`` is the first column on which the subspace ``{v : v[j_1] = ... = v[j_{t-1}] = 0}`` has a
   component above ``1e-6``), and rows ``r_t`` in the space with ``r_t[j_s] = δ_ts``;
2. Gram–Schmidt orthonormalise ``r_1, ..., r_k`` in that order;
3. multiply each vector by the phase (a sign for real bases) making its first entry of largest
   magnitude (ties within a relative ``1e-7``) real and positive.

When all inputs are real (and ``real`` is not ``False``) the basis is real: the solution space is
closed under complex conjugation, so the real and imaginary parts span its real form.
"""

from __future__ import annotations

import numpy as np

__all__ = ["canonical_basis", "real_form"]

_PIVOT_TOL = 1e-6
_PHASE_TOL = 1e-7


def canonical_basis(V: np.ndarray) -> np.ndarray:
    """Canonical orthonormal basis (rows) of the row space of ``V``, whose rows are orthonormal.

    See the module docstring for the definition (RREF pivots, Gram–Schmidt, phase).

    >>> import numpy as np
    >>> canonical_basis(np.array([[0.0, 0.6, -0.8]]))   # largest entry made positive
    array([[ 0. , -0.6,  0.8]])
    """
    k = len(V)
    if k == 0:
        return V
    W, pivots = V, []
    for _ in range(k):
        norms = np.linalg.norm(W, axis=0)
        above = np.flatnonzero(norms > _PIVOT_TOL)
        if len(above) == 0:
            raise RuntimeError("canonical_basis: rows are not linearly independent")
        j = int(above[0])
        pivots.append(j)
        Q, _ = np.linalg.qr(W[:, j : j + 1], mode="complete")
        W = Q[:, 1:].conj().T @ W
    R = np.linalg.solve(V[:, pivots], V)
    Q, _ = np.linalg.qr(R.T)
    Q = Q.T
    for row in Q:
        mag = np.abs(row)
        i = int(np.flatnonzero(mag >= mag.max() * (1 - _PHASE_TOL))[0])
        row *= np.conj(row[i]) / mag[i]
    return Q.real.copy() if np.isrealobj(V) else Q


def real_form(basis: np.ndarray) -> np.ndarray:
    """Orthonormal real basis (rows) of the real form of a conjugation-closed complex row space.

    >>> real_form(np.array([[1.0, 1.0j]]) / np.sqrt(2)).shape   # span{(1, i)} is not closed: error
    Traceback (most recent call last):
    ...
    RuntimeError: intertwiners: real form has dimension 2, expected 1
    """
    k = len(basis)
    if k == 0:
        return basis.real
    stacked = np.concatenate([basis.real, basis.imag])
    _, s, Vh = np.linalg.svd(stacked, full_matrices=False)
    rank = int(np.sum(s > 1e-6 * s[0]))
    if rank != k:
        raise RuntimeError(f"intertwiners: real form has dimension {rank}, expected {k}")
    return Vh[:k]
