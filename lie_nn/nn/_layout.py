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

The helpers here accept a representation as an ``Irreps`` object or any sequence of
:class:`~lie_nn._src.irrep.MulIrrep` / ``(mul, ir)`` pairs / bare irreps (multiplicity 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from lie_nn._src.irrep import Irrep, MulIrrep
from lie_nn._src.irreps import Irreps

__all__ = [
    "as_irreps",
    "as_mul_irreps",
    "block_view",
    "check_features",
    "check_tensor",
    "complex_dtype",
    "irreps_dim",
    "irreps_is_real",
    "irreps_slices",
    "irreps_str",
    "irreps_to_tensor_shape",
    "is_trivial",
    "real_dtype",
]

MulIrreps = tuple[MulIrrep, ...]


def as_mul_irreps(value: Any, name: str = "irreps") -> MulIrreps:
    """Normalise a representation ``⊕ mul × ir`` to a tuple of :class:`MulIrrep` (order kept).

    Accepts an ``Irreps`` object, a single ``Irrep`` / ``MulIrrep``, or a sequence of ``MulIrrep``,
    ``(mul, ir)`` pairs and bare irreps.  All irreps must belong to one group.

    >>> from lie_nn._src.groups.so3 import SO3
    >>> [str(m) for m in as_mul_irreps([(2, SO3(0)), SO3(1)])]
    ['2xSO3(0)', '1xSO3(1)']
    """
    if isinstance(value, (Irrep, MulIrrep)):
        value = [value]
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(
            f"{name} must be an Irreps or a sequence of MulIrrep / (mul, ir) pairs, "
            f"got {type(value).__name__}"
        )
    out = []
    for item in value:
        if isinstance(item, MulIrrep):
            out.append(item)
        elif isinstance(item, Irrep):
            out.append(MulIrrep(1, item))
        elif isinstance(item, tuple) and len(item) == 2:
            out.append(MulIrrep(item[0], item[1]))
        else:
            raise TypeError(f"{name}: cannot interpret {item!r} as a MulIrrep")
    for item in out[1:]:
        try:
            out[0].ir.check_same_group(item.ir)
        except TypeError as err:
            raise TypeError(f"{name}: {err}") from None
    return tuple(out)


def as_irreps(value: Any, name: str = "irreps") -> Irreps:
    """:func:`as_mul_irreps` wrapped in an :class:`~lie_nn._src.irreps.Irreps` (order and blocks kept).

    >>> from lie_nn._src.groups.so3 import SO3
    >>> str(as_irreps([(2, SO3(0)), SO3(1)]))
    '2xSO3(0)+1xSO3(1)'
    """
    return Irreps(as_mul_irreps(value, name))


def irreps_dim(items: MulIrreps) -> int:
    """Total dimension ``Σ mul · ir.dim``."""
    return sum(item.dim for item in items)


def irreps_slices(items: MulIrreps) -> list[slice]:
    """Slice of every block in the last axis of a feature tensor.

    >>> from lie_nn._src.groups.so3 import SO3
    >>> irreps_slices(as_mul_irreps([(2, SO3(0)), (3, SO3(1))]))
    [slice(0, 2, None), slice(2, 11, None)]
    """
    out, start = [], 0
    for item in items:
        out.append(slice(start, start + item.dim))
        start += item.dim
    return out


def irreps_str(items: MulIrreps) -> str:
    """``"2xSO3(0)+1xSO3(1)"`` (``"0"`` for the empty representation)."""
    return "+".join(str(item) for item in items) or "0"


def irreps_to_tensor_shape(items: MulIrreps, batch_shape: tuple[int, ...] = ()) -> tuple[int, ...]:
    """Shape ``(*batch_shape, dim)`` of a feature tensor.

    >>> from lie_nn._src.groups.so3 import SO3
    >>> irreps_to_tensor_shape(as_mul_irreps([(4, SO3(2))]), (10,))
    (10, 20)
    """
    return (*batch_shape, irreps_dim(items))


def block_view(x: torch.Tensor, items: MulIrreps, index: int) -> torch.Tensor:
    """Block ``index`` of a feature ``x`` ``(..., dim)`` as a ``(..., mul, ir.dim)`` view.

    >>> from lie_nn._src.groups.so3 import SO3
    >>> items = as_mul_irreps([(2, SO3(0)), (3, SO3(1))])
    >>> block_view(torch.zeros(5, 11), items, 1).shape
    torch.Size([5, 3, 3])
    """
    sl = irreps_slices(items)[index]
    item = items[index]
    return x[..., sl].unflatten(-1, (item.mul, item.ir.dim))


def is_trivial(ir: Irrep) -> bool:
    """True for the trivial irrep of its group."""
    return ir == ir.trivial()


def irreps_is_real(*groups: MulIrreps) -> bool:
    """True when every irrep in every given representation has a real basis."""
    return all(item.ir.is_real for items in groups for item in items)


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


def unitary(ir: Irrep, tol: float = 1e-10) -> bool:
    """Anti-Hermitian generators and unitary discrete generators (so the Euclidean norm is invariant)."""
    x, d = np.asarray(ir.algebra()), np.asarray(ir.discrete_generators())
    if np.abs(x + np.conj(np.swapaxes(x, 1, 2))).max(initial=0.0) > tol * max(1.0, float(np.abs(x).max())):
        return False
    eye = np.eye(ir.dim)
    return bool(np.abs(np.conj(np.swapaxes(d, 1, 2)) @ d - eye).max(initial=0.0) <= tol)


def sign_character(ir: Irrep) -> bool:
    """True for a one-dimensional irrep on which the group acts only by ``±1`` (e.g. O(3)'s ``0o``)."""
    if ir.dim != 1:
        return False
    x, d = np.asarray(ir.algebra()), np.asarray(ir.discrete_generators())
    return bool(np.all(x == 0) and np.all(np.isin(d, (1.0, -1.0))))
