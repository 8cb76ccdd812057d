"""models/md_jump: equivariance of network and sampler, the interpolant, topology checks, data, CLI.

Everything runs on tiny data made here (a 4-residue peptide's heavy atoms on random walks); the
OpenMM generation itself is the slow test at the end.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import lie_nn
from models.common.io import DataError, write_manifest
from models.md_jump.dataset import frame_pairs, load_topology, select_atoms, training_pairs
from models.md_jump.interpolant import Interpolant, interpolant_loss, kabsch_align, sample_jump
from models.md_jump.jumper import Jumper, build_network
from models.md_jump.metrics import Projection, autocorrelation, js_divergence, rmsd_to
from models.md_jump.model import EquivariantVelocity, JumpConfig, jump_graph
from models.md_jump.topology import Topology, TopologyError

REPO = Path(__file__).resolve().parents[2]
RESIDUES = [("GLY", ["N", "CA", "C", "O"]), ("TYR", ["N", "CA", "C", "O", "CB"]),
            ("ASP", ["N", "CA", "C", "O"]), ("GLY", ["N", "CA", "C", "O", "OXT"])]


def _rotation(seed: int, dtype=torch.float64) -> torch.Tensor:
    return torch.tensor(lie_nn.random_rotation(seed), dtype=dtype)


def _tiny_network(kind: str = "equivariant", n: int = 6, dtype=torch.float64) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_network(kind, JumpConfig(num_atoms=n, num_lags=2, channels=4, num_layers=2, r_cut=6.0,
                                          radial_hidden=(8,)), dtype)


def _frames(n_frames: int, n_atoms: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.cumsum(rng.normal(scale=1.5, size=(n_atoms, 3)), axis=0)
    return base + np.cumsum(rng.normal(scale=0.05, size=(n_frames, n_atoms, 3)), axis=0)


# ------------------------------------------------------------------------------------------ symmetry
@pytest.mark.parametrize("kind", ["equivariant", "plain"])
def test_network_translation_invariance(kind: str) -> None:
    net = _tiny_network(kind)
    x = torch.tensor(_frames(2, 6, 0), dtype=torch.float64)
    g = jump_graph(x[:1], net.config.r_cut)
    s, lag, c = torch.tensor([0.3]), torch.tensor([1]), torch.tensor([3.0, -2.0, 7.0], dtype=torch.float64)
    b, eta = net(g, x[0], x[1], s.double(), lag)
    b2, eta2 = net(g, x[0] + c, x[1] + c, s.double(), lag)
    torch.testing.assert_close(b2, b, atol=1e-10, rtol=0)
    torch.testing.assert_close(eta2, eta, atol=1e-10, rtol=0)


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_network_rotation_equivariance(dtype: torch.dtype, tol: float) -> None:
    net = _tiny_network(dtype=dtype)
    x = torch.tensor(_frames(2, 6, 1), dtype=dtype)
    R = _rotation(3, dtype)
    s, lag = torch.tensor([0.7], dtype=dtype), torch.tensor([0])
    b, eta = net(jump_graph(x[:1], 6.0), x[0], x[1], s, lag)
    xr = x @ R.T
    br, etar = net(jump_graph(xr[:1], 6.0), xr[0], xr[1], s, lag)
    assert b.abs().max() > 1e-3  # not trivially zero
    torch.testing.assert_close(br, b @ R.T, atol=tol, rtol=0)
    torch.testing.assert_close(etar, eta @ R.T, atol=tol, rtol=0)


def test_plain_peer_is_not_rotation_equivariant() -> None:
    """The same check fails for the peer: what the augmentation has to learn."""
    net = _tiny_network("plain")
    x = torch.tensor(_frames(2, 6, 1), dtype=torch.float64)
    R = _rotation(3)
    s, lag = torch.tensor([0.7], dtype=torch.float64), torch.tensor([0])
    b, _ = net(jump_graph(x[:1], 6.0), x[0], x[1], s, lag)
    br, _ = net(jump_graph(x[:1] @ R.T, 6.0), x[0] @ R.T, x[1] @ R.T, s, lag)
    assert (br - b @ R.T).abs().max() > 1e-3


def test_sample_rotates_and_translates_with_fixed_noise() -> None:
    """sample(R x_t + c, R ξ) = R sample(x_t, ξ) + c exactly (float64), and sample(x_t + c, ξ) = ... + c."""
    net = _tiny_network()
    interp = Interpolant(sigma=1.0, eps0=0.5, steps=5)
    x = torch.tensor(_frames(3, 6, 2)[None, 0].repeat(3, 0), dtype=torch.float64)
    lag = torch.tensor([0, 1, 1])
    noise = torch.randn((5, 3, 6, 3), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    out = sample_jump(net, interp, x, lag, 6.0, noise=noise)
    R, c = _rotation(5), torch.tensor([1.0, 2.0, -3.0], dtype=torch.float64)
    rotated = sample_jump(net, interp, x @ R.T + c, lag, 6.0, noise=noise @ R.T)
    shifted = sample_jump(net, interp, x + c, lag, 6.0, noise=noise)
    assert (out - x).abs().max() > 1e-2  # the jump moves the atoms
    torch.testing.assert_close(rotated, out @ R.T + c, atol=1e-10, rtol=0)
    torch.testing.assert_close(shifted, out + c, atol=1e-10, rtol=0)


def test_sample_noise_shape_is_checked() -> None:
    net = _tiny_network()
    x = torch.zeros(1, 6, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="noise must be"):
        sample_jump(net, Interpolant(steps=4), x, torch.tensor([0]), 6.0, noise=torch.zeros(3, 1, 6, 3))


# ------------------------------------------------------------------------------------- interpolant
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
    net = _tiny_network(dtype=torch.float32)
    x0 = torch.tensor(_frames(16, 6, 4) - _frames(16, 6, 4).mean(1, keepdims=True), dtype=torch.float32)
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


def test_kabsch_and_rmsd() -> None:
    x = _frames(1, 7, 5)[0]
    R = lie_nn.random_rotation(1)
    moved = x @ R.T + np.array([4.0, 0.0, -1.0])
    assert rmsd_to(moved[None], x)[0] < 1e-10
    mirrored = x * np.array([-1.0, 1.0, 1.0])  # a reflection is not superposable
    assert rmsd_to(mirrored[None], x)[0] > 0.1
    aligned = kabsch_align(torch.tensor(moved), torch.tensor(x)).numpy()
    np.testing.assert_allclose(aligned, x, atol=1e-10)


# ---------------------------------------------------------------------------------------- metrics
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
    trajs = [_frames(80, 6, 6), _frames(80, 6, 7)]
    monkeypatch.setitem(sys.modules, "deeptime.decomposition", None)  # force the PCA fallback
    pca = Projection(trajs, lag=5)
    assert pca.method.startswith("PCA") and pca(trajs[0]).shape == (80, 2)
    R = lie_nn.random_rotation(2)
    np.testing.assert_allclose(pca(trajs[0] @ R.T), pca(trajs[0]), atol=1e-9)  # invariant features


# -------------------------------------------------------------------------------- data and jumper
def _write_topology_pdb(path: Path, positions: np.ndarray) -> None:
    openmm_app = pytest.importorskip("openmm.app")
    import openmm.unit as u

    top = openmm_app.Topology()
    chain = top.addChain()
    for name, atoms in RESIDUES:
        res = top.addResidue(name, chain)
        for atom in atoms:
            top.addAtom(atom, openmm_app.Element.getBySymbol(atom[0]), res)
    with open(path, "w") as f:
        openmm_app.PDBFile.writeFile(top, positions * u.angstrom, f)


N_ATOMS = sum(len(a) for _, a in RESIDUES)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory in the format of models.md_jump.data: 2 train + 1 test random-walk trajectories."""
    out = tmp_path_factory.mktemp("md_jump_data")
    specs = []
    names = [("train_a", "train", "extended"), ("train_b", "train", "folded"), ("test_c", "test", "folded")]
    for k, (name, split, start) in enumerate(names):
        frames = _frames(41, N_ATOMS, k) / 10.0  # nm, as written by data.generate
        np.savez(out / f"{name}.npz", positions=frames.astype(np.float32), time_ps=np.arange(41) * 1.0)
        specs.append({"name": name, "split": split, "start": start, "seed": k, "length_ps": 40.0})
    _write_topology_pdb(out / "topology.pdb", _frames(1, N_ATOMS, 0)[0])
    _write_topology_pdb(out / "folded.pdb", _frames(1, N_ATOMS, 1)[0])
    files = ["topology.pdb", "folded.pdb"] + [f"{s['name']}.npz" for s in specs]
    write_manifest(out, files, settings={"trajectories": specs, "save_every_ps": 1.0},
                   split={s["name"]: s["split"] for s in specs}, command=["test"])
    return out


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
    import json
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    manifest = json.loads((data / "manifest.json").read_text())
    specs = manifest["settings"]["trajectories"] + [
        {"name": "train_folded_s7", "split": "train", "start": "folded", "seed": 7, "length_ps": 20.0}]
    frames = _frames(21, N_ATOMS, 7)
    np.savez(data / "train_folded_s7.npz", positions=(frames / 10.0).astype(np.float32),
             time_ps=np.arange(21.0))
    write_manifest(data, ["topology.pdb", "folded.pdb"] + [f"{s['name']}.npz" for s in specs],
                   settings={"trajectories": specs, "save_every_ps": 1.0},
                   split={s["name"]: s["split"] for s in specs}, command=["test"])
    before = training_pairs(tiny_data, "ca", (2.0,), dtype=torch.float64)
    train, val, summary = training_pairs(data, "ca", (2.0,), dtype=torch.float64)
    assert summary["trajectories"] == ["train_a", "train_b", "train_folded_s7"]
    cut = round(21 * 0.85)  # 18 frames for training, 3 for validation
    assert summary["pairs"]["train"]["2ps"] == before[2]["pairs"]["train"]["2ps"] + cut - 2
    assert summary["pairs"]["val"]["2ps"] == before[2]["pairs"]["val"]["2ps"] + (21 - cut) - 2
    top, heavy = load_topology(data)
    ca = frames[cut][heavy][select_atoms(top, "ca")]
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


