"""Invariant geometric inputs of the equivariant shape classifier: exact invariance under O(3) (rotations
and reflections), equivariance under point permutations, meaning on simple shapes, bad input."""

from __future__ import annotations

import pytest
import torch

from models.shape_recognition.features import cloud_features, num_point_features, point_features
from models.shape_recognition.model import EquivariantConfig, EquivariantShapeClassifier
from models.shape_recognition.poses import pose_matrices, transform

SCALES = (4, 9)


def _clouds(dtype: torch.dtype, b: int = 3, n: int = 30) -> torch.Tensor:
    x = torch.randn(b, n, 3, generator=torch.Generator().manual_seed(11), dtype=torch.float64)
    x = x * torch.tensor([2.0, 1.0, 0.3], dtype=torch.float64)
    return (x - x.mean(dim=1, keepdim=True)).to(dtype)


@pytest.mark.parametrize("pose", ["rotated", "mirrored", "rotated_mirrored"])
@pytest.mark.parametrize(("dtype", "tol"), [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_features_are_o3_invariant(pose: str, dtype: torch.dtype, tol: float) -> None:
    x = _clouds(dtype)
    q = pose_matrices(pose, len(x), torch.Generator().manual_seed(12), dtype)
    feats, moved = point_features(x, SCALES), point_features(transform(x, q), SCALES)
    assert feats.shape == (3, 30, num_point_features(SCALES)) and feats.std(dim=1).min() > 1e-3
    torch.testing.assert_close(moved, feats, atol=tol, rtol=tol)
    torch.testing.assert_close(cloud_features(transform(x, q)), cloud_features(x), atol=tol, rtol=tol)


def test_features_follow_point_permutations() -> None:
    x = _clouds(torch.float64)
    perm = torch.randperm(x.shape[1], generator=torch.Generator().manual_seed(13))
    torch.testing.assert_close(point_features(x[:, perm], SCALES), point_features(x, SCALES)[:, perm],
                               atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(cloud_features(x[:, perm]), cloud_features(x), atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(point_features(x[1:2], SCALES), point_features(x, SCALES)[1:2])  # per cloud


def test_features_measure_the_shape() -> None:
    # a flat square grid: local patches have no extent along the normal, the cloud's third extent is ~0
    g = torch.linspace(-1, 1, 6, dtype=torch.float64)
    plane = torch.stack(torch.meshgrid(g, g, indexing="ij") + (torch.zeros(6, 6, dtype=torch.float64),),
                        dim=-1).reshape(1, 36, 3)
    extents = cloud_features(plane)[0]
    assert extents[0] == pytest.approx(extents[1]) and float(extents[2]) < 1e-2
    local = point_features(plane, (9,))[0]
    assert float(local[:, 5].max()) < 1e-2 < float(local[:, 4].min())  # third local extent ~ floor only
    centre = (plane[0].norm(dim=-1) < 0.3).nonzero()[0, 0]
    assert float(local[centre, 0]) == pytest.approx(float(plane[0, centre].norm()))  # |x_i| first


@pytest.mark.parametrize(("point_head", "dropout"), [(0, 0.0), (8, 0.3)])
def test_geometry_model_is_exactly_invariant(point_head: int, dropout: float) -> None:
    torch.manual_seed(0)
    config = EquivariantConfig(num_classes=4, channels=4, k=5, correlation=2, geometry=SCALES,
                               point_head=point_head, dropout=dropout)
    model = EquivariantShapeClassifier(config, dtype=torch.float64).eval()
    x = _clouds(torch.float64)
    q = pose_matrices("rotated_mirrored", len(x), torch.Generator().manual_seed(14), torch.float64)
    perm = torch.randperm(x.shape[1], generator=torch.Generator().manual_seed(15))
    with torch.no_grad():
        logits = model(x)
        assert logits.abs().max() > 1e-3
        torch.testing.assert_close(model(transform(x, q)), logits, atol=1e-10, rtol=1e-10)
        torch.testing.assert_close(model(x[:, perm]), logits, atol=1e-10, rtol=1e-10)
        torch.testing.assert_close(model(x[2:3]), logits[2:3], atol=1e-10, rtol=1e-10)


def test_feature_errors() -> None:
    with pytest.raises(ValueError, match="points must have shape"):
        point_features(torch.zeros(5, 3))
    with pytest.raises(ValueError, match="scales must be"):
        point_features(torch.zeros(1, 5, 3), (1,))
    with pytest.raises(ValueError, match="points must have shape"):
        cloud_features(torch.zeros(1, 5, 2))
    with pytest.raises(ValueError, match="geometry must list"):
        EquivariantConfig(num_classes=2, geometry=(0,))
    with pytest.raises(ValueError, match="dropout must lie"):
        EquivariantConfig(num_classes=2, dropout=1.0)
    with pytest.raises(ValueError, match="point_head must be"):
        EquivariantConfig(num_classes=2, point_head=-1)
