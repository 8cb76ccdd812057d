"""Shape recognition end to end on tiny synthetic data: training, bit-exact resume, refusal of changed
settings, pose evaluation (the equivariant model's accuracy does not depend on the pose), report, CLI."""

from __future__ import annotations

import json

import pytest
import torch

pytest.importorskip("trimesh")

from models.common.cli import run_cli  # noqa: E402
from models.shape_recognition import classify, evaluate, report, train  # noqa: E402
from models.shape_recognition.data import load_shapes  # noqa: E402
from models.shape_recognition.data import main as data_main  # noqa: E402

TINY = ["--epochs", "2", "--batch-size", "6", "--points", "24", "--k", "4", "--channels", "4",
        "--correlation", "2", "--quiet"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("shapes")
    data_main(["generate", "--synthetic", "3", "--points", "32", "--out", str(out), "--seed", "2"])
    return out


def _train(data_dir, out, *extra: str) -> None:
    train.main(["--data", str(data_dir), "--out", str(out), *TINY, *extra])


def _weights(run) -> dict:
    return torch.load(run / "checkpoint.pt", weights_only=True)["model"]


@pytest.mark.parametrize("model", ["equivariant", "dgcnn"])
def test_resume_is_bit_exact(data_dir, tmp_path, model: str) -> None:
    _train(data_dir, tmp_path / "full", "--model", model, "--augment", "so3")
    _train(data_dir, tmp_path / "split", "--model", model, "--augment", "so3", "--stop-after", "1")
    _train(data_dir, tmp_path / "split", "--model", model, "--augment", "so3", "--resume")
    full, split = _weights(tmp_path / "full"), _weights(tmp_path / "split")
    assert full.keys() == split.keys()
    for key in full:
        assert torch.equal(full[key], split[key]), key
    history = [json.loads(line) for line in (tmp_path / "split" / "history.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in history] == [1, 2] and "val_acc" in history[0]
    with pytest.raises(ValueError, match="other settings"):
        _train(data_dir, tmp_path / "split", "--model", model, "--augment", "none", "--resume")


@pytest.fixture(scope="module")
def runs(data_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    _train(data_dir, root / "eq", "--model", "equivariant", "--dtype", "float64")
    _train(data_dir, root / "pn", "--model", "pointnet")
    return root / "eq", root / "pn"


def test_evaluate_and_classify(runs, tmp_path, capsys) -> None:
    eq, pn = runs
    result = evaluate.evaluate_run(eq, None, draws=2)
    poses = result["poses"]
    assert set(poses) == {"canonical", "rotated", "mirrored", "rotated_mirrored"}
    for pose in poses.values():  # exact invariance: the same predictions in every pose
        assert pose["confusion"] == [[2 * c for c in row] for row in poses["canonical"]["confusion"]] \
            if pose["draws"] == 2 else pose["confusion"] == poses["canonical"]["confusion"]
    evaluate.main([str(pn), "--draws", "1"])
    assert json.loads((pn / "evaluation.json").read_text())["parameters"] > 1000

    import trimesh

    trimesh.creation.torus(1.0, 0.3).export(tmp_path / "ring.stl")
    ranked = classify.classify_mesh(tmp_path / "ring.stl", eq)
    assert len(ranked) == 6 and abs(sum(p for _, p in ranked) - 1) < 1e-9
    with pytest.raises(SystemExit) as exit_info:
        run_cli(classify.main, [str(tmp_path / "missing.obj"), "--model", str(eq)])
    assert exit_info.value.code == 1
    assert "no such mesh file" in capsys.readouterr().err


@pytest.mark.slow
def test_report(runs, data_dir, tmp_path, capsys) -> None:
    pytest.importorskip("matplotlib")
    for run in runs:
        evaluate.evaluate_run(run, None, draws=1)
    report.main([*map(str, runs), "--data", str(data_dir), "--docs", str(tmp_path / "docs")])
    table = capsys.readouterr().out
    assert "| eq | equivariant | none |" in table and "| pn | pointnet | none |" in table
    assert {p.name for p in (tmp_path / "docs").iterdir()} == {
        "shape_recognition_gallery.png", "shape_recognition_curves.png", "shape_recognition_confusion.png"}


def test_validation_run_holds_out_training_families(data_dir, tmp_path) -> None:
    shapes = load_shapes(data_dir)
    (tx, ty), (vx, vy) = train.training_parts(shapes, 0.3)
    train_x, _ = shapes.part(test=False)
    assert len(tx) + len(vx) == len(train_x) and len(vx) > 0 and set(vy.tolist()) == set(ty.tolist())
    test_x, _ = shapes.part(test=True)
    assert not any((test_x == v).all(axis=(1, 2)).any() for v in vx)  # the test part is not touched
    out = tmp_path / "tune"
    _train(data_dir, out, "--model", "equivariant", "--geometry", "4", "8", "--validation", "0.3")
    _train(data_dir, tmp_path / "plain", "--model", "pointnet", "--epochs", "1")
    with pytest.raises(ValueError, match="not a tuning run"):
        report.tuning_table([str(tmp_path / "plain")])
    cpu = json.loads((out / "cpu_time.json").read_text())
    assert cpu[0]["epochs"] == [0, 2] and cpu[0]["cpu_seconds"] > 0
    assert train.load_run(out)[0].geometry == (4, 8)
    with pytest.raises(ValueError, match="tuning run"):
        evaluate.evaluate_run(out, None, draws=1)
    row = report.tuning_table([str(out)]).splitlines()[2]
    assert row.startswith("| tune | equivariant | C=4, layers=2, geometry=[4, 8]") and row.endswith("|")


def test_bad_settings(data_dir, tmp_path) -> None:
    with pytest.raises(ValueError, match="must exceed --k"):
        _train(data_dir, tmp_path / "r", "--model", "pointnet", "--k", "30")
    with pytest.raises(ValueError, match="exceeds the 32 samples"):
        _train(data_dir, tmp_path / "r2", "--model", "pointnet", "--points", "64", "--k", "4")
    with pytest.raises(FileNotFoundError):
        train.load_run(tmp_path / "nothing")
    with pytest.raises(ValueError, match="equivariant model only"):
        _train(data_dir, tmp_path / "r3", "--model", "dgcnn", "--geometry", "4")
    with pytest.raises(ValueError, match="--validation must lie"):
        _train(data_dir, tmp_path / "r4", "--model", "pointnet", "--validation", "1.5")