def test_train_rollout_and_bad_input(tiny_data: Path, tmp_path: Path) -> None:
    from models.md_jump import train
    from models.md_jump.rollout import rollout_from_pdb
    from models.md_jump.topology import read_pdb

    run = tmp_path / "run"
    train.main(["--data", str(tiny_data), "--lags", "2", "5", "--epochs", "2", "--batch-size", "16",
                "--channels", "4", "--num-layers", "1", "--steps", "3", "--out", str(run), "--quiet"])
    jumper = Jumper.load(run / "model.pt")
    assert jumper.lags_ps == (2.0, 5.0) and jumper.kind == "equivariant"
    out = rollout_from_pdb(jumper, tiny_data / "folded.pdb", ns=0.015, lag_ps=5.0, n_traj=2, seed=1,
                           show_progress=False)
    assert out["positions"].shape == (2, 4, 4, 3) and np.isfinite(out["positions"]).all()
    again = rollout_from_pdb(Jumper.load(run / "model.pt"), tiny_data / "folded.pdb", 0.015, 5.0, 2, 1,
                             show_progress=False)
    np.testing.assert_array_equal(again["positions"], out["positions"])  # reload + seed: same samples
    with pytest.raises(ValueError, match="not trained for jumps of 50 ps .trained: 2, 5 ps"):
        rollout_from_pdb(jumper, tiny_data / "folded.pdb", 0.1, 50.0)
    top, heavy, _ = read_pdb(tiny_data / "folded.pdb")
    unknown = Topology(top.residue_index, top.residue_names, top.atom_names[:-1] + ("SG",))
    with pytest.raises(TopologyError, match="unknown atom GLY:SG"):
        jumper.nodes(unknown, heavy)
    short = Topology(top.residue_index[:-1], top.residue_names[:-1], top.atom_names[:-1])
    with pytest.raises(TopologyError, match="mismatched topology: 17 heavy atoms"):
        jumper.nodes(short, heavy[:-1])
    order = list(range(len(top)))
    order[0], order[1] = 1, 0
    swapped = Topology(top.residue_index, tuple(top.residue_names[i] for i in order),
                       tuple(top.atom_names[i] for i in order))
    with pytest.raises(TopologyError, match="mismatched topology at heavy atom 0: GLY:CA"):
        jumper.nodes(swapped, heavy)
    with pytest.raises(ValueError, match="NaN"):
        jumper.nodes(top, np.full_like(heavy, np.nan))


