"""models/md_jump/onejump: the one-jump statistics on tiny synthetic arrays."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lie_nn
from models.md_jump.metrics import Projection
from models.md_jump.onejump import CHANGES, block_bootstrap, crps, jump_changes, pair_rmsd, wasserstein_1d


def test_wasserstein_zero_symmetric_and_shift():
    rng = np.random.default_rng(0)
    p, q = rng.normal(size=300), rng.normal(size=200) * 2.0
    assert wasserstein_1d(p, p) == 0.0
    assert wasserstein_1d(p, q) == pytest.approx(wasserstein_1d(q, p), abs=1e-12)
    assert wasserstein_1d(p, p + 1.5) == pytest.approx(1.5, abs=1e-12)  # a shift moves every unit of mass
    # equal-size samples: W1 is the mean distance between sorted values
    a, b = rng.normal(size=50), rng.exponential(size=50)
    assert wasserstein_1d(a, b) == pytest.approx(np.abs(np.sort(a) - np.sort(b)).mean(), abs=1e-12)
    assert wasserstein_1d(a, b) > 0


def test_wasserstein_rejects_bad_samples():
    with pytest.raises(ValueError, match="NaN"):
        wasserstein_1d(np.array([0.0, np.nan]), np.array([1.0]))
    with pytest.raises(ValueError, match="empty"):
        wasserstein_1d(np.array([]), np.array([1.0]))


def test_crps_properties():
    rng = np.random.default_rng(1)
    y = rng.normal(size=40)
    assert np.allclose(crps(np.repeat(y[:, None], 3, axis=1), y), 0.0)
    one = crps(np.zeros((1, 1)), np.array([2.0]))
    assert float(one[0]) == pytest.approx(2.0)
    # the score of the true distribution beats a too-wide and a shifted one (many starts, many draws)
    y = rng.normal(size=4000)
    true = crps(rng.normal(size=(4000, 8)), y).mean()
    assert true < crps(3.0 * rng.normal(size=(4000, 8)), y).mean()
    assert true < crps(1.0 + rng.normal(size=(4000, 8)), y).mean()
    with pytest.raises(ValueError, match=r"\(P, k\)"):
        crps(np.zeros((4, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        crps(np.full((2, 2), np.nan), np.zeros(2))


def test_block_bootstrap_blocks_are_consecutive():
    idx = block_bootstrap(10, 3, 5, np.random.default_rng(0))
    assert idx.shape == (5, 10) and idx.min() >= 0 and idx.max() <= 9
    assert np.all(np.diff(idx[:, :3], axis=1) == 1)
    with pytest.raises(ValueError):
        block_bootstrap(0, 3, 5, np.random.default_rng(0))


def _frames(n_frames: int, n: int = 6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.cumsum(rng.normal(size=(n, 3)) * 1.5, axis=0)
    return base + np.cumsum(0.1 * rng.normal(size=(n_frames, n, 3)), axis=0)


def test_jump_changes_invariant_shapes_and_identity():
    traj = _frames(40)
    proj = Projection([traj], lag=2)
    x0, x1 = traj[:-5], traj[5:]
    out = jump_changes(x0, x1, traj[0], proj)
    assert set(out) == set(CHANGES) and all(v.shape == (35,) for v in out.values())
    same = jump_changes(x0, x0, traj[0], proj)
    assert all(np.allclose(v, 0.0, atol=1e-7) for v in same.values())
    rot = lie_nn.random_rotation(3)
    moved = jump_changes(x0, x1 @ rot.T + 4.0, traj[0], proj)  # rigid motion of the endpoints changes nothing
    assert all(np.allclose(moved[c], out[c], atol=1e-8) for c in CHANGES)
    k = jump_changes(x0, np.stack([x1, x1], axis=1), traj[0], proj)
    assert all(v.shape == (35, 2) and np.allclose(v[:, 1], out[c]) for c, v in k.items())
    assert np.allclose(pair_rmsd(x0, x1), out["jump_rmsd"])


def test_jump_changes_rejects_mismatch_and_nan():
    traj = _frames(10)
    proj = Projection([traj], lag=1)
    with pytest.raises(ValueError, match="x1 must be"):
        jump_changes(traj[:4], traj[:3], traj[0], proj)
    with pytest.raises(ValueError, match="x1 must be"):
        jump_changes(traj[:4], traj[:4, :5], traj[0], proj)
    bad = traj[:4].copy()
    bad[1, 2, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        jump_changes(traj[:4], bad, traj[0], proj)


def test_pair_rmsd_matches_torch_superposition():
    x = _frames(3, seed=2)
    r = torch.tensor(lie_nn.random_rotation(5))
    y = (torch.from_numpy(x[1]) @ r.T).numpy() - 2.0
    assert pair_rmsd(x[1:2], y[None])[0] < 1e-10
