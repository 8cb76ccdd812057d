r"""The peer: the same hourglass without rotation equivariance (plain MLPs on Cartesian vectors).

Same levels, same chain neighbourhoods, same node positions (midpoints of pairs), same number of
floats per latent node as :class:`~models.protein_autoencoder.model.EquivariantAutoencoder`; every
map is an MLP of the concatenated features and raw ``(x, y, z)`` difference vectors, so the model
is translation-equivariant but *not* rotation-equivariant: it is trained with random rotations of
every fragment (``--augment``), the standard alternative to building the symmetry in.

>>> from models.protein_autoencoder.model import AutoencoderConfig
>>> peer = PeerAutoencoder(AutoencoderConfig(levels=1, scalars=4, vectors=2, tensors=1))
>>> types = torch.zeros(1, 3, dtype=torch.long); coords = torch.randn(1, 3, 14, 3)
>>> z = peer.encode(types, coords, torch.ones(1, 3, 14, dtype=torch.bool))
>>> z.features.shape, peer.decode(z)[0].shape
(torch.Size([1, 2, 60]), torch.Size([1, 3, 14, 3]))
"""

from __future__ import annotations

import torch

from models.protein_autoencoder.geometry import CA
from models.protein_autoencoder.layers import _shift
from models.protein_autoencoder.model import (
    ATOM_SCALE,
    CA_SPACING,
    AutoencoderConfig,
    Latent,
    _level_valid,
    pad_chain,
)
from models.protein_autoencoder.residues import NUM_SLOTS, RESIDUES

__all__ = ["PeerAutoencoder"]


def _mlp(n_in: int, n_hidden: int, n_out: int) -> torch.nn.Sequential:
    return torch.nn.Sequential(
        torch.nn.Linear(n_in, n_hidden), torch.nn.SiLU(), torch.nn.Linear(n_hidden, n_out)
    )


class _Conv(torch.nn.Module):
    def __init__(self, width: int, hidden: int, scale: float) -> None:
        super().__init__()
        self.scale, self.mlp = scale, _mlp(3 * width + 6, hidden, width)

    def forward(self, h, pos, valid):
        parts = [h]
        for step in (-1, 1):
            ok = (_shift(valid, step) & valid).unsqueeze(-1)
            parts += [_shift(h, step) * ok, (_shift(pos, step) - pos) * ok / self.scale]
        return (h + self.mlp(torch.cat(parts, -1))) * valid.unsqueeze(-1)


class PeerAutoencoder(torch.nn.Module):
    """Non-equivariant hourglass with the interface of the equivariant one (module docstring)."""

    def __init__(self, config: AutoencoderConfig, *, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.config = c = config
        width = hidden = c.scalars + c.vectors + c.tensors + 8  # parameter count close to the equivariant one
        scale = [CA_SPACING * 2**k for k in range(c.levels + 1)]
        self.embed = _mlp(len(RESIDUES) + 3 * NUM_SLOTS, hidden, width)
        self.enc_conv = torch.nn.ModuleList([_Conv(width, hidden, scale[k]) for k in range(c.levels)])
        self.coarsen = torch.nn.ModuleList([_mlp(2 * width + 3, hidden, width) for _ in range(c.levels)])
        self.to_latent = torch.nn.Linear(width, c.latent_dim - 3)
        self.from_latent = _mlp(c.latent_dim - 3, hidden, width)
        self.dec_conv = torch.nn.ModuleList([_Conv(width, hidden, scale[k]) for k in range(c.levels + 1)])
        self.refine = torch.nn.ModuleList([_mlp(width, hidden, 2 * width + 3) for _ in range(c.levels)])
        self.readout = torch.nn.Linear(width, 3 * NUM_SLOTS + len(RESIDUES))
        self.scale = scale
        self.to(dtype)

    def encode(self, types: torch.Tensor, coords: torch.Tensor, mask: torch.Tensor) -> Latent:
        length = types.shape[1]
        types, coords, mask, valid = pad_chain(types, coords, mask, self.config.factor)
        b, n = types.shape
        rel = (coords - coords[..., CA : CA + 1, :]) * mask.unsqueeze(-1) / ATOM_SCALE
        onehot = torch.nn.functional.one_hot(types, len(RESIDUES)).to(coords.dtype)
        h = self.embed(torch.cat([onehot, rel.reshape(b, n, -1)], -1)) * valid.unsqueeze(-1)
        pos = coords[..., CA, :]
        for k, (conv, down) in enumerate(zip(self.enc_conv, self.coarsen, strict=True)):
            h = conv(h, pos, valid)
            h2, p2, v2 = h.reshape(b, -1, 2, h.shape[-1]), pos.reshape(b, -1, 2, 3), valid.reshape(b, -1, 2)
            both = v2.all(-1, keepdim=True)
            d = (p2[:, :, 1] - p2[:, :, 0]) * both / self.scale[k]
            valid = v2.any(-1)
            w = v2.to(pos.dtype) / v2.sum(-1, keepdim=True).clamp(min=1).to(pos.dtype)
            pos = (p2 * w.unsqueeze(-1)).sum(-2)
            h = down(torch.cat([h2[:, :, 0], h2[:, :, 1], d], -1)) * valid.unsqueeze(-1)
        return Latent(pos, self.to_latent(h) * valid.unsqueeze(-1), valid, length)

    def decode(self, latent: Latent) -> tuple[torch.Tensor, torch.Tensor]:
        b, n_top = latent.valid.shape
        valid0 = torch.arange(n_top * self.config.factor, device=latent.pos.device) < latent.length
        valids = _level_valid(valid0.unsqueeze(0).expand(b, -1), self.config.levels)
        h, pos = self.from_latent(latent.features), latent.pos
        width = h.shape[-1]
        for k in reversed(range(self.config.levels)):
            h = self.dec_conv[k + 1](h, pos, valids[k + 1])
            out = self.refine[k](h)
            d = out[..., -3:] * self.scale[k]
            h = out[..., :-3].reshape(b, -1, width) * valids[k].unsqueeze(-1)
            pos = torch.stack([pos - 0.5 * d, pos + 0.5 * d], dim=2).reshape(b, -1, 3)
        h = self.dec_conv[0](h, pos, valids[0])
        out = self.readout(h)
        offsets = out[..., : 3 * NUM_SLOTS].reshape(b, -1, NUM_SLOTS, 3) * ATOM_SCALE
        n = latent.length
        return (pos.unsqueeze(-2) + offsets)[:, :n], out[..., 3 * NUM_SLOTS :][:, :n]

    def forward(self, types: torch.Tensor, coords: torch.Tensor, mask: torch.Tensor):
        return self.decode(self.encode(types, coords, mask))
