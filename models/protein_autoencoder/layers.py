r"""SO(3)-equivariant layers on a chain of nodes ``(B, n, dim)`` with positions ``(B, n, 3)``.

Every node carries features of the irreps ``C×0 ⊕ V×1 ⊕ T×2`` (:func:`hidden_irreps`) and a
position; a padded node has ``valid = False`` and sends no messages.  Three layers:

- :class:`ChainConv`: a learned equivariant convolution along the chain.  Node ``j`` receives from its
  neighbours ``j ± 1`` the messages ``TP_w(h_{j±1}, Y(r))`` with ``r = p_{j±1} - p_j``, ``Y`` the
  spherical harmonics ``ℓ ≤ 2`` and the channel-wise tensor-product weights ``w`` an MLP of a Bessel
  basis of ``|r|`` (one MLP per direction, so the chain's orientation is known); then
  ``h ← h + Gate(W_self h + W_msg Σ messages)``.
- :class:`Coarsen`: node pairs ``(2j, 2j+1)`` → one node at the midpoint ``P_j``; its features are a
  gated linear map of both children's features and of ``d = p_{2j+1} - p_{2j}`` (as ``ℓ = 1`` and
  ``|d| Y_2(d̂)``): a strided convolution of stride and width 2.
- :class:`Refine`: the inverse: every node emits two children with features ``Gate(W_k h)`` and
  positions ``P ∓ d̂/2`` with ``d̂`` an ``ℓ = 1`` output of ``h``.

All maps are built from ``Linear``, ``ChannelwiseTensorProduct``, ``Gate``, ``spherical_harmonics``,
``BesselBasis`` and ``RadialMLP`` of :mod:`lie_nn.nn` and only use differences of positions, so they
are equivariant under rotations and translations: ``f(R p + t, D(R) h) = (R f_p + t, D(R) f_h)``.
"""

from __future__ import annotations

import torch

import lie_nn as lnn
from lie_nn.nn import BesselBasis, ChannelwiseTensorProduct, Gate, Linear, RadialMLP, spherical_harmonics
from models.protein_autoencoder.geometry import from_l1, to_l1

__all__ = ["ChainConv", "Coarsen", "GatedLinear", "Refine", "hidden_irreps"]

SH_IRREPS = [lnn.SO3(0), lnn.SO3(1), lnn.SO3(2)]


def hidden_irreps(scalars: int, vectors: int, tensors: int) -> list:
    """``scalars×0 ⊕ vectors×1 ⊕ tensors×2`` as (mul, SO3) pairs (empty blocks left out)."""
    return [(m, lnn.SO3(ell)) for ell, m in enumerate((scalars, vectors, tensors)) if m > 0]


