r"""Descriptor of the channel-wise ("uvu") tensor product, the message function of MACE (torch-free).

``irreps_in2`` has multiplicity 1 in every block (e.g. spherical harmonics).  Every
:class:`ChannelwisePath` ``p = (in1, in2, ir_out, copy)`` is its own output block
``irreps_out[p.out] = mul1 × ir_out``:

.. math:: z^{p}_{u k} = w_{p u} \sum_{a b} C_{a b k}\, x^{(1)}_{in1, u a}\, x^{(2)}_{in2, b}

with ``C = coefficients[p.block]`` ``(d1, d2, d_out)`` (normalised CG, ``|C|_F^2 = d_out``) and
``w_p = weight[p.weight_offset : p.weight_offset + mul1]``.  Paths (hence output blocks) are
ordered by ``in1``, then ``ir_out`` (canonical irrep order), then ``in2``, then ``copy``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from lie_nn._src.descriptors._arguments import as_irreps, check_same_group
from lie_nn._src.descriptors.coefficients import CoefficientBlock, normalised_cg
from lie_nn._src.irrep import Irrep, MulIrrep
from lie_nn._src.irreps import Irreps

__all__ = ["ChannelwisePath", "ChannelwiseTensorProductDescriptor", "allowed_outputs",
           "channelwise_tensor_product_descriptor"]


@dataclass(frozen=True)
class ChannelwisePath:
    """CG copy ``copy`` of ``irreps_in1[in1] ⊗ irreps_in2[in2] → ir_out``, written to block ``out``."""

    in1: int
    in2: int
    out: int
    copy: int
    block: int  # index into the descriptor's coefficients: (d1, d2, d_out)
    weight_offset: int
    weight_numel: int  # mul1: one weight per channel


@dataclass(frozen=True)
class ChannelwiseTensorProductDescriptor:
    """Paths and CG blocks of :func:`channelwise_tensor_product_descriptor` (mul-major features)."""

    irreps_in1: Irreps
    irreps_in2: Irreps
    irreps_out: Irreps
    paths: tuple[ChannelwisePath, ...]
    coefficients: tuple[CoefficientBlock, ...]
    weight_numel: int

    def __repr__(self) -> str:
        return (f"ChannelwiseTensorProductDescriptor({self.irreps_in1} ⊗ {self.irreps_in2} -> "
                f"{self.irreps_out}, paths={len(self.paths)}, weight_numel={self.weight_numel})")


def allowed_outputs(ir1: Irrep, ir2: Irrep, keep: tuple[Irrep, ...] | None = None) -> tuple[Irrep, ...]:
    """Irreps of ``ir1 ⊗ ir2`` (restricted to ``keep`` when given), in canonical order.

    When the group has no selection rule (a user-defined group), the candidates are ``keep`` itself
    (their CG multiplicity, possibly 0, is computed later); without ``keep`` that is a ``ValueError``.

    >>> from lie_nn import SO3
    >>> [str(ir) for ir in allowed_outputs(SO3(1), SO3(1))]
    ['SO3(0)', 'SO3(1)', 'SO3(2)']
    """
    try:
        found = {m.ir for m in ir1 * ir2 if m.mul > 0}
    except NotImplementedError as err:
        if keep is None:
            raise ValueError(f"the selection rule {ir1} ⊗ {ir2} is unknown; name the output irreps "
                             "explicitly (filter_ir_out)") from err
        found = set(keep)
    if keep is not None:
        found &= set(keep)
    return tuple(sorted(found, key=lambda ir: ir.sort_key()))


def channelwise_tensor_product_descriptor(irreps_in1: Any, irreps_in2: Any, filter_ir_out: Any = None
                                          ) -> ChannelwiseTensorProductDescriptor:
    """Cached :class:`ChannelwiseTensorProductDescriptor`; ``filter_ir_out`` (irreps or None) keeps
    only those output irreps.

    >>> from lie_nn import O3
    >>> d = channelwise_tensor_product_descriptor([(4, O3(0, 1)), (4, O3(1, -1))], [O3(0, 1), O3(1, -1)],
    ...                                           [O3(0, 1), O3(1, -1)])
    >>> str(d.irreps_out), d.weight_numel
    ('4x0e+4x1o+4x0e+4x1o', 16)
    """
    owner = "ChannelwiseTensorProduct"
    irreps_in1 = as_irreps(irreps_in1, "irreps_in1", owner)
    irreps_in2 = as_irreps(irreps_in2, "irreps_in2", owner)
    check_same_group([m.ir for m in (*irreps_in1, *irreps_in2)], owner)
    bad = [str(m) for m in irreps_in2 if m.mul != 1]
    if bad:
        raise ValueError(f"{owner} needs multiplicity 1 in irreps_in2 (like spherical harmonics), "
                         f"got {', '.join(bad)}")
    keep = None
    if filter_ir_out is not None:
        keep = tuple(sorted({m.ir for m in as_irreps(filter_ir_out, "filter_ir_out", owner)},
                            key=lambda ir: ir.sort_key()))
    return _channelwise_descriptor(irreps_in1, irreps_in2, keep)


@functools.lru_cache(maxsize=256)
def _channelwise_descriptor(irreps_in1: Irreps, irreps_in2: Irreps, keep: tuple[Irrep, ...] | None
                            ) -> ChannelwiseTensorProductDescriptor:
    blocks: dict[CoefficientBlock, int] = {}
    coefficients: list[CoefficientBlock] = []
    paths: list[ChannelwisePath] = []
    out: list[MulIrrep] = []
    offset = 0
    for i, m1 in enumerate(irreps_in1):
        if m1.mul == 0:
            continue
        candidates = []
        for j, m2 in enumerate(irreps_in2):
            for ir_out in allowed_outputs(m1.ir, m2.ir, keep):
                copies = normalised_cg(m1.ir, m2.ir, ir_out).shape[0]
                candidates += [(ir_out.sort_key(), j, m, ir_out) for m in range(copies)]
        candidates.sort(key=lambda c: c[:3])
        for _, j, m, ir_out in candidates:
            key = (m1.ir, irreps_in2[j].ir, ir_out, m)
            block = CoefficientBlock(normalised_cg(*key[:3])[m])
            if block not in blocks:  # equal blocks (e.g. 0e⊗0e→0e and 0o⊗0o→0e) are stored once
                blocks[block] = len(coefficients)
                coefficients.append(block)
            paths.append(ChannelwisePath(i, j, len(out), m, blocks[block], offset, m1.mul))
            out.append(MulIrrep(m1.mul, ir_out))
            offset += m1.mul
    return ChannelwiseTensorProductDescriptor(irreps_in1, irreps_in2, Irreps(out), tuple(paths),
                                              tuple(coefficients), offset)
