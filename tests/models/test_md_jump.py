"""models/md_jump: equivariance of network and sampler, the interpolant and loss, metrics, training data.

Everything runs on tiny data made here (``md_jump_helpers``: a 4-residue peptide's heavy atoms on random
walks); the OpenMM generation itself is the slow test at the end.  The trained model, rollout and the
evaluation CLIs are tested in ``test_md_jump_eval.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from md_jump_helpers import N_ATOMS, add_trajectory, frames, rotation, tiny_network, write_tiny_data

import lie_nn
from models.common.io import DataError
from models.md_jump.dataset import frame_pairs, load_topology, select_atoms, training_pairs
from models.md_jump.interpolant import Interpolant, interpolant_loss, kabsch_align, sample_jump
from models.md_jump.metrics import Projection, autocorrelation, js_divergence, rmsd_to
from models.md_jump.model import EquivariantVelocity, JumpConfig, jump_graph
from models.md_jump.topology import Topology


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory in the format of models.md_jump.data: 2 train + 1 test random-walk trajectories."""
    return write_tiny_data(tmp_path_factory.mktemp("md_jump_data"))


# ------------------------------------------------------------------------------------------ symmetry
@pytest.mark.parametrize("kind", ["equivariant", "plain"])
def test_network_translation_invariance(kind: str) -> None:
    net = tiny_network(kind)
    x = torch.tensor(frames(2, 6, 0), dtype=torch.float64)
    g = jump_graph(x[:1], net.config.r_cut)
    s, lag, c = torch.tensor([0.3]), torch.tensor([1]), torch.tensor([3.0, -2.0, 7.0], dtype=torch.float64)
    b, eta = net(g, x[0], x[1], s.double(), lag)
    b2, eta2 = net(g, x[0] + c, x[1] + c, s.double(), lag)
    torch.testing.assert_close(b2, b, atol=1e-10, rtol=0)
    torch.testing.assert_close(eta2, eta, atol=1e-10, rtol=0)


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_network_rotation_equivariance(dtype: torch.dtype, tol: float) -> None:
    net = tiny_network(dtype=dtype)
    x = torch.tensor(frames(2, 6, 1), dtype=dtype)
    R = rotation(3, dtype)
    s, lag = torch.tensor([0.7], dtype=dtype), torch.tensor([0])
    b, eta = net(jump_graph(x[:1], 6.0), x[0], x[1], s, lag)
    xr = x @ R.T
    br, etar = net(jump_graph(xr[:1], 6.0), xr[0], xr[1], s, lag)
    assert b.abs().max() > 1e-3  # not trivially zero
    torch.testing.assert_close(br, b @ R.T, atol=tol, rtol=0)
    torch.testing.assert_close(etar, eta @ R.T, atol=tol, rtol=0)


def test_plain_peer_is_not_rotation_equivariant() -> None:
    """The same check fails for the peer: what the augmentation has to learn."""
    net = tiny_network("plain")
    x = torch.tensor(frames(2, 6, 1), dtype=torch.float64)
    R = rotation(3)
    s, lag = torch.tensor([0.7], dtype=torch.float64), torch.tensor([0])
    b, _ = net(jump_graph(x[:1], 6.0), x[0], x[1], s, lag)
    br, _ = net(jump_graph(x[:1] @ R.T, 6.0), x[0] @ R.T, x[1] @ R.T, s, lag)
    assert (br - b @ R.T).abs().max() > 1e-3


