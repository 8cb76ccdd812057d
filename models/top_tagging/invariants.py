r"""Numerically stable Minkowski invariants of jet constituents, shared by every tagger.

Near-collinear constituents are where a jet's substructure lives, and there the textbook product
``p_i·p_j = E_i E_j - p⃗_i·p⃗_j`` subtracts two nearly equal numbers: at energy ``E`` and opening angle
``θ`` the result is ``~E² θ²/2`` while each term is ``~E²``, so a relative rounding ``ε`` of the inputs
becomes a relative error ``~2ε/θ²`` of the product (float32 inputs, ``θ = 10⁻³``: 10 %).  The form used
here has no such cancellation:

.. math::

    p_i·p_j = \underbrace{\frac{m_i^2 |p⃗_j|^2 + m_j^2 |p⃗_i|^2 + m_i^2 m_j^2}{E_i E_j + |p⃗_i||p⃗_j|}}_{
              E_iE_j - |p⃗_i||p⃗_j|}
              + |p⃗_i||p⃗_j| \, \tfrac12 \lVert \hat p_i - \hat p_j \rVert^2,
    \qquad m_i^2 = (E_i - |p⃗_i|)(E_i + |p⃗_i|),

every term non-negative (``½‖p̂_i - p̂_j‖² = 1 - cos θ_ij`` exactly).  It is exact algebra, so a model
using it stays exactly Lorentz invariant.  What it cannot repair is information the inputs no longer
hold: a constituent mass ``m ≪ E`` survives float32 storage only to ``±2E²·6·10⁻⁸`` in ``m²``, which is
why the data files store float64 and why :func:`massless` exists (``massless=True`` in the models: the
invariants of ``(|p⃗|, p⃗)``, exactly invariant for massless constituents and insensitive to how the
energy was rounded).
"""

from __future__ import annotations

import torch

__all__ = ["JET_FEATURES", "jet_features", "massless", "pair_products", "particle_masses2"]

JET_FEATURES = ("log(m_J / 100 GeV)", "log(number of constituents)")


def massless(p: torch.Tensor) -> torch.Tensor:
    """``(|p⃗|, p⃗)``: the massless 4-vector with the 3-momentum of ``p`` ``(..., 4)``.

    >>> massless(torch.tensor([5.0, 0.0, 3.0, 4.0])).tolist()
    [5.0, 0.0, 3.0, 4.0]
    >>> massless(torch.tensor([6.0, 0.0, 3.0, 4.0])).tolist()
    [5.0, 0.0, 3.0, 4.0]
    """
    return torch.cat([p[..., 1:].norm(dim=-1, keepdim=True), p[..., 1:]], -1)


def particle_masses2(p: torch.Tensor) -> torch.Tensor:
    """``m² = (E - |p⃗|)(E + |p⃗|)`` clamped at 0 (rounding may leave ``|p⃗|`` a hair above ``E``).

    >>> particle_masses2(torch.tensor([[5.0, 0.0, 3.0, 4.0], [13.0, 12.0, 0.0, 0.0]])).tolist()
    [0.0, 25.0]
    """
    norm = p[..., 1:].norm(dim=-1)
    return ((p[..., 0] - norm) * (p[..., 0] + norm)).clamp_min(0.0)


def pair_products(p: torch.Tensor, as_massless: bool = False) -> torch.Tensor:
    """All Minkowski products ``p_i·p_j`` ``(..., n, n)`` of ``p`` ``(..., n, 4)``, cancellation-free.

    ``as_massless=True`` gives the products of :func:`massless` ``(p)``.  Zero vectors (padding) give 0.

    >>> p = torch.tensor([[10.0, 0.0, 0.0, 10.0], [10.0, 0.0, 6.0, 8.0]], dtype=torch.float64)
    >>> pair_products(p).tolist()
    [[0.0, 20.0], [20.0, 0.0]]
    """
    norm = p[..., 1:].norm(dim=-1)
    unit = p[..., 1:] / norm.clamp_min(torch.finfo(p.dtype).tiny)[..., None]
    one_minus_cos = 0.5 * (unit[..., :, None, :] - unit[..., None, :, :]).square().sum(-1)
    nn = norm[..., :, None] * norm[..., None, :]
    angular = nn * one_minus_cos
    if as_massless:
        return angular
    m2 = particle_masses2(p)
    energy = p[..., 0]
    ee = energy[..., :, None] * energy[..., None, :]
    mass_term = (m2[..., :, None] * norm[..., None, :] ** 2 + m2[..., None, :] * norm[..., :, None] ** 2
                 + m2[..., :, None] * m2[..., None, :])
    return angular + mass_term / (ee + nn).clamp_min(torch.finfo(p.dtype).tiny)


def jet_features(p: torch.Tensor, mask: torch.Tensor, mass_scale: float = 100.0,
                 as_massless: bool = False) -> torch.Tensor:
    """The jet-level inputs every tagger receives: ``(log(m_J / mass_scale), log n)`` ``(batch, 2)``
    float64, with ``J`` the sum of the given constituents (of their :func:`massless` versions if
    ``as_massless``) and ``n`` their number.  ``J`` is massive, so ``J·J`` needs no stable form.

    >>> p = torch.tensor([[[10.0, 0.0, 0.0, 10.0], [10.0, 0.0, 6.0, 8.0]]], dtype=torch.float64)
    >>> [round(x, 6) for x in jet_features(p, torch.tensor([[True, True]]), mass_scale=1.0).exp()[0].tolist()]
    [6.324555, 2.0]
    """
    p = torch.where(mask[..., None], p.to(torch.float64), 0.0)  # not p * mask: NaN * 0 is NaN
    if as_massless:
        p = massless(p)
    jet = p.sum(-2)
    m2 = jet[..., 0] ** 2 - jet[..., 1:].square().sum(-1)
    log_m = 0.5 * torch.log(m2.clamp_min(1e-12) / mass_scale**2)
    log_n = torch.log(mask.sum(-1).clamp_min(1).to(torch.float64))
    return torch.stack([log_m, log_n], -1)
