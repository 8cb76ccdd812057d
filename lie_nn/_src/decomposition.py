r"""``decompose_generators``: the irreducible components of a representation given by generators.

The method (random element of the commutant, its eigenspaces, isomorphic blocks grouped by
intertwiners) and its certification are described in :mod:`lie_nn._src.commutant`; this module
wraps the certified blocks as :class:`~lie_nn.GenericRep` irreps of the same group.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lie_nn._src.commutant import DecompositionError, split_generators
from lie_nn._src.groups.generic import GenericRep
from lie_nn._src.irrep import MulIrrep
from lie_nn._src.irreps import Irreps

__all__ = ["DecompositionError", "decompose_generators"]


def decompose_generators(X: Any, D: Any = None, *, real: bool = False) -> tuple[Irreps, np.ndarray]:
    r"""Irreducible components of the representation with generators ``X`` ``(n, d, d)`` (and ``D``).

    Returns ``(irreps, Q)``: ``irreps`` an :class:`~lie_nn.Irreps` of ``(mul, GenericRep)`` terms
    (ordered by dimension) and ``Q`` ``(d, d)`` invertible with

    .. math:: X_a Q = Q \bigoplus_k 1_{m_k} \otimes X^{(k)}_a, \qquad
              D_b Q = Q \bigoplus_k 1_{m_k} \otimes D^{(k)}_b,

    i.e. ``Q^{-1} X_a Q`` is block diagonal with the ``m_k`` copies of irrep ``k`` adjacent and in one
    basis (``irreps.algebra()`` is that block-diagonal matrix).  ``Q`` is unitary (orthogonal) when
    the generators are anti-Hermitian (antisymmetric) and ``D`` unitary.  ``X`` may be a
    ``GenericRep`` (then ``D`` must be ``None``); the components share its group.

    ``real=False`` (default): irreducible over ℂ.  ``real=True`` (real generators): real blocks,
    irreducible over ℝ — the rotations of the plane stay one 2-dimensional block, which over ℂ splits
    into the characters ``e^{±iθ}``.  The result is certified (residual, conditioning, every block
    irreducible, classes pairwise non-isomorphic); ``DecompositionError`` (a ``ValueError``) otherwise,
    e.g. for a representation that is not completely reducible.

    >>> import numpy as np
    >>> J = np.array([[[0.0, -1.0], [1.0, 0.0]]])          # so(2) on the plane
    >>> [(t.mul, t.ir.dim) for t in decompose_generators(J, real=True)[0]]
    [(1, 2)]
    >>> irreps, Q = decompose_generators(J)                # over ℂ: two characters
    >>> sorted(complex(t.ir.algebra()[0, 0, 0]).imag for t in irreps)
    [-1.0, 1.0]
    >>> bool(np.allclose(J[0] @ Q, Q @ irreps.algebra()[0]))
    True
    """
    if isinstance(X, GenericRep):
        if D is not None:
            raise TypeError("decompose_generators: pass the discrete generators inside the GenericRep")
        rep = X
    else:
        rep = GenericRep(X, D)
    if real and not rep.is_real:
        raise ValueError("decompose_generators(real=True) needs real generators")
    blocks, Q = split_generators(rep.algebra(), rep.discrete_generators(), real=real)
    terms = [MulIrrep(b.mul, rep._derived(b.x, b.disc, "")) for b in blocks]
    return Irreps(terms), Q
