r"""Thin adapters that train published taggers on our jets through the common trainer.

Every adapter has the interface of our taggers, ``forward(p, mask) → logits (batch,)`` with ``p``
``(batch, n, 4)`` = ``(E, px, py, pz)`` in GeV and a bool ``mask``, and the **same jet-level inputs**:
the peer's own network maps the constituents to a latent vector, and one shared head
(:class:`JetHead`) reads ``[latent, log(m_J/100 GeV), log n]`` (:func:`~models.top_tagging.invariants.
jet_features`), exactly what the LorentzTagger's readout receives.  So the comparison measures the
architectures, not who was handed the jet mass.

=============  ========================  =====================================================
name           package (extra ``peers``)  what runs
=============  ========================  =====================================================
``lgatr``      ``lgatr``                  L-GATr (Spinner et al. 2024): particles as vector
                                          multivectors, geometric attention; no spurions (fully
                                          Lorentz invariant, like ours), mean-pooled scalars
``pelican``    ``pelican-lite``           PELICAN (Bogatskiy et al. 2022): permutation-equivariant
                                          aggregation of the pair invariants ``log m_ij²``
``particlenet`` ``weaver-core``           ParticleNet (Qu, Gouskos 2020): EdgeConv on (Δη, Δφ)
``part``       ``weaver-core``            Particle Transformer (Qu et al. 2022) with its pair
                                          features; class-token output
=============  ========================  =====================================================

Non-invariant peers (ParticleNet, ParT) take the seven particle-flow features of the Deep Sets baseline
(:func:`~models.top_tagging.baseline.particle_features`); the Lorentz-invariant ones take momenta in
units of ``scale`` (a uniform scaling, which commutes with every Lorentz transformation).  The
packages are imported only when a peer is built; a missing one gives one line naming the extra.
LorentzNet has no package: :mod:`models.top_tagging.lorentznet` implements it.
"""

from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from models.top_tagging.baseline import N_FEATURES, particle_features
from models.top_tagging.invariants import jet_features, pair_products, particle_masses2
from models.top_tagging.model import check_constituents

__all__ = ["PEERS", "JetHead", "PeerConfig", "build_peer"]

PACKAGES = {"lgatr": ("lgatr", "lgatr"), "pelican": ("pelican", "pelican-lite"),
            "particlenet": ("weaver", "weaver-core"), "part": ("weaver", "weaver-core")}


def _require(kind: str) -> None:
    module, dist = PACKAGES[kind]
    try:
        importlib.import_module(module)
    except ImportError as err:
        raise ImportError(f"the {kind} peer needs the optional package {dist!r} "
                          f"(pip install 'lie_nn[peers]'): {err}") from err


@dataclass
class PeerConfig:
    """Size of a peer (JSON-serialisable); the meaning of ``width``/``blocks`` is per peer."""

    width: int = 32
    blocks: int = 2
    latent: int = 32
    heads: int = 4
    scale: float = 100.0  # GeV, momenta of the Lorentz-invariant peers enter as p / scale
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