def test_rollout_cli_one_line_errors(tiny_data: Path, tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "models.md_jump.rollout", "--model", str(tmp_path / "none.pt"), "--pdb",
           str(tiny_data / "folded.pdb"), "--out", str(tmp_path / "x.npz")]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "not found" in proc.stderr


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


def test_training_noise_and_augmentation_only_in_training_mode() -> None:
    from models.md_jump.train import loss_fn

    net = _tiny_network()
    x0 = torch.tensor(_frames(4, 6, 8)[None, 0].repeat(4, 0), dtype=torch.float64)
    batch = {"x0": x0, "x1": x0 + 0.3, "lag": torch.zeros(4, dtype=torch.long)}
    values = []
    for augment, noise in [(False, 0.0), (True, 0.5)]:
        torch.manual_seed(0)
        values.append(float(loss_fn(Interpolant(), 6.0, augment, noise)(net.eval(), batch)[0].detach()))
    assert values[0] == values[1]
    torch.manual_seed(0)
    assert float(loss_fn(Interpolant(), 6.0, False, 0.5)(net.train(), batch)[0].detach()) != values[0]


def test_compare_leaves_out_the_common_start() -> None:
    from models.md_jump.evaluate import compare

    rng = np.random.default_rng(0)
    ref = {k: rng.normal(size=201) for k in ("rmsd", "rg", "tic1", "bond")}
    ref["rmsd"] = np.abs(ref["rmsd"]) + 1.0
    model = {k: np.stack([np.concatenate([[v[0]], rng.permutation(v[1:])]) for _ in range(4)])
             for k, v in ref.items()}  # the reference's values, reshuffled, same start
    out = compare(ref, model, folded_rmsd=2.0, acf_frames_ref=5, acf_frames_model=5, n_boot=10)
    assert out["js_rmsd"] == pytest.approx(0.0, abs=1e-12) and out["js_tic1"] == pytest.approx(0.0, abs=1e-12)
    assert out["folded_fraction"] == pytest.approx(out["ref_folded_fraction"])


