r"""Blocks of the MACE potential that mace-torch's reference model has and ``lie_nn.nn.MACELayer`` lacks.

* :func:`normalised_silu`: ``c · silu(x)`` with ``c`` such that ``E[(c · silu(z))^2] = 1`` for
  ``z ~ N(0, 1)`` (e3nn's ``normalize2mom``, used in mace-torch's radial MLP and readout), so a deep
  MLP neither shrinks nor grows its input at initialisation.  ``c`` comes from Gauss-Hermite
  quadrature (deterministic, unlike e3nn's Monte-Carlo estimate).
* :class:`ElementLinear`: an equivariant Linear with one set of weights per chemical element
  (mace-torch's ``skip_tp``, a tensor product with the one-hot element).
* :class:`ElementMACELayer`: interaction → symmetric contraction → Linear, where the first layer
  mixes the messages per element and has no residual, and later layers add an element-dependent
  residual of their input (mace-torch's ``RealAgnosticInteractionBlock`` /
  ``RealAgnosticResidualInteractionBlock`` with ``EquivariantProductBasisBlock``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

import lie_nn as lnn
from lie_nn.nn import Linear, MACEInteraction, SymmetricContraction

__all__ = ["ElementLinear", "ElementMACELayer", "SILU_NORM", "normalised_silu"]


def _silu_second_moment(points: int = 200) -> float:
    """``E[silu(z)^2]`` for ``z ~ N(0, 1)`` by Gauss-Hermite quadrature (exact to float64 here)."""
    x, w = np.polynomial.hermite_e.hermegauss(points)
    silu = x / (1.0 + np.exp(-x))
    return float((w * silu**2).sum() / w.sum())


SILU_NORM = 1.0 / math.sqrt(_silu_second_moment())


def normalised_silu(x: torch.Tensor) -> torch.Tensor:
    """``SILU_NORM · silu(x)``: unit second moment for standard normal input.

    >>> round(SILU_NORM, 4)
    1.6765
    >>> z = torch.randn(200_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    >>> abs(float(normalised_silu(z).square().mean()) - 1.0) < 0.02
    True
    """
    return SILU_NORM * torch.nn.functional.silu(x)


class ElementLinear(torch.nn.Module):
    """``y_i = Linear_{z_i}(x_i)``: an equivariant Linear with weights chosen by the element ``z_i``.

    >>> from lie_nn import O3
    >>> lin = ElementLinear([(4, O3(0, 1)), (4, O3(1, -1))], [(2, O3(0, 1))], num_elements=3)
    >>> lin(torch.randn(5, 16), torch.tensor([0, 2, 1, 1, 0])).shape
    torch.Size([5, 2])
    """

    def __init__(self, irreps_in: Any, irreps_out: Any, num_elements: int, *,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        if num_elements < 1:
            raise ValueError(f"ElementLinear: num_elements must be positive, got {num_elements}")
        self.linears = torch.nn.ModuleList(Linear(irreps_in, irreps_out, dtype=dtype)
                                           for _ in range(num_elements))

    def forward(self, x: torch.Tensor, elements: torch.Tensor) -> torch.Tensor:
        # each element's Linear on its own nodes only (not every Linear on every node, then masked)
        out = x.new_zeros(x.shape[0], self.linears[0].dim_out)
        for e, lin in enumerate(self.linears):
            mask = elements == e
            out[mask] = lin(x[mask])
        return out


class ElementMACELayer(torch.nn.Module):
    r"""A MACE layer laid out as mace-torch's.

    ``first=True``: ``h' = L(B(W_z m))`` with ``m`` the interaction's output and ``W_z`` an
    :class:`ElementLinear`; otherwise ``h' = L(B(m)) + W_z h``.  ``B`` is the element-dependent
    :class:`~lie_nn.nn.SymmetricContraction`, ``L`` a Linear.  ``act`` is the radial MLP's activation.
    ``forward(node_feats, node_elements, edge_attrs, edge_feats, edge_index)`` as ``lie_nn.nn.MACELayer``.
    """

    def __init__(self, irreps_node: Any, irreps_edge_attr: Any, irreps_hidden: Any, irreps_out: Any,
                 correlation: int, num_elements: int, num_radial: int, radial_hidden: Sequence[int],
                 avg_num_neighbors: float, *, first: bool, act=normalised_silu,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.first = first
        self.interaction = MACEInteraction(irreps_node, irreps_edge_attr, irreps_hidden, num_radial,
                                           radial_hidden, avg_num_neighbors, act=act, dtype=dtype)
        hidden = self.interaction.irreps_out
        out = lnn.Irreps(irreps_out)
        self.product = SymmetricContraction(hidden, [m.ir for m in out], correlation, num_elements,
                                            dtype=dtype)
        self.linear = Linear(self.product.irreps_out, out, dtype=dtype)
        if first:
            self.mix = ElementLinear(hidden, hidden, num_elements, dtype=dtype)
        else:
            self.skip = ElementLinear(irreps_node, out, num_elements, dtype=dtype)

    def forward(self, node_feats: torch.Tensor, node_elements: torch.Tensor, edge_attrs: torch.Tensor,
                edge_feats: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        m = self.interaction(node_feats, edge_attrs, edge_feats, edge_index)
        if self.first:
            return self.linear(self.product(self.mix(m, node_elements), node_elements))
        return self.linear(self.product(m, node_elements)) + self.skip(node_feats, node_elements)
