r"""Descriptor of the fully connected tensor product ``irreps_in1 ⊗ irreps_in2 → irreps_out`` (torch-free).

Every :class:`TensorProductPath` ``p = (in1, in2, out, copy)`` allowed by the selection rule couples
block ``in1`` (``mul1 × ir1``) and block ``in2`` (``mul2 × ir2``) into block ``out``
(``mul_out × ir_out``) through one copy ``C`` of the normalised Clebsch–Gordan coefficients
(``coefficients[p.block]``, shape ``(d1, d2, d_out)``, ``|C|_F^2 = d_out``):

.. math:: z_{out, w c} \mathrel{+}= \alpha_p \sum_{u v a b} W_{p, u v w}\, C_{a b c}\,
          x^{(1)}_{in1, u a}\, x^{(2)}_{in2, v b},
          \qquad \alpha_p = \mathrm{fan\_in}_{out}^{-1/2}

with ``fan_in_out = Σ_{p → out} mul1 · mul2`` and ``W_p`` the ``(mul1, mul2, mul_out)`` row-major
slice of the weights at ``p.weight_offset``.  Paths are ordered by ``in1``, ``in2``, ``out``,
``copy`` (the weight layout).  Unit-variance inputs and ``N(0, 1)`` weights give unit-variance
outputs.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from lie_nn._src.descriptors._arguments import as_irreps, check_same_group
from lie_nn._src.descriptors.coefficients import CoefficientBlock, normalised_cg
from lie_nn._src.irreps import Irreps

__all__ = ["TensorProductDescriptor", "TensorProductPath", "tensor_product_descriptor"]


@dataclass(frozen=True)
class TensorProductPath:
    """One CG copy ``copy`` from input blocks ``(in1, in2)`` to output block ``out``."""

    in1: int
    in2: int
    out: int
    copy: int
    block: int  # index into the descriptor's coefficients: (d1, d2, d_out)
    weight_offset: int
    weight_shape: tuple[int, int, int]  # (mul1, mul2, mul_out)
    normalisation: float  # fan_in(out) ** -0.5

    @property
    def weight_numel(self) -> int:
        return self.weight_shape[0] * self.weight_shape[1] * self.weight_shape[2]


@dataclass(frozen=True)
class TensorProductDescriptor:
    """Paths and CG blocks of :func:`tensor_product_descriptor` (mul-major features)."""

    irreps_in1: Irreps
    irreps_in2: Irreps
    irreps_out: Irreps
    paths: tuple[TensorProductPath, ...]
    coefficients: tuple[CoefficientBlock, ...]
    weight_numel: int

    def __repr__(self) -> str:
        return (f"TensorProductDescriptor({self.irreps_in1} ⊗ {self.irreps_in2} -> {self.irreps_out}, "
                f"paths={len(self.paths)}, weight_numel={self.weight_numel})")


def tensor_product_descriptor(irreps_in1: Any, irreps_in2: Any, irreps_out: Any) -> TensorProductDescriptor:
    """Cached :class:`TensorProductDescriptor` of the fully connected tensor product.

    >>> from lie_nn import SU2
    >>> d = tensor_product_descriptor([(2, SU2("1/2"))], [(1, SU2("1/2"))], [(3, SU2(0)), (1, SU2(1))])
    >>> [(p.out, p.weight_shape, p.block) for p in d.paths], d.coefficients[0].shape
    ([(0, (2, 1, 3), 0), (1, (2, 1, 1), 1)], (2, 2, 1))
    """
    owner = "TensorProduct"
    irreps_in1 = as_irreps(irreps_in1, "irreps_in1", owner)
    irreps_in2 = as_irreps(irreps_in2, "irreps_in2", owner)
    irreps_out = as_irreps(irreps_out, "irreps_out", owner)
    check_same_group([m.ir for m in (*irreps_in1, *irreps_in2, *irreps_out)], owner)
    return _tensor_product_descriptor(irreps_in1, irreps_in2, irreps_out)


@functools.lru_cache(maxsize=256)
def _tensor_product_descriptor(irreps_in1: Irreps, irreps_in2: Irreps,
                               irreps_out: Irreps) -> TensorProductDescriptor:
    fan_in = [0] * len(irreps_out)
    raw = []  # (i, j, k, m, (ir1, ir2, ir_out, m))
    for i, m1 in enumerate(irreps_in1):
        for j, m2 in enumerate(irreps_in2):
            for k, mo in enumerate(irreps_out):
                if m1.mul * m2.mul * mo.mul == 0:
                    continue
                copies = normalised_cg(m1.ir, m2.ir, mo.ir).shape[0]
                raw += [(i, j, k, m) for m in range(copies)]
                fan_in[k] += copies * m1.mul * m2.mul
    blocks: dict[CoefficientBlock, int] = {}
    coefficients: list[CoefficientBlock] = []
    paths, offset = [], 0
    for i, j, k, m in raw:
        block = CoefficientBlock(normalised_cg(irreps_in1[i].ir, irreps_in2[j].ir, irreps_out[k].ir)[m])
        if block not in blocks:  # equal blocks (e.g. 0e⊗0e→0e and 0o⊗0o→0e) are stored once
            blocks[block] = len(coefficients)
            coefficients.append(block)
        shape = (irreps_in1[i].mul, irreps_in2[j].mul, irreps_out[k].mul)
        paths.append(TensorProductPath(i, j, k, m, blocks[block], offset, shape, fan_in[k] ** -0.5))
        offset += shape[0] * shape[1] * shape[2]
    return TensorProductDescriptor(irreps_in1, irreps_in2, irreps_out, tuple(paths), tuple(coefficients),
                                   offset)
