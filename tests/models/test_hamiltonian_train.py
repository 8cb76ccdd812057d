"""End to end on tiny HF/STO-3G water data made inside the test: generation (xTB MD + pyscf), manifest,
training of both models with the shared trainer, evaluation on rotated test frames, and the CLI."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

pytest.importorskip("pyscf")
pytest.importorskip("tblite")

from models.common.io import DataError  # noqa: E402
from models.hamiltonian.data import MOLECULES, generate, load_molecule  # noqa: E402
from models.hamiltonian.data import main as data_main  # noqa: E402
from models.hamiltonian.labels import Level  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("ham")
    water = dataclasses.replace(MOLECULES[0], chunks=3, chunk_frames=4, sample_every=5)
    generate(out, molecules=(water,), level=Level(method="HF", basis="sto-3g"), command=["test"])
    return out


def test_generated_data_and_manifest(tiny) -> None:
    data = load_molecule(tiny, "water")
    assert data["fock"].shape == (12, 7, 7) and data["positions"].shape == (12, 3, 3)
    assert np.allclose(data["fock"], data["fock"].transpose(0, 2, 1), atol=1e-10)
    assert data["split"] == {"train": [0], "val": [1], "test": [2]}
    assert data["level"]["method"] == "HF" and int(data["n_occ"][0]) == 5
    # the positions are different frames (MD moved), the labels are their SCF solutions
    assert np.abs(data["positions"][1] - data["positions"][0]).max() > 1e-3


def test_resume_refuses_other_settings_and_corruption_is_named(tiny, tmp_path) -> None:
    water = dataclasses.replace(MOLECULES[0], chunks=3, chunk_frames=4, sample_every=5)
    with pytest.raises(DataError, match="other settings"):
        generate(tiny, molecules=(water,), level=Level(method="PBE", basis="sto-3g"))
    (tmp_path / "water.npz").write_bytes((tiny / "water.npz").read_bytes()[:-10])
    (tmp_path / "manifest.json").write_text((tiny / "manifest.json").read_text())
    with pytest.raises(DataError, match="corrupt.*make ham-data"):
        load_molecule(tmp_path, "water")
    with pytest.raises(ValueError, match="frames-per-chunk"):
        data_main(["--out", str(tmp_path / "x"), "--frames-per-chunk", "0"])


@pytest.mark.parametrize("model", ["equivariant", "mlp"])
def test_train_evaluate_predict(tiny, tmp_path, model, capsys) -> None:
    from models.hamiltonian.evaluate import evaluate_run
    from models.hamiltonian.predict import main as predict_main
    from models.hamiltonian.train import main as train_main

    run = tmp_path / model
    args = ["--data", str(tiny), "--molecule", "water", "--model", model, "--epochs", "4",
            "--batch-size", "2", "--channels", "4", "--pair-channels", "2", "--num-layers", "1",
            "--hidden", "16", "--out", str(run), "--quiet", "--dtype", "float64"]
    train_main(args)
    history = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert len(history) == 4 and history[-1]["train_loss"] < history[0]["train_loss"]
    result = evaluate_run(run)
    plain, rotated = result["test"]["fock_rmse_uHa"], result["test_rotated"]["fock_rmse_uHa"]
    if model == "equivariant":  # exact equivariance: rotating the test set changes no invariant error
        assert abs(plain - rotated) < 1e-6 * plain
        eps = result["test"]["eps_occ_mae_meV"], result["test_rotated"]["eps_occ_mae_meV"]
        assert abs(eps[0] - eps[1]) < 1e-6 * eps[0]
    else:  # the peer is not equivariant (barely trained here, so the difference is small but real)
        assert abs(plain - rotated) > 1e-5 * plain
    xyz = tmp_path / "w.xyz"
    xyz.write_text("3\nwater\nO 0 0 0.1\nH 0.96 0.05 0\nH -0.24 0.93 0.02\n")
    predict_main([str(run), str(xyz), "--save", str(tmp_path / "f.npy")])
    assert "5 occupied orbitals" in capsys.readouterr().out
    assert np.load(tmp_path / "f.npy").shape == (7, 7)
    bad = tmp_path / "bad.xyz"
    bad.write_text("3\nx\nO 0 0 0\nCl 1 0 0\nH -0.24 0.93 0.02\n")
    with pytest.raises(ValueError, match=r"unknown atomic number\(s\) \[17\]"):
        predict_main([str(run), str(bad)])


def test_epochs_from_budget(tiny, tmp_path, capsys) -> None:
    """--epochs-from-budget times a few steps and sets --epochs so the schedule fits --cpu-budget."""
    from models.hamiltonian.train import main as train_main

    args = ["--data", str(tiny), "--molecule", "water", "--model", "mlp", "--hidden", "16", "--quiet",
            "--batch-size", "2", "--epochs-from-budget"]
    with pytest.raises(ValueError, match="needs --cpu-budget"):
        train_main([*args, "--out", str(tmp_path / "a")])
    train_main([*args, "--cpu-budget", "0.002", "--out", str(tmp_path / "b")])
    epochs = json.loads((tmp_path / "b" / "run.json").read_text())["settings"]["epochs"]
    assert epochs >= 1 and f"--epochs {epochs}" in capsys.readouterr().err
