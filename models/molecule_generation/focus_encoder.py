r"""The encoder as sampling needs it: invariant scalars at every atom, equivariant features at the focus.

A sampling step reads the last layer's ``l > 0`` features only at the chosen focus atoms (for the
position coefficients), but the ``0e`` channels at every atom (focus, stop and element logits).  The
last :class:`lie_nn.nn.MACELayer` is ``Linear(SymmetricContraction(a)) + skip(h)``; both Linears act
irrep by irrep, so its ``0e`` output needs only the ``0e`` output of the contraction.  This module
evaluates, for the equivariant model,

* at every atom: layer 1, the last layer's interaction ``a``, and a contraction restricted to ``0e``
  (a :class:`lie_nn.nn.SymmetricContraction` to ``1x0e`` holding the ``0e`` paths' weights of the
  full one: its weight rows come first, ``paths`` are ordered by output irrep);
* at the focus atoms only: the full contraction and the last layer's outputs.

The result equals :meth:`~models.molecule_generation.model.MoleculeGenerator.encode_graph` (tested to
float64 rounding); it skips the contraction's ``l = 1..5`` outputs at the non-focus atoms, the larger
part of its cost.  The non-equivariant peer has no such split and is encoded in full.
"""

from __future__ import annotations

import torch

import lie_nn as lnn
from lie_nn.nn import SymmetricContraction, spherical_harmonics
from models.molecule_generation.model import MoleculeGenerator

__all__ = ["FocusEncoder"]


class FocusEncoder:
    """``encode(species, positions, edges) -> (s, state)`` and ``focus_features(state, focus) -> h_f``
    (the last layer's features at the nodes ``focus``) for a fixed (eval-mode) generator."""

    def __init__(self, model: MoleculeGenerator) -> None:
        self.model = model
        self.split = model.config.kind == "equivariant"
        if self.split:
            full = model.layers[-1].product
            k0 = sum(copies for out, _, copies, _ in full.paths if out == 0)
            offsets = [offset for out, _, _, offset in full.paths if out == 0]
            if not offsets or offsets[0] != 0 or str(full.irreps_out[0].ir) != str(lnn.O3(0, 1)):
                raise ValueError("FocusEncoder: the contraction's first output must be 0e")
            self.scalar = SymmetricContraction(full.irreps_in, [lnn.O3(0, 1)], full.correlation,
                                               full.num_elements, dtype=full.weight.dtype)
            if tuple(self.scalar.weight.shape) != (full.weight.shape[0], k0, full.weight.shape[2]):
                raise ValueError("FocusEncoder: unexpected weight layout of the 0e contraction")
            with torch.no_grad():
                self.scalar.weight.copy_(full.weight[:, :k0])

    @torch.no_grad()
    def encode(self, species: torch.Tensor, positions: torch.Tensor, edge_index: torch.Tensor
               ) -> tuple[torch.Tensor, tuple]:
        """Invariant scalars ``s (N, S)`` of every atom and what :meth:`focus_features` needs."""
        model = self.model
        if not self.split:
            s, h = model.encode_graph(species, positions, edge_index)
            return s, (h,)
        c = model.config
        send, recv = edge_index
        vec = positions[recv] - positions[send]
        r = vec.norm(dim=-1)
        radial = model.bessel(r) * model.envelope(r).unsqueeze(-1)
        attrs = spherical_harmonics(list(range(c.max_ell + 1)), vec)
        h, scalars = model.embedding(species), []
        for layer in model.layers[:-1]:
            h = layer(h, species, attrs, radial, edge_index)
            scalars.append(h[:, :c.channels])
        last = model.layers[-1]
        a = last.interaction(h, attrs, radial, edge_index)
        b0 = self.scalar(a, species)
        padded = torch.cat([b0, b0.new_zeros(b0.shape[0], last.product.dim_out - b0.shape[1])], dim=1)
        s_last = last.linear(padded)[:, :c.channels] + last.skip(h)[:, :c.channels]
        return torch.cat([*scalars, s_last], dim=1), (h, a, species)

    @torch.no_grad()
    def focus_features(self, state: tuple, focus: torch.Tensor) -> torch.Tensor:
        """The last layer's features ``(G, dim)`` at the nodes ``focus (G,)``."""
        if not self.split:
            return state[0][focus]
        h, a, species = state
        last = self.model.layers[-1]
        return last.linear(last.product(a[focus], species[focus])) + last.skip(h[focus])