def test_evaluate_lags_are_checked_before_any_work(tiny_data: Path, tmp_path: Path) -> None:
    from models.md_jump import evaluate, train

    assert evaluate.rollout_lags((10.0, 100.0), [100.0, 100.0]) == [100.0]
    with pytest.raises(ValueError, match=r"--lags 7 1000: not trained \(trained: 10, 100 ps\)"):
        evaluate.rollout_lags((10.0, 100.0), [7.0, 10.0, 1000.0])
    run = tmp_path / "run"
    train.main(["--data", str(tiny_data), "--lags", "5", "--epochs", "1", "--batch-size", "16",
                "--channels", "4", "--num-layers", "1", "--steps", "2", "--out", str(run), "--quiet"])
    out = tmp_path / "eval"
    with pytest.raises(ValueError, match="--lags 2: not trained"):
        evaluate.main([str(run), "--data", str(tiny_data), "--lags", "2", "--out", str(out)])
    assert not out.exists()  # refused before the OpenMM speed run or any rollout


def test_onejump_eval_cli(tiny_data: Path, tmp_path: Path) -> None:
    import json

    from models.md_jump import onejump_eval, train

    run = tmp_path / "run"
    train.main(["--data", str(tiny_data), "--lags", "2", "5", "--epochs", "1", "--batch-size", "16",
                "--channels", "4", "--num-layers", "1", "--steps", "3", "--out", str(run), "--quiet"])
    out = tmp_path / "eval"
    onejump_eval.main([str(run), "--data", str(tiny_data), "--lags", "5", "--stride", "2", "--samples", "2",
                       "--n-boot", "5", "--out", str(out)])
    res = json.loads((out / "onejump.json").read_text())["results"][0]
    assert res["lag_ps"] == 5.0 and res["starts"] == 18 and res["block_starts"] == 2
    names = [f["name"] for f in res["floor"]]
    assert names == ["MD train_a vs test", "MD train_b vs test", "MD test 1st vs 2nd half"]
    row = res["models"][0]
    assert [m["kind"] for m in res["models"]] == ["equivariant", "baseline"]
    assert "crps_d_tic1_minus_first" in res["models"][1]
    assert row["model"] == "run" and all(np.isfinite(row[f"w1_{c}"]) and row[f"w1_{c}"] >= 0
                                         for c in ("d_tic1", "d_rmsd", "d_rg", "jump_rmsd"))
    with pytest.raises(ValueError, match="not trained for jumps of 7 ps"):
        onejump_eval.main([str(run), "--data", str(tiny_data), "--lags", "7", "--out", str(out)])


def test_md_rerun_rejects_bad_frames(tiny_data: Path) -> None:
    pytest.importorskip("openmm")
    from models.md_jump.md_rerun import md_endpoints

    with pytest.raises(ValueError, match=f"frames must be \\(P, {N_ATOMS}, 3\\)"):
        md_endpoints(tiny_data, np.zeros((2, N_ATOMS - 1, 3)), 1.0, 2)
    with pytest.raises(ValueError, match="NaN"):
        md_endpoints(tiny_data, np.full((1, N_ATOMS, 3), np.nan), 1.0, 2)


