r"""An O(3)-equivariant MACE interatomic potential built from public ``lie_nn.nn`` layers.

For atoms ``i`` with element ``z_i`` and positions ``x_i`` the energy is a sum of atomic energies

.. math:: E = \sum_i \Big( E^0_{z_i} + s \sum_{t=1}^{T} R_t\big(h_i^{(t)}\big) + \mu \Big),

with ``E^0`` the per-element reference energies (least squares on the training set), ``s`` and
``\mu`` a fixed scale and shift, ``R_t`` the readout of layer ``t`` (linear, an MLP on the last layer)
acting on the invariant (``0e``) channels of the node features ``h^{(t)}``.  The features start as a
learned embedding of ``z_i`` and are updated by ``T`` :class:`lie_nn.nn.MACELayer` s: messages
``Y_\ell(\hat r_{ij})`` (spherical harmonics, ``\ell \le`` ``max_ell``) weighted by an MLP of the radial
Bessel basis ``\sin(n\pi r/r_c)/r`` times a polynomial cutoff, summed over neighbours ``r_{ij} < r_c``,
then a symmetric contraction of correlation order ``\nu`` (``\nu = 3``: 4-body features per layer).
Forces are ``F = -\partial E / \partial x`` (autograd) and the stress
``\sigma = V^{-1}\, \partial E / \partial \varepsilon`` for a homogeneous strain ``\varepsilon``.

Every part is a rotation/reflection invariant function of the interatomic vectors, so ``E`` is
invariant and ``F`` equivariant under O(3), translations and permutations of identical atoms.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch

import lie_nn as lnn
from lie_nn.nn import (
    BesselBasis,
    Linear,
    MACELayer,
    PolynomialCutoff,
    RadialMLP,
    edge_vectors,
    scatter_sum,
    spherical_harmonics,
)
from models.mace_potential.blocks import ElementMACELayer, normalised_silu

__all__ = ["MACEConfig", "MACEPotential", "Graph"]


@dataclasses.dataclass(frozen=True)
class MACEConfig:
    """Hyper-parameters of :class:`MACEPotential` (stored in checkpoints; equal configs = same model).

    ``elements``: atomic numbers the model knows, in embedding order.  ``channels`` × (``0e`` + ...
    up to ``hidden_ell``) are the node features between layers (``hidden_ell=1``: ``Cx0e+Cx1o``), the
    interaction produces ``channels`` × (``0e + 1o + ... `` up to ``max_ell``) for the contraction.
    ``element_skip``: layers laid out as mace-torch's (per-element mixing of the first layer's
    messages, per-element residuals after it: :class:`~models.mace_potential.blocks.ElementMACELayer`)
    instead of :class:`lie_nn.nn.MACELayer` (shared Linear residual).  ``normalised_act``: SiLU
    scaled to unit second moment in the radial and readout MLPs (``blocks.normalised_silu``).
    """

    elements: tuple[int, ...]
    r_max: float = 5.0
    num_bessel: int = 8
    cutoff_p: int = 5
    max_ell: int = 3
    channels: int = 32
    hidden_ell: int = 1
    num_layers: int = 2
    correlation: int = 3
    radial_hidden: tuple[int, ...] = (64, 64, 64)
    readout_hidden: int = 16
    avg_num_neighbors: float = 1.0
    element_skip: bool = False
    normalised_act: bool = True

    def __post_init__(self) -> None:
        if not self.elements or len(set(self.elements)) != len(self.elements):
            raise ValueError(f"MACEConfig: elements must be distinct atomic numbers, got {self.elements!r}")
        if any(not 1 <= z <= 118 for z in self.elements):
            raise ValueError(f"MACEConfig: atomic numbers must lie in 1..118, got {self.elements!r}")
        if not 0 <= self.hidden_ell <= self.max_ell:
            raise ValueError(f"MACEConfig: need 0 <= hidden_ell <= max_ell, got {self.hidden_ell}, "
                             f"{self.max_ell}")
        if self.num_layers < 1 or self.correlation < 1 or self.channels < 1:
            raise ValueError("MACEConfig: num_layers, correlation and channels must be positive")
        if not self.r_max > 0 or not self.avg_num_neighbors > 0:
            raise ValueError("MACEConfig: r_max and avg_num_neighbors must be positive")

    def to_dict(self) -> dict:
        """A JSON-able dict (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> MACEConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"MACEConfig: unknown settings {unknown}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


@dataclasses.dataclass
class Graph:
    """A batch of structures as one disjoint graph (see :func:`models.mace_potential.graphs.collate`).

    ``species (N,)`` element indices into ``MACEConfig.elements``; ``positions (N, 3)``;
    ``edge_index (2, E)`` = (senders, receivers); ``shifts (E, 3)`` integer cell offsets (or ``None``
    without periodic cells); ``cell (G, 3, 3)`` (rows are lattice vectors) or ``None``; ``batch (N,)``.
    """

    species: torch.Tensor
    positions: torch.Tensor
    edge_index: torch.Tensor
    batch: torch.Tensor
    num_graphs: int
    shifts: torch.Tensor | None = None
    cell: torch.Tensor | None = None

    def to(self, device: torch.device | str, dtype: torch.dtype) -> Graph:
        """A copy on ``device`` with floating tensors in ``dtype``."""
        def move(t, floating):
            return None if t is None else t.to(device=device, dtype=dtype if floating else t.dtype)
        return Graph(move(self.species, False), move(self.positions, True), move(self.edge_index, False),
                     move(self.batch, False), self.num_graphs, move(self.shifts, True), move(self.cell, True))


def _irreps(channels: int, lmax: int) -> list:
    """``channels x (0e + 1o + 2e + ...)`` up to ``lmax`` as (mul, O3) pairs."""
    return [(channels, lnn.O3(ell, (-1) ** ell)) for ell in range(lmax + 1)]


class MACEPotential(torch.nn.Module):
    """MACE energy model: ``forward(graph) -> {"energy", "forces"[, "stress"]}``.

    >>> model = MACEPotential(MACEConfig(elements=(1, 8), channels=4, radial_hidden=(8,)))
    >>> from models.mace_potential.graphs import atoms_graph
    >>> import ase
    >>> g = atoms_graph(ase.Atoms("OH2", [[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]]), model.config)
    >>> model(g)["forces"].shape
    torch.Size([3, 3])
    """

    def __init__(self, config: MACEConfig, *, e0: Sequence[float] | None = None, scale: float = 1.0,
                 shift: float = 0.0, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.config = config
        n_el = len(config.elements)
        sh = [lnn.O3(ell, (-1) ** ell) for ell in range(config.max_ell + 1)]
        self.sh_ls = list(range(config.max_ell + 1))
        self.bessel = BesselBasis(config.r_max, config.num_bessel)
        self.cutoff = PolynomialCutoff(config.r_max, config.cutoff_p)
        self.embedding = torch.nn.Parameter(torch.randn(n_el, config.channels, dtype=dtype))
        hidden_in = _irreps(config.channels, config.max_ell)
        node = [(config.channels, lnn.O3(0, 1))]
        self.layers = torch.nn.ModuleList()
        self.readouts = torch.nn.ModuleList()
        act = normalised_silu if config.normalised_act else torch.nn.functional.silu
        for t in range(config.num_layers):
            last = t == config.num_layers - 1
            out = _irreps(config.channels, 0 if last else config.hidden_ell)
            args = (node, sh, hidden_in, out, config.correlation, n_el, config.num_bessel,
                    config.radial_hidden, config.avg_num_neighbors)
            if config.element_skip:
                self.layers.append(ElementMACELayer(*args, first=t == 0, act=act, dtype=dtype))
            else:
                self.layers.append(MACELayer(*args, act=act, dtype=dtype))
            if last:
                self.readouts.append(RadialMLP([config.channels, config.readout_hidden, 1], act))
            else:
                scalar = lnn.O3(0, 1)
                self.readouts.append(Linear([(config.channels, scalar)], [(1, scalar)], dtype=dtype))
            node = out
        e0 = [0.0] * n_el if e0 is None else list(e0)
        if len(e0) != n_el:
            raise ValueError(f"MACEPotential: need {n_el} reference energies, got {len(e0)}")
        self.register_buffer("e0", torch.tensor(e0, dtype=torch.float64))
        self.register_buffer("scale", torch.tensor(float(scale), dtype=torch.float64))
        self.register_buffer("shift", torch.tensor(float(shift), dtype=torch.float64))
        self.to(dtype)

    def atomic_energies(self, graph: Graph, positions: torch.Tensor,
                        cell: torch.Tensor | None) -> torch.Tensor:
        """Energy of every atom ``(N,)`` for the given (differentiable) positions and cells."""
        vec = edge_vectors(positions, graph.edge_index, graph.shifts, cell, graph.batch)
        r = vec.norm(dim=-1)
        radial = self.bessel(r) * self.cutoff(r).unsqueeze(-1)
        attrs = spherical_harmonics(self.sh_ls, vec)
        c = self.config.channels
        h = self.embedding[graph.species]
        energy = torch.zeros(positions.shape[0], dtype=positions.dtype, device=positions.device)
        for layer, readout in zip(self.layers, self.readouts, strict=True):
            h = layer(h, graph.species, attrs, radial, graph.edge_index)
            energy = energy + readout(h[:, :c]).squeeze(-1)
        return self.e0.to(energy.dtype)[graph.species] + self.scale.to(energy.dtype) * energy + self.shift.to(
            energy.dtype)

    def forward(self, graph: Graph, *, forces: bool = True, stress: bool = False) -> dict[str, torch.Tensor]:
        """``{"energy": (G,)}`` plus ``"forces": (N, 3)`` (eV/Å) and ``"stress": (G, 3, 3)`` (eV/Å³).

        Forces are ``-dE/dx`` by autograd, kept differentiable in training mode (for a force loss);
        gradients are enabled here even under ``torch.no_grad()``.  The stress is ``V^{-1} dE/dε``
        with positions and cells strained by ``(1 + ε)``, ``ε`` symmetric.
        """
        if stress and (graph.cell is None or graph.shifts is None):
            raise ValueError("MACEPotential: the stress needs a periodic cell")
        if not (forces or stress):
            atomic = self.atomic_energies(graph, graph.positions, graph.cell)
            return {"energy": scatter_sum(atomic, graph.batch, graph.num_graphs)}
        with torch.enable_grad():
            positions = graph.positions.detach().requires_grad_(True)
            inputs, cell = [positions], graph.cell
            if stress:
                strain = torch.zeros(graph.num_graphs, 3, 3, dtype=positions.dtype, device=positions.device,
                                     requires_grad=True)
                sym = 0.5 * (strain + strain.transpose(1, 2))
                positions = positions + torch.einsum("ni,nij->nj", positions, sym[graph.batch])
                cell = cell + torch.einsum("gij,gjk->gik", cell, sym)
                inputs.append(strain)
            atomic = self.atomic_energies(graph, positions, cell)
            energy = scatter_sum(atomic, graph.batch, graph.num_graphs)
            grads = torch.autograd.grad(energy.sum(), inputs, create_graph=self.training)
        out = {"energy": energy if self.training else energy.detach(), "forces": -grads[0]}
        if stress:
            volume = torch.linalg.det(graph.cell).abs()
            out["stress"] = grads[1] / volume.view(-1, 1, 1)
        return out
