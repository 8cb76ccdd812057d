r"""Symphony-style generator: an E(3)-equivariant network over the fragment and three heads.

Encoder (``kind="equivariant"``): element embedding ``C x 0e``; edges ``s → r`` of the fragment
within ``cutoff`` carry ``Y_{l ≤ max_ell}(\hat r_{sr})`` and a Bessel radial basis; layer 1 is a
:class:`lie_nn.nn.MACELayer` to ``C x (0e + 1o + … + hidden_ell)``, layer 2 one to
``C x (0e + 1o + 2e + 3o + 4e + 5o)`` (up to the position head's ``L``).  ``s_i``: the ``0e``
channels of both layers (invariant).  Heads, for a fragment with atoms ``i``:

* focus: ``p(i) ∝ e^{MLP(s_i)}``, ``p(stop) ∝ e^{MLP(\bar s)}`` (one softmax per fragment);
* element of the next atom: ``softmax(MLP(s_f))`` at the focus ``f``;
* position: the focus features, each ``(channel, l)`` block scaled by an invariant gate
  ``MLP(s_f, \text{onehot}(z))`` of the chosen element ``z``, then an equivariant
  :class:`lie_nn.nn.Linear` to ``B x (0e + … + Le)``: the coefficients ``a_{b,lm}`` of
  :mod:`~models.molecule_generation.grid`.  So rotating (or reflecting) the fragment rotates the
  coefficients by ``D_l`` and the distribution with it, while focus and element are invariant.

``kind="mlp"`` is the non-equivariant peer with the same heads: messages
``MLP(e_s, e_r, x_r - x_s, |x_r - x_s|)`` (raw Cartesian edge vectors), and coefficients from an MLP
(no symmetry constraint); it is trained with random rotations of every fragment.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

import lie_nn as lnn
from lie_nn.nn import (
    BesselBasis,
    Linear,
    MACELayer,
    PolynomialCutoff,
    RadialMLP,
    block_view,
    scatter_sum,
    spherical_harmonics,
)
from models.molecule_generation.fragments import ELEMENTS, FragmentBatch
from models.molecule_generation.grid import GridConfig, PositionGrid

__all__ = ["GeneratorConfig", "MoleculeGenerator", "build_model"]

_SILU = torch.nn.functional.silu


@dataclass(frozen=True)
class GeneratorConfig:
    """Hyper-parameters (stored in checkpoints; equal configs give the same architecture)."""

    kind: str = "equivariant"
    channels: int = 16
    max_ell: int = 3
    hidden_ell: int = 2
    correlation: int = 2
    cutoff: float = 5.0
    num_bessel: int = 8
    radial_hidden: int = 32
    mlp_hidden: int = 64
    avg_num_neighbors: float = 8.0
    grid: GridConfig = GridConfig()

    def __post_init__(self) -> None:
        if self.kind not in ("equivariant", "mlp"):
            raise ValueError(f"GeneratorConfig: kind must be 'equivariant' or 'mlp', got {self.kind!r}")
        if min(self.channels, self.num_bessel, self.radial_hidden, self.mlp_hidden, self.correlation) < 1:
            raise ValueError("GeneratorConfig: sizes must be positive")
        if not 0 <= self.hidden_ell <= self.max_ell or self.max_ell + self.hidden_ell < self.grid.lmax:
            raise ValueError("GeneratorConfig: need hidden_ell <= max_ell and "
                             "max_ell + hidden_ell >= grid.lmax")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> GeneratorConfig:
        d = dict(d)
        return cls(**{**d, "grid": GridConfig(**d.get("grid", {}))})


def _natural(mul: int, lmax: int) -> list:
    return [(mul, lnn.O3(ell, (-1) ** ell)) for ell in range(lmax + 1)]


class MoleculeGenerator(torch.nn.Module):
    """``encode(batch) -> (s, h)``; ``focus_logits``, ``element_logits`` and ``position_coefficients``
    on top (see the module docstring).  ``first_element`` (buffer): log-frequencies of the first atom.

    >>> model = MoleculeGenerator(GeneratorConfig(channels=4, grid=GridConfig(n_radii=8, n_basis=4)))
    >>> from models.molecule_generation.fragments import collate, fragment_sample
    >>> import numpy as np
    >>> xyz = np.array([[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    >>> w = np.array([8, 1, 1]), xyz, np.array([[0, 1], [0, 2]])
    >>> batch = collate([fragment_sample(*w, seed=s) for s in range(3)], cutoff=5.0)
    >>> s, h = model.encode(batch)
    >>> model.position_coefficients(s, h, batch.focus, batch.next_element).shape
    torch.Size([3, 4, 36])
    """

    def __init__(self, config: GeneratorConfig, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.config = c = config
        n_el, lmax, hid = len(ELEMENTS), c.grid.lmax, c.mlp_hidden
        self.grid = PositionGrid(c.grid, dtype=dtype)
        start = torch.tensor([-torch.inf] + [0.0] * (n_el - 1), dtype=dtype)  # default: uniform heavy atoms
        self.register_buffer("first_element", start)
        self.bessel = BesselBasis(c.cutoff, c.num_bessel)
        self.envelope = PolynomialCutoff(c.cutoff, 5)
        self.embedding = torch.nn.Embedding(n_el, c.channels if c.kind == "equivariant" else hid)
        if c.kind == "equivariant":
            sh = [lnn.O3(ell, (-1) ** ell) for ell in range(c.max_ell + 1)]
            self.feature_irreps = lnn.Irreps(_natural(c.channels, lmax))
            self.layers = torch.nn.ModuleList([
                MACELayer(_natural(c.channels, 0), sh, _natural(c.channels, c.max_ell),
                          _natural(c.channels, c.hidden_ell), c.correlation, n_el, c.num_bessel,
                          (c.radial_hidden,), c.avg_num_neighbors, dtype=dtype),
                MACELayer(_natural(c.channels, c.hidden_ell), sh, _natural(c.channels, lmax),
                          self.feature_irreps, c.correlation, n_el, c.num_bessel, (c.radial_hidden,),
                          c.avg_num_neighbors, dtype=dtype)])
            n_scalars = 2 * c.channels
            self.gate = RadialMLP([n_scalars + n_el, hid, c.channels * (lmax + 1)], _SILU, bias=True,
                                  dtype=dtype)
            self.coefficients = Linear(self.feature_irreps, _natural(c.grid.n_basis, lmax), bias=True,
                                       dtype=dtype)
        else:
            edge_in = 2 * hid + 4 + c.num_bessel
            self.messages = torch.nn.ModuleList([RadialMLP([edge_in, hid, hid], _SILU, bias=True, dtype=dtype)
                                                 for _ in range(2)])
            self.updates = torch.nn.ModuleList([RadialMLP([2 * hid, hid, hid], _SILU, bias=True, dtype=dtype)
                                                for _ in range(2)])
            n_scalars = 2 * hid
            self.position_mlp = RadialMLP([n_scalars + n_el, hid, hid, c.grid.n_basis * c.grid.dim], _SILU,
                                          bias=True, dtype=dtype)
        self.focus_mlp = RadialMLP([n_scalars, hid, 1], _SILU, bias=True, dtype=dtype)
        self.stop_mlp = RadialMLP([n_scalars, hid, 1], _SILU, bias=True, dtype=dtype)
        self.element_mlp = RadialMLP([n_scalars, hid, n_el], _SILU, bias=True, dtype=dtype)
        self.to(dtype)

    # ------------------------------------------------------------------------------ encoder
    def encode(self, batch: FragmentBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """Invariant node scalars ``s (N, S)`` and node features ``h`` (equivariant: ``C x (0e..Le)``)."""
        return self.encode_graph(batch.species, batch.positions, batch.edge_index)

    def encode_graph(self, species: torch.Tensor, positions: torch.Tensor, edge_index: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`encode` of element indices ``(N,)``, positions ``(N, 3)`` and edges ``(2, E)``."""
        send, recv = edge_index
        vec = positions[recv] - positions[send]
        r = vec.norm(dim=-1)
        radial = self.bessel(r) * self.envelope(r).unsqueeze(-1)
        h = self.embedding(species)
        if self.config.kind == "equivariant":
            attrs = spherical_harmonics(list(range(self.config.max_ell + 1)), vec)
            scalars = []
            for layer in self.layers:
                h = layer(h, species, attrs, radial, edge_index)
                scalars.append(h[:, :self.config.channels])
            return torch.cat(scalars, dim=1), h
        scalars = []
        for message, update in zip(self.messages, self.updates, strict=True):
            m = message(torch.cat([h[send], h[recv], vec, r[:, None], radial], dim=1))
            summed = scatter_sum(m, recv, h.shape[0]) / self.config.avg_num_neighbors
            h = h + update(torch.cat([h, summed], 1))
            scalars.append(h)
        return torch.cat(scalars, dim=1), h

    # -------------------------------------------------------------------------------- heads
    def focus_logits(self, s: torch.Tensor, batch: torch.Tensor, num_graphs: int
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """Node logits ``(N,)`` and stop logits ``(G,)`` (one softmax per fragment over both)."""
        counts = scatter_sum(torch.ones_like(s[:, 0]), batch, num_graphs).clamp_min(1)
        mean = scatter_sum(s, batch, num_graphs) / counts[:, None]
        return self.focus_mlp(s).squeeze(-1), self.stop_mlp(mean).squeeze(-1)

    def element_logits(self, s: torch.Tensor, focus: torch.Tensor) -> torch.Tensor:
        """Logits ``(G, 5)`` of the next atom's element at the focus nodes ``focus (G,)``."""
        return self.element_mlp(s[focus])

    def position_coefficients(self, s: torch.Tensor, h: torch.Tensor, focus: torch.Tensor,
                              element: torch.Tensor) -> torch.Tensor:
        """Coefficients ``a (G, B, (L+1)^2)`` of the next position around ``focus`` for ``element``."""
        cond = torch.cat([s[focus], torch.nn.functional.one_hot(element, len(ELEMENTS)).to(s.dtype)], dim=1)
        c, lmax = self.config, self.config.grid.lmax
        if c.kind == "mlp":
            return self.position_mlp(cond).view(-1, c.grid.n_basis, c.grid.dim)
        gates = self.gate(cond).view(-1, c.channels, lmax + 1)
        hf = h[focus]
        blocks = [block_view(hf, self.feature_irreps, ell) * gates[:, :, ell, None]
                  for ell in range(lmax + 1)]
        out = self.coefficients(torch.cat([b.flatten(1) for b in blocks], dim=1))
        target = _natural(c.grid.n_basis, lmax)
        return torch.cat([block_view(out, target, ell) for ell in range(lmax + 1)], dim=-1)


def build_model(config: GeneratorConfig, dtype: torch.dtype = torch.float32) -> MoleculeGenerator:
    """The generator of ``config`` in ``dtype``."""
    return MoleculeGenerator(config, dtype)
