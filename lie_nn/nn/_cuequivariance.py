r"""Run lie_nn layers through cuEquivariance (``cuequivariance_torch``): same call, same weights.

:func:`to_cuequivariance` turns a :class:`~lie_nn.nn.ChannelwiseTensorProduct`,
:class:`~lie_nn.nn.TensorProduct` or :class:`~lie_nn.nn.SymmetricContraction` into a module with the
same ``forward`` signature and the *same* weight parameter (shared, lie_nn's layout), executed by
``cuequivariance_torch.SegmentedPolynomial`` on the polynomial from
:func:`lie_nn._src.descriptors.cuequivariance.to_cue`.  Inputs are permuted from lie_nn's ``mul_ir``
layout to cuEquivariance's ``ir_mul`` (one gather) and outputs back.  With ``cuequivariance-ops-torch``
on a GPU the fused CUDA kernels run (``method="uniform_1d"`` / ``"fused_tp"``); otherwise the
``"naive"`` torch method — lie_nn's own layer stays the default path everywhere.

>>> import torch, lie_nn as lnn
>>> tp = lnn.nn.ChannelwiseTensorProduct([(4, lnn.SO3(1))], [lnn.SO3(1)], dtype=torch.float64)
>>> cue_tp = to_cuequivariance(tp)  # doctest: +SKIP
>>> x1, x2 = torch.randn(3, 12, dtype=torch.float64), torch.randn(3, 3, dtype=torch.float64)
>>> torch.allclose(cue_tp(x1, x2), tp(x1, x2))  # doctest: +SKIP
True
"""

from __future__ import annotations

from typing import Any

import torch

from lie_nn._src.descriptors.cuequivariance import ir_mul_permutation, to_cue
from lie_nn._src.irreps import Irreps
from lie_nn.nn._layout import check_features
from lie_nn.nn._symmetric_contraction import SymmetricContraction
from lie_nn.nn._tensor_product import ChannelwiseTensorProduct, TensorProduct, _weights

__all__ = ["CueSymmetricContraction", "CueTensorProduct", "to_cuequivariance"]


def _cuet() -> Any:
    try:
        import cuequivariance_torch
    except ImportError as err:
        raise ImportError("to_cuequivariance needs `pip install cuequivariance cuequivariance-torch` "
                          "(or `pip install lie_nn[gpu]`); add cuequivariance-ops-torch-cu12 for the "
                          "CUDA kernels") from err
    return cuequivariance_torch


def kernels_available() -> bool:
    """True when ``cuequivariance_ops_torch`` (the CUDA kernels) imports and a GPU is visible."""
    try:
        import cuequivariance_ops_torch  # noqa: F401
    except ImportError:
        return False
    return torch.cuda.is_available()


def _method(method: str, kernel: str) -> str:
    if method == "auto":
        return kernel if kernels_available() else "naive"
    if method not in ("naive", "uniform_1d", "fused_tp", "indexed_linear"):
        raise ValueError(f"to_cuequivariance: unknown method {method!r} (auto, naive, uniform_1d, fused_tp)")
    return method


class _CueModule(torch.nn.Module):
    """Holds the cuEquivariance module and the mul_ir ↔ ir_mul index maps as buffers."""

    def _setup(self, layer: torch.nn.Module, polynomial: Any, method: str, ins: list[Irreps], out: Irreps
               ) -> None:
        self.layer_name = type(layer).__name__
        self.descriptor = layer.descriptor
        tensors = [*layer.parameters(), *layer.buffers()]
        device = tensors[0].device if tensors else None
        self.polynomial = _cuet().SegmentedPolynomial(polynomial, method=method).to(device)
        self.method = self.polynomial.method
        for k, irreps in enumerate(ins):
            perm = torch.as_tensor(ir_mul_permutation(irreps), device=device)
            self.register_buffer(f"_perm_in{k}", perm, persistent=False)
        perm = torch.argsort(torch.as_tensor(ir_mul_permutation(out), device=device))
        self.register_buffer("_perm_out", perm, persistent=False)

    def _run(self, w: torch.Tensor, xs: list[torch.Tensor], w_index: torch.Tensor | None = None
             ) -> torch.Tensor:
        inputs = [w] + [x.index_select(-1, getattr(self, f"_perm_in{k}")) for k, x in enumerate(xs)]
        indices = {} if w_index is None else {0: w_index}
        [out] = self.polynomial(inputs, input_indices=indices)
        return out.index_select(-1, self._perm_out)

    def extra_repr(self) -> str:
        return f"{self.layer_name}, method={self.method!r}"


