"""Shape recognition models: exact O(3) and permutation invariance of the equivariant classifier,
what the baselines do under rotations, poses, and bad input."""

from __future__ import annotations

import pytest
import torch

from models.shape_recognition.baselines import DGCNN, PointNet
from models.shape_recognition.model import EquivariantConfig, EquivariantShapeClassifier
from models.shape_recognition.poses import MIRROR, pose_matrices, random_rotations, transform


def _model(dtype: torch.dtype, **kwargs) -> EquivariantShapeClassifier:
    torch.manual_seed(0)
    config = EquivariantConfig(**{"num_classes": 5, "channels": 4, "k": 5, **kwargs})
    return EquivariantShapeClassifier(config, dtype=dtype).eval()


def _clouds(dtype: torch.dtype, b: int = 3, n: int = 24) -> torch.Tensor:
    x = torch.randn(b, n, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x = x * torch.tensor([1.5, 1.0, 0.5], dtype=torch.float64)  # no accidental symmetry
    return (x - x.mean(dim=1, keepdim=True)).to(dtype)


@pytest.mark.parametrize("pose", ["rotated", "mirrored", "rotated_mirrored"])
@pytest.mark.parametrize(("dtype", "tol"), [(torch.float64, 1e-10), (torch.float32, 1e-4)])
def test_equivariant_model_is_o3_invariant(pose: str, dtype: torch.dtype, tol: float) -> None:
    model, x = _model(dtype), _clouds(dtype)
    q = pose_matrices(pose, len(x), torch.Generator().manual_seed(2), dtype)
    with torch.no_grad():
        logits, moved = model(x), model(transform(x, q))
    assert logits.abs().max() > 1e-3  # not trivially zero
    torch.testing.assert_close(moved, logits, atol=tol, rtol=tol)


@pytest.mark.parametrize(("lmax", "global_readout"), [(1, False), (3, False), (2, True)])
def test_equivariant_model_invariant_for_other_settings(lmax: int, global_readout: bool) -> None:
    model = _model(torch.float64, lmax=lmax, correlation=2, num_layers=1, global_readout=global_readout)
    x = _clouds(torch.float64)
    q = pose_matrices("rotated_mirrored", len(x), torch.Generator().manual_seed(3), torch.float64)
    perm = torch.randperm(x.shape[1], generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        torch.testing.assert_close(model(transform(x, q)), model(x), atol=1e-10, rtol=1e-10)
        torch.testing.assert_close(model(x[:, perm]), model(x), atol=1e-10, rtol=1e-10)


def test_equivariant_model_is_permutation_invariant_and_per_cloud() -> None:
    model, x = _model(torch.float64), _clouds(torch.float64)
    perm = torch.randperm(x.shape[1], generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        logits = model(x)
        torch.testing.assert_close(model(x[:, perm]), logits, atol=1e-10, rtol=1e-10)
        torch.testing.assert_close(model(x[1:2]), logits[1:2], atol=1e-10, rtol=1e-10)  # no cross-talk
        torch.testing.assert_close(model(x.flip(0)), logits.flip(0), atol=1e-10, rtol=1e-10)


def test_equivariant_model_distinguishes_shapes_and_trains() -> None:
    model, x = _model(torch.float64), _clouds(torch.float64)
    with torch.no_grad():
        logits = model(x)
    assert (logits[0] - logits[1]).abs().max() > 1e-6
    model.train()
    loss = torch.nn.functional.cross_entropy(model(x), torch.tensor([0, 1, 2]))
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0


@pytest.mark.parametrize("cls", [PointNet, DGCNN])
def test_baselines_are_permutation_invariant_but_not_rotation_invariant(cls) -> None:
    torch.manual_seed(0)
    model = cls(5, dtype=torch.float64).eval()
    x = _clouds(torch.float64, n=32)
    perm = torch.randperm(32, generator=torch.Generator().manual_seed(5))
    q = random_rotations(len(x), torch.Generator().manual_seed(6), torch.float64)
    with torch.no_grad():
        logits = model(x)
        torch.testing.assert_close(model(x[:, perm]), logits, atol=1e-10, rtol=1e-10)
        assert (model(transform(x, q)) - logits).abs().max() > 1e-6


def test_graph_and_poses() -> None:
    x = torch.tensor([[[0.0, 0, 0], [1, 0, 0], [3, 0, 0], [7, 0, 0]]]).repeat(2, 1, 1)
    edge_index, flag = _model(torch.float32, k=1).graph(x)
    pairs = sorted(map(tuple, edge_index.T.tolist()))
    knn = [(1, 0), (0, 1), (1, 2), (2, 3), (5, 4), (4, 5), (5, 6), (6, 7)]
    centre = [(8, 0), (8, 1), (8, 2), (8, 3), (9, 4), (9, 5), (9, 6), (9, 7)]
    assert pairs == sorted(knn + centre) and int(flag.sum()) == 8
    assert torch.equal(pose_matrices("mirrored", 1, torch.Generator())[0], torch.tensor(MIRROR))
    q = random_rotations(500, torch.Generator().manual_seed(0), torch.float64)
    assert abs(float(q[:, 2, 2].mean())) < 0.1  # Haar: E[Q_33] = 0


def test_bad_input_errors() -> None:
    model = _model(torch.float32)
    with pytest.raises(ValueError, match=r"points must have shape \(B, N >= 2, 3\)"):
        model(torch.zeros(2, 5, 2))
    with pytest.raises(ValueError, match="points must have shape"):
        PointNet(3)(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="unknown pose"):
        pose_matrices("upside-down", 1, torch.Generator())
    with pytest.raises(ValueError, match="positive int"):
        EquivariantConfig(num_classes=0)