class JetHead(torch.nn.Module):
    """``MLP([latent, log m_J, log n])`` → logit: the readout every peer shares."""

    def __init__(self, latent: int, hidden: int = 64, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.mlp = torch.nn.Sequential(torch.nn.Linear(latent + 2, hidden, dtype=dtype), torch.nn.SiLU(),
                                       torch.nn.Linear(hidden, hidden, dtype=dtype), torch.nn.SiLU(),
                                       torch.nn.Linear(hidden, 1, dtype=dtype))

    def forward(self, latent: torch.Tensor, p: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        jet = jet_features(p, mask).to(latent.dtype)
        return self.mlp(torch.cat([latent, jet], -1)).squeeze(-1)


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    count = mask.sum(1, keepdim=True).clamp_min(1).to(x.dtype)
    return torch.where(mask[..., None], x, 0.0).sum(1) / count


class LGATrPeer(torch.nn.Module):
    """L-GATr on the constituents' 4-vectors (one multivector channel each), mean over particles."""

    def __init__(self, cfg: PeerConfig, dtype: torch.dtype) -> None:
        super().__init__()
        _require("lgatr")
        from lgatr import LGATr, MLPConfig, SelfAttentionConfig

        self.cfg = cfg
        self.net = LGATr(num_blocks=cfg.blocks, in_mv_channels=1, out_mv_channels=1,
                         hidden_mv_channels=max(cfg.width // 4, 1), in_s_channels=1,
                         out_s_channels=cfg.latent - 1,
                         hidden_s_channels=cfg.width, attention=SelfAttentionConfig(num_heads=cfg.heads),
                         mlp=MLPConfig(mlp_ratio=2)).to(dtype)
        self.head = JetHead(cfg.latent, dtype=dtype)

    def forward(self, p: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        from lgatr import embed_vector, extract_scalar

        mask = check_constituents(p, mask, "lgatr")
        dtype = self.head.mlp[0].weight.dtype
        x = torch.where(mask[..., None], p.to(torch.float64), 0.0) / self.cfg.scale
        mv = embed_vector(x.to(dtype))[:, :, None, :]  # (B, n, 1, 16)
        s = torch.log(particle_masses2(x) + 1e-8)[..., None].to(dtype)  # invariant particle scalar
        attend = mask[:, None, None, :]  # (B, heads, queries, keys): padded keys are never attended
        out_mv, out_s = self.net(mv, scalars=s, attn_mask=attend)
        latent = torch.cat([extract_scalar(out_mv[:, :, 0, :]), out_s], -1)
        return self.head(_masked_mean(latent, mask), p, mask)


class PELICANPeer(torch.nn.Module):
    """PELICAN on the pair invariants ``log(m_ij² + ε)`` of each jet's fully connected graph."""

    def __init__(self, cfg: PeerConfig, dtype: torch.dtype) -> None:
        super().__init__()
        _require("pelican")
        from pelican import PELICAN

        self.cfg = cfg
        self.net = PELICAN(in_channels_rank2=1, in_channels_rank1=0, in_channels_rank0=0, out_rank=0,
                           out_channels=cfg.latent, num_blocks=cfg.blocks,
                           hidden_channels=cfg.width).to(dtype)
        self.head = JetHead(cfg.latent, dtype=dtype)

    def forward(self, p: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        from pelican.utils import get_edge_index_from_ptr

        mask = check_constituents(p, mask, "pelican")
        dtype = self.head.mlp[0].weight.dtype
        x = torch.where(mask[..., None], p.to(torch.float64), 0.0) / self.cfg.scale
        counts = mask.sum(1)
        ptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
        nodes = x[mask]  # real particles, jet by jet (mask rows are leading-first)
        batch = torch.repeat_interleave(torch.arange(len(counts)), counts)
        edge_index = get_edge_index_from_ptr(ptr, nodes.shape)
        m2 = particle_masses2(x)
        mij2 = m2[:, :, None] + m2[:, None, :] + 2 * pair_products(x)  # (p_i + p_j)², stable
        local = torch.arange(len(nodes)) - ptr[batch]
        i, j = edge_index
        edge = torch.log(mij2[batch[i], local[i], local[j]] + 1e-8)[:, None].to(dtype)
        latent = self.net(edge_index, batch, in_rank2=edge, num_graphs=len(counts))
        return self.head(latent, p, mask)


class ParticleNetPeer(torch.nn.Module):
    """ParticleNet (weaver-core): EdgeConv blocks, k nearest neighbours in (Δη, Δφ), then features."""

    def __init__(self, cfg: PeerConfig, dtype: torch.dtype) -> None:
        super().__init__()
        _require("particlenet")
        from weaver.nn.model.ParticleNet import ParticleNet

        k = int(cfg.extra.get("k", 8))
        convs = [(k, (cfg.width,) * 3), (k, (2 * cfg.width,) * 3)][: max(cfg.blocks, 1)]
        self.net = ParticleNet(N_FEATURES, cfg.latent, conv_params=convs, fc_params=[(2 * cfg.width, 0.0)],
                               use_fusion=False, trim=False).to(dtype)
        self.head = JetHead(cfg.latent, dtype=dtype)

    def forward(self, p: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        mask = check_constituents(p, mask, "particlenet")
        dtype = self.head.mlp[0].weight.dtype
        feats = particle_features(p, mask).to(dtype)
        points = feats[..., 4:6].transpose(1, 2).contiguous()  # (Δη, Δφ)
        latent = self.net(points, feats.transpose(1, 2).contiguous(), mask[:, None, :])
        return self.head(latent, p, mask)


class ParTPeer(torch.nn.Module):
    """Particle Transformer (weaver-core) with its default pair features from the 4-momenta."""

    def __init__(self, cfg: PeerConfig, dtype: torch.dtype) -> None:
        super().__init__()
        _require("part")
        from weaver.nn.model.ParticleTransformer import ParticleTransformer

        w = cfg.width
        self.net = ParticleTransformer(N_FEATURES, num_classes=cfg.latent, pair_input_dim=4,
                                       embed_dims=(w, w, w),
                                       pair_embed_dims=(w // 2, w // 2, cfg.heads), num_heads=cfg.heads,
                                       num_layers=cfg.blocks, num_cls_layers=1, fc_params=(),
                                       block_params={"dropout": 0.0, "attn_dropout": 0.0,
                                                     "activation_dropout": 0.0},
                                       trim=False).to(dtype)
        self.head = JetHead(cfg.latent, dtype=dtype)

    def forward(self, p: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        mask = check_constituents(p, mask, "part")
        dtype = self.head.mlp[0].weight.dtype
        feats = particle_features(p, mask).to(dtype).transpose(1, 2).contiguous()
        v = torch.where(mask[..., None], p, 0.0)[..., [1, 2, 3, 0]].to(dtype).transpose(1, 2).contiguous()
        latent = self.net(feats, v=v, mask=mask[:, None, :].to(dtype))
        return self.head(latent, p, mask)


PEERS = {"lgatr": LGATrPeer, "pelican": PELICANPeer, "particlenet": ParticleNetPeer, "part": ParTPeer}


def build_peer(kind: str, config: PeerConfig | dict | None = None,
               dtype: torch.dtype = torch.float32) -> torch.nn.Module:
    """A fresh peer adapter of ``kind`` (one of :data:`PEERS`)."""
    if kind not in PEERS:
        raise ValueError(f"unknown peer {kind!r}; choose one of {sorted(PEERS)}")
    cfg = config if isinstance(config, PeerConfig) else PeerConfig(**(config or {}))
    return PEERS[kind](cfg, dtype)
