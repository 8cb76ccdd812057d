"""Voxel segmentation on a tiny synthetic phantom: data, split, exact equivariance of the U-Net, crops,
training + evaluation + segmentation CLIs end to end, and clear errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lie_nn.nn import rotate_field
from models.common.io import DataError
from models.voxel_segmentation import crops as crops_module
from models.voxel_segmentation.crops import axis_rotations, crop, cube_rotations
from models.voxel_segmentation.data import (
    SplitSettings,
    Volume,
    load_volume,
    make_split,
    phantom,
    save_volume,
)
from models.voxel_segmentation.model import EquivariantUNet, count_parameters, monai_unet
from models.voxel_segmentation.train import PRESETS

pytest.importorskip("monai")
nib = pytest.importorskip("nibabel")

@pytest.fixture(autouse=True, scope="module")
def _restore_denormals():
    """The CLIs' ``main`` flush denormal floats (a process-wide CPU flag); undo it for later tests."""
    yield
    torch.set_flush_denormal(False)


SMALL = SplitSettings(crop=8, score=4, train_y_max=14, test_y_min=18, train_stride=2, min_brain_fraction=0.1)


def symmetries() -> list[np.ndarray]:
    """Six cube symmetries, three of them improper (reflections)."""
    rots = cube_rotations()
    return [rots[3], rots[10], rots[17], -rots[0], -rots[5], -rots[20]]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    t1, labels = phantom(24, seed=1)
    origins, centres = make_split(labels, SMALL)
    directory = tmp_path_factory.mktemp("voxel_data")
    save_volume(Volume(t1, labels, (2.0, 2.0, 2.0), origins, centres, SMALL), directory, seeds={"phantom": 1})
    return directory


