r"""Steerable 3D convolution between irreps fields on a voxel grid (SO(3) / O(3)).

A field of ``⊕_k mul_k × ir_k`` on a grid is a tensor ``(batch, dim, D, H, W)``: the channel axis holds
the mul-major feature layout of :mod:`lie_nn.nn._layout`, and voxel ``(i, j, k)`` sits at the
Cartesian point ``(x, y, z) = (i, j, k) · spacing`` (tensor axes ``D, H, W`` are ``x, y, z``).

The kernel at the offset ``s`` from the centre of the window is the steerable tensor-product kernel

.. math:: K(s)_{w c,\, u a} = \sum_{p = (i, l, k, m)} \alpha_p \sum_{n} W_{p, n u w}\,
          \varphi_n(|s|)\, \sum_b C^{(p)}_{a b c}\, Y_{l b}(\hat s),
          \qquad \varphi_n(r) = \mathrm{Bessel}_n(r)\, f_{\rm cut}(r)

over the paths ``ir_i ⊗ Y_l → ir_k`` of :func:`lie_nn.tensor_product_descriptor` (filter irreps
``Y_0 .. Y_lmax``, ``lie_nn.nn.spherical_harmonics``), ``n`` the radial basis functions (Bessel times
the smooth polynomial cutoff at ``r_max``), ``α_p`` the descriptor's ``fan_in^{-1/2}`` divided by the
root of the number of radial functions and the kernel's root mean square basis norm.  CG intertwining
and ``Y(R s) = D(R) Y(s)`` give ``K(R s) = D_out(R) K(s) D_in(R)^{-1}``, hence equivariance of

.. math:: y(x) = \sum_s K(s)\, f(x + s)

(``torch.nn.functional.conv3d`` on the kernel assembled once per forward) under every rotation that
maps the grid to itself (the 48 signed permutations of the axes for a cubic, isotropic grid with
``padding = kernel_size // 2`` and stride 1), exactly, and under any rotation up to the resampling
error of the grid.  At ``s = 0`` only ``l = 0`` filters contribute (``Y_{l ≥ 1}(0) = 0``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from lie_nn._src.descriptors.tensor_product import tensor_product_descriptor
from lie_nn._src.groups.o3 import O3
from lie_nn._src.groups.so3 import SO3
from lie_nn._src.irreps import Irreps
from lie_nn.nn._cg_module import CGModule, CoefficientRef
from lie_nn.nn._layout import as_irreps, is_trivial
from lie_nn.nn._radial import BesselBasis, PolynomialCutoff
from lie_nn.nn._spherical_harmonics import spherical_harmonics

__all__ = ["VoxelConvolution", "check_field", "filter_irreps"]

_NAME = "VoxelConvolution"


def _triple(value: int | Sequence[int], name: str, minimum: int) -> tuple[int, int, int]:
    values = [value] * 3 if isinstance(value, int) else list(value)
    if len(values) != 3 or any(isinstance(v, bool) or not isinstance(v, int) or v < minimum for v in values):
        raise ValueError(f"{_NAME}: {name} must be an int >= {minimum} or three of them, got {value!r}")
    return values[0], values[1], values[2]


def filter_irreps(irreps_in: Irreps, lmax: int) -> Irreps:
    """The filter irreps ``Y_0 ⊕ .. ⊕ Y_lmax`` in the group of ``irreps_in`` (``O3``: parity ``(-1)^l``).

    >>> str(filter_irreps(Irreps("2x0e + 1o"), 2))
    '1x0e+1x1o+1x2e'
    """
    irs = [m.ir for m in irreps_in]
    if not irs:
        return Irreps([(1, SO3(l)) for l in range(lmax + 1)])
    if all(isinstance(ir, O3) for ir in irs):
        return Irreps([(1, O3(l, (-1) ** l)) for l in range(lmax + 1)])
    if all(isinstance(ir, SO3) for ir in irs):
        return Irreps([(1, SO3(l)) for l in range(lmax + 1)])
    raise ValueError(f"{_NAME}: irreps must all be SO3 or all O3 irreps (spherical-harmonic kernels), got "
                     f"{irreps_in}")


def check_field(x: object, dim: int, name: str, layer: str) -> None:
    """``TypeError`` / ``ValueError`` unless ``x`` is a real float tensor ``(batch, dim, D, H, W)``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{layer}: {name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.dtype.is_floating_point:
        raise TypeError(f"{layer}: {name} must be a real floating-point tensor, got dtype {x.dtype}")
    if x.ndim != 5:
        raise ValueError(f"{layer}: {name} must be a 5D tensor (batch, channels, D, H, W), got shape "
                         f"{tuple(x.shape)}")
    if x.shape[1] != dim:
        raise ValueError(f"{layer}: {name} must have {dim} channels (its irreps' dimension), got "
                         f"{x.shape[1]} (shape {tuple(x.shape)})")


def _offsets(size: tuple[int, int, int], spacing: tuple[float, float, float]) -> torch.Tensor:
    """Cartesian offsets ``(V, 3)`` of the kernel window's voxels from its centre, float64."""
    axes = [(torch.arange(n, dtype=torch.float64) - (n - 1) / 2) * h
            for n, h in zip(size, spacing, strict=True)]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, 3)


