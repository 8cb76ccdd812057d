r"""Equivariant linear layer for any group.

By Schur's lemma an equivariant linear map ``⊕ mul_in × ir → ⊕ mul_out × ir`` only mixes channels
of equal irreps, acting as the identity on the irrep index:

.. math:: y_{k, w i} = \frac{1}{\sqrt{\mathrm{fan\_in}_k}}
          \sum_{l : ir_l = ir_k} \sum_u W^{(lk)}_{u w} x_{l, u i}
          \; (+ b_{k, w} \text{ if } ir_k \text{ is trivial})

with ``fan_in_k = Σ_{l: ir_l = ir_k} mul_l``.  (For a complex irrep equivalent to but not equal to
another one — e.g. a dual in another basis — no map is created: only *equal* irreps are paired.)
Weights are real and initialised ``N(0, 1)``; the ``1/sqrt(fan_in)`` factor is applied in ``forward``
("component" normalisation), so unit-variance inputs give unit-variance outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from lie_nn._src.descriptors.linear import LinearDescriptor, linear_descriptor
from lie_nn.nn._layout import LOW_PRECISION, check_features, real_dtype

__all__ = ["Linear"]


@dataclass(frozen=True)
class _TypePlan:
    """One :class:`~lie_nn.LinearPath` resolved to slices: inputs ``(slice, mul)``, outputs ``(k, mul)``."""

    d: int
    inputs: tuple[tuple[slice, int], ...]
    outputs: tuple[tuple[int, int], ...]
    weight_offset: int
    fan_in: int
    fan_out: int
    normalisation: float


class Linear(torch.nn.Module):
    r"""Equivariant linear map between two representations ``⊕ mul × ir`` of one group.

    One matrix product per distinct output irrep type (all input blocks of that irrep are
    concatenated along the channel axis).  ``bias=True`` adds a learnable bias (initialised to zero)
    to the trivial-irrep output channels only.  Features are ``(..., dim)`` in the mul-major layout of
    :mod:`lie_nn.nn._layout`; complex features are accepted (the real weights are promoted).

    >>> from lie_nn import SO3
    >>> lin = Linear([(8, SO3(0)), (4, SO3(1))], [(2, SO3(0)), (3, SO3(1)), (1, SO3(2))])
    >>> lin.weight_numel, lin(torch.randn(5, 20)).shape
    (28, torch.Size([5, 16]))
    """

    def __init__(self, irreps_in: Any, irreps_out: Any, *, bias: bool = False,
                 dtype: torch.dtype | None = None) -> None:
        descriptor = linear_descriptor(irreps_in, irreps_out, bias=bias)
        self._build(descriptor, dtype)

    @classmethod
    def from_descriptor(cls, descriptor: LinearDescriptor, *, dtype: torch.dtype | None = None) -> Linear:
        """The layer executing ``descriptor`` (see :func:`lie_nn.linear_descriptor`)."""
        if not isinstance(descriptor, LinearDescriptor):
            raise TypeError(f"expected a LinearDescriptor, got {type(descriptor).__name__}")
        module = cls.__new__(cls)
        module._build(descriptor, dtype)
        return module

    def _build(self, descriptor: LinearDescriptor, dtype: torch.dtype | None) -> None:
        super().__init__()
        dtype = dtype or torch.get_default_dtype()
        self.descriptor = descriptor
        self.irreps_in, self.irreps_out = descriptor.irreps_in, descriptor.irreps_out
        self.dim_in, self.dim_out = self.irreps_in.dim, self.irreps_out.dim
        slices_in, slices_out = self.irreps_in.slices(), self.irreps_out.slices()
        self._groups = [
            _TypePlan(p.ir.dim, tuple((slices_in[k], self.irreps_in[k].mul) for k in p.inputs),
                      tuple((k, self.irreps_out[k].mul) for k in p.outputs), p.weight_offset, *p.weight_shape,
                      p.normalisation)
            for p in descriptor.paths]
        self.weight_numel = descriptor.weight_numel
        self.weight = torch.nn.Parameter(torch.randn(descriptor.weight_numel, dtype=dtype))
        bias = torch.zeros(descriptor.bias_numel, dtype=dtype)
        self.bias = torch.nn.Parameter(bias) if descriptor.bias else None
        self._out_shapes = [(sl, m.mul, m.ir.dim) for m, sl in zip(self.irreps_out, slices_out, strict=True)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (..., dim_in)`` → ``(..., dim_out)``."""
        check_features(x, self.dim_in, "x", "Linear")
        shape = x.shape[:-1]
        x = x.reshape(-1, self.dim_in)
        batch = x.shape[0]
        if x.is_complex() or x.dtype in LOW_PRECISION:  # half precision stays half precision
            dtype = x.dtype
        else:
            dtype = torch.promote_types(x.dtype, self.weight.dtype)
        x = x.to(dtype)
        weight = self.weight.to(real_dtype(dtype))
        blocks: list[torch.Tensor | None] = [None] * len(self.irreps_out)
        for plan in self._groups:
            d = plan.d
            xs = [x[:, sl].view(batch, u, d) for sl, u in plan.inputs]
            xg = xs[0] if len(xs) == 1 else torch.cat(xs, dim=1)
            w0, fan_in, fan_out = plan.weight_offset, plan.fan_in, plan.fan_out
            w = weight[w0 : w0 + fan_in * fan_out].view(fan_in, fan_out) * plan.normalisation
            y = torch.einsum("bud,uw->bwd", xg, w.to(dtype))
            start = 0
            for k, mul in plan.outputs:
                blocks[k] = y[:, start : start + mul].reshape(batch, mul * d)
                start += mul
        if self.bias is not None:
            for slot in self.descriptor.biases:
                k, mul = slot.out, slot.mul
                bias = self.bias[slot.offset : slot.offset + mul].to(real_dtype(dtype))
                base = blocks[k]
                blocks[k] = bias.expand(batch, mul).to(dtype) if base is None else base + bias
        pieces = [x.new_zeros(batch, m * d) if b is None else b
                  for b, (_, m, d) in zip(blocks, self._out_shapes, strict=True)]
        if not pieces:
            return x.new_zeros(*shape, 0)
        return torch.cat(pieces, dim=-1).reshape(*shape, self.dim_out)

    def extra_repr(self) -> str:
        return f"weight_numel={self.weight_numel}, bias={self.bias is not None}"