def test_split_keeps_regions_apart(data_dir: Path) -> None:
    volume = load_volume(data_dir)
    s = volume.settings
    assert len(volume.train_origins) and len(volume.test_centres)
    assert (volume.train_origins[:, 1] + s.crop <= s.train_y_max).all()
    assert (volume.test_centres[:, 1] + 0.5 - s.score // 2 >= s.test_y_min).all()
    manifest = json.loads((data_dir / "manifest.json").read_text())
    assert manifest["split"]["train_origins"] == volume.train_origins.tolist()


def test_corrupt_data_is_reported(data_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("volume.npz", "manifest.json"):
        (copy / name).write_bytes((data_dir / name).read_bytes())
    (copy / "volume.npz").write_bytes(b"garbage")
    with pytest.raises(DataError, match="corrupt.*make voxel-data"):
        load_volume(copy)
    with pytest.raises(DataError, match="no data"):
        load_volume(tmp_path / "missing")


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
@pytest.mark.parametrize("training", [True, False])
def test_unet_exactly_equivariant_under_cube_symmetries(dtype: torch.dtype, tol: float,
                                                        training: bool) -> None:
    torch.manual_seed(0)
    net = EquivariantUNet(PRESETS["tiny"], dtype=dtype).train(training)
    x = torch.randn(2, 1, 8, 8, 8, dtype=dtype)
    with torch.no_grad():
        y = net(x)
        for r in symmetries():
            rotated = net(rotate_field(x, "0e", r))
            assert float((rotated - rotate_field(y, "4x0e", r)).abs().max() / y.abs().max()) < tol


def test_peer_has_similar_parameter_count() -> None:
    ours = count_parameters(EquivariantUNet())
    peer = count_parameters(monai_unet())
    assert 0.5 < peer / ours < 2.0


@pytest.mark.parametrize("bad, message", [
    (torch.randn(1, 2, 8, 8, 8), r"\(batch, 1, D, H, W\)"),
    (torch.randn(1, 8, 8, 8), r"\(batch, 1, D, H, W\)"),
    (torch.randn(1, 1, 6, 8, 8), "multiples of 4"),
])
def test_unet_bad_input(bad: torch.Tensor, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EquivariantUNet(PRESETS["tiny"])(bad)


def test_crop_exact_and_resampled_paths_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    t1, labels = phantom(16, seed=2)
    centre = np.array([7.5, 8.5, 7.5])
    exact = [crop(t1, labels, centre, 8, r) for r in cube_rotations()[:6]]
    monkeypatch.setattr(crops_module, "_is_signed_permutation", lambda r: False)
    for r, (image, lab) in zip(cube_rotations()[:6], exact, strict=True):
        image2, lab2 = crop(t1, labels, centre, 8, r)
        assert torch.allclose(image, image2, atol=1e-6) and torch.equal(lab, lab2)
    assert np.allclose(axis_rotations(np.array([1.0, 0, 0]), 180.0), np.diag([1.0, -1, -1]), atol=1e-12)


def _train(data_dir: Path, out: Path, model: str, *extra: str) -> None:
    from models.voxel_segmentation.train import main

    args = ["--model", model, "--data", str(data_dir), "--out", str(out), "--preset", "tiny", "--epochs", "2",
            "--samples-per-epoch", "2", "--val-crops", "1", "--quiet", *extra]
    assert main(args) == 0


@pytest.fixture(scope="module")
def runs(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("voxel_runs")
    out = {"eq": root / "eq", "monai": root / "monai", "rot": root / "rot"}
    _train(data_dir, out["eq"], "equivariant")
    _train(data_dir, out["monai"], "monai")
    _train(data_dir, out["rot"], "monai", "--rotate-augment")
    return out


def test_training_and_resume(runs: dict[str, Path], data_dir: Path) -> None:
    history = [json.loads(line) for line in (runs["eq"] / "history.jsonl").read_text().splitlines()]
    assert len(history) == 2 and all(np.isfinite(h["train_loss"]) for h in history)
    with pytest.raises(ValueError, match="setting|identity|changed"):
        _train(data_dir, runs["eq"], "equivariant", "--resume", "--lr", "0.5")


def test_equivariant_model_rejects_rotation_augmentation(data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        _train(data_dir, tmp_path / "x", "equivariant", "--rotate-augment")


def test_evaluate_equivariant_dice_unchanged_by_cube_rotations(runs: dict[str, Path], data_dir: Path,
                                                                tmp_path: Path) -> None:
    from models.voxel_segmentation.evaluate import main

    out = tmp_path / "eval.json"
    assert main([str(runs["eq"]), str(runs["monai"]), "--data", str(data_dir), "--out", str(out),
                 "--angles", "0", "90"]) == 0
    result = json.loads(out.read_text())
    eq, peer = result["runs"]
    assert np.allclose(eq["cube_rotations"], eq["train_pose"], atol=1e-12, equal_nan=True)
    assert np.allclose(eq["angle_curve"][0], eq["train_pose"], equal_nan=True)
    assert peer["parameters"] > 0 and peer["step_cpu_seconds"] > 0
    from models.voxel_segmentation.report import main as report

    assert report([str(out), "--data", str(data_dir), "--docs", str(tmp_path)]) == 0
    for name in ("angles", "slices", "curves"):
        assert (tmp_path / f"voxel_segmentation_{name}.png").stat().st_size > 0


def _write_nifti(path: Path, data: np.ndarray, zooms: tuple[float, ...]) -> None:
    img = nib.Nifti1Image(data.astype(np.float32), np.diag([*zooms[:3], 1.0]))
    img.header.set_zooms(zooms)
    nib.save(img, str(path))


def test_segment_cli(runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from models.voxel_segmentation.segment import main

    t1, _ = phantom(16, seed=3)
    image = tmp_path / "t1.nii.gz"
    _write_nifti(image, t1 * 300, (2.0, 2.0, 2.0))
    out = tmp_path / "labels.nii.gz"
    assert main([str(image), "--run", str(runs["eq"]), "--out", str(out)]) == 0
    labels = nib.load(str(out))
    assert labels.shape == t1.shape and set(np.unique(np.asarray(labels.dataobj))) <= {0, 1, 2, 3}
    fine = tmp_path / "fine.nii.gz"
    _write_nifti(fine, t1, (1.0, 1.0, 1.0))
    assert main([str(fine), "--run", str(runs["eq"]), "--out", str(tmp_path / "fine_labels.nii")]) == 0
    assert "warning: resampling" in capsys.readouterr().err
    assert nib.load(str(tmp_path / "fine_labels.nii")).shape == t1.shape


def test_segment_cli_bad_input(runs: dict[str, Path], tmp_path: Path) -> None:
    from models.voxel_segmentation.segment import main

    run = ["--run", str(runs["eq"]), "--out", str(tmp_path / "o.nii.gz")]
    with pytest.raises(DataError, match="no such file"):
        main([str(tmp_path / "missing.nii.gz"), *run])
    broken = tmp_path / "broken.nii.gz"
    broken.write_bytes(b"not a nifti file")
    with pytest.raises(DataError, match="cannot read it as NIfTI"):
        main([str(broken), *run])
    two = tmp_path / "two.nii.gz"
    _write_nifti(two, np.ones((8, 8, 8, 2)), (2.0, 2.0, 2.0, 1.0))
    with pytest.raises(DataError, match="1 channel"):
        main([str(two), *run])
    flat = tmp_path / "flat.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((8, 8), np.float32), np.eye(4)), str(flat))
    with pytest.raises(DataError, match="3D image"):
        main([str(flat), *run])
    aniso = tmp_path / "aniso.nii.gz"
    _write_nifti(aniso, np.ones((8, 8, 8)), (1.0, 1.0, 3.0))
    with pytest.raises(DataError, match="spacing"):
        main([str(aniso), *run, "--no-resample"])
