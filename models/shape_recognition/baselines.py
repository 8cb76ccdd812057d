r"""Non-equivariant point-cloud classifiers: compact PointNet and DGCNN (own implementations).

* :class:`PointNet` (Qi et al. 2017, without the input/feature transform nets): a shared per-point MLP
  ``3 → 64 → 128 → 256`` (BatchNorm, ReLU), max pooling, MLP ``256 → 128 → C`` with dropout.
* :class:`DGCNN` (Wang et al. 2019): three EdgeConv layers
  ``h_i' = max_{j ∈ kNN(i)} MLP([h_i, h_j - h_i])`` (``64, 64, 128`` channels, BatchNorm, LeakyReLU 0.2),
  the first graph on coordinates, the next two recomputed in feature space; the three outputs
  concatenated → per-point linear 256 → max and mean pooling → MLP ``512 → 128 → C`` with dropout.

Both are permutation invariant but see raw coordinates, so rotations and reflections change their
output; rotation augmentation during training is their usual remedy.  ``forward(points (B, N, 3))
→ logits (B, C)``.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["DGCNN", "PointNet", "knn_indices"]


def _mlp(sizes: list[int], act: nn.Module, dtype: torch.dtype | None) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(a, b, bias=False, dtype=dtype), nn.BatchNorm1d(b, dtype=dtype), act]
    return nn.Sequential(*layers)


def _check(points: torch.Tensor, name: str) -> None:
    if points.ndim != 3 or points.shape[-1] != 3 or points.shape[1] < 2:
        raise ValueError(f"{name}: points must have shape (B, N >= 2, 3), got {tuple(points.shape)}")


class PointNet(nn.Module):
    """See the module docstring.

    >>> PointNet(4).eval()(torch.randn(2, 16, 3)).shape
    torch.Size([2, 4])
    """

    def __init__(self, num_classes: int, *, dropout: float = 0.3, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.features = _mlp([3, 64, 128, 256], nn.ReLU(), dtype)
        self.head = nn.Sequential(nn.Linear(256, 128, dtype=dtype), nn.ReLU(), nn.Dropout(dropout),
                                  nn.Linear(128, num_classes, dtype=dtype))

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        _check(points, "PointNet")
        b, n, _ = points.shape
        h = self.features(points.reshape(b * n, 3)).reshape(b, n, -1)
        return self.head(h.amax(dim=1))


def knn_indices(features: torch.Tensor, k: int) -> torch.Tensor:
    """``(B, N, k)`` indices of each point's ``k`` nearest other points in ``features (B, N, F)``.

    >>> knn_indices(torch.tensor([[[0.0], [1.0], [3.0]]]), 1).flatten().tolist()
    [1, 0, 1]
    """
    n = features.shape[1]
    dist = torch.cdist(features, features)
    dist = dist + torch.diag(torch.full((n,), float("inf"), dtype=dist.dtype, device=dist.device))
    return dist.topk(min(k, n - 1), dim=-1, largest=False).indices


class EdgeConv(nn.Module):
    """``h_i' = max_{j ∈ kNN(i)} MLP([h_i, h_j - h_i])`` with the kNN graph given as indices."""

    def __init__(self, f_in: int, f_out: int, *, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.mlp = _mlp([2 * f_in, f_out], nn.LeakyReLU(0.2), dtype)

    def forward(self, h: torch.Tensor, neighbours: torch.Tensor) -> torch.Tensor:
        b, n, f = h.shape
        k = neighbours.shape[-1]
        flat = neighbours + n * torch.arange(b, device=h.device).view(b, 1, 1)
        gathered = h.reshape(b * n, f)[flat.reshape(-1)].reshape(b, n, k, f)
        centre = h.unsqueeze(2).expand(b, n, k, f)
        edge = torch.cat([centre, gathered - centre], dim=-1).reshape(b * n * k, 2 * f)
        return self.mlp(edge).reshape(b, n, k, -1).amax(dim=2)


class DGCNN(nn.Module):
    """See the module docstring.

    >>> DGCNN(4, k=4).eval()(torch.randn(2, 16, 3)).shape
    torch.Size([2, 4])
    """

    def __init__(self, num_classes: int, *, k: int = 12, dropout: float = 0.3,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.k = k
        self.convs = nn.ModuleList([EdgeConv(3, 64, dtype=dtype), EdgeConv(64, 64, dtype=dtype),
                                    EdgeConv(64, 128, dtype=dtype)])
        self.embed = _mlp([256, 256], nn.LeakyReLU(0.2), dtype)
        self.head = nn.Sequential(nn.Linear(512, 128, dtype=dtype), nn.LeakyReLU(0.2), nn.Dropout(dropout),
                                  nn.Linear(128, num_classes, dtype=dtype))

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        _check(points, "DGCNN")
        b, n, _ = points.shape
        h, outputs = points, []
        for conv in self.convs:
            h = conv(h, knn_indices(h, self.k))
            outputs.append(h)
        h = self.embed(torch.cat(outputs, dim=-1).reshape(b * n, -1)).reshape(b, n, -1)
        return self.head(torch.cat([h.amax(dim=1), h.mean(dim=1)], dim=-1))