class GatedLinear(torch.nn.Module):
    """``Gate(Linear(x))``: a linear map to scalars, gates and gated ``ℓ ≥ 1`` blocks, then the gate."""

    def __init__(self, irreps_in: list, scalars: int, vectors: int, tensors: int, dtype: torch.dtype) -> None:
        super().__init__()
        gated = hidden_irreps(0, vectors, tensors)
        pre = [(scalars, lnn.SO3(0)), (vectors + tensors, lnn.SO3(0))] + gated
        self.linear = Linear(irreps_in, pre, bias=True, dtype=dtype)
        self.gate = Gate(
            [(scalars, lnn.SO3(0))],
            torch.nn.functional.silu,
            [(vectors + tensors, lnn.SO3(0))],
            torch.sigmoid,
            gated,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gate(self.linear(x))


def _shift(x: torch.Tensor, step: int) -> torch.Tensor:
    """``y[:, j] = x[:, j + step]`` with zeros beyond the ends (``step = ±1``)."""
    out = torch.zeros_like(x)
    if step > 0:
        out[:, :-step] = x[:, step:]
    else:
        out[:, -step:] = x[:, :step]
    return out


class ChainConv(torch.nn.Module):
    """Equivariant convolution with the two chain neighbours (module docstring); ``r_scale`` Å is the
    typical neighbour distance of this level (Bessel basis up to ``3 r_scale``)."""

    def __init__(
        self,
        scalars: int,
        vectors: int,
        tensors: int,
        r_scale: float,
        *,
        num_basis: int = 8,
        radial_hidden: int = 32,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        irreps = hidden_irreps(scalars, vectors, tensors)
        self.tp = ChannelwiseTensorProduct(irreps, SH_IRREPS, SH_IRREPS, internal_weights=False, dtype=dtype)
        self.bessel = BesselBasis(3.0 * r_scale, num_basis)
        self.radial = torch.nn.ModuleList(
            [
                RadialMLP(
                    [num_basis, radial_hidden, self.tp.weight_numel], torch.nn.functional.silu, dtype=dtype
                )
                for _ in range(2)
            ]
        )
        self.message = Linear(self.tp.irreps_out, irreps, dtype=dtype)
        self.update = GatedLinear(irreps + irreps, scalars, vectors, tensors, dtype)

    def forward(self, h: torch.Tensor, pos: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        total = 0.0
        for radial, step in zip(self.radial, (-1, 1), strict=True):
            nb_valid = _shift(valid, step) & valid
            r = _shift(pos, step) - pos
            dist = torch.where(nb_valid, r.norm(dim=-1), torch.ones_like(r[..., 0]))
            weight = radial(self.bessel(dist)) * nb_valid.unsqueeze(-1)
            total = total + self.tp(
                _shift(h, step), spherical_harmonics([0, 1, 2], _safe(r, nb_valid)), weight
            )
        msg = self.message(total)
        return (h + self.update(torch.cat([h, msg], dim=-1))) * valid.unsqueeze(-1)


def _safe(r: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """``r`` where ``valid``, else a fixed unit vector (its harmonics are then weighted by zero)."""
    unit = torch.zeros_like(r)
    unit[..., 2] = 1.0
    return torch.where(valid.unsqueeze(-1), r, unit)


class Coarsen(torch.nn.Module):
    """Pairs of nodes → one node at their midpoint (module docstring); ``r_scale`` Å scales ``d``."""

    def __init__(self, scalars: int, vectors: int, tensors: int, r_scale: float, dtype: torch.dtype) -> None:
        super().__init__()
        irreps = hidden_irreps(scalars, vectors, tensors)
        self.r_scale = r_scale
        self.mix = GatedLinear(
            irreps + irreps + [(1, lnn.SO3(1)), (1, lnn.SO3(2))], scalars, vectors, tensors, dtype
        )

    def forward(self, h: torch.Tensor, pos: torch.Tensor, valid: torch.Tensor):
        b, n, dim = h.shape
        h2, p2, v2 = h.reshape(b, n // 2, 2, dim), pos.reshape(b, n // 2, 2, 3), valid.reshape(b, n // 2, 2)
        both = v2.all(-1)
        d = torch.where(both.unsqueeze(-1), p2[:, :, 1] - p2[:, :, 0], torch.zeros_like(p2[:, :, 0]))
        y2 = spherical_harmonics([2], _safe(d, both), normalization="norm") * both.unsqueeze(-1)
        dn = d.norm(dim=-1, keepdim=True) / self.r_scale
        x = torch.cat([h2[:, :, 0], h2[:, :, 1], to_l1(d) / self.r_scale, y2 * dn], dim=-1)
        parent_valid = v2.any(-1)
        weights = v2.to(pos.dtype) / v2.sum(-1, keepdim=True).clamp(min=1).to(pos.dtype)
        parent_pos = (p2 * weights.unsqueeze(-1)).sum(-2)
        return self.mix(x) * parent_valid.unsqueeze(-1), parent_pos, parent_valid


class Refine(torch.nn.Module):
    """One node → two children at ``P ∓ d/2`` with ``d`` an ``ℓ = 1`` output (module docstring)."""

    def __init__(self, scalars: int, vectors: int, tensors: int, r_scale: float, dtype: torch.dtype) -> None:
        super().__init__()
        irreps = hidden_irreps(scalars, vectors, tensors)
        self.r_scale = r_scale
        self.children_ = torch.nn.ModuleList(
            [GatedLinear(irreps, scalars, vectors, tensors, dtype) for _ in range(2)]
        )
        self.offset = Linear(irreps, [(1, lnn.SO3(1))], dtype=dtype)

    def forward(self, h: torch.Tensor, pos: torch.Tensor, kid_valid: torch.Tensor):
        """``kid_valid (B, 2n)``: which children exist (padding of the finer level)."""
        b, n, _ = h.shape
        d = from_l1(self.offset(h)) * self.r_scale
        kids = torch.stack([child(h) for child in self.children_], dim=2).reshape(b, 2 * n, -1)
        kid_pos = torch.stack([pos - 0.5 * d, pos + 0.5 * d], dim=2).reshape(b, 2 * n, 3)
        return kids * kid_valid.unsqueeze(-1), kid_pos, kid_valid
