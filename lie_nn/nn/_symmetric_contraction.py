r"""MACE-style symmetric contraction (the ACE product basis) for any group.

Features are channel-wise: ``irreps_in = mul × (ir_1 + ... + ir_n)`` (every block has the same
multiplicity ``mul``, e.g. ``128x0e + 128x1o + 128x2e + 128x3o``), so channel ``c`` carries one copy
``x_c ∈ V = ir_1 ⊕ ... ⊕ ir_n`` of dimension ``D``.  For every output irrep ``ir`` and channel ``c``

.. math:: B_{c, i}(ir) = \frac{1}{\sqrt{K_{ir}}} \sum_{\nu=1}^{N} \sum_{k=1}^{K_{\nu, ir}}
          W^{\nu}_{k c}(z) \sum_{a_1 \dots a_\nu} U^{\nu}_{k, a_1 \dots a_\nu, i}\,
          x_{c a_1} \cdots x_{c a_\nu}

where ``U^ν`` is the canonical basis of the ``ir`` components of ``Sym^ν(V)``
(:func:`~lie_nn.reduced_symmetric_tensor_product`), ``N`` the correlation
order, ``K_ir = Σ_ν K_{ν, ir}`` and ``z`` the chemical element of the sample (weights shared when
``num_elements is None``).

Evaluation.  ``U^ν`` is symmetric in its ``ν`` input slots, so only the monomials
``x_{a_1} ⋯ x_{a_ν}`` with ``a_1 ≤ ... ≤ a_ν`` are needed (``C(D+ν-1, ν)`` instead of ``D^ν``), each
weighted by its number of orderings; monomials on which every ``U`` vanishes (selection rules,
parity) are dropped.  Degree-``ν`` monomials are built from degree ``ν-1`` ones by one gather of the
prefixes and one broadcast product per last index ``a_ν`` (monomials are ordered by their last
index; a gather of ``x`` would need a colliding scatter-add in backward), so the cost grows like
``C(D+N-1, N)``.  The weights are folded into the reduced ``U`` once per call
(``V(z, c) = Σ_k W_k(z, c) Ũ_k``, cheap: it does not depend on the batch), and the batch is
contracted with one batched matrix product per element and order (the monomials of different orders
are never concatenated).  All of this structure comes from a
:class:`~lie_nn.SymmetricContractionDescriptor` (torch-free); this module only executes it.

Correlation 1 skips the monomials: each output reads the input blocks of its irrep (a scaled
identity by Schur's lemma, else a small contraction) times per-sample weight rows.

Element indices are range-checked and grouped per element in eager mode; while ``torch.compile``
traces they become one-hot weights, so the default path has no graph break.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lie_nn._src.descriptors._arguments import check_int
from lie_nn._src.descriptors.symmetric_contraction import (
    SymmetricContractionDescriptor,
    symmetric_contraction_descriptor,
)
from lie_nn.nn._cg_module import CGModule, CoefficientRef, IndexRef, compute_dtype
from lie_nn.nn._layout import check_tensor, real_dtype

__all__ = ["SymmetricContraction"]


@dataclass(frozen=True)
class _FirstOrderTerm:
    """Input block ``block`` → one output: through coefficients ``cg`` ``(d_k, K, d_j)``, or (``cg`` None)
    as ``scale`` times the identity on weight column ``column`` (the usual case, by Schur's lemma)."""

    block: int
    cg: CoefficientRef | None
    column: int
    scale: float


@dataclass(frozen=True)
class _FirstOrderOutput:
    """Correlation 1: output ``j`` is the sum of its terms, weights ``[weight_offset, + num_copies)``."""

    terms: tuple[_FirstOrderTerm, ...]
    weight_offset: int
    num_copies: int


@dataclass(frozen=True)
class _LevelPlan:
    """Degree-``ν`` monomials = rows ``prefix`` of degree ``ν-1`` times ``x[a]``, one run per ``a``."""

    prefix: IndexRef
    runs: tuple[tuple[int, int], ...]  # (last index a, run length)


class SymmetricContraction(CGModule):
    r"""Channel-wise symmetric tensor powers of order ``1..correlation`` contracted to ``irreps_out``.

    ``irreps_in = mul × (ir_1 + ... + ir_n)``; ``irreps_out`` lists output irreps (multiplicities all
    ``mul`` or all 1); the result is ``mul × ir`` per output irrep, in the mul-major layout.  Weights
    (``weight``, shape ``(num_elements or 1, K, mul)``, ``N(0, 1)``) are real; path ``k`` runs over the
    output irreps in order, then the orders ``ν = 1..correlation``, then the copies of ``U^ν``
    (see :attr:`paths`).

    ``forward(x, y=None)``: ``x`` is ``(batch, irreps_in.dim)`` (mul-major) or ``(batch, mul, D)``
    (channel-major, ``D = Σ ir_k.dim``); ``y`` selects the element weights — integer indices
    ``(batch,)`` (fast path: one matrix product per element) or weights ``(batch, num_elements)``
    (e.g. one-hot; each sample uses ``Σ_e y_e W(e)``).  Returns ``(batch, irreps_out.dim)``.

    >>> from lie_nn import O3
    >>> sc = SymmetricContraction([(4, O3(0, 1)), (4, O3(1, -1))], [O3(0, 1), O3(1, -1)], 3,
    ...                           num_elements=2, dtype=torch.float64)
    >>> [str(m) for m in sc.irreps_out], tuple(sc.weight.shape)
    (['4xO3(0e)', '4xO3(1o)'], (2, 9, 4))
    >>> sc(torch.randn(5, 16, dtype=torch.float64), torch.tensor([0, 1, 1, 0, 1])).shape
    torch.Size([5, 16])
    """

    def __init__(self, irreps_in: Any, irreps_out: Any, correlation: int, num_elements: int | None = None,
                 *, dtype: torch.dtype | None = None) -> None:
        self._build(symmetric_contraction_descriptor(irreps_in, irreps_out, correlation), num_elements, dtype)

    @classmethod
    def from_descriptor(cls, descriptor: SymmetricContractionDescriptor, num_elements: int | None = None, *,
                        dtype: torch.dtype | None = None) -> SymmetricContraction:
        """The layer executing ``descriptor`` (see :func:`lie_nn.symmetric_contraction_descriptor`)
        with one set of weights per element (``num_elements``) or shared weights (``None``)."""
        if not isinstance(descriptor, SymmetricContractionDescriptor):
            raise TypeError(f"expected a SymmetricContractionDescriptor, got {type(descriptor).__name__}")
        module = cls.__new__(cls)
        module._build(descriptor, num_elements, dtype)
        return module

    # ------------------------------------------------------------------------------ construction
    def _build(self, descriptor: SymmetricContractionDescriptor, num_elements: int | None,
               dtype: torch.dtype | None) -> None:
        super().__init__()
        dtype = dtype or torch.get_default_dtype()
        name = "SymmetricContraction"
        self.num_elements = None if num_elements is None else check_int(num_elements, "num_elements", 1, name)
        self.descriptor = descriptor
        self.irreps_in, self.irreps_out = descriptor.irreps_in, descriptor.irreps_out
        self.mul, self.channel_irreps = descriptor.mul, descriptor.channel_irreps
        self.correlation = descriptor.correlation
        self.dim_in, self.dim_out = self.irreps_in.dim, self.irreps_out.dim
        self.channel_dim = descriptor.channel_dim
        self._out_dims = [m.ir.dim for m in self.irreps_out]
        self.weight_numel_per_element = descriptor.weight_numel
        self.num_monomials = descriptor.num_monomials
        self._bases = tuple(self.register_cg(block.array, dtype) for block in descriptor.coefficients)
        self._first = self.register_index([t[0] for t in descriptor.levels[0].monomials])
        self._levels = tuple(_LevelPlan(self.register_index(level.prefix), level.last_runs)
                             for level in descriptor.levels[1:])
        self._first_order = self._first_order_plan(dtype) if self.correlation == 1 else None
        n_el = self.num_elements or 1
        self.weight = torch.nn.Parameter(torch.randn(n_el, descriptor.weight_numel, self.mul, dtype=dtype))

    def _first_order_plan(self, dtype: torch.dtype) -> tuple[_FirstOrderOutput, ...]:
        """Correlation 1 needs no monomials: ``B_j = Σ_k W_k (Ũ_j restricted to input block k) x_k``."""
        offsets = np.cumsum([0] + [ir.dim for ir in self.channel_irreps])
        rows = [t[0] for t in self.descriptor.levels[0].monomials]
        plans = []
        # at correlation 1 there is exactly one path (order 1) per output irrep, in output order
        for block, path in zip(self.descriptor.coefficients, self.descriptor.paths, strict=True):
            dense = np.zeros((self.channel_dim, *block.shape[1:]), dtype=block.dtype)
            dense[rows] = block.array
            terms = tuple(self._first_order_term(k, dense[offsets[k] : offsets[k + 1]], dtype)
                          for k in range(len(self.channel_irreps))
                          if np.any(dense[offsets[k] : offsets[k + 1]] != 0))
            plans.append(_FirstOrderOutput(terms, path.weight_offset, path.num_copies))
        return tuple(plans)

    def _first_order_term(self, k: int, u: np.ndarray, dtype: torch.dtype) -> _FirstOrderTerm:
        """A scaled identity on one weight column becomes a plain product; anything else a contraction."""
        columns = [q for q in range(u.shape[1]) if np.any(u[:, q, :] != 0)]
        if len(columns) == 1 and u.shape[0] == u.shape[2]:
            q = columns[0]
            scale = u[0, q, 0]
            deviation = np.abs(u[:, q, :] - scale * np.eye(u.shape[0])).max()
            if np.isreal(scale) and deviation <= 1e-14 * abs(scale):
                return _FirstOrderTerm(k, None, q, float(np.real(scale)))
        return _FirstOrderTerm(k, self.register_cg(u, dtype), 0, 1.0)

    @property
    def paths(self) -> list[tuple[int, int, int, int]]:
        """``(output index, order, copies, weight offset)`` per path (see ``descriptor.paths``)."""
        return [(p.out, p.order, p.num_copies, p.weight_offset) for p in self.descriptor.paths]

    # ------------------------------------------------------------------------------ forward
    def _channels(self, x: torch.Tensor) -> torch.Tensor:
        """Input as ``(D, mul, batch)`` (monomial index first: gathers copy whole rows)."""
        self._check_shape(x)
        if x.ndim == 3:
            return x.permute(2, 1, 0)
        batch, start, parts = x.shape[0], 0, []
        for ir in self.channel_irreps:
            parts.append(x[:, start : start + self.mul * ir.dim].reshape(batch, self.mul, ir.dim))
            start += self.mul * ir.dim
        return torch.cat(parts, dim=-1).permute(2, 1, 0)

    def _check_shape(self, x: object) -> None:
        name = "SymmetricContraction"
        check_tensor(x, "x", name)
        if not ((x.ndim == 3 and tuple(x.shape[1:]) == (self.mul, self.channel_dim))
                or (x.ndim == 2 and x.shape[1] == self.dim_in)):
            raise ValueError(f"{name}: x must have shape (batch, {self.dim_in}) or (batch, {self.mul}, "
                             f"{self.channel_dim}), got {tuple(x.shape)}")

    def _monomials(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``(D, mul, batch)`` → kept sorted monomials, one ``(M_ν, mul, batch)`` tensor per order ``ν``."""
        x = x.contiguous()
        levels = [x.index_select(0, self.index(self._first))]
        for plan in self._levels:
            chunks = levels[-1].index_select(0, self.index(plan.prefix)).split([c for _, c in plan.runs])
            # one broadcast product per last index (a gather of x would scatter-add in backward)
            products = [chunk * x[a : a + 1] for chunk, (a, _) in zip(chunks, plan.runs, strict=True)]
            levels.append(torch.cat(products))
        return levels

    @staticmethod
    def _contract(levels: list[torch.Tensor], v: torch.Tensor) -> torch.Tensor:
        """``Σ_ν levels_ν^T · v[rows of ν]``: ``(M_ν, mul, batch)`` and ``(mul, M, k)`` → ``(mul, batch, k)``
        (one product per order instead of concatenating the monomials)."""
        out, start = None, 0
        for level in levels:
            term = torch.matmul(level.permute(1, 2, 0), v[..., start : start + level.shape[0], :])
            out = term if out is None else out + term
            start += level.shape[0]
        return out

    def _folded(self, dtype: torch.dtype) -> torch.Tensor:
        """``V (E, mul, M, Σd) = Σ_k W_k Ũ_k``: the weights folded into the reduced bases."""
        w = self.weight.to(real_dtype(dtype)).to(dtype)
        parts, start = [], 0
        for ref in self._bases:
            u = self.cg(ref, dtype)  # (M, K_j, d_j)
            parts.append(torch.einsum("mkd,ekc->ecmd", u, w[:, start : start + u.shape[1]]))
            start += u.shape[1]
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)

    def _check_y(self, y: Any, batch: int) -> torch.Tensor | None:
        name = "SymmetricContraction"
        if self.num_elements is None:
            if y is not None:
                raise ValueError(f"{name} has shared weights (num_elements=None); do not pass y")
            return None
        if not isinstance(y, torch.Tensor):
            raise TypeError(f"{name}: y must be a tensor of element indices (batch,) or weights "
                            f"(batch, {self.num_elements}), got {type(y).__name__}")
        if y.dtype.is_floating_point and tuple(y.shape) == (batch, self.num_elements):
            return y
        if not y.dtype.is_floating_point and not y.dtype.is_complex and tuple(y.shape) == (batch,):
            return y.long()
        raise ValueError(f"{name}: y must be integer indices of shape ({batch},) or float weights of "
                         f"shape ({batch}, {self.num_elements}), got {tuple(y.shape)} {y.dtype}")

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """``x (batch, dim_in)`` or ``(batch, mul, D)``, ``y`` element indices / weights →
        ``(batch, dim_out)``."""
        if self._first_order is not None:
            return self._forward_first_order(x, y)
        xc = self._channels(x)
        batch = xc.shape[-1]
        y = self._check_y(y, batch)
        if y is not None and not y.dtype.is_floating_point:
            y = self._indices(y)
        dtype = compute_dtype(self, xc)
        v = self._folded(dtype)  # (E, mul, M, Σd)
        if y is None:
            out = self._contract(self._monomials(xc.to(dtype)), v[0])
        elif y.dtype.is_floating_point:
            e, c, m, d = v.shape
            stacked = v.permute(1, 2, 0, 3).reshape(c, m, e * d)  # every element's weights side by side
            full = self._contract(self._monomials(xc.to(dtype)), stacked).unflatten(-1, (e, d))
            out = torch.einsum("cbed,be->cbd", full, y.to(real_dtype(dtype)).to(dtype))
        else:
            out = self._grouped(xc.to(dtype), v, y)
        pieces, start = [], 0
        for d in self._out_dims:
            pieces.append(out[..., start : start + d].permute(1, 0, 2).reshape(batch, self.mul * d))
            start += d
        return pieces[0] if len(pieces) == 1 else torch.cat(pieces, dim=-1)

    def _forward_first_order(self, x: torch.Tensor, y: Any) -> torch.Tensor:
        """Correlation 1: per output, a contraction of the input blocks and per-sample weights (no
        monomials, no grouping by element: indices gather their weight rows)."""
        blocks = self._input_blocks(x)
        batch = blocks[0].shape[0]
        y = self._check_y(y, batch)
        if y is not None and not y.dtype.is_floating_point:
            y = self._indices(y)
            if y is not None and y.dtype.is_floating_point:  # one-hot while compiling
                y = y.to(self.weight.dtype)
        dtype = compute_dtype(self, blocks[0])
        w = self.weight.to(real_dtype(dtype))
        if y is None:
            w, spec = w[0], "bckd,kc->bcd"
        elif y.dtype.is_floating_point:
            w, spec = torch.einsum("be,ekc->bkc", y.to(w.dtype), w), "bckd,bkc->bcd"
        else:
            w, spec = w.index_select(0, y), "bckd,bkc->bcd"
        w = w.to(dtype)
        outs = []
        for plan, d in zip(self._first_order, self._out_dims, strict=True):
            wk = w[..., plan.weight_offset : plan.weight_offset + plan.num_copies, :]
            total = None
            for term in plan.terms:
                x_k = blocks[term.block].to(dtype)
                if term.cg is None:  # (batch, mul, d) times one weight per (sample,) channel
                    part = x_k * (wk[..., term.column, :] * term.scale).unsqueeze(-1)
                else:
                    part = torch.einsum(spec, torch.einsum("bca,akd->bckd", x_k, self.cg(term.cg, dtype)), wk)
                total = part if total is None else total + part
            outs.append(total.reshape(batch, self.mul * d))
        return outs[0] if len(outs) == 1 else torch.cat(outs, dim=-1)

    def _input_blocks(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The input blocks as ``(batch, mul, d_k)`` views, from either input layout."""
        self._check_shape(x)
        out, start = [], 0
        for ir in self.channel_irreps:
            if x.ndim == 3:
                out.append(x[..., start : start + ir.dim])
                start += ir.dim
            else:
                out.append(x[:, start : start + self.mul * ir.dim].unflatten(1, (self.mul, ir.dim)))
                start += self.mul * ir.dim
        return out

    def _indices(self, y: torch.Tensor) -> torch.Tensor | None:
        """Element indices, checked in eager mode; ``None`` (shared weights) for one element; one-hot
        weights under ``torch.compile`` (the grouped path reads counts on the host: a graph break)."""
        n = self.num_elements
        if not torch.compiler.is_compiling() and y.numel() and (int(y.min()) < 0 or int(y.max()) >= n):
            raise ValueError(f"SymmetricContraction: element indices must lie in [0, {n}), got values in "
                             f"[{int(y.min())}, {int(y.max())}]")
        if n == 1:
            return None
        if torch.compiler.is_compiling():
            return torch.nn.functional.one_hot(y, n).to(self.weight.dtype)
        return y

    def _grouped(self, xc: torch.Tensor, v: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Samples sorted by element, one batched matmul per element, then put back in order."""
        order = torch.argsort(y)
        counts = torch.bincount(y, minlength=v.shape[0]).tolist()
        levels = self._monomials(xc.index_select(-1, order))  # (M_ν, mul, batch) each
        # split (not slicing): its backward concatenates the chunk gradients in one pass
        per_element = list(zip(*(level.split(counts, dim=-1) for level in levels), strict=True))
        outs = [self._contract(list(chunks), v[e]) for e, chunks in enumerate(per_element) if counts[e]]
        if not outs:
            return xc.new_zeros(xc.shape[1], 0, v.shape[-1])
        out = outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)
        return out.index_select(1, torch.argsort(order))

    def extra_repr(self) -> str:
        return (f"correlation={self.correlation}, num_elements={self.num_elements}, "
                f"monomials={self.num_monomials}, weight_numel={self.weight.numel()}")
