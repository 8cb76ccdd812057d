r"""The peer: the same jump model with a plain (not rotation-equivariant) message-passing network.

Same graph, conditioning, radial features and residual depth as
:class:`~models.md_jump.model.EquivariantVelocity`, but the Cartesian components enter as ordinary
numbers: node input ``x^s_i - x^t_i``, edge input ``(r^s_{ij}, [e(|r^t_{ij}|), e(|r^s_{ij}|)]·u)``,
messages ``m_{ij} = \mathrm{MLP}(h_i, h_j, \text{edge})``, updates ``h_i ← h_i + \mathrm{MLP}(h_i,
\sum_j m_{ij} / \bar n)``, output ``(b, η) = W h_i``.  It is translation invariant (only differences
enter) but not rotation equivariant; it is trained with random rotations of every pair
(``--augment``), the usual substitute for built-in symmetry.
"""

from __future__ import annotations

import torch

from lie_nn.nn import scatter_sum
from models.common.layers import mlp
from models.md_jump.model import Conditioning, EdgeRadial, JumpConfig, JumpGraph

__all__ = ["PlainVelocity"]


class PlainVelocity(torch.nn.Module):
    """``forward(graph, x_t, x_s, s, lag) -> (b, η)`` like the equivariant network; width ``2·channels``.

    >>> from models.md_jump.model import jump_graph
    >>> net = PlainVelocity(JumpConfig(num_atoms=3, num_lags=1, channels=4, num_layers=1))
    >>> x = torch.randn(1, 3, 3)
    >>> [t.shape for t in net(jump_graph(x, 8.0), x[0], x[0], torch.tensor([0.5]), torch.tensor([0]))]
    [torch.Size([3, 3]), torch.Size([3, 3])]
    """

    def __init__(self, config: JumpConfig, *, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.config = config
        width = 2 * config.channels
        self.cond = Conditioning(config, width, dtype)
        self.radial = EdgeRadial(config)
        self.disp = torch.nn.Linear(3, width, dtype=dtype)
        edge_in = 2 * width + 3 + 2 * config.num_bessel
        self.messages = torch.nn.ModuleList(
            [mlp([edge_in, width, width], dtype) for _ in range(config.num_layers)])
        self.updates = torch.nn.ModuleList(
            [mlp([2 * width, width, width], dtype) for _ in range(config.num_layers)])
        self.readout = torch.nn.Linear(width, 6, dtype=dtype)

    def forward(self, graph: JumpGraph, x_t: torch.Tensor, x_s: torch.Tensor, s: torch.Tensor,
                lag: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        snd, rcv = graph.edge_index
        vec_s = x_s[rcv] - x_s[snd]
        radial = self.radial((x_t[rcv] - x_t[snd]).norm(dim=-1), vec_s.norm(dim=-1))
        h = self.cond(graph, s, lag) + self.disp(x_s - x_t)
        for message, update in zip(self.messages, self.updates, strict=True):
            m = message(torch.cat([h[rcv], h[snd], vec_s, radial], dim=-1))
            agg = scatter_sum(m, rcv, h.shape[0]) / self.config.avg_num_neighbors
            h = h + update(torch.cat([h, agg], dim=-1))
        out = self.readout(h).reshape(-1, 2, 3)
        return out[:, 0], out[:, 1]
