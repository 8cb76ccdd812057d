r"""The position distribution: a spherical-harmonic signal on a set of radii, discretised on a grid.

Around the focus atom the next atom's offset ``x = r \hat x`` has the unnormalised log-density

.. math:: f(r, \hat x) = \sum_{b=1}^{B} φ_b(r) \sum_{l \le L} \sum_{m} a_{b,lm}\, Y_{lm}(\hat x),
          \qquad φ_b(r) = \exp\!\big(-(r - μ_b)^2 / (2 w^2)\big),

with coefficients ``a (B, (L+1)^2)`` from the network (``a_{b,l}`` transforms with ``D_l``, so
``f_{R·\text{fragment}}(R x) = f(x)`` exactly) and Gaussian radial basis functions ``φ_b`` at ``μ_b``
evenly spaced on ``[r_min, r_max]``.  The grid is ``K`` radii (uniform, spacing ``Δr``) times
``J = n_β n_α`` directions (Gauss–Legendre in ``\cos β``, uniform in ``α``, quadrature weights
``ω_j``, ``Σ ω_j = 4π``); a cell's probability is

.. math:: p_{kj} = \operatorname{softmax}_{kj}\big(f(r_k, \hat x_j)/T + \log(r_k^2 Δr\, ω_j)\big),

the discretisation of the density ``∝ e^{f/T}`` (``T``: the sampling temperature; ``T = 1`` in
training), sampled exactly.  Training minimises the cross-entropy against a smoothed target: for a
true offset ``y`` the cell mass ``q_{kj} ∝ r_k^2 Δr\, ω_j\, e^{-(r_k - |y|)^2/(2σ_r^2)}\,
e^{κ(\hat x_j·\hat y - 1)}`` (radial Gaussian × von Mises–Fisher, ``κ = 1/σ_a^2``), averaged over
the equally valid targets.  Since ``q`` is a product per target, ``-Σ q \log p = -q_rᵀ (\log p) q_Ω``
never builds the ``K × J`` target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from lie_nn.nn import spherical_harmonics

__all__ = ["GridConfig", "PositionGrid", "first_above", "inverse_cdf"]


@dataclass(frozen=True)
class GridConfig:
    """Grid and basis sizes (Å, radians); stored in checkpoints with the model config."""

    lmax: int = 5
    r_min: float = 0.9
    r_max: float = 1.9
    n_radii: int = 40
    n_basis: int = 12
    n_beta: int = 32
    n_alpha: int = 64
    sigma_r: float = 0.03
    sigma_a: float = 0.1

    def __post_init__(self) -> None:
        sizes = (self.n_radii, self.n_basis, self.n_beta, self.n_alpha)
        if not (0 < self.r_min < self.r_max) or min(sizes) < 2:
            raise ValueError(f"GridConfig: need 0 < r_min < r_max and sizes >= 2, got {self}")
        if self.lmax < 0 or not (self.sigma_r > 0 and self.sigma_a > 0):
            raise ValueError(f"GridConfig: need lmax >= 0 and positive widths, got {self}")

    @property
    def dim(self) -> int:
        """Number of harmonics ``(L+1)^2`` per radial basis function."""
        return (self.lmax + 1) ** 2


def sphere_grid(n_beta: int, n_alpha: int) -> tuple[np.ndarray, np.ndarray]:
    """Directions ``(n_β n_α, 3)`` and quadrature weights (sum ``4π``): Gauss–Legendre nodes in
    ``\\cos β`` times uniform ``α``; exact for harmonics of degree ``< min(2 n_β, n_α)``.

    >>> x, w = sphere_grid(4, 8)
    >>> x.shape, round(float(w.sum() / (4 * np.pi)), 12), round(float((w * x[:, 2] ** 2).sum()), 12)
    ((32, 3), 1.0, 4.18879020479)
    """
    z, wz = np.polynomial.legendre.leggauss(n_beta)
    alpha = 2 * np.pi * (np.arange(n_alpha) + 0.5) / n_alpha
    s = np.sqrt(1 - z**2)
    x = np.stack([np.outer(s, np.cos(alpha)), np.outer(s, np.sin(alpha)), np.outer(z, np.ones(n_alpha))], -1)
    w = np.outer(wz, np.full(n_alpha, 2 * np.pi / n_alpha))
    return x.reshape(-1, 3), w.reshape(-1)


def first_above(cumulative: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """First index ``(N,)`` where ``cumulative (N, M)`` (non-decreasing) exceeds ``u`` times its last
    value, never past the last increase (rounding as ``u → 1``)."""
    idx = torch.searchsorted(cumulative, (u.to(cumulative.dtype) * cumulative[:, -1]).unsqueeze(1),
                             right=True).squeeze(1)
    last = torch.searchsorted(cumulative, cumulative[:, -1:].contiguous(), right=False).squeeze(1)
    return torch.minimum(idx, last)


def inverse_cdf(logits: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Index ``(N,)`` drawn from ``softmax(logits (N, M))`` with uniforms ``u (N,)`` in ``[0, 1)``:
    the first index whose cumulative probability exceeds ``u`` (cells of zero mass are never chosen).

    >>> inverse_cdf(torch.log(torch.tensor([[0.2, 0.0, 0.8]] * 3)), torch.tensor([0.1, 0.3, 0.99])).tolist()
    [0, 2, 2]
    """
    w = (logits - logits.amax(-1, keepdim=True)).exp().to(torch.float64)
    return first_above(torch.cumsum(w, dim=-1), u)