def test_sample_rotates_and_translates_with_fixed_noise() -> None:
    """sample(R x_t + c, R ξ) = R sample(x_t, ξ) + c exactly (float64), and sample(x_t + c, ξ) = ... + c."""
    net = tiny_network()
    interp = Interpolant(sigma=1.0, eps0=0.5, steps=5)
    x = torch.tensor(frames(3, 6, 2)[None, 0].repeat(3, 0), dtype=torch.float64)
    lag = torch.tensor([0, 1, 1])
    noise = torch.randn((5, 3, 6, 3), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    out = sample_jump(net, interp, x, lag, 6.0, noise=noise)
    R, c = rotation(5), torch.tensor([1.0, 2.0, -3.0], dtype=torch.float64)
    rotated = sample_jump(net, interp, x @ R.T + c, lag, 6.0, noise=noise @ R.T)
    shifted = sample_jump(net, interp, x + c, lag, 6.0, noise=noise)
    assert (out - x).abs().max() > 1e-2  # the jump moves the atoms
    torch.testing.assert_close(rotated, out @ R.T + c, atol=1e-10, rtol=0)
    torch.testing.assert_close(shifted, out + c, atol=1e-10, rtol=0)


def test_sample_noise_shape_is_checked() -> None:
    net = tiny_network()
    x = torch.zeros(1, 6, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="noise must be"):
        sample_jump(net, Interpolant(steps=4), x, torch.tensor([0]), 6.0, noise=torch.zeros(3, 1, 6, 3))


# ------------------------------------------------------------------------------ interpolant and loss
def test_interpolant_endpoints_and_derivative() -> None:
    interp = Interpolant(sigma=2.0)
    s = torch.tensor([0.0, 1.0], dtype=torch.float64)
    assert interp.gamma(s).tolist() == [0.0, 0.0]
    h = 1e-6
    for v in (0.2, 0.5, 0.9):
        up, down = (torch.tensor(v + d, dtype=torch.float64) for d in (h, -h))
        fd = (interp.gamma(up) - interp.gamma(down)) / (2 * h)
        assert abs(float(fd) - float(interp.gamma_dot(torch.tensor(v, dtype=torch.float64)))) < 1e-8


def test_loss_decreases_on_a_learnable_jump() -> None:
    """x_1 = x_0 shifted along the chain direction: a few Adam steps lower the loss."""
    torch.manual_seed(0)
    net = tiny_network(dtype=torch.float32)
    x0 = torch.tensor(frames(16, 6, 4) - frames(16, 6, 4).mean(1, keepdims=True), dtype=torch.float32)
    x1 = x0 + 0.5 * (x0[:, -1:] - x0[:, :1]) / (x0[:, -1:] - x0[:, :1]).norm(dim=-1, keepdim=True)
    lag = torch.zeros(16, dtype=torch.long)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss, metrics = interpolant_loss(net, Interpolant(), x0, x1, lag, 6.0)
        loss.backward()
        opt.step()
        losses.append(float(metrics["loss_b"]))
    assert np.mean(losses[-10:]) < 0.7 * np.mean(losses[:10])


def test_training_noise_and_augmentation_only_in_training_mode() -> None:
    from models.md_jump.train import loss_fn

    net = tiny_network()
    x0 = torch.tensor(frames(4, 6, 8)[None, 0].repeat(4, 0), dtype=torch.float64)
    batch = {"x0": x0, "x1": x0 + 0.3, "lag": torch.zeros(4, dtype=torch.long)}
    values = []
    for augment, noise in [(False, 0.0), (True, 0.5)]:
        torch.manual_seed(0)
        values.append(float(loss_fn(Interpolant(), 6.0, augment, noise)(net.eval(), batch)[0].detach()))
    assert values[0] == values[1]
    torch.manual_seed(0)
    assert float(loss_fn(Interpolant(), 6.0, False, 0.5)(net.train(), batch)[0].detach()) != values[0]


def test_kabsch_and_rmsd() -> None:
    x = frames(1, 7, 5)[0]
    R = lie_nn.random_rotation(1)
    moved = x @ R.T + np.array([4.0, 0.0, -1.0])
    assert rmsd_to(moved[None], x)[0] < 1e-10
    mirrored = x * np.array([-1.0, 1.0, 1.0])  # a reflection is not superposable
    assert rmsd_to(mirrored[None], x)[0] > 0.1
    aligned = kabsch_align(torch.tensor(moved), torch.tensor(x)).numpy()
    np.testing.assert_allclose(aligned, x, atol=1e-10)


# ------------------------------------------------------------------------------------------- metrics
def test_js_divergence_bounds_and_symmetry() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=500), rng.normal(loc=1.0, size=500)
    assert js_divergence(a, a) == 0.0
    assert js_divergence(a, b) == pytest.approx(js_divergence(b, a))
    assert 0 < js_divergence(a, b) < 1
    with pytest.raises(ValueError, match="non-empty, finite"):
        js_divergence(a, np.array([np.nan]))
    assert autocorrelation(np.ones((2, 5)), 1) != autocorrelation(np.ones((2, 5)), 1)  # NaN: no variance


def test_projection_tica_or_pca(monkeypatch: pytest.MonkeyPatch) -> None:
    trajs = [frames(80, 6, 6), frames(80, 6, 7)]
    monkeypatch.setitem(sys.modules, "deeptime.decomposition", None)  # force the PCA fallback
    pca = Projection(trajs, lag=5)
    assert pca.method.startswith("PCA") and pca(trajs[0]).shape == (80, 2)
    R = lie_nn.random_rotation(2)
    np.testing.assert_allclose(pca(trajs[0] @ R.T), pca(trajs[0]), atol=1e-9)  # invariant features


