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
second input component): ``Y_l(r) = ε_l · e3nn.o3.spherical_harmonics(l, r[..., [1, 2, 0]])``.

Normalisations (``N_l``): ``"component"`` ``|Y_l(\hat r)|² = 2l + 1`` (default), ``"norm"``
``|Y_l(\hat r)|² = 1``, ``"integral"`` ``∫_{S²} Y_{l,m}² dΩ = 1``.

Algorithm.  With ``w = x + i y``: ``r^l P_l^m(\cos θ) e^{i m φ} ∝ q_l^m(z, r²) w^m``, where
``\hat q_l^m = q_l^m / (2m-1)!!`` obeys ``\hat q_m^m = 1``, ``\hat q_{m+1}^m = (2m+1) z`` and
``\hat q_l^m = ((2l-1) z \hat q_{l-1}^m - (l+m-1) r² \hat q_{l-2}^m) / (l - m)``: a few vectorised
torch operations per ``l``, differentiated by autograd (any order).
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
    """``f_lm = ε_l N_l sqrt((2 - δ_m0) (l-m)!/(l+m)!) (2m-1)!!``: ``Y_lm = f_lm \\hat q_l^m × trig``."""
    scale = {Normalization.COMPONENT: math.sqrt(2 * l + 1), Normalization.NORM: 1.0,
             Normalization.INTEGRAL: math.sqrt((2 * l + 1) / (4 * math.pi))}[normalization]
    n_lm = math.sqrt((2 - (m == 0)) * math.factorial(l - m) / math.factorial(l + m))
    return harmonic_sign(l) * scale * n_lm * math.prod(range(2 * m - 1, 0, -2))


@functools.cache
def _tables(lmax: int, normalization: Normalization) -> tuple[tuple[float, ...], tuple[np.ndarray, ...]]:
    r"""``f_ll`` and the coefficients ``A_l (l,)``, ``B_l (l-1,)`` (l ≥ 2) of the normalised recurrence.

    ``\tilde q_l^m = f_lm \hat q_l^m`` obeys ``\tilde q_l^l = f_ll`` and
    ``\tilde q_l^m = A_lm z \tilde q_{l-1}^m - B_lm r² \tilde q_{l-2}^m`` (``m ≤ l - 1``; the ``B`` term
    only for ``m ≤ l - 2``).
    """
    f = [[_factor(l, m, normalization) for m in range(l + 1)] for l in range(lmax + 1)]
    coeffs = [np.array([f[1][0]])] if lmax >= 1 else []  # \tilde q_1^0 = f_10 z
    for l in range(2, lmax + 1):
        coeffs.append(np.array([(2 * l - 1) / (l - m) * f[l][m] / f[l - 1][m] for m in range(l)]))
        coeffs.append(np.array([(l + m - 1) / (l - m) * f[l][m] / f[l - 2][m] for m in range(l - 1)]))
    return tuple(f[l][l] for l in range(lmax + 1)), tuple(coeffs)


@functools.cache
def _torch_coeffs(lmax: int, normalization: Normalization, dtype: torch.dtype, device: torch.device
                  ) -> tuple[torch.Tensor, ...]:
    _, coeffs = _tables(lmax, normalization)
    return tuple(torch.as_tensor(c[:, None], dtype=dtype, device=device) for c in coeffs)


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
    mask = (norm > 0).to(v.dtype)
    inv = mask / torch.where(norm > 0, norm, 1.0)  # 0 at v = 0; the divisor is never 0
    return v.T * inv, mask


def _legendre_rows(z: torch.Tensor, r2: torch.Tensor, lmax: int, normalization: Normalization
                   ) -> list[torch.Tensor]:
    r"""``[\tilde q_l^0 .. \tilde q_l^l]`` as ``(l+1, n)`` for each ``l ≤ lmax`` (see :func:`_tables`)."""
    top, _ = _tables(lmax, normalization)
    coeffs = _torch_coeffs(lmax, normalization, z.dtype, z.device)
    one = torch.ones_like(z)[None]
    levels = [top[0] * one]
    if lmax >= 1:
        levels.append(torch.cat([coeffs[0] * z[None], top[1] * one]))
    for l in range(2, lmax + 1):
        a, b = coeffs[2 * l - 3], coeffs[2 * l - 2]
        t = a * (z * levels[l - 1])
        bulk = torch.addcmul(t[: l - 1], b, r2 * levels[l - 2][: l - 1], value=-1)
        levels.append(torch.cat([bulk, t[l - 1 :], top[l] * one]))
    return levels


