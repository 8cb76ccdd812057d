r"""Non-equivariant baseline: a Deep Sets / particle-flow network (PFN) on standard jet features.

Per constituent ``i`` (relative to the jet ``J = Σ_i p_i`` of the given constituents):
``log pT_i``, ``log E_i``, ``log(pT_i / pT_J)``, ``log(E_i / E_J)``, ``Δη_i``, ``Δφ_i``, ``ΔR_i``
(momenta in GeV).  These are the usual particle-flow inputs; they are invariant under rotations about
the beam axis and permutations, but *not* under boosts or general rotations.

``logit = F( Σ_i mask_i Φ(x_i), log m_J, log n )`` with MLPs ``Φ`` (per particle) and ``F`` (per jet):
permutation and padding invariant by construction.  The jet-level inputs ``(log(m_J/100 GeV), log n)``
are those of every tagger here (:func:`models.top_tagging.invariants.jet_features`), so a gap between
models measures the architecture, not who was handed the jet mass.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from models.common.layers import mlp
from models.top_tagging.invariants import jet_features
from models.top_tagging.model import check_constituents

__all__ = ["DeepSetsConfig", "DeepSetsTagger", "particle_features"]

N_FEATURES = 7


def particle_features(p: torch.Tensor, mask: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Features ``(batch, n, 7)`` of 4-momenta ``p`` ``(batch, n, 4)`` = ``(E, px, py, pz)`` (zeros
    where ``mask`` is False).

    >>> p = torch.tensor([[[10., 6., 0., 8.], [5., 0., 3., 4.]]])
    >>> particle_features(p, torch.tensor([[True, False]]))[0, 1].abs().sum().item()
    0.0
    """
    p = torch.where(mask[..., None], p.to(torch.float64), 0.0)  # not p * mask: NaN * 0 is NaN
    jet = p.sum(1, keepdim=True)
    pt = torch.hypot(p[..., 1], p[..., 2]).clamp_min(eps)
    jet_pt = torch.hypot(jet[..., 1], jet[..., 2]).clamp_min(eps)
    energy = p[..., 0].clamp_min(eps)
    eta = torch.asinh(p[..., 3] / pt)
    jet_eta = torch.asinh(jet[..., 3] / jet_pt)
    dphi = torch.atan2(p[..., 2], p[..., 1]) - torch.atan2(jet[..., 2], jet[..., 1])
    dphi = torch.remainder(dphi + torch.pi, 2 * torch.pi) - torch.pi
    deta = eta - jet_eta
    feats = torch.stack([torch.log(pt), torch.log(energy), torch.log(pt / jet_pt),
                         torch.log(energy / jet[..., 0].clamp_min(eps)), deta, dphi,
                         torch.hypot(deta, dphi)], -1)
    return torch.where(mask[..., None], feats, 0.0)


@dataclass
class DeepSetsConfig:
    """Hyper-parameters of :class:`DeepSetsTagger` (JSON-serialisable)."""

    hidden: int = 64
    latent: int = 64
    phi_layers: int = 3
    f_layers: int = 3

    def to_dict(self) -> dict:
        return asdict(self)


class DeepSetsTagger(torch.nn.Module):
    """Particle-flow network ``F(Σ_i Φ(x_i))``; ``forward(p, mask)`` → logits ``(batch,)``.

    >>> model = DeepSetsTagger()
    >>> p3 = torch.rand(2, 5, 3) + 1
    >>> p = torch.cat([p3.norm(dim=-1, keepdim=True), p3], -1)  # massless constituents
    >>> model(p, torch.ones(2, 5, dtype=torch.bool)).shape
    torch.Size([2])
    """

    def __init__(self, config: DeepSetsConfig | None = None, *, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.config = cfg = config or DeepSetsConfig()
        self.real_dtype = dtype
        self.norm = torch.nn.BatchNorm1d(N_FEATURES, affine=False, dtype=dtype)
        relu = torch.nn.ReLU
        self.phi = mlp([N_FEATURES] + [cfg.hidden] * (cfg.phi_layers - 1) + [cfg.latent], dtype, act=relu)
        self.f = mlp([cfg.latent + 2] + [cfg.hidden] * (cfg.f_layers - 1) + [1], dtype, act=relu)

    def forward(self, p: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        mask = check_constituents(p, mask, "DeepSetsTagger")
        x = particle_features(p, mask).to(self.real_dtype)
        # standardise with running statistics of the real particles only
        flat = self.norm(x[mask]) if self.training else self.norm(x.reshape(-1, N_FEATURES))
        if self.training:
            x = torch.zeros_like(x).index_put((mask,), flat)
        else:
            x = flat.reshape(x.shape)
        latent = torch.where(mask[..., None], self.phi(x), 0.0).sum(1)
        jet = jet_features(p, mask).to(self.real_dtype)  # the same (log m_J, log n) as every tagger
        return self.f(torch.cat([latent / 10.0, jet], -1)).squeeze(-1)
