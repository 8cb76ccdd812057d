r"""An O(3)-equivariant MACE point-cloud classifier built from public ``lie_nn`` layers.

Input: clouds ``x (B, N, 3)`` (already centred and scaled, see :mod:`.meshes`).  Output: logits
``(B, C)``, **exactly invariant** under every rotation *and reflection* ``x ↦ x Qᵀ`` (``Q ∈ O(3)``) and
under permutations of the points.

* Graph: each point receives from its ``k`` nearest neighbours (distances are O(3)-invariant, so the
  graph is too), plus one edge from a *centre node* at the origin (the centroid) to every point, so
  each point also sees the direction ``x_i`` from the centre (the centre node receives nothing).
* Edge attributes ``Y_l(x_r - x_s)`` (spherical harmonics, ``l ≤ lmax``, irreps ``O3(l, (-1)^l)``);
  invariant edge features: a Bessel basis of ``|x_r - x_s|`` on the kNN scale (``r_max``) for kNN
  edges, a second one on the shape scale for centre edges (each zero on the other kind).  Node inputs
  are invariant: a radial MLP of ``|x_i|`` for points, a learned vector for the centre node.
* ``num_layers`` × :class:`lie_nn.nn.MACELayer`: channel-wise tensor product of the node features
  with ``Y`` (radial-MLP weights), sum over neighbours → ``C × (0e + 1o + 2e …)`` (the MACE
  ``A``-basis), :class:`~lie_nn.nn.SymmetricContraction` of correlation ``ν`` (many-body invariants,
  separate weights for points and centre nodes) → ``C × 0e``, plus a residual.
* Readout: the ``0e`` channels of every layer, mean- and max-pooled over the points (invariant under
  permutations), then LayerNorm and an MLP.  Only parity-even scalars are read out, so a shape and its
  mirror image get the same logits; the tests check rotations, reflections and permutations in
  float64 to ~1e-10.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from lie_nn import O3, Irreps, MulIrrep
from lie_nn.nn import BesselBasis, MACELayer, RadialMLP, spherical_harmonics

__all__ = ["EquivariantConfig", "EquivariantShapeClassifier", "knn_edges"]

GLOBAL_R_MAX = 4.0  # radial scale of centre edges: clouds have unit RMS radius


@dataclass(frozen=True)
class EquivariantConfig:
    """Hyper-parameters of :class:`EquivariantShapeClassifier` (stored in checkpoints)."""

    num_classes: int
    channels: int = 16
    lmax: int = 2
    correlation: int = 3
    num_layers: int = 2
    k: int = 12
    num_radial: int = 8
    r_max: float = 1.0
    readout_hidden: int = 64

    def __post_init__(self) -> None:
        for name in ("num_classes", "channels", "num_layers", "k", "num_radial", "readout_hidden"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"EquivariantConfig: {name} must be a positive int, got {value!r}")
        if not 1 <= self.lmax <= 3 or not 1 <= self.correlation <= 3:
            raise ValueError(f"EquivariantConfig: lmax and correlation must lie in 1..3, got {self.lmax}, "
                             f"{self.correlation}")

    def to_dict(self) -> dict:
        return asdict(self)


def knn_edges(points: torch.Tensor, k: int) -> torch.Tensor:
    """Edges ``(2, B·N·k) = (senders, receivers)`` of the k-nearest-neighbour graph of each cloud in
    ``points (B, N, 3)``, node ``n`` of cloud ``b`` numbered ``b·N + n``; no self loops.

    >>> knn_edges(torch.tensor([[[0.0, 0, 0], [1, 0, 0], [3, 0, 0]]]), 1).tolist()
    [[1, 0, 1], [0, 1, 2]]
    """
    b, n, _ = points.shape
    if not 1 <= k < n:
        raise ValueError(f"knn_edges: k must lie in [1, {n - 1}] for clouds of {n} points, got {k}")
    dist = torch.cdist(points, points, compute_mode="donot_use_mm_for_euclid_dist")
    dist = dist + torch.diag(torch.full((n,), float("inf"), dtype=dist.dtype, device=dist.device))
    neighbours = dist.topk(k, dim=-1, largest=False).indices  # (B, N, k)
    offset = (torch.arange(b, device=points.device) * n).view(b, 1, 1)
    senders = (neighbours + offset).reshape(-1)
    receivers = (torch.arange(n, device=points.device).view(1, n, 1) + offset).expand(b, n, k).reshape(-1)
    return torch.stack([senders, receivers])


def _irreps(channels: int, irs: list[O3]) -> Irreps:
    return Irreps([MulIrrep(channels, ir) for ir in irs])


class EquivariantShapeClassifier(torch.nn.Module):
    """See the module docstring.  ``forward(points (B, N, 3)) → logits (B, num_classes)``.

    >>> model = EquivariantShapeClassifier(EquivariantConfig(num_classes=3, channels=4, k=4))
    >>> model(torch.randn(2, 10, 3)).shape
    torch.Size([2, 3])
    """

    def __init__(self, config: EquivariantConfig, *, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.config = c = config
        sh_irs = [O3(ell, (-1) ** ell) for ell in range(c.lmax + 1)]
        scalars = _irreps(c.channels, [O3(0, 1)])
        self.local_basis = BesselBasis(c.r_max, c.num_radial)  # kNN edges
        self.global_basis = BesselBasis(GLOBAL_R_MAX, c.num_radial)  # centre edges and |x_i|
        self.node_embedding = RadialMLP([c.num_radial, 32, c.channels], torch.nn.functional.silu)
        self.centre_embedding = torch.nn.Parameter(torch.randn(c.channels, dtype=dtype))
        edge_feats, avg = 2 * c.num_radial, float(c.k + 1)
        edge_irreps = Irreps([MulIrrep(1, ir) for ir in sh_irs])
        self.layers = torch.nn.ModuleList(
            MACELayer(scalars, edge_irreps, _irreps(c.channels, sh_irs), scalars, c.correlation, 2,
                      edge_feats, (32,), avg, dtype=dtype) for _ in range(c.num_layers))
        width = 2 * c.channels * c.num_layers
        self.readout = torch.nn.Sequential(
            torch.nn.LayerNorm(width, dtype=dtype), torch.nn.Linear(width, c.readout_hidden, dtype=dtype),
            torch.nn.SiLU(), torch.nn.Linear(c.readout_hidden, c.num_classes, dtype=dtype))

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        if points.ndim != 3 or points.shape[-1] != 3 or points.shape[1] < 2:
            raise ValueError(f"EquivariantShapeClassifier: points must have shape (B, N >= 2, 3), got "
                             f"{tuple(points.shape)}")
        b, n, _ = points.shape
        c = self.config
        edge_index, flag = self.graph(points)
        positions = torch.cat([points.reshape(b * n, 3), points.new_zeros(b, 3)])  # centres at the origin
        vectors = positions[edge_index[1]] - positions[edge_index[0]]
        lengths = vectors.norm(dim=-1).clamp_min(1e-9)
        edge_attrs = spherical_harmonics(list(range(c.lmax + 1)), vectors)
        edge_feats = torch.cat([(1 - flag[:, None]) * self.local_basis(lengths),
                                flag[:, None] * self.global_basis(lengths)], dim=-1)
        radius = positions[: b * n].norm(dim=-1).clamp_min(1e-9)
        h = torch.cat([self.node_embedding(self.global_basis(radius)),
                       self.centre_embedding.to(points.dtype).expand(b, c.channels)])
        elements = torch.cat([torch.zeros(b * n, dtype=torch.long, device=points.device),
                              torch.ones(b, dtype=torch.long, device=points.device)])
        pooled = []
        for layer in self.layers:
            h = layer(h, elements, edge_attrs, edge_feats, edge_index)
            invariant = h[: b * n].reshape(b, n, c.channels)
            pooled += [invariant.mean(dim=1), invariant.amax(dim=1)]
        return self.readout(torch.cat(pooled, dim=-1))
