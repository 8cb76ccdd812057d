r"""SO(3)-equivariant velocity/denoiser network of the jump model, built from public ``lie_nn.nn`` layers.

Input: the start frame ``x_t`` and the interpolated frame ``x_s`` of ``N`` heavy atoms, the
interpolation time ``s ∈ [0, 1]`` and the index of the jump length Δ.  Output: two vectors per atom,
the velocity ``b(s, x_s | x_t)`` and the denoiser ``η(s, x_s | x_t)`` of
:mod:`models.md_jump.interpolant`.

The graph joins atoms closer than ``r_cut`` in ``x_t`` (fixed during one jump).  Per edge ``j → i``:
the spherical harmonics ``Y_{ℓ≤2}`` of ``r^s_{ij} = x^s_i - x^s_j`` and the radial features
``[e(|r^t_{ij}|), e(|r^s_{ij}|)] · u(|r^t_{ij}|)`` (Bessel bases ``e``, polynomial cutoff ``u``).  Node
features start as ``C×0`` (a learned embedding of the atom plus an MLP of ``(s, Δ)``) and ``1×1``
(the displacement ``x^s_i - x^t_i``), and pass ``num_layers`` residual blocks
``h ← h + Gate(MACEInteraction(h)) + SelfGate(h)`` with ``C×0 + C×1`` features; a final linear map
gives ``2×1``.

``SelfGate`` (``Gate(Linear(h))``, a linear gate: each vector channel times a learned linear function
of the atom's own scalars) is the atom's *self-interaction*.  ``MACEInteraction`` only carries the
neighbours' features, so without it an atom's own displacement reaches the output with a
coefficient that cannot depend on ``s`` — yet the ideal velocity near ``s = 0`` is ``(x^s_i - x^t_i)/s``.
Networks saved without it (``self_gate=False``, the first version) still load and run unchanged.

Only relative vectors enter, rotated by ``D_ℓ(R)``, so for every rotation ``R`` and shift ``c``

.. math:: b(s, R x_s + c \mid R x_t + c) = R\, b(s, x_s \mid x_t), \qquad \text{same for } η .
"""

from __future__ import annotations

import dataclasses
import math

import torch

import lie_nn as lnn
from lie_nn.nn import (
    BesselBasis,
    Gate,
    Linear,
    MACEInteraction,
    PolynomialCutoff,
    radius_graph,
    spherical_harmonics,
)

__all__ = ["EquivariantVelocity", "JumpConfig", "JumpGraph", "jump_graph", "time_features"]


@dataclasses.dataclass(frozen=True)
class JumpConfig:
    """Hyper-parameters shared by the equivariant network and the plain (non-equivariant) peer.

    ``num_atoms``: atoms of the topology (each gets its own embedding); ``num_lags``: number of jump
    lengths (the training Δs); ``r_cut`` (Å) the graph radius in ``x_t``.
    """

    num_atoms: int
    num_lags: int
    channels: int = 16
    num_layers: int = 3
    r_cut: float = 8.0
    num_bessel: int = 8
    radial_hidden: tuple[int, ...] = (32,)
    time_features: int = 8
    max_ell: int = 2
    avg_num_neighbors: float = 20.0
    self_gate: bool = True

    def __post_init__(self) -> None:
        if min(self.num_atoms, self.num_lags, self.channels, self.num_layers, self.num_bessel) < 1:
            raise ValueError(f"JumpConfig: sizes must be positive, got {self}")
        if not self.r_cut > 0 or not self.avg_num_neighbors > 0:
            raise ValueError("JumpConfig: r_cut and avg_num_neighbors must be positive")

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> JumpConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        if set(d) - names:
            raise ValueError(f"JumpConfig: unknown settings {sorted(set(d) - names)}")
        d = {"self_gate": False, **d}  # saved before the self-interaction existed: the network without it
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


@dataclasses.dataclass
class JumpGraph:
    """``G`` jumps of one topology as a disjoint graph: ``atom (N,)`` atom indices in the topology,
    ``batch (N,)``, ``edge_index (2, E)`` (senders, receivers) from the ``x_t`` radius graph."""

    atom: torch.Tensor
    batch: torch.Tensor
    edge_index: torch.Tensor
    num_graphs: int


def jump_graph(x_t: torch.Tensor, r_cut: float) -> JumpGraph:
    """The :class:`JumpGraph` of start frames ``x_t (G, n, 3)`` (Å), edges ``|x_i - x_j| < r_cut``.

    >>> g = jump_graph(torch.tensor([[[0.0, 0, 0], [1, 0, 0], [9, 0, 0]]]), 2.0)
    >>> g.edge_index.tolist(), g.batch.tolist()
    ([[0, 1], [1, 0]], [0, 0, 0])
    """
    if x_t.ndim != 3 or x_t.shape[-1] != 3:
        raise ValueError(f"jump_graph: x_t must be (graphs, atoms, 3), got {tuple(x_t.shape)}")
    g, n, _ = x_t.shape
    batch = torch.arange(g).repeat_interleave(n)
    edge_index, _ = radius_graph(x_t.reshape(-1, 3).detach(), r_cut, batch=batch)
    return JumpGraph(torch.arange(n).repeat(g), batch, edge_index, g)


