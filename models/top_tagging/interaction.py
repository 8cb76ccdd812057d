"""One message-passing layer of :class:`~models.top_tagging.model.LorentzTagger` (and its MLP helper)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from lie_nn import Irreps
from lie_nn.nn import ChannelwiseTensorProduct, Gate, Linear, SymmetricContraction
from models.common.layers import mlp
from models.top_tagging.basis import representations

if TYPE_CHECKING:
    from models.top_tagging.model import LorentzTaggerConfig


class _Interaction(torch.nn.Module):
    r"""One layer: messages → ``index_add_`` → Linear (+ own features) → SymmetricContraction → Gate.

    The message ``m_ij = CTP(h_j, Y_j; w_ij)`` has equivariant attributes ``Y_j = (1, p̂_j)`` that depend
    on the sender only, and the channelwise product is linear in its weights, so
    ``m_ij = w_ij ⊙ CTP(h_j, Y_j; 1)`` (each weight scales one output channel): the tensor product runs
    once per *node* and every edge costs one gather and one product (:meth:`edge_messages` computes the
    same thing edge by edge; the tests compare them).
    """

    def __init__(self, cfg: LorentzTaggerConfig, n_edge: int, dtype: torch.dtype) -> None:
        super().__init__()
        c = cfg.channels
        S, V = representations(cfg.basis)
        self.complex = cfg.basis == "complex"
        self.irreps = Irreps([(c, S), (c, V)])
        self.tp = ChannelwiseTensorProduct(self.irreps, Irreps([(1, S), (1, V)]), [S, V],
                                           internal_weights=False, dtype=dtype)
        # output component -> weight index (weights are path-major, one per channel of each path)
        expand = [w for w, item in enumerate(x for m in self.tp.irreps_out for x in [m] * m.mul)
                  for _ in range((1 + self.complex) * item.ir.dim)]  # (real, imag) if complex
        self.register_buffer("expand", torch.tensor(expand, dtype=torch.long), persistent=False)
        self.register_buffer("unit", torch.ones(self.tp.weight_numel, dtype=dtype), persistent=False)
        self.edge_mlp = mlp([n_edge, cfg.edge_hidden, cfg.edge_hidden, self.tp.weight_numel], dtype)
        # edge_scalars: the first layer of edge_mlp also reads (s_i, s_j), the (0,0) channels of both ends;
        # as W [s_i, s_j] = A s_i + B s_j it is projected once per node and gathered per edge
        self.scalar_proj = (torch.nn.Linear(c, 2 * cfg.edge_hidden, bias=False, dtype=dtype)
                            if cfg.edge_scalars else None)
        self.channels = c
        self.lin_msg = Linear(self.tp.irreps_out, self.irreps, dtype=dtype)
        self.lin_node = Linear(self.irreps, self.irreps, dtype=dtype)
        self.product = SymmetricContraction(self.irreps, [S, V], cfg.correlation, dtype=dtype)
        gate_in = Irreps([(c, S), (c, S), (c, V)])
        self.lin_out = Linear(self.irreps, gate_in, bias=True, dtype=dtype)
        self.lin_self = Linear(self.irreps, gate_in, dtype=dtype)
        self.gate = Gate([(c, S)], torch.nn.functional.silu, [(c, S)], torch.tanh, [(c, V)])
        self.norm = 1.0 / math.sqrt(cfg.k or 16)

    def edge_messages(self, h: torch.Tensor, y: torch.Tensor, weight: torch.Tensor,
                      sender: torch.Tensor) -> torch.Tensor:
        """Reference: the channelwise product evaluated on every edge (slow)."""
        return self.tp(h[sender], y[sender], weight)

    def edge_weights(self, h: torch.Tensor, edge_feat: torch.Tensor, sender: torch.Tensor,
                     receiver: torch.Tensor) -> torch.Tensor:
        """Per-edge weights of the channelwise product from invariants only (edge features, and with
        ``edge_scalars`` the ``(0,0)`` channels of receiver and sender)."""
        if self.scalar_proj is None:
            return self.edge_mlp(edge_feat)
        proj = self.scalar_proj(h[:, : self.channels].real)
        half = proj.shape[1] // 2
        first = self.edge_mlp[0](edge_feat) + proj[:, :half].index_select(0, receiver)
        return self.edge_mlp[1:](first + proj[:, half:].index_select(0, sender))

    def _node_products(self, h: torch.Tensor, y: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """``CTP(h_j, Y_j; 1)`` per node, as real numbers (complex values as contiguous (re, im) pairs:
        complex × real weights then cost half the arithmetic of a promoted complex product)."""
        node = self.tp(h, y, self.unit.to(dtype))  # (nodes, dim_out), unit weights
        return torch.view_as_real(node).reshape(len(node), -1) if self.complex else node

    def _update(self, h: torch.Tensor, agg: torch.Tensor) -> torch.Tensor:
        if self.complex:
            agg = torch.view_as_complex(agg.view(len(h), -1, 2))
        a = self.lin_msg(agg * self.norm) + self.lin_node(h)
        b = self.product(a)
        return self.gate(self.lin_out(b) + self.lin_self(h))

    def forward(self, h: torch.Tensor, y: torch.Tensor, edge_feat: torch.Tensor,
                sender: torch.Tensor, receiver: torch.Tensor) -> torch.Tensor:
        """Edge-list path (the default): per-edge gather and ``index_add_`` scatter onto receivers."""
        weight = self.edge_weights(h, edge_feat, sender, receiver)
        pairs = self._node_products(h, y, weight.dtype)
        msg = pairs.index_select(0, sender) * weight.index_select(1, self.expand)
        agg = torch.zeros(len(h), msg.shape[-1], dtype=msg.dtype, device=msg.device)
        return self._update(h, agg.index_add_(0, receiver, msg))

    def forward_dense(self, h: torch.Tensor, y: torch.Tensor, edge_feat: torch.Tensor,
                      neighbours: torch.Tensor, ok: torch.Tensor) -> torch.Tensor:
        """Dense path, the same function as :meth:`forward`: node ``r`` receives from the flat node indices
        ``neighbours[r]`` ``(nodes, k)`` where ``ok`` ``(nodes, k)``; ``edge_feat`` ``(nodes, k, F)``.
        One gather and a sum over ``k``: no edge lists, no scatter (its backward is a plain broadcast)."""
        nodes, k = neighbours.shape
        flat = neighbours.reshape(-1)
        if self.scalar_proj is None:
            weight = self.edge_mlp(edge_feat)
        else:
            proj = self.scalar_proj(h[:, : self.channels].real)
            half = proj.shape[1] // 2
            first = self.edge_mlp[0](edge_feat) + proj[:, None, :half]
            weight = self.edge_mlp[1:](first + proj[:, half:].index_select(0, flat).view(nodes, k, half))
        weight = weight * ok[..., None].to(weight.dtype)  # missing neighbours: zero weight
        pairs = self._node_products(h, y, weight.dtype)
        weight = weight.view(nodes * k, -1).index_select(1, self.expand).view(nodes, k, -1)
        return self._update(h, (pairs.index_select(0, flat).view(nodes, k, -1) * weight).sum(1))
