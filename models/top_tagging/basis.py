r"""The two bases of the tagger's features: Lorentz scalars and 4-vectors.

* ``basis="complex"``: the irreps ``SO13(0,0)`` and ``SO13(1/2,1/2)`` of :class:`lie_nn.SO13`, complex
  Clebsch-Gordan coefficients and complex features; a real 4-vector ``p`` enters as ``Q p`` with the
  intertwiner ``Q`` of :func:`vector_to_so13`.
* ``basis="real"``: the real 4-vector :class:`lie_nn.GenericRep` of
  :func:`lie_nn.four_vector_generators` and its trivial rep; CGs, weights and features are real
  (``Q`` is the identity).
"""

from __future__ import annotations

import numpy as np

from lie_nn import SO13, GenericRep, Irrep, change_of_basis, four_vector_generators

__all__ = ["BASES", "representations", "vector_to_so13"]

S, V = SO13(0, 0), SO13("1/2", "1/2")

BASES = ("complex", "real")


def representations(basis: str) -> tuple[Irrep, Irrep]:
    """``(scalar, vector)`` irreps of the features: ``SO13(0,0), SO13(1/2,1/2)`` (complex basis) or the
    real 4-vector :class:`~lie_nn.GenericRep` of :func:`four_vector_generators` and its trivial rep
    (real basis: real CGs, real weights, real float arithmetic -- half the work of the complex form).

    >>> [str(r) for r in representations("real")], representations("real")[1].dim
    (['1', '4-vector'], 4)
    """
    if basis == "complex":
        return S, V
    if basis != "real":
        raise ValueError(f"basis must be one of {BASES}, got {basis!r}")
    vector = GenericRep(four_vector_generators(), label="4-vector")
    return vector.trivial(), vector


def vector_to_so13() -> np.ndarray:
    """Intertwiner ``Q`` (4×4 complex) with ``SO13(1/2,1/2).algebra()[a] @ Q == Q @ X_a`` (4-vector).

    A real 4-vector ``p`` (column) has coordinates ``Q @ p`` in the ``(1/2,1/2)`` basis; a batch of
    row vectors maps as ``p @ Q.T``.

    >>> Q = vector_to_so13()
    >>> X, Y = four_vector_generators(), SO13("1/2", "1/2").algebra()
    >>> bool(np.allclose(Y @ Q, Q @ X))
    True
    """
    Q = change_of_basis(GenericRep(four_vector_generators(), label="4-vector"), V)
    if Q.shape != (1, 4, 4):
        raise RuntimeError(f"expected a unique intertwiner 4-vector -> (1/2,1/2), got {Q.shape}")
    return Q[0]
