r"""Descriptor of the MACE / ACE symmetric contraction for any group (torch-free).

``irreps_in = mul × (ir_1 + ... + ir_n)``: channel ``c`` carries ``x_c ∈ V = ir_1 ⊕ ... ⊕ ir_n``
(dimension ``D``, index ``a``).  For output irrep ``j`` (``irreps_out[j] = mul × ir_j``):

.. math:: B_{c, i}(j) = \sum_{\nu=1}^{N} \sum_{t \in T_\nu} \sum_{k} \tilde U^{j}_{t, k, i}\,
          W_{k c}\; x_{c t_1} \cdots x_{c t_\nu}

where ``T_ν`` are the kept *sorted* monomials of degree ``ν`` (``t_1 ≤ ... ≤ t_ν``, listed in
``levels[ν-1].monomials``) and ``Ũ^j = coefficients[j]`` ``(M, K_j, d_j)`` (``M = Σ_ν |T_ν|``,
rows in level order) is the canonical basis ``U^ν`` of the ``ir_j`` part of ``Sym^ν(V)``
(:func:`~lie_nn.reduced_symmetric_tensor_product`) restricted to sorted monomials, each weighted by
its number of orderings, block diagonal in ``ν`` and scaled by ``K_j^{-1/2}`` (``K_j`` copies in
all).  Weight column ``k`` of output ``j`` is ``paths[·].weight_offset + k`` (see
:class:`SymmetricContractionPath`).  Monomials on which every ``U`` vanishes (selection rules,
parity) are dropped, except prefixes of kept higher ones.

Evaluation plan (any backend may use it): level 1 gathers ``x[monomials]``; level ``ν ≥ 2`` takes
row ``prefix[r]`` of level ``ν-1`` times ``x[t_ν]``; monomials of a level are ordered by their last
index, so ``last_runs = ((a, count), ...)`` lists contiguous runs sharing the factor ``x_a``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from itertools import combinations_with_replacement
from typing import Any

import numpy as np

from lie_nn._src.descriptors._arguments import as_irreps, check_int, check_same_group
from lie_nn._src.descriptors.coefficients import CoefficientBlock
from lie_nn._src.irrep import Irrep, MulIrrep
from lie_nn._src.irreps import Irreps
from lie_nn._src.reduced_tensor_product import reduced_symmetric_tensor_product

__all__ = ["MonomialLevel", "SymmetricContractionDescriptor", "SymmetricContractionPath",
           "symmetric_contraction_descriptor"]

_OWNER = "SymmetricContraction"


@dataclass(frozen=True)
class SymmetricContractionPath:
    """``num_copies`` copies of ``irreps_out[out]`` in ``Sym^order(V)``; weights from ``weight_offset``."""

    out: int
    order: int
    num_copies: int
    weight_offset: int


@dataclass(frozen=True)
class MonomialLevel:
    """The kept sorted monomials of degree ``order`` and how to build them from degree ``order - 1``."""

    order: int
    monomials: tuple[tuple[int, ...], ...]
    prefix: tuple[int, ...]  # row of monomial[:-1] in the previous level (empty at order 1)
    last_runs: tuple[tuple[int, int], ...]  # (last index a, run length), in row order (empty at order 1)


@dataclass(frozen=True)
class SymmetricContractionDescriptor:
    """Paths, monomial levels and reduced bases of :func:`symmetric_contraction_descriptor`."""

    irreps_in: Irreps
    irreps_out: Irreps
    correlation: int
    mul: int
    channel_irreps: tuple[Irrep, ...]
    paths: tuple[SymmetricContractionPath, ...]
    levels: tuple[MonomialLevel, ...]
    coefficients: tuple[CoefficientBlock, ...]  # one (M, K_j, d_j) block per output irrep
    weight_numel: int  # per element and channel: Σ_j K_j

    @property
    def channel_dim(self) -> int:
        return sum(ir.dim for ir in self.channel_irreps)

    @property
    def num_monomials(self) -> int:
        return sum(len(level.monomials) for level in self.levels)

    def __repr__(self) -> str:
        return (f"SymmetricContractionDescriptor({self.irreps_in} -> {self.irreps_out}, correlation="
                f"{self.correlation}, paths={len(self.paths)}, monomials={self.num_monomials}, "
                f"weight_numel={self.weight_numel})")


def _channel_irreps(irreps_in: Irreps) -> tuple[int, tuple[Irrep, ...]]:
    muls = {m.mul for m in irreps_in}
    if len(irreps_in) == 0 or len(muls) != 1 or 0 in muls:
        raise ValueError(f"{_OWNER}: irreps_in must be mul × (ir_1 + ... + ir_n) with one "
                         f"positive multiplicity for every block, got {irreps_in}")
    return muls.pop(), tuple(m.ir for m in irreps_in)


def _output_irreps(irreps_out: Irreps, mul: int) -> tuple[Irrep, ...]:
    if len(irreps_out) == 0:
        raise ValueError(f"{_OWNER}: irreps_out is empty")
    muls = {m.mul for m in irreps_out}
    if not (muls == {mul} or muls == {1}):
        raise ValueError(f"{_OWNER}: irreps_out multiplicities must all be {mul} (the channel "
                         f"count) or all be 1, got {irreps_out}")
    irs = tuple(m.ir for m in irreps_out)
    if len(set(irs)) != len(irs):
        raise ValueError(f"{_OWNER}: irreps_out repeats an irrep: {irreps_out}")
    return irs


def symmetric_contraction_descriptor(irreps_in: Any, irreps_out: Any, correlation: int
                                     ) -> SymmetricContractionDescriptor:
    """Cached :class:`SymmetricContractionDescriptor`: orders ``1..correlation`` of ``irreps_in``
    contracted to ``irreps_out`` (multiplicities all ``mul`` or all 1; the result has ``mul``).

    >>> from lie_nn import O3
    >>> d = symmetric_contraction_descriptor([(4, O3(0, 1)), (4, O3(1, -1))], [O3(0, 1), O3(1, -1)], 3)
    >>> str(d.irreps_out), d.weight_numel, [(p.out, p.order, p.num_copies) for p in d.paths][:3]
    ('4x0e+4x1o', 9, [(0, 1, 1), (0, 2, 2), (0, 3, 2)])
    """
    irreps_in = as_irreps(irreps_in, "irreps_in", _OWNER)
    mul, channel = _channel_irreps(irreps_in)
    irs_out = _output_irreps(as_irreps(irreps_out, "irreps_out", _OWNER), mul)
    check_same_group([*channel, *irs_out], _OWNER)
    correlation = check_int(correlation, "correlation", 1, _OWNER)
    return _symmetric_contraction_descriptor(irreps_in, irs_out, correlation)


def _orderings(t: tuple[int, ...]) -> int:
    """Number of distinct orderings of the sorted index tuple ``t``."""
    counts = np.unique(np.array(t), return_counts=True)[1]
    return math.factorial(len(t)) // int(np.prod([math.factorial(int(c)) for c in counts]))


def _reduced_bases(channel: tuple[Irrep, ...], ir: Irrep, tuples: list[list[tuple[int, ...]]]
                   ) -> list[np.ndarray]:
    """Per order ``ν``: ``U^ν`` restricted to sorted tuples, times their orderings, ``(K, n_t, d)``."""
    dim, out = sum(c.dim for c in channel), []
    for nu, level in enumerate(tuples, start=1):
        rtp = reduced_symmetric_tensor_product(channel, nu, filter_ir_out=[ir])
        q = rtp[ir] if any(m.ir == ir for m in rtp.irreps_out) else np.zeros((0,) + (dim,) * nu + (ir.dim,))
        if np.iscomplexobj(q) and all(c.is_unitary() for c in (*channel, ir)):
            q = q.conj()  # contracted with x: the adjoint of V_ir → Sym^ν(V) (as in normalised_cg)
        weights = np.array([_orderings(t) for t in level], dtype=np.float64)
        out.append(q[(slice(None), *np.array(level).T)] * weights[None, :, None])
    return out


@functools.lru_cache(maxsize=64)
def _symmetric_contraction_descriptor(irreps_in: Irreps, irs_out: tuple[Irrep, ...], correlation: int
                                      ) -> SymmetricContractionDescriptor:
    mul, channel = _channel_irreps(irreps_in)
    dim = sum(ir.dim for ir in channel)
    tuples = [list(combinations_with_replacement(range(dim), nu)) for nu in range(1, correlation + 1)]
    reduced, paths, offset = [], [], 0
    for j, ir in enumerate(irs_out):
        per_order = _reduced_bases(channel, ir, tuples)
        for nu, q in enumerate(per_order, start=1):
            if q.shape[0]:
                paths.append(SymmetricContractionPath(j, nu, q.shape[0], offset))
                offset += q.shape[0]
        if sum(q.shape[0] for q in per_order) == 0:
            raise ValueError(f"{_OWNER}: {ir} does not occur in Sym^nu of "
                             f"{'+'.join(str(c) for c in channel)} for nu <= {correlation}")
        reduced.append(per_order)
    keep = _kept_monomials(tuples, reduced)
    levels = _levels(tuples, keep)
    blocks = tuple(CoefficientBlock(_assemble(per_order, keep, ir.dim))
                   for per_order, ir in zip(reduced, irs_out, strict=True))
    irreps_out = Irreps([MulIrrep(mul, ir) for ir in irs_out])
    return SymmetricContractionDescriptor(irreps_in, irreps_out, correlation, mul, channel, tuple(paths),
                                          levels, blocks, offset)


def _kept_monomials(tuples: list[list[tuple[int, ...]]], reduced: list[list[np.ndarray]]) -> list[list[int]]:
    """Per order: positions (in ``tuples``) of monomials some ``U`` uses or a kept higher one extends,
    ordered by last index (so ``x[last]`` multiplies contiguous rows)."""
    n = len(tuples)
    used = []
    for nu in range(n):
        mags = sum(np.abs(per_order[nu]).max(axis=(0, 2), initial=0.0) for per_order in reduced)
        used.append(set(np.flatnonzero(mags > 1e-12).tolist()))
    keep: list[list[int]] = [[] for _ in range(n)]
    for nu in reversed(range(n)):
        keep[nu] = sorted(used[nu])
        if nu + 1 < n:
            position = {t: i for i, t in enumerate(tuples[nu])}
            keep[nu] = sorted(used[nu] | {position[tuples[nu + 1][i][:-1]] for i in keep[nu + 1]})
    return [sorted(k, key=lambda i, nu=nu: (tuples[nu][i][-1], i)) for nu, k in enumerate(keep)]


def _levels(tuples: list[list[tuple[int, ...]]], keep: list[list[int]]) -> tuple[MonomialLevel, ...]:
    levels = [MonomialLevel(1, tuple(tuples[0][i] for i in keep[0]), (), ())]
    for nu in range(1, len(tuples)):
        position = {tuples[nu - 1][i]: p for p, i in enumerate(keep[nu - 1])}
        monomials = tuple(tuples[nu][i] for i in keep[nu])
        last = [t[-1] for t in monomials]
        runs = tuple((a, last.count(a)) for a in sorted(set(last)))
        levels.append(MonomialLevel(nu + 1, monomials, tuple(position[t[:-1]] for t in monomials), runs))
    return tuple(levels)


def _assemble(per_order: list[np.ndarray], keep: list[list[int]], d: int) -> np.ndarray:
    """``(M, K, d)``: rows = kept monomials of every order, block diagonal in the order, ``K^{-1/2}``."""
    blocks = [np.moveaxis(q[:, k, :], 0, 1) for q, k in zip(per_order, keep, strict=True)]
    u = np.zeros((sum(b.shape[0] for b in blocks), sum(b.shape[1] for b in blocks), d),
                 dtype=np.result_type(*blocks))
    row = col = 0
    for b in blocks:
        u[row : row + b.shape[0], col : col + b.shape[1]] = b
        row, col = row + b.shape[0], col + b.shape[1]
    return u * u.shape[1] ** -0.5