def _trig_rows(x: torch.Tensor, y: torch.Tensor, lmax: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """``[C_1 .. C_lmax]`` and ``[S_1 .. S_lmax]`` with ``C_m + i S_m = (x + i y)^m``."""
    cos, sin = [x], [y]
    for _ in range(lmax - 1):
        c, s = cos[-1], sin[-1]
        cos.append(torch.addcmul(x * c, y, s, value=-1))
        sin.append(torch.addcmul(x * s, y, c))
    return cos, sin


def spherical_harmonics(ls: Sequence[int] | int, vectors: torch.Tensor, *, normalize: bool = True,
                        normalization: str = "component") -> torch.Tensor:
    r"""Real spherical harmonics ``Y_l`` of ``vectors (..., 3)`` (Cartesian ``x, y, z``), ``l`` in ``ls``.

    Output ``(..., Σ_l (2l+1))`` in lie_nn's ``SO3(l)`` basis (see module docstring: ``m = -l..l``,
    ``Y_1 ∝ (y, z, x)``), so ``Y_l(R r) = D_l(R) Y_l(r)`` and, under inversion, ``Y_l(-r) = (-1)^l Y_l(r)``
    (the ``O3(l, (-1)^l)`` parity).  ``normalize=True`` evaluates at ``\hat r = r/|r|`` (at ``r = 0``:
    ``Y_0`` is its constant, ``Y_{l≥1} = 0`` with zero gradient); ``normalize=False`` gives the
    homogeneous polynomials ``|r|^l Y_l(\hat r)``.  ``normalization`` is ``"component"``
    (``|Y_l(\hat r)|² = 2l+1``), ``"norm"`` (``= 1``) or ``"integral"`` (orthonormal on the sphere).
    float16/bfloat16 inputs are computed in float32 and returned in their own dtype.

    >>> y = spherical_harmonics([0, 1, 2], torch.tensor([[0.0, 0.0, 2.0]], dtype=torch.float64))
    >>> y.shape, [round(float(y[0, s].square().sum()), 10) for s in (slice(0, 1), slice(1, 4), slice(4, 9))]
    (torch.Size([1, 9]), [1.0, 3.0, 5.0])
    >>> spherical_harmonics(1, torch.tensor([1.0, 2.0, 3.0]), normalize=False, normalization="norm")
    tensor([2., 3., 1.])
    """
    ls, norm = _check(ls, vectors, normalization)
    low_precision = vectors.dtype in (torch.float16, torch.bfloat16)
    v = vectors.reshape(-1, 3).float() if low_precision else vectors.reshape(-1, 3)
    lmax = max(ls)
    if normalize:
        v, r2 = _unit(v)  # (3, n): every row contiguous
    else:
        v = v.T.contiguous()
        r2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2]
    q = _legendre_rows(v[2], r2, lmax, norm)
    cos, sin = _trig_rows(v[0], v[1], lmax)
    top, _ = _tables(lmax, norm)
    rows = []
    for l in ls:  # Y_lm = \tilde q_l^|m| × (sin |m| φ, 1, cos m φ) r^|m| sin^|m| θ
        rows += [q[l][a] * sin[a - 1] if a < l else top[l] * sin[a - 1] for a in range(l, 0, -1)]
        rows.append(q[l][0])
        rows += [q[l][a] * cos[a - 1] if a < l else top[l] * cos[a - 1] for a in range(1, l + 1)]
    out = torch.stack(rows, dim=-1).reshape(*vectors.shape[:-1], len(rows))
    return out.to(vectors.dtype) if low_precision else out