# ---------------------------------------------------------------------------------------------- data
def test_training_pairs_split_by_time_and_aligned(tiny_data: Path) -> None:
    train, val, summary = training_pairs(tiny_data, "ca", (2.0, 5.0), dtype=torch.float64)
    assert summary["pairs"]["train"]["2ps"] == 2 * (35 - 2) and summary["pairs"]["val"]["5ps"] == 2 * (6 - 5)
    assert train.columns["x0"].shape[1:] == (4, 3)
    x0, x1 = train.columns["x0"], train.columns["x1"]
    torch.testing.assert_close(x0.mean(1), torch.zeros(len(x0), 3, dtype=torch.float64), atol=1e-12, rtol=0)
    torch.testing.assert_close(kabsch_align(x1, x0), x1, atol=1e-9, rtol=0)  # already superposed
    heavy, _, heavy_summary = training_pairs(tiny_data, "heavy", (2.0,), dtype=torch.float64)
    assert heavy.columns["x0"].shape[1:] == (N_ATOMS, 3) and len(heavy_summary["selection"]) == N_ATOMS
    with pytest.raises(ValueError, match="needs a trajectory longer"):
        frame_pairs(np.zeros((3, 4, 3)), 3)


def test_an_added_train_trajectory_enters_training_and_validation(tiny_data: Path, tmp_path: Path) -> None:
    """A train trajectory appended to the manifest (as ``data --add train:...`` does) is split by time
    like the others: its first 85 % adds training pairs, its last 15 % validation pairs."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    walk = frames(21, N_ATOMS, 7)
    add_trajectory(data, {"name": "train_folded_s7", "split": "train", "start": "folded", "seed": 7,
                          "length_ps": 20.0}, walk)
    before = training_pairs(tiny_data, "ca", (2.0,), dtype=torch.float64)
    train, val, summary = training_pairs(data, "ca", (2.0,), dtype=torch.float64)
    assert summary["trajectories"] == ["train_a", "train_b", "train_folded_s7"]
    cut = round(21 * 0.85)  # 18 frames for training, 3 for validation
    assert summary["pairs"]["train"]["2ps"] == before[2]["pairs"]["train"]["2ps"] + cut - 2
    assert summary["pairs"]["val"]["2ps"] == before[2]["pairs"]["val"]["2ps"] + (21 - cut) - 2
    top, heavy = load_topology(data)
    ca = walk[cut][heavy][select_atoms(top, "ca")]
    first_val = ca - ca.mean(0)  # the new run's validation part starts at frame 18
    assert torch.allclose(val.columns["x0"][-1], torch.tensor(first_val), atol=1e-5)
    assert not torch.isclose(train.columns["x0"], torch.tensor(first_val)).all(dim=(1, 2)).any()


def test_corrupt_data_names_the_file(tiny_data: Path, tmp_path: Path) -> None:
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(tiny_data, bad)
    (bad / "train_a.npz").write_bytes(b"garbage")
    with pytest.raises(DataError, match="train_a.npz is corrupt.*make md-data"):
        training_pairs(bad, "ca", (2.0,))


def test_select_atoms_rejects_unknown_selection() -> None:
    with pytest.raises(ValueError, match="unknown atom selection 'cb'"):
        select_atoms(Topology((0,), ("GLY",), ("CA",)), "cb")


def test_equivariant_model_doc_example_runs() -> None:
    cfg = JumpConfig(num_atoms=3, num_lags=1, channels=2, num_layers=1)
    net = EquivariantVelocity(cfg, dtype=torch.float64)
    assert sum(p.numel() for p in net.parameters()) > 0


@pytest.mark.slow
def test_openmm_generation_is_resumable(tmp_path: Path) -> None:
    pytest.importorskip("pdbfixer")
    pytest.importorskip("PeptideBuilder")
    from models.md_jump.data import TrajectorySpec, generate, load_trajectories

    spec = (TrajectorySpec("t", "test", "extended", 1, length_ps=2.0),)
    generate(tmp_path / "a", trajectories=spec, save_every_ps=0.5, chunk_ps=1.0)
    first = load_trajectories(tmp_path / "a")[0].positions
    (tmp_path / "a" / "t.npz").unlink()
    for suffix in ("npz", "chk"):
        (tmp_path / "a" / "chunks" / f"t_1.{suffix}").unlink()
    generate(tmp_path / "a", trajectories=spec, save_every_ps=0.5, chunk_ps=1.0)
    np.testing.assert_array_equal(load_trajectories(tmp_path / "a")[0].positions, first)
    assert first.shape == (5, 138, 3)
