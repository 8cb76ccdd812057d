"""``CGModule``: the one torch base class that holds a descriptor's coefficient blocks as buffers.

Layers register numpy coefficient arrays (real or complex, float64 masters) and index arrays and get
back a typed reference (:class:`CoefficientRef` / :class:`IndexRef`); they read them with
:meth:`CGModule.cg` / :meth:`CGModule.index`.  Buffer names are an internal detail of this module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from lie_nn.nn._layout import complex_dtype, real_dtype

__all__ = ["CGModule", "CoefficientRef", "IndexRef", "compute_dtype"]


@dataclass(frozen=True)
class CoefficientRef:
    """Reference to a coefficient buffer of a :class:`CGModule` (``is_complex``: stored as (re, im))."""

    slot: int
    is_complex: bool


@dataclass(frozen=True)
class IndexRef:
    """Reference to an integer index buffer of a :class:`CGModule`."""

    slot: int


class CGModule(torch.nn.Module):
    """Module with coefficient buffers that survive dtype changes without loss of precision.

    Coefficients are non-persistent buffers (``.to(device)`` moves them; ``state_dict`` does not
    store them).  Complex coefficients are stored as stacked ``(real, imag)`` so ``module.double()``
    never drops an imaginary part, and every conversion re-reads a float64 master copy
    (``.float().double()`` is lossless).

    >>> m = CGModule()
    >>> ref = m.register_cg(np.eye(2) * 1j, torch.float32)
    >>> m.cg(ref, torch.complex64).dtype, ref.is_complex
    (torch.complex64, True)
    """

    def __init__(self) -> None:
        super().__init__()
        self._cg_masters: list[np.ndarray] = []
        self._n_index = 0
        self._any_complex = False

    @staticmethod
    def _cg_name(slot: int) -> str:
        return f"_coefficients_{slot}"

    @staticmethod
    def _index_name(slot: int) -> str:
        return f"_indices_{slot}"

    def register_cg(self, array: np.ndarray, dtype: torch.dtype) -> CoefficientRef:
        """Register ``array`` (real or complex) as a buffer of real precision ``dtype``."""
        array = np.asarray(array)
        is_complex = bool(np.iscomplexobj(array) and np.any(np.imag(array) != 0))
        master = np.stack([array.real, array.imag]) if is_complex else np.real(array)
        ref = CoefficientRef(len(self._cg_masters), is_complex)
        self._any_complex = self._any_complex or is_complex
        self._cg_masters.append(np.array(master, dtype=np.float64, order="C", copy=True))
        self.register_buffer(self._cg_name(ref.slot), torch.as_tensor(self._cg_masters[-1], dtype=dtype),
                             persistent=False)
        return ref

    def register_index(self, values: Sequence[int]) -> IndexRef:
        """Register integer ``values`` as a ``long`` buffer (moves with the module, never cast)."""
        ref = IndexRef(self._n_index)
        self._n_index += 1
        self.register_buffer(self._index_name(ref.slot), torch.tensor(list(values), dtype=torch.long),
                             persistent=False)
        return ref

    def cg(self, ref: CoefficientRef, dtype: torch.dtype) -> torch.Tensor:
        """Coefficients ``ref`` in the computation dtype ``dtype`` (complex when they are complex)."""
        buf = self._buffers[self._cg_name(ref.slot)].to(real_dtype(dtype))
        return torch.complex(buf[0], buf[1]) if ref.is_complex else buf.to(dtype)

    def index(self, ref: IndexRef) -> torch.Tensor:
        return self._buffers[self._index_name(ref.slot)]

    @property
    def cg_is_complex(self) -> bool:
        """True when some registered coefficient block is complex (features then become complex)."""
        return self._any_complex

    def _apply(self, fn: Callable, recurse: bool = True) -> CGModule:  # type: ignore[override]
        super()._apply(fn, recurse)
        for slot, master in enumerate(self._cg_masters):
            name = self._cg_name(slot)
            buf = self._buffers.get(name)
            if buf is not None and buf.is_floating_point() and buf.device.type != "meta":
                self._buffers[name] = torch.as_tensor(master, dtype=buf.dtype, device=buf.device)
        return self


def compute_dtype(module: CGModule, *xs: torch.Tensor) -> torch.dtype:
    """Promoted dtype of the inputs, made complex when the module's coefficients are complex."""
    dtype = xs[0].dtype
    for x in xs[1:]:
        dtype = torch.promote_types(dtype, x.dtype)
    return complex_dtype(dtype, type(module).__name__) if module.cg_is_complex else dtype
