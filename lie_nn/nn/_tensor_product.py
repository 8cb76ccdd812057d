r"""Equivariant tensor products for any group, built on the certified Clebsch–Gordan coefficients.

A *path* ``(i, j, ir_out, m)`` couples block ``i`` of the first input (``mul1 × ir1``) with block ``j``
of the second (``mul2 × ir2``) through copy ``m`` of the CG ``C ∈ (mul, d1, d2, d_out)`` of
``lie_nn._src.cg.clebsch_gordan(ir1, ir2, ir_out)``; every copy of a CG multiplicity (e.g. SU(3)
``8 ⊗ 8 → 8`` twice) is its own path with its own weights.

Normalisation.  Each CG copy is scaled to ``|C_m|_F^2 = d_out`` (a no-op for unitary irreps, where
``C_m`` is an isometry), so for independent unit-variance input components every output component of
one path has unit variance.  :class:`ChannelwiseTensorProduct` gives every path its own output block,
so with unit-variance weights the outputs have unit variance; :class:`TensorProduct` sums the paths
into an output block and divides by ``sqrt(fan_in)``, ``fan_in = Σ_paths mul1 · mul2``.

Weights are always real.  Real scalars on multiplicity channels commute with the group action (it
acts on the irrep index only), so they preserve equivariance in complex bases as well; for complex
features they are promoted to the feature dtype inside ``forward``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from typing import Any

import numpy as np
import torch

from lie_nn._src.descriptors.channelwise import (
    ChannelwisePath,
    ChannelwiseTensorProductDescriptor,
    allowed_outputs,
    channelwise_tensor_product_descriptor,
)
from lie_nn._src.descriptors.coefficients import normalised_cg
from lie_nn._src.descriptors.tensor_product import TensorProductDescriptor, tensor_product_descriptor
from lie_nn._src.irrep import Irrep
from lie_nn._src.irreps import Irreps
from lie_nn.nn._cg_module import CGModule, CoefficientRef, compute_dtype
from lie_nn.nn._layout import as_irreps, check_features, real_dtype

__all__ = ["CGModule", "ChannelwiseTensorProduct", "TensorProduct", "normalised_cg"]



def _output_filter(filter_ir_out: Any, irreps_in1: Irreps, irreps_in2: Irreps) -> Any:
    """``filter_ir_out`` (None, irreps or a predicate) as None or irreps for the descriptor."""
    if filter_ir_out is None:
        return None
    if callable(filter_ir_out) and not isinstance(filter_ir_out, Irrep):
        candidates = {ir for m1 in irreps_in1 if m1.mul for m2 in irreps_in2
                      for ir in allowed_outputs(m1.ir, m2.ir)}
        return [ir for ir in sorted(candidates, key=lambda ir: ir.sort_key()) if filter_ir_out(ir)]
    if isinstance(filter_ir_out, Irrep):
        return [filter_ir_out]
    if not isinstance(filter_ir_out, (Iterable, str)) or isinstance(filter_ir_out, bytes):
        raise TypeError(f"filter_ir_out must be None, a callable or irreps, "
                        f"got {type(filter_ir_out).__name__}")
    return as_irreps(filter_ir_out, "filter_ir_out", "ChannelwiseTensorProduct")


def _weight_setup(module: torch.nn.Module, numel: int, internal: bool, dtype: torch.dtype) -> None:
    module.weight_numel = numel
    module.internal_weights = internal
    if internal:
        module.weight = torch.nn.Parameter(torch.randn(numel, dtype=dtype))
    else:
        module.register_parameter("weight", None)


def _weights(module: Any, weight: torch.Tensor | None, batch: int) -> torch.Tensor:
    """Weights as ``(1 or batch, weight_numel)``, validating the internal / external choice."""
    name = type(module).__name__
    if module.internal_weights:
        if weight is not None:
            raise ValueError(f"{name} has internal weights; do not pass weight= "
                             "(or build it with internal_weights=False)")
        return module.weight.unsqueeze(0)
    if weight is None:
        raise ValueError(f"{name} was built with internal_weights=False: pass weight of shape "
                         f"(batch, {module.weight_numel}) or ({module.weight_numel},)")
    if weight.shape[-1] != module.weight_numel:
        raise ValueError(f"{name}: weight must have last dim {module.weight_numel}, "
                         f"got {tuple(weight.shape)}")
    return weight.reshape(-1, module.weight_numel) if weight.ndim > 1 else weight.unsqueeze(0)


@dataclass(frozen=True)
class _Run:
    """Consecutive channel-wise paths of one input block with equal output dimension ``d``."""

    n: int  # number of paths
    d: int
    weight_offset: int


@dataclass(frozen=True)
class _ChannelwiseBlock:
    """All paths of input block ``in1``: one coefficient buffer ``(dim2, Σ_runs n · d1 · d)``."""

    cg: CoefficientRef
    slice1: slice
    mul: int
    d1: int
    runs: tuple[_Run, ...]


@dataclass(frozen=True)
class _PathPlan:
    out: int
    col: int  # first column of this path in the pair's coefficient buffer
    d: int
    weight_offset: int
    normalisation: float


@dataclass(frozen=True)
class _PairPlan:
    """All paths of the input pair ``(in1, in2)``: one coefficient buffer ``(d1, d2, Σ d_out)``."""

    cg: CoefficientRef
    slice1: slice
    mul1: int
    d1: int
    slice2: slice
    mul2: int
    d2: int
    paths: tuple[_PathPlan, ...]


class ChannelwiseTensorProduct(CGModule):
    r"""Channel-wise ("uvu") tensor product, the message function of MACE / NequIP.

    ``irreps_in2`` must have multiplicity 1 in every block (e.g. spherical harmonics
    ``1x0e+1x1o+1x2e``).  For each path ``p = (i, j, ir_out, m)`` and channel ``u`` of block ``i``:

    .. math:: z^{p}_{u k} = w_{p u} \sum_{a b} C^{m}_{a b k} \, x^{(1)}_{i, u a} \, x^{(2)}_{j, b}

    Each path is its own output block ``mul1_i × ir_out``; ``irreps_out`` lists them ordered by input
    block ``i``, then ``ir_out`` (canonical irrep order), then ``j``, then ``m``.  ``filter_ir_out``
    (irreps or a predicate) restricts which ``ir_out`` are produced.  Weights (``weight_numel =
    Σ_p mul1_i``, path-major) are internal (``internal_weights=True``, initialised ``N(0, 1)``) or
    passed per sample to ``forward(x1, x2, weight)`` with shape ``(..., weight_numel)``.

    >>> from lie_nn import O3
    >>> tp = ChannelwiseTensorProduct([(4, O3(0, 1)), (4, O3(1, -1))], [O3(0, 1), O3(1, -1)],
    ...                               filter_ir_out=[O3(0, 1), O3(1, -1)], dtype=torch.float64)
    >>> [str(m) for m in tp.irreps_out], tp.weight_numel
    (['4xO3(0e)', '4xO3(1o)', '4xO3(0e)', '4xO3(1o)'], 16)
    >>> tp(torch.randn(10, 16, dtype=torch.float64), torch.randn(10, 4, dtype=torch.float64)).shape
    torch.Size([10, 32])
    """

    def __init__(self, irreps_in1: Any, irreps_in2: Any, filter_ir_out: Any = None, *,
                 internal_weights: bool = True, dtype: torch.dtype | None = None) -> None:
        in1 = as_irreps(irreps_in1, "irreps_in1", "ChannelwiseTensorProduct")
        in2 = as_irreps(irreps_in2, "irreps_in2", "ChannelwiseTensorProduct")
        if in1 and in2:
            in1[0].ir.check_same_group(in2[0].ir)
        flt = _output_filter(filter_ir_out, in1, in2) if all(m.mul == 1 for m in in2) else None
        self._build(channelwise_tensor_product_descriptor(in1, in2, flt), internal_weights, dtype)

    @classmethod
    def from_descriptor(cls, descriptor: ChannelwiseTensorProductDescriptor, *, internal_weights: bool = True,
                        dtype: torch.dtype | None = None) -> ChannelwiseTensorProduct:
        """The layer executing ``descriptor`` (see :func:`lie_nn.channelwise_tensor_product_descriptor`)."""
        if not isinstance(descriptor, ChannelwiseTensorProductDescriptor):
            raise TypeError(f"expected a ChannelwiseTensorProductDescriptor, got {type(descriptor).__name__}")
        module = cls.__new__(cls)
        module._build(descriptor, internal_weights, dtype)
        return module

    def _build(self, descriptor: ChannelwiseTensorProductDescriptor, internal_weights: bool,
               dtype: torch.dtype | None) -> None:
        super().__init__()
        dtype = dtype or torch.get_default_dtype()
        self.descriptor = descriptor
        self.irreps_in1, self.irreps_in2 = descriptor.irreps_in1, descriptor.irreps_in2
        self.irreps_out = descriptor.irreps_out
        self.dim_in1, self.dim_in2 = self.irreps_in1.dim, self.irreps_in2.dim
        self.dim_out = self.irreps_out.dim
        slices1 = self.irreps_in1.slices()
        self._blocks: list[_ChannelwiseBlock] = []
        for i, paths in groupby(descriptor.paths, key=lambda p: p.in1):
            m1 = self.irreps_in1[i]
            runs = self._runs(list(paths))
            # group g is (dim2, n, d1, d) so that x2 @ cg yields per-sample (n, d1, d) matrices
            array = np.concatenate([self._embedded(run).transpose(2, 0, 1, 3).reshape(self.dim_in2, -1)
                                    for run in runs], axis=1)
            specs = tuple(_Run(len(run), self.irreps_out[run[0].out].ir.dim, run[0].weight_offset)
                          for run in runs)
            self._blocks.append(_ChannelwiseBlock(self.register_cg(array, dtype), slices1[i], m1.mul,
                                                  m1.ir.dim, specs))
        _weight_setup(self, descriptor.weight_numel, internal_weights, dtype)

    def _runs(self, paths: list[ChannelwisePath]) -> list[list[ChannelwisePath]]:
        """Consecutive paths with equal output dimension."""
        runs: list[list[ChannelwisePath]] = []
        for p in paths:
            if runs and self.irreps_out[runs[-1][0].out].ir.dim == self.irreps_out[p.out].ir.dim:
                runs[-1].append(p)
            else:
                runs.append([p])
        return runs

    def _embedded(self, run: list[ChannelwisePath]) -> np.ndarray:
        """``(n, d1, dim2, d)``: each path's CG placed at its ``irreps_in2`` block."""
        slices2 = self.irreps_in2.slices()
        out = []
        for p in run:
            c = self.descriptor.coefficients[p.block].array
            full = np.zeros((c.shape[0], self.dim_in2, c.shape[2]), dtype=c.dtype)
            full[:, slices2[p.in2], :] = c
            out.append(full)
        return np.stack(out)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """``x1 (..., dim1)``, ``x2 (..., dim2)``, optional ``weight (..., weight_numel)`` →
        ``(..., dim_out)`` (batch shapes broadcast)."""
        shape, pieces = self.output_pieces(x1, x2, weight)
        if not pieces:
            return x1.new_zeros(*shape, 0)
        return torch.cat(pieces, dim=-1).reshape(*shape, self.dim_out)

    def output_pieces(self, x1: torch.Tensor, x2: torch.Tensor, weight: torch.Tensor | None = None
                      ) -> tuple[torch.Size, list[torch.Tensor]]:
        """The output as consecutive column blocks ``(batch, ·)`` (their concatenation is ``forward``).

        Returns the broadcast batch shape and the blocks, flattened to 2-d rows.  A caller that reduces
        the rows next (a scatter-sum over edges) reduces each block and concatenates the much smaller
        results, instead of concatenating the per-edge output (the largest tensor of a MACE layer).

        >>> from lie_nn import O3
        >>> tp = ChannelwiseTensorProduct([(2, O3(0, 1))], [O3(0, 1), O3(1, -1)], dtype=torch.float64)
        >>> shape, pieces = tp.output_pieces(torch.ones(3, 2, dtype=torch.float64),
        ...                                  torch.ones(3, 4, dtype=torch.float64))
        >>> tuple(shape), [tuple(p.shape) for p in pieces]
        ((3,), [(3, 2), (3, 6)])
        """
        check_features(x1, self.dim_in1, "x1", "ChannelwiseTensorProduct")
        check_features(x2, self.dim_in2, "x2", "ChannelwiseTensorProduct")
        shape = torch.broadcast_shapes(x1.shape[:-1], x2.shape[:-1])
        dtype = compute_dtype(self, x1, x2)
        x1 = x1.to(dtype).expand(*shape, self.dim_in1).reshape(-1, self.dim_in1)
        x2 = x2.to(dtype).expand(*shape, self.dim_in2).reshape(-1, self.dim_in2)
        batch = x1.shape[0]
        w = _weights(self, weight, batch)
        w = w.to(real_dtype(dtype))
        pieces = []
        for block in self._blocks:
            mul, d1 = block.mul, block.d1
            m = x2 @ self.cg(block.cg, dtype)  # (batch, Σ_g n d1 d)
            x = x1[:, block.slice1].view(batch, 1, mul, d1)
            col = 0
            for n, d, w0 in ((r.n, r.d, r.weight_offset) for r in block.runs):
                mg = m[:, col : col + n * d1 * d].view(batch, n, d1, d)
                wg = w[:, w0 : w0 + n * mul].view(-1, n, mul, 1)
                if d1 <= d:  # weight the smaller operand
                    z = torch.matmul(x * wg, mg)
                else:
                    z = torch.matmul(x, mg) * wg
                pieces.append(z.reshape(batch, n * mul * d))  # (batch, n, mul, d): mul-major blocks
                col += n * d1 * d
        return shape, pieces


