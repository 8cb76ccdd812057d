"""models/md_jump: a trained tiny model, its rollouts and topology checks, and the evaluation CLIs
(``rollout``, ``evaluate``, ``onejump_eval``, ``val_scan``, ``md_rerun``'s input checks).

Each test trains a one-layer model for an epoch or two on tiny random-walk data (``md_jump_helpers``);
no OpenMM simulation runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from md_jump_helpers import N_ATOMS, add_trajectory, frames, train_tiny, write_tiny_data

from models.md_jump.jumper import Jumper
from models.md_jump.topology import Topology, TopologyError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory in the format of models.md_jump.data: 2 train + 1 test random-walk trajectories."""
    return write_tiny_data(tmp_path_factory.mktemp("md_jump_data"))


# ------------------------------------------------------------------------- trained model and rollout
def test_train_rollout_and_bad_input(tiny_data: Path, tmp_path: Path) -> None:
    from models.md_jump.rollout import rollout_from_pdb
    from models.md_jump.topology import read_pdb

    run = tmp_path / "run"
    train_tiny(tiny_data, run, epochs=2)
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


def test_md_rerun_rejects_bad_frames(tiny_data: Path) -> None:
    pytest.importorskip("openmm")
    from models.md_jump.md_rerun import md_endpoints

    with pytest.raises(ValueError, match=f"frames must be \\(P, {N_ATOMS}, 3\\)"):
        md_endpoints(tiny_data, np.zeros((2, N_ATOMS - 1, 3)), 1.0, 2)
    with pytest.raises(ValueError, match="NaN"):
        md_endpoints(tiny_data, np.full((1, N_ATOMS, 3), np.nan), 1.0, 2)


# ----------------------------------------------------------------------------------- evaluation CLIs
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
    from models.md_jump import evaluate

    assert evaluate.rollout_lags((10.0, 100.0), [100.0, 100.0]) == [100.0]
    with pytest.raises(ValueError, match=r"--lags 7 1000: not trained \(trained: 10, 100 ps\)"):
        evaluate.rollout_lags((10.0, 100.0), [7.0, 10.0, 1000.0])
    run = tmp_path / "run"
    train_tiny(tiny_data, run, lags=("5",), steps=2)
    out = tmp_path / "eval"
    with pytest.raises(ValueError, match="--lags 2: not trained"):
        evaluate.main([str(run), "--data", str(tiny_data), "--lags", "2", "--out", str(out)])
    assert not out.exists()  # refused before the OpenMM speed run or any rollout


def test_onejump_eval_cli(tiny_data: Path, tmp_path: Path) -> None:
    from models.md_jump import onejump_eval

    run = tmp_path / "run"
    train_tiny(tiny_data, run)
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


def test_onejump_eval_pools_several_test_trajectories(tiny_data: Path, tmp_path: Path) -> None:
    import shutil

    from models.md_jump import onejump_eval

    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    add_trajectory(data, {"name": "test_d", "split": "test", "start": "folded", "seed": 9, "length_ps": 20.0},
                   frames(21, N_ATOMS, 9))
    run = tmp_path / "run"
    train_tiny(data, run, lags=("5",), steps=2)
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
    from models.md_jump import val_scan

    run = tmp_path / "run"
    train_tiny(tiny_data, run)
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
