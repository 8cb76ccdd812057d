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

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch

from lie_nn._src.cg import clebsch_gordan
from lie_nn._src.irrep import Irrep, MulIrrep
from lie_nn._src.irreps import Irreps
from lie_nn.nn._layout import (
    as_irreps,
    as_mul_irreps,
    check_features,
    complex_dtype,
    irreps_dim,
    irreps_slices,
    real_dtype,
)

__all__ = ["CGModule", "ChannelwiseTensorProduct", "TensorProduct", "normalised_cg"]


def normalised_cg(ir1: Irrep, ir2: Irrep, ir3: Irrep) -> np.ndarray:
    """Certified CG ``(mul, d1, d2, d3)`` with each copy rescaled to ``|C_m|_F^2 = d3``.

    >>> from lie_nn._src.groups.so3 import SO3
    >>> C = normalised_cg(SO3(1), SO3(1), SO3(0))
    >>> C.shape, round(float((C ** 2).sum()), 12)
    ((1, 3, 3, 1), 1.0)
    """
    c = clebsch_gordan(ir1, ir2, ir3)
    if c.shape[0] == 0:
        return c
    norms = np.sqrt(np.sum(np.abs(c.reshape(c.shape[0], -1)) ** 2, axis=1))
    return c * (np.sqrt(ir3.dim) / norms)[:, None, None, None]


class CGModule(torch.nn.Module):
    """Module with CG buffers that survive dtype changes without loss of precision.

    CGs are non-persistent buffers (``.to(device)`` moves them; ``state_dict`` does not store them).
    Complex CGs are stored as stacked ``(real, imag)`` so ``module.double()`` never drops an imaginary
    part, and every conversion re-reads a float64 master copy (``.float().double()`` is lossless).
    """

    def __init__(self) -> None:
        super().__init__()
        self._cg_masters: dict[str, np.ndarray] = {}
        self._cg_complex: dict[str, bool] = {}

    def register_cg(self, name: str, array: np.ndarray, dtype: torch.dtype) -> None:
        """Register the numpy ``array`` (real or complex) as buffer ``name`` of real precision ``dtype``."""
        is_complex = bool(np.iscomplexobj(array) and np.any(np.imag(array) != 0))
        master = np.stack([array.real, array.imag]) if is_complex else np.real(array)
        self._cg_masters[name] = np.ascontiguousarray(master, dtype=np.float64)
        self._cg_complex[name] = is_complex
        self.register_buffer(name, torch.as_tensor(self._cg_masters[name], dtype=dtype), persistent=False)

    def cg(self, name: str, dtype: torch.dtype) -> torch.Tensor:
        """Buffer ``name`` in the computation dtype ``dtype`` (complex when the CG is complex)."""
        buf = getattr(self, name).to(real_dtype(dtype))
        return torch.complex(buf[0], buf[1]) if self._cg_complex[name] else buf.to(dtype)

    @property
    def cg_is_complex(self) -> bool:
        return any(self._cg_complex.values())

    def _apply(self, fn: Callable, recurse: bool = True) -> CGModule:  # type: ignore[override]
        super()._apply(fn, recurse)
        for name, master in self._cg_masters.items():
            buf = self._buffers.get(name)
            if buf is not None and buf.is_floating_point() and buf.device.type != "meta":
                self._buffers[name] = torch.as_tensor(master, dtype=buf.dtype, device=buf.device)
        return self


def _compute_dtype(module: CGModule, *xs: torch.Tensor) -> torch.dtype:
    dtype = xs[0].dtype
    for x in xs[1:]:
        dtype = torch.promote_types(dtype, x.dtype)
    return complex_dtype(dtype) if module.cg_is_complex else dtype


def _allowed_outputs(ir1: Irrep, ir2: Irrep, keep: Callable[[Irrep], bool]) -> list[Irrep]:
    try:
        return sorted({m.ir for m in ir1 * ir2 if m.mul > 0 and keep(m.ir)}, key=lambda ir: ir.sort_key())
    except NotImplementedError as err:
        raise ValueError(f"the selection rule {ir1} ⊗ {ir2} is unknown; pass irreps_out explicitly") from err