class PositionGrid(torch.nn.Module):
    """Log-probabilities on the grid, sampling and the training cross-entropy of :mod:`grid`.

    >>> grid = PositionGrid(GridConfig(lmax=2, n_radii=8, n_basis=4, n_beta=6, n_alpha=12))
    >>> logp = grid.log_probs(torch.zeros(3, 4, 9))
    >>> logp.shape, [round(float(v), 6) for v in logp.exp().sum((1, 2))]
    (torch.Size([3, 8, 72]), [1.0, 1.0, 1.0])
    """

    def __init__(self, config: GridConfig, *, n_beta: int | None = None, n_alpha: int | None = None,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.config = c = config
        radii = np.linspace(c.r_min, c.r_max, c.n_radii)
        dr = radii[1] - radii[0]
        centers = np.linspace(c.r_min, c.r_max, c.n_basis)
        width = centers[1] - centers[0]
        dirs, weights = sphere_grid(n_beta or c.n_beta, n_alpha or c.n_alpha)
        self.register_buffer("radii", torch.tensor(radii, dtype=dtype))
        self.register_buffer("directions", torch.tensor(dirs, dtype=dtype))
        self.register_buffer("basis", torch.tensor(np.exp(-0.5 * ((radii[:, None] - centers) / width) ** 2),
                                                   dtype=dtype))  # (K, B)
        harmonics = spherical_harmonics(list(range(c.lmax + 1)), torch.tensor(dirs, dtype=torch.float64))
        self.register_buffer("harmonics", harmonics.to(dtype))  # (J, D)
        self.register_buffer("log_radial", torch.tensor(np.log(radii**2 * dr), dtype=dtype))
        self.register_buffer("log_angular", torch.tensor(np.log(weights), dtype=dtype))
        self.register_buffer("centers", torch.tensor(centers, dtype=dtype), persistent=False)
        self.basis_width, self.spacing = float(width), float(dr)

    def signal(self, coefficients: torch.Tensor) -> torch.Tensor:
        """``f(r_k, \\hat x_j)`` ``(..., K, J)`` of coefficients ``(..., B, D)``."""
        return self.basis @ (coefficients @ self.harmonics.T)

    def log_probs(self, coefficients: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """``log p_{kj}`` ``(..., K, J)``, normalised over each sample's whole grid."""
        logits = self.signal(coefficients) / temperature + self.log_radial[:, None] + self.log_angular
        flat = logits.flatten(-2)
        return (flat - torch.logsumexp(flat, dim=-1, keepdim=True)).view_as(logits)

    def sample(self, coefficients: torch.Tensor, temperature: float = 1.0,
               generator: torch.Generator | None = None, *, uniforms: torch.Tensor | None = None,
               refine: int = 1) -> torch.Tensor:
        """One offset ``(N, 3)`` per sample of coefficients ``(N, B, D)``: the grid point ``r_k \\hat x_j``
        drawn exactly from ``p_{kj}`` (``temperature > 0``) in two inverse-CDF steps, the radius ``k``
        from the marginal ``Σ_j p_{kj}``, then the direction ``j`` from ``p_{kj}`` at that ``k``.

        ``refine > 1`` then redraws the radius inside the chosen radial cell
        ``[r_k - Δr/2, r_k + Δr/2]`` from ``refine`` evenly spaced sub-radii weighted by
        ``r^2 e^{f(r, \\hat x_j)/T}`` (the continuous density along that direction), so that radii
        are no longer confined to the ``K`` grid values.  ``uniforms (N, 3)`` in ``[0, 1)`` drive the
        steps (default: drawn from ``generator``).
        """
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        if not (isinstance(refine, int) and refine >= 1):
            raise ValueError(f"refine must be a positive integer, got {refine!r}")
        n = coefficients.shape[0]
        if uniforms is None:
            uniforms = torch.rand(n, 3, generator=generator, dtype=torch.float64)
        # logits f/T + log(r² Δr) + log ω as one product: [φ | log r²Δr | 1] @ [a Y/T; 1; log ω]
        along = (coefficients / temperature) @ self.harmonics.T  # (N, B, J): Σ_lm a_{b,lm} Y_lm(x_j) / T
        ones = torch.ones_like(along[:, :1])
        rows = torch.cat([along, ones, self.log_angular.expand_as(ones)], dim=1)  # (N, B + 2, J)
        cols = torch.cat([self.basis, self.log_radial[:, None], torch.ones_like(self.log_radial[:, None])], 1)
        w = cols @ rows  # (N, K, J) logits
        w = w.sub_(w.flatten(1).amax(1)[:, None, None]).exp_()  # max 1
        rows_n = torch.arange(n)
        k = first_above(torch.cumsum(w.sum(-1).to(torch.float64), dim=-1), uniforms[:, 0])
        j = first_above(torch.cumsum(w[rows_n, k].to(torch.float64), dim=-1), uniforms[:, 1])
        r = self.radii[k]
        if refine > 1:
            step = (torch.arange(refine, dtype=r.dtype) + 0.5) / refine - 0.5
            sub = r[:, None] + self.spacing * step  # (N, refine)
            phi = torch.exp(-0.5 * ((sub[..., None] - self.centers) / self.basis_width) ** 2)  # (N, R, B)
            logits = (phi @ along[rows_n, :, j].unsqueeze(-1)).squeeze(-1) + 2 * torch.log(sub)
            r = sub[rows_n, inverse_cdf(logits, uniforms[:, 2])]
        return r[:, None] * self.directions[j]

    def target_factors(self, targets: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised radial ``(N, T, K)`` and angular ``(N, T, J)`` target masses of offsets
        ``targets (N, T, 3)``; masked-out targets (``mask`` false) get zero radial mass."""
        c = self.config
        r = targets.norm(dim=-1, keepdim=True)
        log_qr = -0.5 * ((self.radii - r) / c.sigma_r) ** 2 + self.log_radial
        unit = targets / r.clamp_min(1e-9)
        log_qa = (unit @ self.directions.T - 1.0) / c.sigma_a**2 + self.log_angular
        qr, qa = torch.softmax(log_qr, dim=-1), torch.softmax(log_qa, dim=-1)
        return qr * mask[..., None], qa

    def cross_entropy(self, coefficients: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor
                      ) -> torch.Tensor:
        """``-Σ_{kj} q_{kj} \\log p_{kj}`` per sample ``(N,)``, ``q`` the mean of the targets' masses."""
        logp = self.log_probs(coefficients)  # (N, K, J)
        qr, qa = self.target_factors(targets, mask)
        per_target = ((qr @ logp) * qa).sum(-1)  # (N, T)
        return -per_target.sum(1) / mask.sum(1).clamp_min(1)

    def extra_repr(self) -> str:
        k, j = self.radii.shape[0], self.directions.shape[0]
        return f"{k} radii x {j} directions, lmax={self.config.lmax}, {math.prod((k, j))} cells"