class VoxelConvolution(CGModule):
    r"""Equivariant 3D convolution ``irreps_in → irreps_out`` with steerable kernels (module docstring).

    ``kernel_size``, ``stride``, ``padding`` (default ``kernel_size // 2``, "same" at stride 1) are read
    like :class:`torch.nn.Conv3d`'s.  ``lmax``: largest filter degree; ``num_radial``: radial basis
    size (default ``(max(kernel_size) + 1) // 2``); ``r_max``: cutoff radius in grid units (default
    ``(max(kernel_size) - 1) / 2 + 0.5``, so the window's corners are cut and the support is a ball);
    ``spacing``: voxel size along ``x, y, z`` (a rotation maps the grid to itself only when it is
    isotropic).  ``bias=True`` adds a learnable bias to the trivial-irrep output channels.

    Input ``(batch, irreps_in.dim, D, H, W)``, output ``(batch, irreps_out.dim, D', H', W')``.

    >>> conv = VoxelConvolution("1x0e", "2x0e + 1x1o + 1x2e", 5)
    >>> conv(torch.randn(1, 1, 8, 8, 8)).shape, conv.kernel().shape
    (torch.Size([1, 10, 8, 8, 8]), torch.Size([10, 1, 5, 5, 5]))
    """

    def __init__(self, irreps_in: Any, irreps_out: Any, kernel_size: int | Sequence[int], *,
                 stride: int | Sequence[int] = 1, padding: int | Sequence[int] | None = None, lmax: int = 2,
                 num_radial: int | None = None, r_max: float | None = None,
                 spacing: float | Sequence[float] = 1.0, bias: bool = True,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        dtype = dtype or torch.get_default_dtype()
        self.irreps_in = as_irreps(irreps_in, "irreps_in", _NAME)
        self.irreps_out = as_irreps(irreps_out, "irreps_out", _NAME)
        if isinstance(lmax, bool) or not isinstance(lmax, int) or lmax < 0:
            raise ValueError(f"{_NAME}: lmax must be a non-negative int, got {lmax!r}")
        self.irreps_filter = filter_irreps(self.irreps_in, lmax)
        if filter_irreps(self.irreps_out, lmax) != self.irreps_filter:
            raise ValueError(f"{_NAME}: irreps must all be SO3 or all O3 irreps, got {self.irreps_in} -> "
                             f"{self.irreps_out}")
        self.kernel_size = _triple(kernel_size, "kernel_size", 1)
        self.stride = _triple(stride, "stride", 1)
        self.padding = _triple(tuple(k // 2 for k in self.kernel_size) if padding is None else padding,
                               "padding", 0)
        spacing = [spacing] * 3 if isinstance(spacing, (int, float)) else list(spacing)
        if len(spacing) != 3 or not all(isinstance(h, (int, float)) and math.isfinite(h) and h > 0
                                        for h in spacing):
            raise ValueError(f"{_NAME}: spacing must be a positive number or three of them, got {spacing!r}")
        self.spacing = (float(spacing[0]), float(spacing[1]), float(spacing[2]))
        extent = max((k - 1) / 2 * h for k, h in zip(self.kernel_size, self.spacing, strict=True))
        self.r_max = float(r_max) if r_max is not None else extent + 0.5 * min(self.spacing)
        self.num_radial = num_radial if num_radial is not None else (max(self.kernel_size) + 1) // 2
        self._build(dtype, bias)

    def _radial_basis(self, r: torch.Tensor) -> torch.Tensor:
        """``φ_n(r)`` ``(V, num_radial)``: Bessel functions times the smooth cutoff (float64)."""
        bessel = BesselBasis(self.r_max, self.num_radial).double()
        return bessel(r) * PolynomialCutoff(self.r_max)(r).unsqueeze(-1)

    def _build(self, dtype: torch.dtype, bias: bool) -> None:
        desc = tensor_product_descriptor(self.irreps_in, self.irreps_filter, self.irreps_out)
        offsets = _offsets(self.kernel_size, self.spacing)
        radial = self._radial_basis(offsets.norm(dim=1))  # (V, n)
        harmonics = spherical_harmonics(list(range(len(self.irreps_filter))), offsets)  # (V, Σ 2l+1)
        filter_slices = self.irreps_filter.slices()
        n_vox = max(int((radial.abs().sum(1) > 0).sum()), 1)
        # one angular-radial basis per (in block, out block): A[p, n, a, c, V]
        groups: dict[tuple[int, int], list[np.ndarray]] = {}
        scales: dict[tuple[int, int], float] = {}
        for p in desc.paths:
            cg = torch.tensor(desc.coefficients[p.block].array)  # (d_in, d_f, d_out)
            y = harmonics[:, filter_slices[p.in2]]  # (V, d_f)
            basis = torch.einsum("vn,vb,abc->nacv", radial, y, cg)
            groups.setdefault((p.in1, p.out), []).append(basis.numpy())
            scales[(p.in1, p.out)] = p.normalisation
        self._plans: list[tuple[int, int, CoefficientRef, int, float]] = []
        offset = 0
        for (i, k), bases in groups.items():
            stacked = np.stack(bases)  # (P, n, d_in, d_out, V)
            rms = float(np.sqrt(np.mean(np.sum(stacked**2, axis=(2, 3)) / stacked.shape[3]) * n_vox)) or 1.0
            ref = self.register_cg(stacked, dtype)
            self._plans.append((i, k, ref, offset, scales[(i, k)] / rms / math.sqrt(self.num_radial)))
            offset += stacked.shape[0] * self.num_radial * self.irreps_in[i].mul * self.irreps_out[k].mul
        self.weight_numel = offset
        self.weight = torch.nn.Parameter(torch.randn(offset, dtype=dtype))
        trivial = [sl for m, sl in zip(self.irreps_out, self.irreps_out.slices(), strict=True)
                   if is_trivial(m.ir)]
        index = [c for sl in trivial for c in range(sl.start, sl.stop)]
        self.register_buffer("bias_index", torch.tensor(index, dtype=torch.long), persistent=False)
        self.bias = torch.nn.Parameter(torch.zeros(len(index), dtype=dtype)) if bias and index else None

    def kernel(self, dtype: torch.dtype | None = None) -> torch.Tensor:
        """The assembled kernel ``(irreps_out.dim, irreps_in.dim, *kernel_size)`` (``conv3d`` layout)."""
        dtype = dtype or self.weight.dtype
        weight = self.weight.to(dtype)
        rows = [[None] * len(self.irreps_in) for _ in self.irreps_out]
        for i, k, ref, offset, alpha in self._plans:
            basis = self.cg(ref, dtype)  # (P, n, d_in, d_out, V)
            n_paths, n, d_in, d_out, _ = basis.shape
            u, w = self.irreps_in[i].mul, self.irreps_out[k].mul
            wts = weight[offset: offset + n_paths * n * u * w].view(n_paths, n, u, w)
            block = torch.einsum("pnuw,pnacv->wcuav", wts, basis) * alpha
            rows[k][i] = block.reshape(w * d_out, u * d_in, *self.kernel_size)
        blocks = []
        for k, row in enumerate(rows):
            out_dim = self.irreps_out[k].mul * self.irreps_out[k].ir.dim
            blocks.append(torch.cat([
                weight.new_zeros(out_dim, m.mul * m.ir.dim, *self.kernel_size) if b is None else b
                for b, m in zip(row, self.irreps_in, strict=True)], dim=1))
        if not blocks:
            return weight.new_zeros(0, self.irreps_in.dim, *self.kernel_size)
        return torch.cat(blocks, dim=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (batch, irreps_in.dim, D, H, W)`` → ``(batch, irreps_out.dim, D', H', W')``."""
        check_field(x, self.irreps_in.dim, "x", _NAME)
        bias = None
        if self.bias is not None:
            bias = x.new_zeros(self.irreps_out.dim).index_copy(0, self.bias_index, self.bias.to(x.dtype))
        return torch.nn.functional.conv3d(x, self.kernel(x.dtype), bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (f"{self.irreps_in} -> {self.irreps_out}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, "
                f"padding={self.padding}, filters={self.irreps_filter}, num_radial={self.num_radial}, "
                f"r_max={self.r_max:g}, weight_numel={self.weight_numel}")
