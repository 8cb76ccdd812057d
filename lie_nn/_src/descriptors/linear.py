r"""Descriptor of the equivariant linear map ``⊕ mul_in × ir → ⊕ mul_out × ir`` (torch-free).

By Schur's lemma an equivariant linear map only mixes channels of equal irreps and acts as the
identity on the irrep index.  For every irrep type ``ir`` of the output (one :class:`LinearPath`):

.. math:: y_{k, w i} = \frac{1}{\sqrt{\mathrm{fan\_in}}} \sum_{l \in \mathrm{inputs}} \sum_u
          W_{u w} \, x_{l, u i}, \qquad \mathrm{fan\_in} = \sum_{l \in \mathrm{inputs}} \mathrm{mul}_l

where ``u`` runs over the channels of all input blocks of type ``ir`` (concatenated in order) and
``w`` over those of all output blocks of type ``ir``; ``W`` is the ``(fan_in, fan_out)`` row-major
slice ``weight[weight_offset : weight_offset + fan_in · fan_out]``.  Bias slots add a learnable
constant to trivial-irrep output blocks.  No coefficient block is needed: the map is the identity
on the irrep index.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from lie_nn._src.descriptors._arguments import as_irreps, check_same_group
from lie_nn._src.irrep import Irrep
from lie_nn._src.irreps import Irreps

__all__ = ["BiasSlot", "LinearDescriptor", "LinearPath", "linear_descriptor"]


@dataclass(frozen=True)
class LinearPath:
    """The weight matrix of one irrep type: input blocks ``inputs`` → output blocks ``outputs``."""

    ir: Irrep
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    weight_offset: int
    weight_shape: tuple[int, int]  # (fan_in, fan_out)
    normalisation: float  # fan_in ** -0.5

    @property
    def weight_numel(self) -> int:
        return self.weight_shape[0] * self.weight_shape[1]


@dataclass(frozen=True)
class BiasSlot:
    """Bias ``bias[offset : offset + mul]`` added to the trivial-irrep output block ``out``."""

    out: int
    offset: int
    mul: int


@dataclass(frozen=True)
class LinearDescriptor:
    """Paths and bias slots of :func:`linear_descriptor`; features use the mul-major layout."""

    irreps_in: Irreps
    irreps_out: Irreps
    paths: tuple[LinearPath, ...]
    biases: tuple[BiasSlot, ...]
    weight_numel: int
    bias_numel: int
    bias: bool  # a bias parameter exists (possibly empty when no output block is trivial)

    def __repr__(self) -> str:
        return (f"LinearDescriptor({self.irreps_in} -> {self.irreps_out}, paths={len(self.paths)}, "
                f"weight_numel={self.weight_numel}, bias_numel={self.bias_numel})")


def linear_descriptor(irreps_in: Any, irreps_out: Any, *, bias: bool = False) -> LinearDescriptor:
    """Cached :class:`LinearDescriptor` of the equivariant linear map ``irreps_in → irreps_out``.

    >>> from lie_nn import SO3
    >>> d = linear_descriptor([(8, SO3(0)), (4, SO3(1))], [(2, SO3(0)), (3, SO3(1)), (1, SO3(2))])
    >>> d.weight_numel, [(p.inputs, p.outputs, p.weight_shape) for p in d.paths]
    (28, [((0,), (0,), (8, 2)), ((1,), (1,), (4, 3))])
    """
    irreps_in = as_irreps(irreps_in, "irreps_in", "Linear")
    irreps_out = as_irreps(irreps_out, "irreps_out", "Linear")
    check_same_group([m.ir for m in (*irreps_in, *irreps_out)], "Linear")
    return _linear_descriptor(irreps_in, irreps_out, bool(bias))


@functools.lru_cache(maxsize=256)
def _linear_descriptor(irreps_in: Irreps, irreps_out: Irreps, bias: bool) -> LinearDescriptor:
    types: list[Irrep] = []
    for item in irreps_out:
        if item.ir not in types and item.mul > 0:
            types.append(item.ir)
    paths, offset = [], 0
    for ir in types:
        ins = tuple(k for k, m in enumerate(irreps_in) if m.ir == ir and m.mul)
        outs = tuple(k for k, m in enumerate(irreps_out) if m.ir == ir and m.mul)
        fan_in, fan_out = sum(irreps_in[k].mul for k in ins), sum(irreps_out[k].mul for k in outs)
        if fan_in == 0:
            continue
        paths.append(LinearPath(ir, ins, outs, offset, (fan_in, fan_out), fan_in**-0.5))
        offset += fan_in * fan_out
    biases, n_bias = [], 0
    for k, item in enumerate(irreps_out):
        if bias and item.mul and item.ir == item.ir.trivial():
            biases.append(BiasSlot(k, n_bias, item.mul))
            n_bias += item.mul
    return LinearDescriptor(irreps_in, irreps_out, tuple(paths), tuple(biases), offset, n_bias, bias)
