r"""Coefficient blocks: read-only float64 / complex128 arrays with value semantics.

A descriptor (see :mod:`lie_nn._src.descriptors`) stores every numerical coefficient it needs as a
:class:`CoefficientBlock`; its path records refer to blocks by position in the descriptor's
``coefficients`` tuple.  Blocks compare and hash by content (shape, dtype and bytes), so a
descriptor is an immutable, hashable value that can key a cache.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field

import numpy as np

from lie_nn._src.cg import clebsch_gordan
from lie_nn._src.irrep import Irrep

__all__ = ["CoefficientBlock", "normalised_cg"]


@dataclass(frozen=True, eq=False)
class CoefficientBlock:
    """A read-only copy of ``array`` in float64 (real input) or complex128 (complex input).

    >>> block = CoefficientBlock(np.eye(2))
    >>> block, block == CoefficientBlock(np.eye(2)), block.array.flags.writeable
    (CoefficientBlock(shape=(2, 2), dtype=float64), True, False)
    """

    array: np.ndarray
    _digest: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        source = np.asarray(self.array)
        if not np.issubdtype(source.dtype, np.number):
            raise TypeError(f"CoefficientBlock needs a numeric array, got dtype {source.dtype}")
        dtype = np.complex128 if np.iscomplexobj(source) else np.float64
        array = np.array(source, dtype=dtype, order="C", copy=True)
        if not np.all(np.isfinite(array)):
            raise ValueError("CoefficientBlock: coefficients must be finite")
        array.setflags(write=False)
        object.__setattr__(self, "array", array)
        object.__setattr__(self, "_digest", hashlib.sha256(array.tobytes()).hexdigest())

    @property
    def shape(self) -> tuple[int, ...]:
        return self.array.shape

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    @property
    def is_complex(self) -> bool:
        """True when some coefficient has a non-zero imaginary part."""
        return bool(np.iscomplexobj(self.array) and np.any(self.array.imag != 0))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CoefficientBlock):
            return NotImplemented
        return (self.shape, self.dtype, self._digest) == (other.shape, other.dtype, other._digest)

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype.str, self._digest))

    def __repr__(self) -> str:
        return f"CoefficientBlock(shape={self.shape}, dtype={self.dtype})"


@functools.lru_cache(maxsize=1024)
def _normalised_cg(ir1: Irrep, ir2: Irrep, ir3: Irrep) -> np.ndarray:
    c = clebsch_gordan(ir1, ir2, ir3)
    if np.iscomplexobj(c) and all(ir.is_unitary() for ir in (ir1, ir2, ir3)):
        c = c.conj()  # z_k = Σ C_abk x_a y_b is equivariant for C^T = C^† (the adjoint of V3 → V1 ⊗ V2)
    if c.shape[0]:
        norms = np.sqrt(np.sum(np.abs(c.reshape(c.shape[0], -1)) ** 2, axis=1))
        c = c * (np.sqrt(ir3.dim) / norms)[:, None, None, None]
    c.setflags(write=False)
    return c


def normalised_cg(ir1: Irrep, ir2: Irrep, ir3: Irrep) -> np.ndarray:
    r"""Certified CG ``(mul, d1, d2, d3)`` with each copy rescaled to ``|C_m|_F^2 = d3``.

    The layers contract ``z_k = Σ_ab C_abk x_a y_b``: for unitary irreps with complex coefficients
    (a complex basis, e.g. a user group's) the block is ``conj(clebsch_gordan(...))``, whose
    transpose ``C^†`` is the equivariant projection ``V1 ⊗ V2 → V3``; real blocks are unchanged.

    For unitary irreps each copy of :func:`~lie_nn.clebsch_gordan` is already an isometry, so this
    is a no-op there; for non-unitary ones (Lorentz) it fixes the scale so that one path maps
    unit-variance inputs to unit-variance outputs.  Returns a fresh array.

    >>> from lie_nn import SO3
    >>> C = normalised_cg(SO3(1), SO3(1), SO3(0))
    >>> C.shape, round(float((C ** 2).sum()), 12)
    ((1, 3, 3, 1), 1.0)
    """
    return _normalised_cg(ir1, ir2, ir3).copy()
