r"""An O(3)-equivariant MACE point-cloud classifier built from public ``lie_nn`` layers.

Input: clouds ``x (B, N, 3)`` (already centred and scaled, see :mod:`.meshes`).  Output: logits
``(B, C)``, **exactly invariant** under every rotation *and reflection* ``x ↦ x Qᵀ`` (``Q ∈ O(3)``) and
under permutations of the points.

* Graph: each point receives from its ``k`` nearest neighbours (distances are O(3)-invariant, so the
  graph is too), plus one edge from a *centre node* at the origin (the centroid) to every point, so
  each point also sees the direction ``x_i`` from the centre (the centre node receives nothing).
* Edge attributes ``Y_l(x_r - x_s)`` (spherical harmonics, ``l ≤ lmax``, irreps ``O3(l, (-1)^l)``);
  invariant edge features: a sine basis ``sin(n π r / r_max)`` of ``r = |x_r - x_s|`` on the kNN
  scale for kNN edges, a second one on the shape scale for centre edges (each zero on the other
  kind).  Node inputs are invariant: a radial MLP of ``|x_i|`` for points -- with ``geometry`` also of
  the local and global descriptors of :mod:`.features` (kNN covariance eigenvalues at several scales,
  density, quadratic forms of the cloud's second moment) -- and a learned vector for the centre node.
* ``num_layers`` × :class:`lie_nn.nn.MACELayer`: channel-wise tensor product of the node features
  with ``Y`` (radial-MLP weights), sum over neighbours → ``C × (0e + 1o + 2e …)`` (the MACE
  ``A``-basis), :class:`~lie_nn.nn.SymmetricContraction` of correlation ``ν`` (many-body invariants,
  separate weights for points and centre nodes) → ``C × 0e``, plus a residual.
* Readout: the ``0e`` channels of every layer, mean- and max-pooled over the points (invariant under
  permutations); with ``global_readout`` also the output of one more MACE layer on the edges point →
  centre (:meth:`EquivariantShapeClassifier.global_invariants`: many-body invariants of the whole
  cloud, e.g. of its second-moment tensor); with ``geometry`` also the cloud's principal extents
  (:func:`.features.cloud_features`); with ``point_head`` also the mean and max over the points of a
  per-point MLP of all their invariant channels (inputs and every layer's output); then BatchNorm and
  an MLP (optionally with dropout).  Only parity-even scalars are
  read out, so a shape and its mirror image get the same logits; the tests check rotations,
  reflections and permutations in float64 to ~1e-10.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from lie_nn import O3, Irreps, MulIrrep
from lie_nn.nn import BesselBasis, MACELayer, RadialMLP, edge_vectors, knn_graph, spherical_harmonics
from models.shape_recognition.features import cloud_features, num_point_features, point_features

__all__ = ["EquivariantConfig", "EquivariantShapeClassifier"]

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
    global_readout: bool = False
    geometry: tuple[int, ...] = ()  # kNN sizes of the invariant local descriptors (features.py); () = off
    point_head: int = 0  # width of a per-point MLP on all invariant point channels before pooling; 0 = off
    dropout: float = 0.0  # dropout before the last linear layer of the readout (training only)

    def __post_init__(self) -> None:
        for name in ("num_classes", "channels", "num_layers", "k", "num_radial", "readout_hidden"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"EquivariantConfig: {name} must be a positive int, got {value!r}")
        if not 1 <= self.lmax <= 3 or not 1 <= self.correlation <= 3:
            raise ValueError(f"EquivariantConfig: lmax and correlation must lie in 1..3, got {self.lmax}, "
                             f"{self.correlation}")
        if isinstance(self.point_head, bool) or not isinstance(self.point_head, int) or self.point_head < 0:
            raise ValueError(f"EquivariantConfig: point_head must be an int >= 0, got {self.point_head!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"EquivariantConfig: dropout must lie in [0, 1), got {self.dropout!r}")
        if any(isinstance(k, bool) or not isinstance(k, int) or k < 2 for k in self.geometry):
            raise ValueError(f"EquivariantConfig: geometry must list kNN sizes >= 2, got {self.geometry!r}")
        object.__setattr__(self, "geometry", tuple(self.geometry))  # lists from JSON/checkpoints

    def to_dict(self) -> dict:
        return asdict(self)


def _irreps(channels: int, irs: list[O3]) -> Irreps:
    return Irreps([MulIrrep(channels, ir) for ir in irs])


def _sine(basis: BesselBasis, r: torch.Tensor) -> torch.Tensor:
    """``sin(n π r / r_max)``: the Bessel basis times ``r`` (bounded by 1, unlike ``sin(·)/r`` on
    lengths much smaller than ``r_max``, which would blow up the polynomial features of the contraction)."""
    return basis(r) * r.unsqueeze(-1) / basis.prefactor


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
        n_geometry = num_point_features(c.geometry) if c.geometry else 0
        self.geometry_norm = torch.nn.BatchNorm1d(n_geometry, dtype=dtype) if c.geometry else None
        self.node_embedding = RadialMLP([c.num_radial + n_geometry, 32, c.channels], torch.nn.functional.silu)
        self.centre_embedding = torch.nn.Parameter(torch.randn(c.channels, dtype=dtype))
        edge_feats, avg = 2 * c.num_radial, float(c.k + 1)
        edge_irreps = Irreps([MulIrrep(1, ir) for ir in sh_irs])
        self.layers = torch.nn.ModuleList(
            MACELayer(scalars, edge_irreps, _irreps(c.channels, sh_irs), scalars, c.correlation, 2,
                      edge_feats, (32,), avg, dtype=dtype) for _ in range(c.num_layers))
        self.global_layer = MACELayer(scalars, edge_irreps, _irreps(c.channels, sh_irs), scalars,
                                      c.correlation, 2, edge_feats, (32,), 1.0,
                                      dtype=dtype) if c.global_readout else None
        width = (2 * c.channels * c.num_layers + (c.channels if c.global_readout else 0)
                 + (3 if c.geometry else 0) + 2 * c.point_head)
        head_in = c.num_radial + n_geometry + c.channels * c.num_layers
        self.point_head = torch.nn.Sequential(
            torch.nn.Linear(head_in, c.point_head, dtype=dtype), torch.nn.SiLU(),
            torch.nn.Linear(c.point_head, c.point_head, dtype=dtype)) if c.point_head else None
        dropout = [torch.nn.Dropout(c.dropout)] if c.dropout else []  # none: same parameter names as before
        self.readout = torch.nn.Sequential(
            torch.nn.BatchNorm1d(width, dtype=dtype), torch.nn.Linear(width, c.readout_hidden, dtype=dtype),
            torch.nn.SiLU(), *dropout, torch.nn.Linear(c.readout_hidden, c.num_classes, dtype=dtype))

    def graph(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Edges ``(2, E)`` over ``B·N`` points then ``B`` centre nodes (kNN edges, then one edge from
        the centre to each point), and a flag per edge (1 for a centre edge)."""
        b, n, _ = points.shape
        point = torch.arange(b * n, device=points.device)
        knn = knn_graph(points.reshape(b * n, 3), min(self.config.k, n - 1), batch=point // n)
        edge_index = torch.cat([knn, torch.stack([b * n + point // n, point])], dim=1)
        flag = torch.zeros(edge_index.shape[1], dtype=points.dtype, device=points.device)
        flag[knn.shape[1]:] = 1.0
        return edge_index, flag

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        if points.ndim != 3 or points.shape[-1] != 3 or points.shape[1] < 2:
            raise ValueError(f"EquivariantShapeClassifier: points must have shape (B, N >= 2, 3), got "
                             f"{tuple(points.shape)}")
        b, n, _ = points.shape
        c = self.config
        edge_index, flag = self.graph(points)
        positions = torch.cat([points.reshape(b * n, 3), points.new_zeros(b, 3)])  # centres at the origin
        vectors = edge_vectors(positions, edge_index)
        lengths = vectors.norm(dim=-1).clamp_min(1e-9)
        edge_attrs = spherical_harmonics(list(range(c.lmax + 1)), vectors)
        edge_feats = torch.cat([(1 - flag[:, None]) * _sine(self.local_basis, lengths),
                                flag[:, None] * _sine(self.global_basis, lengths)], dim=-1)
        inputs = self.point_inputs(points)
        centre = self.centre_embedding.to(points.dtype).expand(b, c.channels)
        h = torch.cat([self.node_embedding(inputs), centre])
        elements = torch.cat([torch.zeros(b * n, dtype=torch.long, device=points.device),
                              torch.ones(b, dtype=torch.long, device=points.device)])
        pooled, per_point = [], [inputs]
        for layer in self.layers:
            h = layer(h, elements, edge_attrs, edge_feats, edge_index)
            invariant = h[: b * n].reshape(b, n, c.channels)
            pooled += [invariant.mean(dim=1), invariant.amax(dim=1)]
            per_point.append(h[: b * n])
        if self.point_head is not None:
            head = self.point_head(torch.cat(per_point, dim=-1)).reshape(b, n, -1)
            pooled += [head.mean(dim=1), head.amax(dim=1)]
        if self.global_layer is not None:
            inward = edge_index[:, flag > 0].flip(0)
            pooled.append(self.global_invariants(h, positions, inward, elements, b, n))
        if self.geometry_norm is not None:
            pooled.append(cloud_features(points))
        return self.readout(torch.cat(pooled, dim=-1))

    def point_inputs(self, points: torch.Tensor) -> torch.Tensor:
        """``(B·N, F)`` invariant inputs of the points: a sine basis of ``|x_i|``, and with ``geometry``
        the batch-normalised local and global descriptors of :func:`.features.point_features`."""
        b, n, _ = points.shape
        radius = points.reshape(b * n, 3).norm(dim=-1).clamp_min(1e-9)
        inputs = _sine(self.global_basis, radius)
        if self.geometry_norm is None:
            return inputs
        geometry = point_features(points, self.config.geometry).reshape(b * n, -1)
        return torch.cat([inputs, self.geometry_norm(geometry)], dim=-1)

    def global_invariants(self, h: torch.Tensor, positions: torch.Tensor, inward: torch.Tensor,
                          elements: torch.Tensor, b: int, n: int) -> torch.Tensor:
        """``(B, C)`` invariants of the whole cloud: a MACE layer on the edges point → centre, whose
        ``A``-basis is the *mean* over points of ``R(|x_i|) Y(x_i) h_i`` (messages are linear in the
        sender's features, so dividing those by ``N`` turns the sum into a mean exactly)."""
        vectors = edge_vectors(positions, inward)
        lengths = vectors.norm(dim=-1).clamp_min(1e-9)
        attrs = spherical_harmonics(list(range(self.config.lmax + 1)), vectors)
        radial = _sine(self.global_basis, lengths)
        feats = torch.cat([torch.zeros_like(radial), radial], dim=-1)
        scaled = torch.cat([h[: b * n] / n, h[b * n :]])
        return self.global_layer(scaled, elements, attrs, feats, inward)[b * n :]
