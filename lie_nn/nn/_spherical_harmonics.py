r"""Real spherical harmonics in lie_nn's SO(3) basis, by recurrence (``O(n L²)`` time, linear memory).

Basis.  ``Y_l`` transforms with lie_nn's ``SO3(l)`` (and ``O3(l, (-1)^l)``) matrices:
``Y_l(R r) = D_l(R) Y_l(r)``.  Its components are the standard real harmonics with ``z`` as polar
axis, ordered ``m = -l..l`` (sine-like for ``m < 0``, cosine-like for ``m > 0``, no Condon–Shortley
phase), times a sign ``ε_l``:

.. math:: Y_{l,m}(\hat r) = ε_l\, N_l\, \sqrt{(2 - δ_{m0}) \tfrac{(l-|m|)!}{(l+|m|)!}}\,
          P_l^{|m|}(\cos θ) \begin{cases} \sin |m| φ & m < 0 \\ 1 & m = 0 \\ \cos m φ & m > 0 \end{cases},
          \qquad ε_l = (-1)^{\lfloor (l - 1)/2 \rfloor}\ (l \ge 1),\ ε_0 = 1,

so ``Y_1 ∝ (y, z, x)``.  ``ε_l`` is the sign of lie_nn's original harmonics (the ``SO3(l)`` component
of ``Sym^l(SO3(1))``), kept as a versioned convention.  Relative to e3nn (whose polar axis is its
second input component): ``Y_l(r) = ε_l · e3nn.o3.spherical_harmonics(l, r[..., [1, 2, 0]])``; relative
to sphericart (``z`` polar, same ``m`` order, ``"integral"``), ``Y_l(r) = ε_l · Y_l^{sphericart}(r)``.

Normalisations (``N_l``): ``"component"`` ``|Y_l(\hat r)|² = 2l + 1`` (default), ``"norm"``
``|Y_l(\hat r)|² = 1``, ``"integral"`` ``∫_{S²} Y_{l,m}² dΩ = 1``.

Algorithm.  With ``C_m + i S_m = (x + i y)^m`` and the associated Legendre recurrence rescaled to
``p_m^m = 1``, ``p_{m+1}^m = z``, ``p_l^m = z p_{l-1}^m - β_{lm} r² p_{l-2}^m`` with
``β_{lm} = (l+m-1)(l-m-1) / ((2l-1)(2l-3))``, every component is one product
``Y_{l,±m} = c_{lm} p_l^m (S_m, C_m)``: ``O(L²)`` vectorised torch operations on ``n``-vectors, linear
memory, differentiated by autograd to any order (rows are assembled contiguously, then transposed
and scaled in one pass, so the backward pass also reads contiguous rows).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from enum import Enum

import numpy as np
import torch

__all__ = ["spherical_harmonics"]


class Normalization(str, Enum):
    COMPONENT = "component"
    NORM = "norm"
    INTEGRAL = "integral"


def harmonic_sign(l: int) -> int:
    """``ε_l``: lie_nn's sign of ``Y_l`` relative to the standard real harmonics (module docstring)."""
    return 1 if l == 0 else (-1) ** ((l - 1) // 2)


def _factor(l: int, m: int, normalization: Normalization) -> float:
    """``c_lm`` with ``Y_{l,±m} = c_lm p_l^m × (r^m \\sin^m θ) (\\sin mφ, \\cos mφ)`` (see :func:`_beta`).

    Plain loops (no generators), so that torch.compile folds it to a constant.
    """
    scale = {Normalization.COMPONENT: math.sqrt(2 * l + 1), Normalization.NORM: 1.0,
             Normalization.INTEGRAL: math.sqrt((2 * l + 1) / (4 * math.pi))}[normalization]
    ratio = 1.0  # (l-m)! / (l+m)!
    for k in range(l - m + 1, l + m + 1):
        ratio /= k
    c = harmonic_sign(l) * scale * math.sqrt((2 - (m == 0)) * ratio)
    for k in range(1, 2 * m, 2):  # (2m-1)!!
        c *= k
    for k in range(m + 1, l + 1):  # s_lm, with \\hat q_l^m = s_lm p_l^m
        c *= (2 * k - 1) / (k - m)
    return c


def _beta(l: int, m: int) -> float:
    r"""``p_l^m = z p_{l-1}^m - β_lm r² p_{l-2}^m``, ``β_lm = (l+m-1)(l-m-1) / ((2l-1)(2l-3))``.

    ``p_l^m`` is the associated Legendre recurrence rescaled so that ``p_m^m = 1`` and ``p_{m+1}^m = z``.
    """
    return (l + m - 1) * (l - m - 1) / ((2 * l - 1) * (2 * l - 3))


def _factors_of(ls: tuple[int, ...], normalization: Normalization) -> list[float]:
    out = []
    for l in ls:
        for m in range(-l, l + 1):
            out.append(_factor(l, abs(m), normalization))
    return out


_cached_factors = functools.cache(_factors_of)


def _factors(ls: tuple[int, ...], normalization: Normalization) -> list[float]:
    """Cached in eager mode; traced (folded to constants) by torch.compile, which skips caches."""
    if torch.compiler.is_compiling():
        return _factors_of(ls, normalization)
    return _cached_factors(ls, normalization)


def _check(ls: Sequence[int] | int, vectors: torch.Tensor, normalization: str) -> tuple[tuple[int, ...],
                                                                                         Normalization]:
    ls = [ls] if isinstance(ls, int) and not isinstance(ls, bool) else list(ls)
    if not ls or any(isinstance(ell, bool) or not isinstance(ell, int) or ell < 0 for ell in ls):
        raise ValueError(f"spherical_harmonics: ls must be non-negative ints, got {ls!r}")
    if not isinstance(vectors, torch.Tensor) or vectors.ndim == 0 or vectors.shape[-1] != 3:
        raise ValueError("spherical_harmonics: vectors must be a tensor of shape (..., 3)")
    if not vectors.is_floating_point():
        raise TypeError(f"spherical_harmonics: vectors must be a floating-point tensor, got {vectors.dtype}")
    try:
        norm = Normalization(normalization)
    except ValueError:
        raise ValueError(f"spherical_harmonics: normalization must be 'component', 'norm' or 'integral', "
                         f"got {normalization!r}") from None
    return tuple(ls), norm


def _unit(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``v / |v|`` as ``(3, n)`` for ``v (n, 3)``, and its squared norm: 1, or 0 at ``v = 0``.

    At ``v = 0`` the result is 0 with zero gradient (no ``0/0`` on any branch, forward or backward).
    """
    norm = torch.linalg.vector_norm(v, dim=1)  # scaled: no overflow / underflow of |v|²
    nonzero = norm > 0
    inv = nonzero / torch.where(nonzero, norm, 1.0)  # 0 at v = 0; the divisor is never 0
    return v.T * inv, nonzero.to(v.dtype)


def _legendre_rows(z: torch.Tensor, r2: torch.Tensor, lmax: int) -> list[list[torch.Tensor | None]]:
    """``p[l][m]`` for ``m ≤ l ≤ lmax`` (see :func:`_beta`); ``None`` stands for the constant 1."""
    p: list[list[torch.Tensor | None]] = [[None]]
    for l in range(1, lmax + 1):
        row: list[torch.Tensor | None] = []
        for m in range(l - 1):
            zp = z * p[l - 1][m]
            two_below = p[l - 2][m]
            if two_below is None:
                row.append(torch.add(zp, r2, alpha=-_beta(l, m)))
            else:
                row.append(torch.addcmul(zp, r2, two_below, value=-_beta(l, m)))
        p.append([*row, z, None])
    return p


def _trig_rows(x: torch.Tensor, y: torch.Tensor, lmax: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """``[C_1 .. C_lmax]`` and ``[S_1 .. S_lmax]`` with ``C_m + i S_m = (x + i y)^m``."""
    cos, sin = [x], [y]
    for _ in range(lmax - 1):
        c, s = cos[-1], sin[-1]
        cos.append(torch.addcmul(x * c, y, s, value=-1))
        sin.append(torch.addcmul(x * s, y, c))
    return cos, sin


# torch threads at sphericart's first call: sphericart-torch 2.0.4 corrupts the heap (segfault) when
# the thread count grows after its first call in a process (measured on this project's CPU machine)
_SPHERICART_THREADS: list[int] = []


@functools.cache
def _sphericart(lmax: int, normalized: bool) -> torch.nn.Module:
    """sphericart's ``SphericalHarmonics`` (normalises inside its kernel) or ``SolidHarmonics``."""
    try:
        import sphericart.torch as sct
    except ImportError as err:
        raise ImportError("spherical_harmonics: backend='sphericart' needs sphericart-torch "
                          "(pip install sphericart-torch)") from err
    return sct.SphericalHarmonics(lmax) if normalized else sct.SolidHarmonics(lmax)


def _check_sphericart_threads() -> None:
    threads = torch.get_num_threads()
    if not _SPHERICART_THREADS:
        _SPHERICART_THREADS.append(threads)
    elif threads > _SPHERICART_THREADS[0]:
        raise RuntimeError(f"spherical_harmonics: backend='sphericart' was first used with "
                           f"{_SPHERICART_THREADS[0]} torch threads and now runs with {threads}; "
                           f"sphericart-torch corrupts memory when the thread count grows after its first "
                           f"call. Set torch.set_num_threads before the first call, or use backend='torch'")


@functools.cache
def _sphericart_map(ls: tuple[int, ...], normalization: Normalization
                    ) -> tuple[np.ndarray | None, np.ndarray]:
    """Columns of sphericart's ``l ≤ lmax`` output for ``ls`` (None: all, in order) and per-column factors.

    sphericart's solid harmonics are ``"integral"``-normalised standard real harmonics (``z`` polar,
    ``m = -l..l``): lie_nn's ``Y_l`` is ``ε_l`` times them, rescaled to the requested normalisation.
    """
    per_l = {Normalization.COMPONENT: lambda l: math.sqrt(4 * math.pi),
             Normalization.NORM: lambda l: math.sqrt(4 * math.pi / (2 * l + 1)),
             Normalization.INTEGRAL: lambda l: 1.0}[normalization]
    cols = None
    if ls != tuple(range(max(ls) + 1)):
        cols = np.concatenate([np.arange(l * l, (l + 1) ** 2) for l in ls])
    return cols, np.concatenate([np.full(2 * l + 1, harmonic_sign(l) * per_l(l)) for l in ls])


def _via_sphericart(ls: tuple[int, ...], v: torch.Tensor, normalize: bool, norm: Normalization
                    ) -> torch.Tensor:
    """``spherical_harmonics`` of ``v (n, 3)`` from sphericart-torch's harmonics.

    sphericart normalises inside its own kernel (one pass over the data) but gives NaN at ``v = 0``;
    a NaN in the first ``l = 1`` column marks a zero vector (or a NaN input), and then the batch is
    normalised here first instead (``0`` at ``v = 0``, where the solid harmonics vanish for ``l ≥ 1``,
    with a finite gradient).  Checking the output costs less than checking the input (measured).
    """
    _check_sphericart_threads()
    lmax, v = max(ls), v.contiguous()
    y = _sphericart(lmax, True).compute(v) if normalize and lmax > 0 else None
    if y is None or bool(y[:, 1].sum().isnan()):
        if normalize:
            length = torch.linalg.vector_norm(v, dim=1, keepdim=True)
            v = v * ((length > 0) / torch.where(length > 0, length, 1.0))
        y = _sphericart(lmax, False).compute(v.contiguous())
    cols, factor = _sphericart_map(ls, norm)
    if cols is not None:
        y = y.index_select(1, torch.as_tensor(cols, device=y.device))
    factor = torch.as_tensor(factor, dtype=y.dtype, device=y.device)
    return y * factor if y.requires_grad else y.mul_(factor)  # in place only outside autograd


class _ScaledTranspose(torch.autograd.Function):
    """``x (K, n) ↦ x^T · diag(f)`` in one contiguous pass; its gradient is the transposed map (rows)."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: torch.Tensor, factor: torch.Tensor,
                rows_in: bool) -> torch.Tensor:
        ctx.save_for_backward(factor)
        ctx.rows_in = rows_in
        out = x.new_empty(x.shape[::-1])
        return torch.mul(x.T, factor if rows_in else factor[:, None], out=out)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor
                 ) -> tuple[torch.Tensor, None, None]:
        (factor,) = ctx.saved_tensors
        return _ScaledTranspose.apply(grad, factor, not ctx.rows_in), None, None


def spherical_harmonics(ls: Sequence[int] | int, vectors: torch.Tensor, *, normalize: bool = True,
                        normalization: str = "component", backend: str = "torch") -> torch.Tensor:
    r"""Real spherical harmonics ``Y_l`` of ``vectors (..., 3)`` (Cartesian ``x, y, z``), ``l`` in ``ls``.

    Output ``(..., Σ_l (2l+1))`` in lie_nn's ``SO3(l)`` basis (see module docstring: ``m = -l..l``,
    ``Y_1 ∝ (y, z, x)``), so ``Y_l(R r) = D_l(R) Y_l(r)`` and, under inversion, ``Y_l(-r) = (-1)^l Y_l(r)``
    (the ``O3(l, (-1)^l)`` parity).  ``normalize=True`` evaluates at ``\hat r = r/|r|`` (at ``r = 0``:
    ``Y_0`` is its constant, ``Y_{l≥1} = 0`` with zero gradient); ``normalize=False`` gives the
    homogeneous polynomials ``|r|^l Y_l(\hat r)``.  ``normalization`` is ``"component"``
    (``|Y_l(\hat r)|² = 2l+1``), ``"norm"`` (``= 1``) or ``"integral"`` (orthonormal on the sphere).
    float16/bfloat16 inputs are computed in float32 and returned in their own dtype.
    ``backend="sphericart"`` computes the same values with sphericart-torch's solid harmonics (an
    optional extra; its basis differs from lie_nn's by the sign ``ε_l`` and a per-``l`` scale).

    >>> y = spherical_harmonics([0, 1, 2], torch.tensor([[0.0, 0.0, 2.0]], dtype=torch.float64))
    >>> y.shape, [round(float(y[0, s].square().sum()), 10) for s in (slice(0, 1), slice(1, 4), slice(4, 9))]
    (torch.Size([1, 9]), [1.0, 3.0, 5.0])
    >>> spherical_harmonics(1, torch.tensor([1.0, 2.0, 3.0]), normalize=False, normalization="norm")
    tensor([2., 3., 1.])
    """
    ls, norm = _check(ls, vectors, normalization)
    low_precision = vectors.dtype in (torch.float16, torch.bfloat16)
    v = vectors.reshape(-1, 3).float() if low_precision else vectors.reshape(-1, 3)
    if backend == "sphericart":
        out = _via_sphericart(ls, v, normalize, norm).reshape(*vectors.shape[:-1], sum(2 * l + 1 for l in ls))
        return out.to(vectors.dtype) if low_precision else out
    if backend != "torch":
        raise ValueError(f"spherical_harmonics: backend must be 'torch' or 'sphericart', got {backend!r}")
    lmax = max(ls)
    if normalize:
        v, r2 = _unit(v)  # (3, n): every row contiguous
    else:
        v = v.T.contiguous()
        r2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2]
    p = _legendre_rows(v[2], r2, lmax)
    cos, sin = _trig_rows(v[0], v[1], lmax)
    rows = []
    for l in ls:  # Y_lm = c_lm p_l^|m| × (S_|m|, 1, C_m)
        for m in range(-l, l + 1):
            base, trig = p[l][abs(m)], (sin[-m - 1] if m < 0 else cos[m - 1] if m > 0 else None)
            rows.append(base if trig is None else trig if base is None else base * trig)
    rows = [torch.ones_like(r2) if row is None else row for row in rows]
    factors = torch.tensor(_factors(ls, norm), dtype=v.dtype, device=v.device)
    out = _ScaledTranspose.apply(torch.stack(rows), factors, True)
    out = out.reshape(*vectors.shape[:-1], len(rows))
    return out.to(vectors.dtype) if low_precision else out