class CueTensorProduct(_CueModule):
    """A (channel-wise) tensor product executed by cuEquivariance; ``forward(x1, x2, weight=None)``."""

    def __init__(self, layer: ChannelwiseTensorProduct | TensorProduct, method: str = "auto") -> None:
        super().__init__()
        self.irreps_in1, self.irreps_in2 = layer.irreps_in1, layer.irreps_in2
        self.irreps_out = layer.irreps_out
        self.dim_in1, self.dim_in2 = self.irreps_in1.dim, self.irreps_in2.dim
        self.dim_out = self.irreps_out.dim
        self.weight_numel, self.internal_weights = layer.weight_numel, layer.internal_weights
        self.weight = layer.weight  # shared Parameter (or None for external weights)
        kernel = "uniform_1d" if isinstance(layer, ChannelwiseTensorProduct) else "fused_tp"
        self._setup(layer, to_cue(layer.descriptor), _method(method, kernel),
                    [self.irreps_in1, self.irreps_in2], self.irreps_out)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """``x1 (..., dim1)``, ``x2 (..., dim2)``, optional ``weight (..., weight_numel)`` →
        ``(..., dim_out)``."""
        check_features(x1, self.irreps_in1.dim, "x1", self.layer_name)
        check_features(x2, self.irreps_in2.dim, "x2", self.layer_name)
        if x1.is_complex() or x2.is_complex():
            raise TypeError(f"{self.layer_name} through cuEquivariance takes real inputs only")
        shape = torch.broadcast_shapes(x1.shape[:-1], x2.shape[:-1])
        dtype = torch.promote_types(x1.dtype, x2.dtype)
        x1 = x1.to(dtype).expand(*shape, x1.shape[-1]).reshape(-1, x1.shape[-1])
        x2 = x2.to(dtype).expand(*shape, x2.shape[-1]).reshape(-1, x2.shape[-1])
        w = _weights(self, weight, x1.shape[0]).to(dtype)
        if w.shape[0] not in (1, x1.shape[0]):
            raise ValueError(f"{self.layer_name}: weight batch {w.shape[0]} does not match the "
                             f"{x1.shape[0]} inputs")
        return self._run(w, [x1, x2]).reshape(*shape, self.irreps_out.dim)


class CueSymmetricContraction(_CueModule):
    """A :class:`~lie_nn.nn.SymmetricContraction` executed by cuEquivariance; ``forward(x, y=None)``."""

    def __init__(self, layer: SymmetricContraction, method: str = "auto") -> None:
        super().__init__()
        self.irreps_in, self.irreps_out = layer.irreps_in, layer.irreps_out
        self.num_elements, self.mul = layer.num_elements, layer.mul
        self.weight = layer.weight  # shared Parameter, (num_elements or 1, K, mul)
        self._check_y = layer._check_y
        self._setup(layer, to_cue(layer.descriptor), _method(method, "uniform_1d"), [self.irreps_in],
                    self.irreps_out)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """``x (batch, dim_in)``, ``y`` element indices ``(batch,)`` or weights ``(batch, E)`` →
        ``(batch, dim_out)``."""
        if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[-1] != self.irreps_in.dim:
            raise ValueError(f"SymmetricContraction through cuEquivariance takes x of shape (batch, "
                             f"{self.irreps_in.dim}), got {getattr(x, 'shape', type(x).__name__)}")
        y = self._check_y(y, x.shape[0])
        w = self.weight.to(x.dtype).reshape(self.weight.shape[0], -1)
        if y is None:
            return self._run(w, [x])
        if y.dtype.is_floating_point:
            return self._run(y.to(x.dtype) @ w, [x])
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= self.num_elements):
            raise ValueError(f"SymmetricContraction: element indices must lie in [0, {self.num_elements})")
        return self._run(w, [x], w_index=y)


def to_cuequivariance(layer: torch.nn.Module, method: str = "auto") -> torch.nn.Module:
    """The cuEquivariance-executed twin of ``layer`` (shares its weight ``Parameter``).

    ``method``: ``"auto"`` (CUDA kernels when ``cuequivariance-ops-torch`` and a GPU are present, else
    ``"naive"``), or any ``cuequivariance_torch.SegmentedPolynomial`` method.  Real coefficients only.
    """
    if isinstance(layer, (ChannelwiseTensorProduct, TensorProduct)):
        return CueTensorProduct(layer, method)
    if isinstance(layer, SymmetricContraction):
        return CueSymmetricContraction(layer, method)
    raise TypeError(f"to_cuequivariance: no cuEquivariance path for {type(layer).__name__} "
                    "(supported: ChannelwiseTensorProduct, TensorProduct, SymmetricContraction)")
