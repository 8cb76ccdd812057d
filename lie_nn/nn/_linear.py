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

from typing import Any

import torch

from lie_nn._src.irrep import Irrep
from lie_nn.nn._layout import (
    as_irreps,
    check_features,
    irreps_dim,
    irreps_slices,
    is_trivial,
    real_dtype,
)

__all__ = ["Linear"]


class Linear(torch.nn.Module):
    r"""Equivariant linear map between two representations ``⊕ mul × ir`` of one group.

    One matrix product per distinct output irrep type (all input blocks of that irrep are
    concatenated along the channel axis).  ``bias=True`` adds a learnable bias (initialised to zero)
    to the trivial-irrep output channels only.  Features are ``(..., dim)`` in the mul-major layout of
    :mod:`lie_nn.nn._layout`; complex features are accepted (the real weights are promoted).

    >>> from lie_nn._src.groups.so3 import SO3
    >>> lin = Linear([(8, SO3(0)), (4, SO3(1))], [(2, SO3(0)), (3, SO3(1)), (1, SO3(2))])
    >>> lin.weight_numel, lin(torch.randn(5, 20)).shape
    (28, torch.Size([5, 16]))
    """

    def __init__(self, irreps_in: Any, irreps_out: Any, *, bias: bool = False,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        dtype = dtype or torch.get_default_dtype()
        self.irreps_in = as_irreps(irreps_in, "irreps_in")
        self.irreps_out = as_irreps(irreps_out, "irreps_out")
        if self.irreps_in and self.irreps_out:
            try:
                self.irreps_in[0].ir.check_same_group(self.irreps_out[0].ir)
            except TypeError as err:
                raise TypeError(f"Linear: {err}") from None
        self.dim_in, self.dim_out = irreps_dim(self.irreps_in), irreps_dim(self.irreps_out)
        slices_in, slices_out = irreps_slices(self.irreps_in), irreps_slices(self.irreps_out)
        types: list[Irrep] = []
        for item in self.irreps_out:
            if item.ir not in types and item.mul > 0:
                types.append(item.ir)
        # per irrep type: (d, [(slice_in, mul)], [(out index, mul)], weight offset, fan_in)
        self._groups: list[tuple[int, list[tuple[slice, int]], list[tuple[int, int]], int, int]] = []
        offset = 0
        for ir in types:
            ins = [(sl, m.mul) for m, sl in zip(self.irreps_in, slices_in, strict=True)
                   if m.ir == ir and m.mul]
            outs = [(k, m.mul) for k, m in enumerate(self.irreps_out) if m.ir == ir and m.mul]
            fan_in, fan_out = sum(u for _, u in ins), sum(w for _, w in outs)
            if fan_in == 0:
                continue
            self._groups.append((ir.dim, ins, outs, offset, fan_in))
            offset += fan_in * fan_out
        self.weight_numel = offset
        self.weight = torch.nn.Parameter(torch.randn(offset, dtype=dtype))
        self._bias_slices: list[tuple[int, int]] = []
        n_bias = 0
        for k, item in enumerate(self.irreps_out):
            if bias and item.mul and is_trivial(item.ir):
                self._bias_slices.append((k, n_bias))
                n_bias += item.mul
        self.bias = torch.nn.Parameter(torch.zeros(n_bias, dtype=dtype)) if bias else None
        self._out_shapes = [(sl, m.mul, m.ir.dim) for m, sl in zip(self.irreps_out, slices_out, strict=True)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (..., dim_in)`` → ``(..., dim_out)``."""
        check_features(x, self.dim_in, "x", "Linear")
        shape = x.shape[:-1]
        x = x.reshape(-1, self.dim_in)
        batch = x.shape[0]
        dtype = torch.promote_types(x.dtype, self.weight.dtype) if not x.is_complex() else x.dtype
        x = x.to(dtype)
        weight = self.weight.to(real_dtype(dtype))
        blocks: list[torch.Tensor | None] = [None] * len(self.irreps_out)
        for d, ins, outs, offset, fan_in in self._groups:
            xs = [x[:, sl].view(batch, u, d) for sl, u in ins]
            xg = xs[0] if len(xs) == 1 else torch.cat(xs, dim=1)
            fan_out = sum(w for _, w in outs)
            w = weight[offset : offset + fan_in * fan_out].view(fan_in, fan_out) * fan_in**-0.5
            y = torch.einsum("bud,uw->bwd", xg, w.to(dtype))
            start = 0
            for k, mul in outs:
                blocks[k] = y[:, start : start + mul].reshape(batch, mul * d)
                start += mul
        if self.bias is not None:
            for k, b0 in self._bias_slices:
                mul = self.irreps_out[k].mul
                bias = self.bias[b0 : b0 + mul].to(real_dtype(dtype))
                base = blocks[k]
                blocks[k] = bias.expand(batch, mul).to(dtype) if base is None else base + bias
        pieces = [x.new_zeros(batch, m * d) if b is None else b
                  for b, (_, m, d) in zip(blocks, self._out_shapes, strict=True)]
        if not pieces:
            return x.new_zeros(*shape, 0)
        return torch.cat(pieces, dim=-1).reshape(*shape, self.dim_out)

    def extra_repr(self) -> str:
        return f"weight_numel={self.weight_numel}, bias={self.bias is not None}"