class TensorProduct(CGModule):
    r"""Fully connected tensor product ``irreps_in1 ⊗ irreps_in2 → irreps_out``.

    Every path ``p = (i, j, k, m)`` allowed by the selection rule (``ir_out_k`` in ``ir1_i ⊗ ir2_j``,
    CG copy ``m``) has a weight ``W_p ∈ R^{mul1_i × mul2_j × mul_out_k}``:

    .. math:: z_{k, w c} = \sum_{p \to k} \frac{1}{\sqrt{\mathrm{fan\_in}_k}}
              \sum_{u v a b} W_{p, u v w} \, C^{m}_{a b c} \, x^{(1)}_{i, u a} \, x^{(2)}_{j, v b}

    with ``fan_in_k = Σ_{p → k} mul1_i mul2_j``, so unit-variance inputs and ``N(0, 1)`` weights give
    unit-variance outputs.  Output blocks no path reaches are zero.  Weights (``weight_numel = Σ_p
    mul1 mul2 mul_out``, path-major, each path ``(u, v, w)`` row-major) are internal or passed per
    sample as ``forward(x1, x2, weight)`` with ``internal_weights=False``.

    >>> from lie_nn import SU2
    >>> tp = TensorProduct([(2, SU2("1/2"))], [(1, SU2("1/2"))], [(3, SU2(0)), (1, SU2(1))])
    >>> tp.weight_numel, tp(torch.randn(5, 4, dtype=torch.complex64), torch.randn(5, 2)).dtype
    (8, torch.complex64)
    """

    def __init__(self, irreps_in1: Any, irreps_in2: Any, irreps_out: Any, *, internal_weights: bool = True,
                 dtype: torch.dtype | None = None) -> None:
        self._build(tensor_product_descriptor(irreps_in1, irreps_in2, irreps_out), internal_weights, dtype)

    @classmethod
    def from_descriptor(cls, descriptor: TensorProductDescriptor, *, internal_weights: bool = True,
                        dtype: torch.dtype | None = None) -> TensorProduct:
        """The layer executing ``descriptor`` (see :func:`lie_nn.tensor_product_descriptor`)."""
        if not isinstance(descriptor, TensorProductDescriptor):
            raise TypeError(f"expected a TensorProductDescriptor, got {type(descriptor).__name__}")
        module = cls.__new__(cls)
        module._build(descriptor, internal_weights, dtype)
        return module

    def _build(self, descriptor: TensorProductDescriptor, internal_weights: bool,
               dtype: torch.dtype | None) -> None:
        super().__init__()
        dtype = dtype or torch.get_default_dtype()
        self.descriptor = descriptor
        self.irreps_in1, self.irreps_in2 = descriptor.irreps_in1, descriptor.irreps_in2
        self.irreps_out = descriptor.irreps_out
        self.dim_in1, self.dim_in2 = self.irreps_in1.dim, self.irreps_in2.dim
        self.dim_out = self.irreps_out.dim
        s1, s2 = self.irreps_in1.slices(), self.irreps_in2.slices()
        self._pairs: list[_PairPlan] = []
        for (i, j), group in groupby(descriptor.paths, key=lambda p: (p.in1, p.in2)):
            paths, plans, col = list(group), [], 0
            for p in paths:
                d = self.irreps_out[p.out].ir.dim
                plans.append(_PathPlan(p.out, col, d, p.weight_offset, p.normalisation))
                col += d
            array = np.concatenate([descriptor.coefficients[p.block].array for p in paths], axis=-1)
            m1, m2 = self.irreps_in1[i], self.irreps_in2[j]
            self._pairs.append(_PairPlan(self.register_cg(array, dtype), s1[i], m1.mul, m1.ir.dim, s2[j],
                                         m2.mul, m2.ir.dim, tuple(plans)))
        _weight_setup(self, descriptor.weight_numel, internal_weights, dtype)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """``x1 (..., dim1)``, ``x2 (..., dim2)``, optional ``weight (..., weight_numel)`` →
        ``(..., dim_out)`` (batch shapes broadcast)."""
        check_features(x1, self.dim_in1, "x1", "TensorProduct")
        check_features(x2, self.dim_in2, "x2", "TensorProduct")
        shape = torch.broadcast_shapes(x1.shape[:-1], x2.shape[:-1])
        dtype = compute_dtype(self, x1, x2)
        x1 = x1.to(dtype).expand(*shape, self.dim_in1).reshape(-1, self.dim_in1)
        x2 = x2.to(dtype).expand(*shape, self.dim_in2).reshape(-1, self.dim_in2)
        batch = x1.shape[0]
        w = _weights(self, weight, batch).to(real_dtype(dtype))
        acc: list[list[torch.Tensor]] = [[] for _ in self.irreps_out]
        for pair in self._pairs:
            u, v = pair.mul1, pair.mul2
            cg = self.cg(pair.cg, dtype)  # (d1, d2, n_col)
            a = x1[:, pair.slice1].view(batch, u, pair.d1)
            b = x2[:, pair.slice2].view(batch, v, pair.d2)
            t = torch.einsum("bua,bvc,ack->buvk", a, b, cg)
            for k, col, d, w0, alpha in ((p.out, p.col, p.d, p.weight_offset, p.normalisation)
                                         for p in pair.paths):
                mul = self.irreps_out[k].mul
                wp = (w[:, w0 : w0 + u * v * mul] * alpha).view(-1, u, v, mul).to(dtype)
                tk = t[..., col : col + d]
                if wp.shape[0] == 1:
                    acc[k].append(torch.einsum("buvk,uvw->bwk", tk, wp[0]))
                else:
                    acc[k].append(torch.einsum("buvk,buvw->bwk", tk, wp))
        pieces = []
        for k, item in enumerate(self.irreps_out):
            if acc[k]:
                total = acc[k][0] if len(acc[k]) == 1 else torch.stack(acc[k]).sum(0)
                pieces.append(total.reshape(batch, item.dim))
            else:
                pieces.append(x1.new_zeros(batch, item.dim))
        if not pieces:
            return x1.new_zeros(*shape, 0)
        return torch.cat(pieces, dim=-1).reshape(*shape, self.dim_out)
