r"""MACE-style message passing for any group: interaction block and full layer.

:class:`MACEInteraction` (edges ``s → r`` given by ``edge_index = (senders, receivers)``):

.. math:: m_r = \mathrm{Linear}\Big(\frac{1}{n_{avg}} \sum_{s \to r}
          \mathrm{TP}\big(\mathrm{Linear}(h)_s,\, Y_{sr};\, \mathrm{MLP}(e_{sr})\big)\Big)

with edge attributes ``Y`` in ``irreps_edge_attr`` (multiplicity 1 each; spherical harmonics of the
edge vector for SO(3) / O(3), any features for other groups) and invariant edge features ``e``
(a radial embedding) producing the per-edge tensor-product weights.  :class:`MACELayer` follows it
with a :class:`~lie_nn.nn._symmetric_contraction.SymmetricContraction` (element dependent), a Linear
and a residual Linear of the input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from lie_nn._src.irrep import MulIrrep
from lie_nn._src.irreps import Irreps
from lie_nn.nn._layout import as_irreps, check_features
from lie_nn.nn._linear import Linear
from lie_nn.nn._radial import RadialMLP
from lie_nn.nn._scatter import scatter_sum
from lie_nn.nn._spherical_harmonics import spherical_harmonics
from lie_nn.nn._symmetric_contraction import SymmetricContraction
from lie_nn.nn._tensor_product import ChannelwiseTensorProduct

__all__ = ["MACEInteraction", "MACELayer", "spherical_harmonics"]


def check_edge_index(edge_index: object, num_nodes: int, layer: str) -> None:
    """``edge_index`` must be an integer tensor ``(2, E)`` of node indices in ``[0, num_nodes)``.

    The range check reads the tensor's extremes on the host, so it runs in eager mode only (not
    while ``torch.compile`` traces: no graph break on the default path).
    """
    integer = isinstance(edge_index, torch.Tensor) and not (
        edge_index.dtype.is_floating_point or edge_index.is_complex() or edge_index.dtype == torch.bool)
    if not integer:
        raise TypeError(f"{layer}: edge_index must be an integer tensor (2, num_edges), got "
                        f"{getattr(edge_index, 'dtype', type(edge_index).__name__)}")
    if edge_index.ndim != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"{layer}: edge_index must have shape (2, num_edges) = (senders, receivers), got "
                         f"{tuple(edge_index.shape)}")
    if torch.compiler.is_compiling() or edge_index.numel() == 0:
        return
    low, high = int(edge_index.min()), int(edge_index.max())
    if low < 0 or high >= num_nodes:
        raise ValueError(f"{layer}: edge_index holds node indices in [{low}, {high}] but there are "
                         f"{num_nodes} nodes: indices must lie in [0, {num_nodes}) (no negative indices)")


class MACEInteraction(torch.nn.Module):
    r"""Linear up → channel-wise TP with edge attributes (radial-MLP weights) → scatter-sum → Linear.

    ``irreps_node`` (node features), ``irreps_edge_attr`` (multiplicity 1 each), ``irreps_out``;
    ``num_radial`` invariant edge features feed ``RadialMLP([num_radial, *radial_hidden,
    weight_numel])``.  Messages are summed on receivers and divided by ``avg_num_neighbors``.

    ``forward(node_feats (N, dim_node), edge_attrs (E, dim_edge), edge_feats (E, num_radial),
    edge_index (2, E) = (senders, receivers))`` → ``(N, dim_out)``.
    """

    def __init__(self, irreps_node: Any, irreps_edge_attr: Any, irreps_out: Any, num_radial: int,
                 radial_hidden: Sequence[int] = (64,), avg_num_neighbors: float = 1.0, *,
                 act: Callable[[torch.Tensor], torch.Tensor] = torch.nn.functional.silu,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        if not avg_num_neighbors > 0:
            raise ValueError(f"MACEInteraction: avg_num_neighbors must be positive, "
                             f"got {avg_num_neighbors!r}")
        self.irreps_node = as_irreps(irreps_node, "irreps_node", "MACEInteraction")
        self.irreps_out = as_irreps(irreps_out, "irreps_out", "MACEInteraction")
        self.avg_num_neighbors = float(avg_num_neighbors)
        self.linear_up = Linear(self.irreps_node, self.irreps_node, dtype=dtype)
        keep = list(dict.fromkeys(m.ir for m in self.irreps_out))  # explicit: no selection rule needed
        self.tp = ChannelwiseTensorProduct(self.irreps_node, irreps_edge_attr, keep,
                                           internal_weights=False, dtype=dtype)
        self.irreps_edge_attr = self.tp.irreps_in2
        self.radial = RadialMLP([num_radial, *radial_hidden, self.tp.weight_numel], act, dtype=dtype)
        self.linear = Linear(self.tp.irreps_out, self.irreps_out, dtype=dtype)

    def forward(self, node_feats: torch.Tensor, edge_attrs: torch.Tensor, edge_feats: torch.Tensor,
                edge_index: torch.Tensor) -> torch.Tensor:
        name = "MACEInteraction"
        check_features(node_feats, self.tp.dim_in1, "node_feats", name)
        check_edge_index(edge_index, node_feats.shape[0], name)
        n_edges = edge_index.shape[1]
        check_features(edge_attrs, self.tp.dim_in2, "edge_attrs", name)
        check_features(edge_feats, self.radial.sizes[0], "edge_feats", name)
        for label, t in (("edge_attrs", edge_attrs), ("edge_feats", edge_feats)):
            if t.ndim != 2 or t.shape[0] != n_edges:
                raise ValueError(f"{name}: {label} must have one row per edge, shape ({n_edges}, "
                                 f"{t.shape[-1]}) for edge_index of shape {tuple(edge_index.shape)}; got "
                                 f"{tuple(t.shape)}")
        senders, receivers = edge_index[0], edge_index[1]
        h = self.linear_up(node_feats)
        _, messages = self.tp.output_pieces(h[senders], edge_attrs, self.radial(edge_feats))
        n_nodes = node_feats.shape[0]
        if not messages:
            return self.linear(h.new_zeros(n_nodes, 0))
        # sum each block of the per-edge messages on its receivers, then concatenate per node (the
        # per-edge concatenation would copy the layer's largest tensor once more)
        summed = torch.cat([scatter_sum(m, receivers, n_nodes) for m in messages], dim=1)
        return self.linear(summed / self.avg_num_neighbors)


class MACELayer(torch.nn.Module):
    r"""One MACE layer: interaction → symmetric contraction (per element) → Linear, plus a residual
    Linear of the input node features.

    ``irreps_hidden = mul × (ir_1 + ...)`` (channel-wise, e.g. ``8x0e+8x1o+8x2e``) is the interaction
    output and symmetric-contraction input; ``irreps_out`` the layer output (its irreps must be
    reachable by the contraction); ``act`` is the radial MLP's activation.  ``forward(node_feats,
    node_elements (N,), edge_attrs, edge_feats, edge_index)``.
    """

    def __init__(self, irreps_node: Any, irreps_edge_attr: Any, irreps_hidden: Any, irreps_out: Any,
                 correlation: int, num_elements: int, num_radial: int, radial_hidden: Sequence[int] = (64,),
                 avg_num_neighbors: float = 1.0, *,
                 act: Callable[[torch.Tensor], torch.Tensor] = torch.nn.functional.silu,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.irreps_out = as_irreps(irreps_out, "irreps_out", "MACELayer")
        self.interaction = MACEInteraction(irreps_node, irreps_edge_attr, irreps_hidden, num_radial,
                                           radial_hidden, avg_num_neighbors, act=act, dtype=dtype)
        hidden = self.interaction.irreps_out
        self.product = SymmetricContraction(hidden, Irreps([MulIrrep(1, m.ir) for m in self.irreps_out]),
                                            correlation, num_elements, dtype=dtype)
        self.linear = Linear(self.product.irreps_out, self.irreps_out, dtype=dtype)
        self.skip = Linear(irreps_node, self.irreps_out, dtype=dtype)

    def forward(self, node_feats: torch.Tensor, node_elements: torch.Tensor, edge_attrs: torch.Tensor,
                edge_feats: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        a = self.interaction(node_feats, edge_attrs, edge_feats, edge_index)
        return self.linear(self.product(a, node_elements)) + self.skip(node_feats)
