r"""Feature-tensor layout shared by every layer of :mod:`lie_nn.nn`.

Layout convention ("mul-major")
-------------------------------
A feature of the representation ``⊕_k mul_k × ir_k`` is a tensor of shape ``(..., dim)`` with
``dim = Σ_k mul_k · ir_k.dim``.  Block ``k`` occupies the slice ``[offset_k, offset_k + mul_k · d_k)``
and stores a ``(mul_k, d_k)`` matrix flattened row-major: entry ``(u, i)`` (channel ``u``, component
``i`` of the irrep basis) sits at ``offset_k + u · d_k + i``.  A group element acts on a feature as
``x ↦ x @ D(g).T`` with ``D(g)`` block diagonal, ``mul_k`` copies of ``D_{ir_k}(g)`` per block.

Features are real (float32 / float64) when every irrep involved has a real basis (SO(3), O(3)) and
complex (complex64 / complex128) otherwise (SU(2), SU(N), Lorentz).

Every helper and layer accepts a representation as anything :class:`~lie_nn.Irreps` accepts: an
``Irreps``, a string such as ``"8x0e + 4x1o"``, a sequence of ``MulIrrep`` / ``(mul, ir)`` pairs /
bare irreps.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lie_nn._src.descriptors._arguments import as_irreps as _as_irreps
from lie_nn._src.irrep import Irrep
from lie_nn._src.irreps import Irreps

__all__ = [
    "LOW_PRECISION",
    "as_irreps",
    "block_view",
    "check_features",
    "check_tensor",
    "complex_dtype",
    "irreps_to_tensor_shape",
    "is_trivial",
    "real_dtype",
    "sign_character",
]


def as_irreps(value: Any, name: str = "irreps", layer: str = "lie_nn.nn") -> Irreps:
    """``Irreps(value)``, with errors naming the ``layer`` and the argument ``name``.

    >>> from lie_nn import SO3
    >>> str(as_irreps([(2, SO3(0)), SO3(1)])), str(as_irreps("2x0e + 1o"))
    ('2xSO3(0)+1xSO3(1)', '2x0e+1x1o')
    """
    return _as_irreps(value, name, layer)


def irreps_to_tensor_shape(irreps: Any, batch_shape: tuple[int, ...] = ()) -> tuple[int, ...]:
    """Shape ``(*batch_shape, dim)`` of a feature tensor.

    >>> irreps_to_tensor_shape("4x2e", (10,))
    (10, 20)
    """
    return (*batch_shape, as_irreps(irreps).dim)


def block_view(x: torch.Tensor, irreps: Any, index: int) -> torch.Tensor:
    """Block ``index`` of a feature ``x`` ``(..., dim)`` as a ``(..., mul, ir.dim)`` view.

    >>> block_view(torch.zeros(5, 11), "2x0e + 3x1o", 1).shape
    torch.Size([5, 3, 3])
    """
    irreps = as_irreps(irreps)
    item = irreps[index]
    return x[..., irreps.slices()[index]].unflatten(-1, (item.mul, item.ir.dim))


def is_trivial(ir: Irrep) -> bool:
    """True for the trivial irrep of its group."""
    return ir == ir.trivial()


def real_dtype(dtype: torch.dtype) -> torch.dtype:
    """``float32`` for ``complex64`` / ``float32``, ``float64`` for ``complex128`` / ``float64``, etc."""
    return torch.empty((), dtype=dtype).real.dtype if dtype.is_complex else dtype


LOW_PRECISION = (torch.float16, torch.bfloat16)
_COMPLEX = {torch.float64: torch.complex128, torch.float32: torch.complex64}


def complex_dtype(dtype: torch.dtype, layer: str = "lie_nn.nn") -> torch.dtype:
    """The complex dtype with the precision of ``dtype``; ``TypeError`` for half precision (complex
    features have float32 / float64 precision only: no silent promotion of float16 / bfloat16)."""
    if dtype in (torch.complex64, torch.complex128):
        return dtype
    if dtype not in _COMPLEX:
        raise TypeError(f"{layer}: this layer's coefficients are complex and complex features need "
                        f"float32 or float64 precision, got {dtype}")
    return _COMPLEX[dtype]


def check_tensor(x: object, name: str, layer: str) -> None:
    """``TypeError`` unless ``x`` is a float (float16 / bfloat16 / float32 / float64) or complex64 /
    complex128 tensor."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{layer}: {name} must be a torch.Tensor, got {type(x).__name__}")
    if not (x.dtype.is_floating_point or x.dtype in (torch.complex64, torch.complex128)):
        raise TypeError(f"{layer}: {name} must be a float or complex64 / complex128 tensor, "
                        f"got dtype {x.dtype}")


def check_features(x: object, dim: int, name: str, layer: str) -> None:
    """Raise ``TypeError`` / ``ValueError`` unless ``x`` is a float / complex tensor ``(..., dim)``."""
    check_tensor(x, name, layer)
    if x.ndim == 0 or x.shape[-1] != dim:
        raise ValueError(f"{layer}: {name} must have shape (..., {dim}), got {tuple(x.shape)}")


def sign_character(ir: Irrep) -> bool:
    """True for a one-dimensional irrep on which the group acts only by ``±1`` (e.g. O(3)'s ``0o``)."""
    if ir.dim != 1:
        return False
    x, d = np.asarray(ir.algebra()), np.asarray(ir.discrete_generators())
    return bool(np.all(x == 0) and np.all(np.isin(d, (1.0, -1.0))))