def time_features(s: torch.Tensor, n: int) -> torch.Tensor:
    r"""``[cos(π k s), sin(π k s)]_{k=1..n/2}`` of ``s (G,)``: ``(G, 2⌊n/2⌋)`` smooth features of ``s``.

    >>> time_features(torch.tensor([0.0, 1.0]), 4).shape
    torch.Size([2, 4])
    """
    k = torch.arange(1, n // 2 + 1, dtype=s.dtype, device=s.device) * math.pi
    return torch.cat([torch.cos(s[:, None] * k), torch.sin(s[:, None] * k)], dim=-1)


class Conditioning(torch.nn.Module):
    """Per-atom invariant input: atom embedding + MLP of (time features of ``s``, Δ embedding)."""

    def __init__(self, config: JumpConfig, width: int, dtype: torch.dtype) -> None:
        super().__init__()
        self.config = config
        self.atom = torch.nn.Embedding(config.num_atoms, width, dtype=dtype)
        self.lag = torch.nn.Embedding(config.num_lags, width, dtype=dtype)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(config.time_features + width, width, dtype=dtype),
                                       torch.nn.SiLU(), torch.nn.Linear(width, width, dtype=dtype))

    def forward(self, graph: JumpGraph, s: torch.Tensor, lag: torch.Tensor) -> torch.Tensor:
        cond = self.mlp(torch.cat([time_features(s, self.config.time_features), self.lag(lag)], dim=-1))
        return self.atom(graph.atom) + cond[graph.batch]


class EdgeRadial(torch.nn.Module):
    """``[e(|r_t|), e(|r_s|)] · u(|r_t|)``: Bessel features of an edge's length in ``x_t`` and ``x_s``."""

    def __init__(self, config: JumpConfig) -> None:
        super().__init__()
        self.bessel_t = BesselBasis(config.r_cut, config.num_bessel)
        self.bessel_s = BesselBasis(2.0 * config.r_cut, config.num_bessel)
        self.cutoff = PolynomialCutoff(config.r_cut)

    def forward(self, r_t: torch.Tensor, r_s: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.bessel_t(r_t), self.bessel_s(r_s)], dim=-1) * self.cutoff(r_t)[:, None]


class EquivariantVelocity(torch.nn.Module):
    """``forward(graph, x_t (N, 3), x_s (N, 3), s (G,), lag (G,)) -> (b (N, 3), η (N, 3))``.

    >>> cfg = JumpConfig(num_atoms=3, num_lags=1, channels=4, num_layers=1)
    >>> net = EquivariantVelocity(cfg, dtype=torch.float64)
    >>> x = torch.randn(1, 3, 3, dtype=torch.float64)
    >>> b, eta = net(jump_graph(x, 8.0), x[0], x[0] + 0.1, torch.tensor([0.5]), torch.tensor([0]))
    >>> b.shape, eta.shape
    (torch.Size([3, 3]), torch.Size([3, 3]))
    """

    def __init__(self, config: JumpConfig, *, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        s0, s1 = lnn.SO3(0), lnn.SO3(1)
        self.sh_ls = list(range(config.max_ell + 1))
        sh = [lnn.SO3(ell) for ell in self.sh_ls]
        hidden = [(c, s0), (c, s1)]
        self.cond = Conditioning(config, c, dtype)
        self.radial = EdgeRadial(config)
        self.embed = Linear([(c, s0), (1, s1)], hidden, dtype=dtype)
        self.interactions = torch.nn.ModuleList()
        self.gates = torch.nn.ModuleList()
        self.self_gates = torch.nn.ModuleList()
        for _ in range(config.num_layers):
            self.interactions.append(MACEInteraction(hidden, sh, [(2 * c, s0), (c, s1)],
                                                     2 * config.num_bessel, config.radial_hidden,
                                                     config.avg_num_neighbors, dtype=dtype))
            self.gates.append(Gate([(c, s0)], torch.nn.functional.silu, [(c, s0)], torch.sigmoid, [(c, s1)]))
            if config.self_gate:
                self.self_gates.append(torch.nn.Sequential(
                    Linear(hidden, [(2 * c, s0), (c, s1)], dtype=dtype),
                    Gate([(c, s0)], torch.nn.functional.silu, [(c, s0)], torch.nn.Identity(), [(c, s1)])))
        self.readout = Linear(hidden, [(2, s1)], dtype=dtype)
        self.register_buffer("to_l1", torch.tensor(lnn.xyz_to_l1_basis(), dtype=dtype))
        self.to(dtype)

    def forward(self, graph: JumpGraph, x_t: torch.Tensor, x_s: torch.Tensor, s: torch.Tensor,
                lag: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        snd, rcv = graph.edge_index
        vec_s = x_s[rcv] - x_s[snd]
        radial = self.radial((x_t[rcv] - x_t[snd]).norm(dim=-1), vec_s.norm(dim=-1))
        attrs = spherical_harmonics(self.sh_ls, vec_s)
        disp = (x_s - x_t) @ self.to_l1.T  # xyz -> lie_nn's l=1 basis (y, z, x)
        h = self.embed(torch.cat([self.cond(graph, s, lag), disp], dim=-1))
        for k, (interaction, gate) in enumerate(zip(self.interactions, self.gates, strict=True)):
            update = gate(interaction(h, attrs, radial, graph.edge_index))
            if self.config.self_gate:
                update = update + self.self_gates[k](h)
            h = h + update
        out = self.readout(h).reshape(-1, 2, 3) @ self.to_l1  # back to xyz
        return out[:, 0], out[:, 1]
