r"""The SO(3)-equivariant hierarchical protein autoencoder (Ophiuchus-style hourglass).

Input: one chain of ``L`` residues in the atom14 layout (types ``t``, coordinates ``x (L, 14, 3)``,
mask ``m``).  Residue ``i`` becomes a node at its Cα position ``p_i`` with features

.. math:: h_i^{(0)} = \mathrm{Gate}\big(W [\,\mathrm{onehot}(t_i),\ (x_{ik} - p_i)/s,\
          |x_{ik} - p_i|/s \; Y_2(\widehat{x_{ik} - p_i})\,]_{k=1..14}\big)

(``20×0 ⊕ 14×1 ⊕ 14×2``, absent atoms zero, ``s = 2`` Å), then ``K`` levels of
``ChainConv → Coarsen`` (:mod:`~models.protein_autoencoder.layers`) halve the number of nodes
``K`` times: the compression factor is ``2^K`` residues per latent node.  The latent of a chain is
the coarse positions ``P (L/2^K, 3)`` (the Cα centroids of the blocks) and features
``z = W h^{(K)}`` of the irreps ``latent`` (default ``16×0 ⊕ 8×1 ⊕ 4×2``).

The decoder mirrors it (``ChainConv → Refine`` ``K`` times, then ``ChainConv``) and reads out the
offsets of all 14 atom slots from the node position (``14×1``; the Cα slot included, so the decoded
node positions only need to be close to the Cα) and the residue-type logits (``20×0``) of every node.

Equivariance.  With ``D(R)`` the block-diagonal representation of ``latent``:
``encode(R x + t) = (R P + t, D(R) z)`` and ``decode(R P + t, D(R) z) = R decode(P, z) + t``, exactly
(``tests/models/test_protein_autoencoder_model.py`` checks it in float64 to 1e-10).

Chains whose length is not a multiple of ``2^K`` are padded with invalid nodes (repeating the last
Cα); they send no messages and are cut from the output.
"""

from __future__ import annotations

import dataclasses

import torch

import lie_nn as lnn
from lie_nn.nn import Linear, spherical_harmonics
from models.protein_autoencoder.geometry import CA, from_l1, to_l1
from models.protein_autoencoder.layers import ChainConv, Coarsen, GatedLinear, Refine, hidden_irreps
from models.protein_autoencoder.residues import NUM_SLOTS, RESIDUES

__all__ = ["AutoencoderConfig", "EquivariantAutoencoder", "Latent", "pad_chain"]

ATOM_SCALE = 2.0  # Å, scale of side-chain offsets
CA_SPACING = 3.8  # Å, Cα–Cα distance


@dataclasses.dataclass(frozen=True)
class AutoencoderConfig:
    """Hyper-parameters (stored in checkpoints).  ``levels``: compression factor ``2^levels``."""

    levels: int = 2
    scalars: int = 32
    vectors: int = 16
    tensors: int = 8
    latent_scalars: int = 16
    latent_vectors: int = 8
    latent_tensors: int = 4
    radial_hidden: int = 32

    def __post_init__(self) -> None:
        if not 1 <= self.levels <= 6:
            raise ValueError(f"levels must be in 1..6 (compression 2..64), got {self.levels}")
        if min(self.scalars, self.vectors, self.latent_scalars, self.latent_vectors) < 1:
            raise ValueError("AutoencoderConfig: scalars, vectors and the latent sizes must be >= 1")

    @property
    def factor(self) -> int:
        return 2**self.levels

    @property
    def latent_irreps(self) -> list:
        return hidden_irreps(self.latent_scalars, self.latent_vectors, self.latent_tensors)

    @property
    def latent_dim(self) -> int:
        """Floats per latent node, the 3 of its position included."""
        return 3 + self.latent_scalars + 3 * self.latent_vectors + 5 * self.latent_tensors

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> AutoencoderConfig:
        return cls(**d)


@dataclasses.dataclass
class Latent:
    """``pos (B, n, 3)`` Å, ``features (B, n, dim)`` (``latent_irreps``), ``valid (B, n)``; ``length``
    residues of the chain(s) before padding."""

    pos: torch.Tensor
    features: torch.Tensor
    valid: torch.Tensor
    length: int


def pad_chain(types: torch.Tensor, coords: torch.Tensor, mask: torch.Tensor, factor: int):
    """Pad ``(B, L, ...)`` inputs to a multiple of ``factor`` residues; returns them and ``valid (B, L')``.
    Padded residues copy the last residue's coordinates, with an empty mask."""
    b, length = types.shape
    extra = -length % factor
    valid = torch.ones(b, length + extra, dtype=torch.bool, device=types.device)
    if extra == 0:
        return types, coords, mask, valid
    valid[:, length:] = False
    types = torch.cat([types, types[:, -1:].expand(b, extra)], dim=1)
    coords = torch.cat([coords, coords[:, -1:].expand(b, extra, NUM_SLOTS, 3)], dim=1)
    mask = torch.cat([mask, torch.zeros(b, extra, NUM_SLOTS, dtype=mask.dtype, device=mask.device)], dim=1)
    return types, coords, mask, valid


