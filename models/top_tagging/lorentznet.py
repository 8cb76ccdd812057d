r"""A small LorentzNet (Gong et al., JHEP 07 (2022) 030), written from the paper's equations.

LorentzNet keeps, per particle, a 4-vector ``x_i`` (it starts as the momentum) and invariant scalars
``h_i``, and updates both with *Lorentz group equivariant blocks* (LGEB) on the fully connected graph:

.. math::

    m_{ij} &= φ_e\big(h_i, h_j, ψ(‖x_i - x_j‖^2), ψ(⟨x_i, x_j⟩)\big),
             \qquad ψ(a) = \mathrm{sgn}(a)\log(|a| + 1),\\
    x_i &← x_i + c \sum_{j≠i} φ_x(m_{ij})\, x_j, \\
    h_i &← h_i + φ_h\Big(h_i, \sum_{j≠i} w_{ij} m_{ij}\Big), \qquad w_{ij} = \mathrm{sigmoid}(φ_m(m_{ij})),

with Minkowski products ``⟨·,·⟩`` and norms ``‖·‖²`` (the "Minkowski dot-product attention": the
weights ``w_ij`` and the vector update see the pair only through those invariants).  The 4-vectors
transform as vectors, every scalar is invariant, so the readout ``MLP(mean_i h_i)`` is exactly Lorentz
invariant.  The first layer's products come from the cancellation-free
:func:`models.top_tagging.invariants.pair_products`; later layers use the plain products (float64)
of the updated vectors.

Differences from the paper, on purpose: no beam spurions (the paper appends the two beams as extra
particles, which breaks boosts along the beam; here the tagger stays fully invariant, like ours); the
particle scalar inputs are the invariant mass ``log(m_i² + ε)`` only (no particle-ID one-hot: our data
hold none); the jet-level inputs ``(log m_J, log n)`` join at the readout, as for every model here; the
momenta enter in units of ``scale`` (100 GeV) so that ``ψ`` sees O(1) numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from models.common.layers import mlp
from models.top_tagging.invariants import jet_features, pair_products, particle_masses2
from models.top_tagging.model import check_constituents

__all__ = ["LorentzNet", "LorentzNetConfig", "psi"]


def psi(a: torch.Tensor) -> torch.Tensor:
    """``sgn(a) log(|a| + 1)``: compresses Minkowski products of any size, odd and smooth at 0.

    >>> psi(torch.tensor([-3.0, 0.0, 3.0])).tolist() == [-psi(torch.tensor(3.0)).item(), 0.0,
    ...                                                   torch.log(torch.tensor(4.0)).item()]
    True
    """
    return torch.sign(a) * torch.log1p(a.abs())


@dataclass
class LorentzNetConfig:
    """Hyper-parameters of :class:`LorentzNet` (JSON-serialisable)."""

    hidden: int = 32
    layers: int = 4
    c_weight: float = 1e-3  # the paper's scale of the 4-vector update
    scale: float = 100.0  # GeV: momenta enter as p / scale
    readout_hidden: int = 64

    def to_dict(self) -> dict:
        return asdict(self)


class _LGEB(torch.nn.Module):
    """One Lorentz group equivariant block on a dense, masked graph."""

    def __init__(self, hidden: int, c_weight: float, dtype: torch.dtype, update_x: bool) -> None:
        super().__init__()
        self.c_weight, self.update_x = c_weight, update_x
        self.phi_e = mlp([2 * hidden + 2, hidden, hidden], dtype, last_act=True)
        self.phi_m = torch.nn.Linear(hidden, 1, dtype=dtype)
        self.phi_h = mlp([2 * hidden, hidden, hidden], dtype)
        self.phi_x = mlp([hidden, hidden, 1], dtype) if update_x else None

    def forward(self, h: torch.Tensor, x: torch.Tensor, dot: torch.Tensor, norm: torch.Tensor,
                pair: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = h.shape[1]
        hi = h[:, :, None, :].expand(-1, -1, n, -1)
        hj = h[:, None, :, :].expand(-1, n, -1, -1)
        geo = torch.stack([psi(norm), psi(dot)], -1).to(h.dtype)
        m = self.phi_e(torch.cat([hi, hj, geo], -1))  # (B, n, n, hidden)
        w = torch.sigmoid(self.phi_m(m)) * pair[..., None]
        h = h + self.phi_h(torch.cat([h, (w * m).sum(2)], -1))
        if self.phi_x is not None:
            coef = (self.phi_x(m).squeeze(-1) * pair).to(x.dtype)  # (B, n, n)
            x = x + self.c_weight * torch.einsum("bij,bjd->bid", coef, x)
        return h, x


class LorentzNet(torch.nn.Module):
    """LorentzNet tagger: ``forward(p, mask)`` → logits ``(batch,)``; see the module docstring.

    >>> model = LorentzNet(LorentzNetConfig(hidden=8, layers=2))
    >>> p3 = torch.rand(2, 5, 3) + 1
    >>> p = torch.cat([p3.norm(dim=-1, keepdim=True), p3], -1)
    >>> model(p, torch.ones(2, 5, dtype=torch.bool)).shape
    torch.Size([2])
    """

    def __init__(self, config: LorentzNetConfig | None = None, *, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.config = cfg = config or LorentzNetConfig()
        self.real_dtype = dtype
        self.embed = torch.nn.Linear(1, cfg.hidden, dtype=dtype)
        # the last block's vector update would never be read: the paper drops it too
        self.blocks = torch.nn.ModuleList([_LGEB(cfg.hidden, cfg.c_weight, dtype, i < cfg.layers - 1)
                                           for i in range(cfg.layers)])
        self.readout = mlp([cfg.hidden + 2, cfg.readout_hidden, 1], dtype)

    def forward(self, p: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        mask = check_constituents(p, mask, "LorentzNet")
        n = p.shape[1]
        pair = mask[:, :, None] & mask[:, None, :] & ~torch.eye(n, dtype=torch.bool, device=mask.device)
        x = torch.where(mask[..., None], p.to(torch.float64), 0.0) / self.config.scale
        m2 = particle_masses2(x)
        h = self.embed(torch.log(m2 + 1e-6)[..., None].to(self.real_dtype))
        dot = pair_products(x)  # stable for the near-collinear pairs of the input
        weights = pair.to(self.real_dtype)
        for block in self.blocks:
            norm = m2[:, :, None] + m2[:, None, :] - 2 * dot  # ‖x_i - x_j‖²
            h, x = block(h, x, dot, norm, weights)
            if block.update_x:  # the last block leaves x as it was: its products would go unread
                m2 = x[..., 0] ** 2 - x[..., 1:].square().sum(-1)
                space = torch.einsum("bid,bjd->bij", x[..., 1:], x[..., 1:])
                dot = x[..., :, None, 0] * x[..., None, :, 0] - space
        count = mask.sum(1, keepdim=True).clamp_min(1).to(self.real_dtype)
        pooled = torch.where(mask[..., None], h, 0.0).sum(1) / count
        jet = jet_features(p, mask).to(self.real_dtype)
        return self.readout(torch.cat([pooled, jet], -1)).squeeze(-1)
