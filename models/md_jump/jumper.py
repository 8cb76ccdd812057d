r"""A trained jump model: network + interpolant + trained Δs + topology, saved in one ``model.pt``.

:class:`Jumper` checks what it is given before it samples: the structure's heavy atoms must be the
training topology (:class:`~models.md_jump.topology.TopologyError` otherwise), the jump length one of
the trained Δs (``ValueError`` naming them), positions finite.  :meth:`Jumper.rollout` chains jumps
into trajectories ``x_0, x_Δ, x_{2Δ}, ...``; each new start is re-centred (the network only sees
differences, so this changes nothing but the numbers' size).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

import numpy as np
import torch

from models.common.checkpoint import load_checkpoint, save_state
from models.common.training import torch_dtype
from models.md_jump.interpolant import Interpolant, sample_jump
from models.md_jump.model import EquivariantVelocity, JumpConfig
from models.md_jump.peer import PlainVelocity
from models.md_jump.topology import Topology, TopologyError

__all__ = ["MODEL_FORMAT", "NETWORKS", "Jumper", "build_network"]

MODEL_FORMAT = "lie_nn.md_jump/1"
NETWORKS = {"equivariant": EquivariantVelocity, "plain": PlainVelocity}


def build_network(kind: str, config: JumpConfig, dtype: torch.dtype) -> torch.nn.Module:
    """The velocity network ``kind`` (``"equivariant"`` or ``"plain"``)."""
    if kind not in NETWORKS:
        raise ValueError(f"unknown network {kind!r}; expected one of {sorted(NETWORKS)}")
    return NETWORKS[kind](config, dtype=dtype)


@dataclasses.dataclass
class Jumper:
    """``network`` of kind ``kind`` trained for jumps of ``lags_ps`` on ``topology``, graph nodes
    ``selection`` (indices into the heavy atoms)."""

    kind: str
    network: torch.nn.Module
    interpolant: Interpolant
    lags_ps: tuple[float, ...]
    topology: Topology
    selection: tuple[int, ...]

    @property
    def config(self) -> JumpConfig:
        return self.network.config

    @property
    def dtype(self) -> torch.dtype:
        return next(self.network.parameters()).dtype

    def lag_index(self, lag_ps: float) -> int:
        """Index of ``lag_ps`` among the trained Δs; any other Δ is a ``ValueError``."""
        for k, lag in enumerate(self.lags_ps):
            if abs(lag - float(lag_ps)) <= 1e-9 * max(1.0, lag):
                return k
        trained = ", ".join(f"{lag:g}" for lag in self.lags_ps)
        raise ValueError(f"this model was not trained for jumps of {float(lag_ps):g} ps "
                         f"(trained: {trained} ps)")

    def nodes(self, topology: Topology, heavy_positions: np.ndarray) -> np.ndarray:
        """The graph nodes' positions ``(n, 3)`` of a structure, after checking its topology."""
        self.topology.check(topology)
        x = np.asarray(heavy_positions, dtype=np.float64)
        if x.shape != (len(topology), 3):
            raise TopologyError(f"expected heavy-atom positions of shape {(len(topology), 3)}, got {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("the structure's positions contain NaN or infinite values")
        return x[list(self.selection)]

    def jump(self, x_t: torch.Tensor, lag_ps: float, *, noise: torch.Tensor | None = None,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """Samples ``x_{t+Δ}`` ``(G, n, 3)`` for start frames ``x_t (G, n, 3)`` (graph nodes, Å)."""
        if x_t.ndim != 3 or x_t.shape[1:] != (len(self.selection), 3):
            raise ValueError(f"x_t must be (frames, {len(self.selection)}, 3), got {tuple(x_t.shape)}")
        lag = torch.full((x_t.shape[0],), self.lag_index(lag_ps), dtype=torch.long)
        self.network.eval()
        return sample_jump(self.network, self.interpolant, x_t.to(self.dtype), lag, self.config.r_cut,
                           noise=noise, generator=generator)

    def rollout(self, start: np.ndarray, lag_ps: float, n_jumps: int, n_traj: int = 1, seed: int = 0,
                progress_bar=None) -> np.ndarray:
        """``n_traj`` chained trajectories ``(n_traj, n_jumps + 1, n, 3)`` (Å) from the nodes ``start``."""
        self.lag_index(lag_ps)
        if n_jumps < 1 or n_traj < 1:
            raise ValueError(f"need n_jumps >= 1 and n_traj >= 1, got {n_jumps}, {n_traj}")
        gen = torch.Generator().manual_seed(int(seed))
        x = torch.tensor(np.asarray(start), dtype=self.dtype)
        x = (x - x.mean(0)).expand(n_traj, -1, -1).clone()
        out = [x]
        for _ in range(n_jumps):
            x = self.jump(x, lag_ps, generator=gen)
            x = x - x.mean(1, keepdim=True)
            out.append(x)
            if progress_bar is not None:
                progress_bar.update(1)
        return torch.stack(out, dim=1).double().numpy()

    def save(self, path: str | os.PathLike[str], extra: dict | None = None) -> None:
        """Write ``model.pt`` (plain tensors and dicts; loads with ``weights_only=True``)."""
        dtype = str(self.dtype).removeprefix("torch.")
        save_state(path, {"format": MODEL_FORMAT, "kind": self.kind, "config": self.config.to_dict(),
                          "interpolant": dataclasses.asdict(self.interpolant), "lags_ps": list(self.lags_ps),
                          "topology": self.topology.to_dict(), "selection": list(self.selection),
                          "dtype": dtype, "state_dict": {k: v.detach().cpu()
                                                         for k, v in self.network.state_dict().items()},
                          **(extra or {})})

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Jumper:
        """Read a ``model.pt`` written by :meth:`save` (``CheckpointError`` naming a bad file)."""
        state = load_checkpoint(path, expect_format=MODEL_FORMAT)
        config = JumpConfig.from_dict(state["config"])
        network = build_network(state["kind"], config, torch_dtype(state["dtype"]))
        network.load_state_dict(state["state_dict"])
        return cls(state["kind"], network.eval(), Interpolant(**state["interpolant"]),
                   tuple(float(v) for v in state["lags_ps"]), Topology.from_dict(state["topology"]),
                   tuple(int(i) for i in state["selection"]))


def lags_text(lags: Sequence[float]) -> str:
    return "+".join(f"{lag:g}" for lag in lags)