def _as_filter(filter_ir_out: Any) -> Callable[[Irrep], bool]:
    if filter_ir_out is None:
        return lambda ir: True
    if callable(filter_ir_out) and not isinstance(filter_ir_out, Irrep):
        return filter_ir_out
    if isinstance(filter_ir_out, Irrep):
        filter_ir_out = [filter_ir_out]
    if not isinstance(filter_ir_out, Iterable):
        raise TypeError(f"filter_ir_out must be None, a callable or irreps, "
                        f"got {type(filter_ir_out).__name__}")
    allowed = {m.ir for m in as_mul_irreps(list(filter_ir_out), "filter_ir_out")}
    return lambda ir: ir in allowed


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

    >>> from lie_nn._src.groups.o3 import O3
    >>> tp = ChannelwiseTensorProduct([(4, O3(0, 1)), (4, O3(1, -1))], [O3(0, 1), O3(1, -1)],
    ...                               filter_ir_out=[O3(0, 1), O3(1, -1)], dtype=torch.float64)
    >>> [str(m) for m in tp.irreps_out], tp.weight_numel
    (['4xO3(0e)', '4xO3(1o)', '4xO3(0e)', '4xO3(1o)'], 16)
    >>> tp(torch.randn(10, 16, dtype=torch.float64), torch.randn(10, 4, dtype=torch.float64)).shape
    torch.Size([10, 32])
    """

    def __init__(self, irreps_in1: Any, irreps_in2: Any, filter_ir_out: Any = None, *,
                 internal_weights: bool = True, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        dtype = dtype or torch.get_default_dtype()
        self.irreps_in1 = as_irreps(irreps_in1, "irreps_in1")
        self.irreps_in2 = as_irreps(irreps_in2, "irreps_in2")
        if self.irreps_in1 and self.irreps_in2:
            self.irreps_in1[0].ir.check_same_group(self.irreps_in2[0].ir)
        bad = [str(m) for m in self.irreps_in2 if m.mul != 1]
        if bad:
            raise ValueError(f"ChannelwiseTensorProduct needs multiplicity 1 in irreps_in2 (like spherical "
                             f"harmonics), got {', '.join(bad)}")
        keep = _as_filter(filter_ir_out)
        self.dim_in1, self.dim_in2 = irreps_dim(self.irreps_in1), irreps_dim(self.irreps_in2)
        slices2 = irreps_slices(self.irreps_in2)
        out: list[MulIrrep] = []
        # per used block of in1: (cg buffer name, slice in x1, mul1, d1, [(n_paths, d_out, weight offset)])
        self._blocks: list[tuple[str, slice, int, int, list[tuple[int, int, int]]]] = []
        n_weight = 0
        for i, (m1, sl1) in enumerate(zip(self.irreps_in1, irreps_slices(self.irreps_in1), strict=True)):
            groups = self._block_paths(m1, slices2, keep, out)
            if not groups:
                continue
            # buffer (dim2, Σ_g n_g d1 d_g): group g is (dim2, n, d1, d) so x2 @ cg yields per-sample
            # (n, d1, d) matrices contiguous per group
            self.register_cg(f"cg_{i}", np.concatenate(
                [np.stack(g).transpose(2, 0, 1, 3).reshape(self.dim_in2, -1) for g in groups], axis=1), dtype)
            spec = []
            for g in groups:
                spec.append((len(g), g[0].shape[-1], n_weight))
                n_weight += len(g) * m1.mul
            self._blocks.append((f"cg_{i}", sl1, m1.mul, m1.ir.dim, spec))
        self.irreps_out = Irreps(out)
        self.dim_out = irreps_dim(self.irreps_out)
        _weight_setup(self, n_weight, internal_weights, dtype)

    def _block_paths(self, m1: MulIrrep, slices2: list[slice], keep: Callable, out: list[MulIrrep]):
        """CG ``(d1, dim2, d_out)`` of every path from block ``m1``, in runs of equal ``d_out``."""
        paths = []
        for j, m2 in enumerate(self.irreps_in2):
            for ir_out in _allowed_outputs(m1.ir, m2.ir, keep):
                c = normalised_cg(m1.ir, m2.ir, ir_out)
                for m in range(c.shape[0]):
                    full = np.zeros((m1.ir.dim, self.dim_in2, ir_out.dim), dtype=c.dtype)
                    full[:, slices2[j], :] = c[m]
                    paths.append((ir_out.sort_key(), j, m, ir_out, full))
        paths.sort(key=lambda p: p[:3])
        groups: list[list[np.ndarray]] = []
        for *_, ir_out, full in paths:
            if m1.mul == 0:
                continue
            out.append(MulIrrep(m1.mul, ir_out))
            if groups and groups[-1][0].shape[-1] == ir_out.dim:
                groups[-1].append(full)
            else:
                groups.append([full])
        return groups

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """``x1 (..., dim1)``, ``x2 (..., dim2)``, optional ``weight (..., weight_numel)`` →
        ``(..., dim_out)`` (batch shapes broadcast)."""
        check_features(x1, self.dim_in1, "x1", "ChannelwiseTensorProduct")
        check_features(x2, self.dim_in2, "x2", "ChannelwiseTensorProduct")
        shape = torch.broadcast_shapes(x1.shape[:-1], x2.shape[:-1])
        dtype = _compute_dtype(self, x1, x2)
        x1 = x1.to(dtype).expand(*shape, self.dim_in1).reshape(-1, self.dim_in1)
        x2 = x2.to(dtype).expand(*shape, self.dim_in2).reshape(-1, self.dim_in2)
        batch = x1.shape[0]
        w = _weights(self, weight, batch)
        w = w.to(real_dtype(dtype))
        pieces = []
        for name, sl1, mul, d1, spec in self._blocks:
            m = x2 @ self.cg(name, dtype)  # (batch, Σ_g n d1 d)
            x = x1[:, sl1].view(batch, 1, mul, d1)
            col = 0
            for n, d, w0 in spec:
                mg = m[:, col : col + n * d1 * d].view(batch, n, d1, d)
                wg = w[:, w0 : w0 + n * mul].view(-1, n, mul, 1)
                if d1 <= d:  # weight the smaller operand
                    z = torch.matmul(x * wg, mg)
                else:
                    z = torch.matmul(x, mg) * wg
                pieces.append(z.reshape(batch, n * mul * d))  # (batch, n, mul, d): mul-major blocks
                col += n * d1 * d
        if not pieces:
            return x1.new_zeros(*shape, 0)
        return torch.cat(pieces, dim=-1).reshape(*shape, self.dim_out)


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

    >>> from lie_nn._src.groups.su2 import SU2
    >>> tp = TensorProduct([(2, SU2("1/2"))], [(1, SU2("1/2"))], [(3, SU2(0)), (1, SU2(1))])
    >>> tp.weight_numel, tp(torch.randn(5, 4, dtype=torch.complex64), torch.randn(5, 2)).dtype
    (8, torch.complex64)
    """

    def __init__(self, irreps_in1: Any, irreps_in2: Any, irreps_out: Any, *, internal_weights: bool = True,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        dtype = dtype or torch.get_default_dtype()
        self.irreps_in1 = as_irreps(irreps_in1, "irreps_in1")
        self.irreps_in2 = as_irreps(irreps_in2, "irreps_in2")
        self.irreps_out = as_irreps(irreps_out, "irreps_out")
        everything = self.irreps_in1 + self.irreps_in2 + self.irreps_out
        for item in everything[1:]:
            everything[0].ir.check_same_group(item.ir)
        self.dim_in1, self.dim_in2 = irreps_dim(self.irreps_in1), irreps_dim(self.irreps_in2)
        self.dim_out = irreps_dim(self.irreps_out)
        s1, s2 = irreps_slices(self.irreps_in1), irreps_slices(self.irreps_in2)
        fan_in = [0] * len(self.irreps_out)
        pairs = []  # (i, j, [(k, m, c)])
        for i, m1 in enumerate(self.irreps_in1):
            for j, m2 in enumerate(self.irreps_in2):
                paths = []
                for k, mo in enumerate(self.irreps_out):
                    if m1.mul * m2.mul * mo.mul == 0:
                        continue
                    c = normalised_cg(m1.ir, m2.ir, mo.ir)
                    paths += [(k, c[m]) for m in range(c.shape[0])]
                    fan_in[k] += c.shape[0] * m1.mul * m2.mul
                if paths:
                    pairs.append((i, j, paths))
        # per (i, j): (cg name, slice1, mul1, d1, slice2, mul2, d2, [(k, col, d_out, weight offset)])
        self._pairs = []
        offset = 0
        for n, (i, j, paths) in enumerate(pairs):
            m1, m2 = self.irreps_in1[i], self.irreps_in2[j]
            spec, col = [], 0
            for k, _ in paths:
                mo = self.irreps_out[k]
                spec.append((k, col, mo.ir.dim, offset, fan_in[k] ** -0.5))
                col += mo.ir.dim
                offset += m1.mul * m2.mul * mo.mul
            self.register_cg(f"cg_{n}", np.concatenate([c for _, c in paths], axis=-1), dtype)
            self._pairs.append((f"cg_{n}", s1[i], m1.mul, m1.ir.dim, s2[j], m2.mul, m2.ir.dim, spec))
        _weight_setup(self, offset, internal_weights, dtype)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """``x1 (..., dim1)``, ``x2 (..., dim2)``, optional ``weight (..., weight_numel)`` →
        ``(..., dim_out)`` (batch shapes broadcast)."""
        check_features(x1, self.dim_in1, "x1", "TensorProduct")
        check_features(x2, self.dim_in2, "x2", "TensorProduct")
        shape = torch.broadcast_shapes(x1.shape[:-1], x2.shape[:-1])
        dtype = _compute_dtype(self, x1, x2)
        x1 = x1.to(dtype).expand(*shape, self.dim_in1).reshape(-1, self.dim_in1)
        x2 = x2.to(dtype).expand(*shape, self.dim_in2).reshape(-1, self.dim_in2)
        batch = x1.shape[0]
        w = _weights(self, weight, batch).to(real_dtype(dtype))
        acc: list[list[torch.Tensor]] = [[] for _ in self.irreps_out]
        for name, sl1, u, d1, sl2, v, d2, spec in self._pairs:
            cg = self.cg(name, dtype)  # (d1, d2, n_col)
            a = x1[:, sl1].view(batch, u, d1)
            b = x2[:, sl2].view(batch, v, d2)
            t = torch.einsum("bua,bvc,ack->buvk", a, b, cg)
            for k, col, d, w0, alpha in spec:
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