def test_onejump_eval_pools_several_test_trajectories(tiny_data: Path, tmp_path: Path) -> None:
    import json
    import shutil

    from models.md_jump import onejump_eval, train

    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    manifest = json.loads((data / "manifest.json").read_text())
    specs = manifest["settings"]["trajectories"] + [
        {"name": "test_d", "split": "test", "start": "folded", "seed": 9, "length_ps": 20.0}]
    frames = _frames(21, N_ATOMS, 9) / 10.0
    np.savez(data / "test_d.npz", positions=frames.astype(np.float32), time_ps=np.arange(21) * 1.0)
    write_manifest(data, ["topology.pdb", "folded.pdb"] + [f"{s['name']}.npz" for s in specs],
                   settings={"trajectories": specs, "save_every_ps": 1.0},
                   split={s["name"]: s["split"] for s in specs}, command=["test"])
    run = tmp_path / "run"
    train.main(["--data", str(data), "--lags", "5", "--epochs", "1", "--batch-size", "16", "--channels", "4",
                "--num-layers", "1", "--steps", "2", "--out", str(run), "--quiet"])
    out = tmp_path / "eval"
    onejump_eval.main([str(run), "--data", str(data), "--lags", "5", "--stride", "2", "--samples", "1",
                       "--n-boot", "3", "--out", str(out)])
    res = json.loads((out / "onejump.json").read_text())["results"][0]
    assert res["test"] == ["test_c", "test_d"] and res["starts"] == 18 + 8
    assert [f["name"] for f in res["floor"]][2:] == ["MD test_c vs other test", "MD test 1st vs 2nd half"]
    row = res["models"][0]
    n_folded = res["folded_starts"]
    assert 0 <= n_folded <= 26 and (row["mean_jump_rmsd_folded"] is None) == (n_folded == 0)
    assert row["mean_jump_rmsd_unfolded"] is None or row["mean_jump_rmsd_unfolded"] > 0
    onejump_eval.main([str(run), "--data", str(data), "--lags", "5", "--stride", "2", "--samples", "1",
                       "--n-boot", "3", "--test", "test_d", "--steps", "1", "--eps0", "0", "--out", str(out)])
    one = json.loads((out / "onejump.json").read_text())
    assert one["results"][0]["starts"] == 8 and one["settings"]["steps"] == 1
    with pytest.raises(ValueError, match="--test train_a: not a test trajectory"):
        onejump_eval.main([str(run), "--data", str(data), "--lags", "5", "--test", "train_a",
                           "--out", str(out)])


def test_val_scan_cli(tiny_data: Path, tmp_path: Path) -> None:
    import json

    from models.md_jump import train, val_scan

    run = tmp_path / "run"
    train.main(["--data", str(tiny_data), "--lags", "2", "5", "--epochs", "1", "--batch-size", "16",
                "--channels", "4", "--num-layers", "1", "--steps", "3", "--out", str(run), "--quiet"])
    val_scan.main([str(run), "--data", str(tiny_data), "--settings", "2:0.5", "3:0", "--samples", "2",
                   "--out", str(tmp_path / "scan")])
    res = json.loads((tmp_path / "scan" / "val_scan.json").read_text())["results"][0]
    assert [r["s"] for r in res["loss_by_s"]] == list(val_scan.S_GRID)
    rows = res["sampler"]
    assert [(r["lag_ps"], r["steps"], r["eps0"]) for r in rows] == [(2, 2, 0.5), (2, 3, 0.0), (5, 2, 0.5),
                                                                   (5, 3, 0.0)]
    assert rows[0]["md_mean_jump_rmsd"] == rows[1]["md_mean_jump_rmsd"] > 0
    assert all(r[k] >= 0 and np.isfinite(r[k]) for r in rows for k in ("w1_jump_rmsd", "crps_d_rg"))
    with pytest.raises(SystemExit):
        val_scan.main([str(run), "--settings", "0:0.5", "--out", str(tmp_path / "x")])
    import dataclasses

    jumper = Jumper.load(run / "model.pt")  # a model of another molecule (no terminal OXT)
    other = dataclasses.replace(jumper, topology=Topology.from_dict(
        {k: v[:-1] for k, v in jumper.topology.to_dict().items()}))
    with pytest.raises(TopologyError, match="does not hold the model.s molecule: unknown atom GLY:OXT"):
        val_scan.validation_pairs(tiny_data, other)