def residue_features(types: torch.Tensor, coords: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``20×0 ⊕ 14×1 ⊕ 14×2`` input features ``(B, L, 20 + 42 + 70)`` of every residue (module doc)."""
    rel = (coords - coords[..., CA : CA + 1, :]) * mask.unsqueeze(-1)
    safe = torch.where(mask.unsqueeze(-1), rel, torch.ones_like(rel))
    y2 = spherical_harmonics([2], safe, normalization="norm") * mask.unsqueeze(-1)
    norm = rel.norm(dim=-1, keepdim=True) / ATOM_SCALE
    onehot = torch.nn.functional.one_hot(types, len(RESIDUES)).to(coords.dtype)
    b, n = types.shape
    return torch.cat([onehot, (to_l1(rel) / ATOM_SCALE).reshape(b, n, -1), (y2 * norm).reshape(b, n, -1)], -1)


def _level_valid(valid: torch.Tensor, levels: int) -> list[torch.Tensor]:
    out = [valid]
    for _ in range(levels):
        out.append(out[-1].reshape(valid.shape[0], -1, 2).any(-1))
    return out


class EquivariantAutoencoder(torch.nn.Module):
    """``encode(types, coords, mask) -> Latent``; ``decode(latent) -> (coords (B, L, 14, 3), logits)``.

    >>> model = EquivariantAutoencoder(AutoencoderConfig(levels=1, scalars=4, vectors=2, tensors=1))
    >>> types = torch.zeros(1, 3, dtype=torch.long); coords = torch.randn(1, 3, 14, 3)
    >>> mask = torch.ones(1, 3, 14, dtype=torch.bool)
    >>> z = model.encode(types, coords, mask)
    >>> z.pos.shape, z.features.shape, [t.shape for t in model.decode(z)]
    (torch.Size([1, 2, 3]), torch.Size([1, 2, 60]), [torch.Size([1, 3, 14, 3]), torch.Size([1, 3, 20])])
    """

    def __init__(self, config: AutoencoderConfig, *, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.config = c = config
        width = (c.scalars, c.vectors, c.tensors)
        hidden = hidden_irreps(*width)
        inputs = [(len(RESIDUES), lnn.SO3(0)), (NUM_SLOTS, lnn.SO3(1)), (NUM_SLOTS, lnn.SO3(2))]
        self.embed = GatedLinear(inputs, *width, dtype)
        scale = [CA_SPACING * 2**k for k in range(c.levels + 1)]
        conv = dict(radial_hidden=c.radial_hidden, dtype=dtype)
        self.enc_conv = torch.nn.ModuleList([ChainConv(*width, scale[k], **conv) for k in range(c.levels)])
        self.coarsen = torch.nn.ModuleList([Coarsen(*width, scale[k], dtype) for k in range(c.levels)])
        self.to_latent = Linear(hidden, c.latent_irreps, dtype=dtype)
        self.from_latent = GatedLinear(c.latent_irreps, *width, dtype)
        self.dec_conv = torch.nn.ModuleList(
            [ChainConv(*width, scale[k], **conv) for k in range(c.levels + 1)]
        )
        self.refine = torch.nn.ModuleList([Refine(*width, scale[k], dtype) for k in range(c.levels)])
        self.atoms = Linear(hidden, [(NUM_SLOTS, lnn.SO3(1))], dtype=dtype)
        self.types = Linear(hidden, [(len(RESIDUES), lnn.SO3(0))], bias=True, dtype=dtype)

    def encode(self, types: torch.Tensor, coords: torch.Tensor, mask: torch.Tensor) -> Latent:
        """Latent of chains ``types (B, L)``, ``coords (B, L, 14, 3)`` Å, ``mask (B, L, 14)`` bool."""
        length = types.shape[1]
        types, coords, mask, valid = pad_chain(types, coords, mask, self.config.factor)
        h = self.embed(residue_features(types, coords, mask)) * valid.unsqueeze(-1)
        pos = coords[..., CA, :]
        for conv, down in zip(self.enc_conv, self.coarsen, strict=True):
            h = conv(h, pos, valid)
            h, pos, valid = down(h, pos, valid)
        return Latent(pos, self.to_latent(h) * valid.unsqueeze(-1), valid, length)

    def decode(self, latent: Latent) -> tuple[torch.Tensor, torch.Tensor]:
        """Heavy-atom coordinates ``(B, L, 14, 3)`` (node position + predicted offsets) and type
        logits ``(B, L, 20)``."""
        b, n_top = latent.valid.shape
        valid0 = torch.arange(n_top * self.config.factor, device=latent.pos.device) < latent.length
        valids = _level_valid(valid0.unsqueeze(0).expand(b, -1), self.config.levels)
        h, pos = self.from_latent(latent.features), latent.pos
        for k in reversed(range(self.config.levels)):
            h = self.dec_conv[k + 1](h, pos, valids[k + 1])
            h, pos, _ = self.refine[k](h, pos, valids[k])
        h = self.dec_conv[0](h, pos, valids[0])
        offsets = from_l1(self.atoms(h).reshape(b, -1, NUM_SLOTS, 3)) * ATOM_SCALE
        coords = pos.unsqueeze(-2) + offsets
        n = latent.length
        return coords[:, :n], self.types(h)[:, :n]

    def forward(self, types: torch.Tensor, coords: torch.Tensor, mask: torch.Tensor):
        return self.decode(self.encode(types, coords, mask))
