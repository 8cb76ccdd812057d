"""MACE potential data generation, manifest checks, training, exact resume and torchrun, on tiny data.

Labels come from ASE's EMT toy potential (fast, no extra package) through the same generator as the
xTB benchmark; one test runs a few real GFN2-xTB calls when ``tblite`` is installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("ase")
pytest.importorskip("rdkit")
pytest.importorskip("vesin")

from torchrun_helper import torchrun  # noqa: E402

from models.common.io import DataError  # noqa: E402
from models.common.training import RunOptions, TrainSettings  # noqa: E402
from models.mace_potential.calculator import load_model  # noqa: E402
from models.mace_potential.data import SETS, MDSettings, generate, load_set  # noqa: E402
from models.mace_potential.model import MACEConfig  # noqa: E402
from models.mace_potential.train import ELEMENTS, train  # noqa: E402

TINY_MD = MDSettings(timestep_fs=0.5, equilibration_steps=4, sample_every=2)
ETHANOL = tuple(s for s in SETS if s.molecule == "ethanol")
CONFIG = MACEConfig(elements=ELEMENTS, r_max=4.0, channels=4, max_ell=2, correlation=2, radial_hidden=(8,))
ROOT = Path(__file__).resolve().parents[2]


def emt():
    from ase.calculators.emt import EMT

    return EMT()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mace_data")
    return generate(out, sets=ETHANOL, md=TINY_MD, scale=0.012, calculator_factory=emt, command=["test"])


def test_generated_sets(data_dir: Path) -> None:
    train_frames = load_set(data_dir, "ethanol_train")
    test_frames = load_set(data_dir, "ethanol_test")
    assert len(train_frames) == 12 and len(test_frames) == 4
    for atoms in train_frames:
        assert atoms.get_chemical_formula() == "C2H6O"
        assert np.isfinite(atoms.info["REF_energy"]) and atoms.arrays["REF_forces"].shape == (9, 3)
    # independent trajectories: different start conformers / thermostat noise
    assert not np.allclose(train_frames[0].positions, test_frames[0].positions)


def test_generation_is_reproducible_and_resumes(data_dir: Path, tmp_path: Path) -> None:
    again = generate(tmp_path, sets=ETHANOL[1:], md=TINY_MD, scale=0.012, calculator_factory=emt)
    assert (again / "ethanol_test.xyz").read_bytes() == (data_dir / "ethanol_test.xyz").read_bytes()
    chunk = tmp_path / "chunks" / "ethanol_test_000.xyz"
    stamp = chunk.stat().st_mtime_ns
    generate(tmp_path, sets=ETHANOL[1:], md=TINY_MD, scale=0.012, calculator_factory=emt)
    assert chunk.stat().st_mtime_ns == stamp  # finished chunks are not recomputed


def test_missing_and_corrupt_data(data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="make mace-data"):
        load_set(tmp_path, "ethanol_train")
    with pytest.raises(DataError, match="no set 'aspirin_train'"):
        load_set(data_dir, "aspirin_train")
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("manifest.json", "ethanol_train.xyz", "ethanol_test.xyz"):
        (broken / name).write_bytes((data_dir / name).read_bytes())
    with open(broken / "ethanol_test.xyz", "a") as f:
        f.write("\n")
    with pytest.raises(DataError, match="corrupt"):
        load_set(broken, "ethanol_train")


def test_xtb_labels_match_a_fresh_call(tmp_path: Path) -> None:
    pytest.importorskip("tblite")
    from tblite.ase import TBLite

    spec = ETHANOL[:1]
    generate(tmp_path, sets=spec, md=MDSettings(equilibration_steps=2, sample_every=1), scale=0.002)
    frames = load_set(tmp_path, "ethanol_train")
    assert len(frames) == 2
    atoms = frames[-1].copy()
    atoms.calc = TBLite(method="GFN2-xTB", verbosity=0)
    assert abs(atoms.get_potential_energy() - frames[-1].info["REF_energy"]) < 1e-5
    np.testing.assert_allclose(atoms.get_forces(), frames[-1].arrays["REF_forces"], atol=2e-3)


def run(data: Path, out: Path, *, epochs: int = 2, stop_after: int | None = None, resume: bool = False,
        lr: float = 0.005, amsgrad: bool = False) -> dict:
    settings = TrainSettings(epochs=epochs, batch_size=3, lr=lr, ema=0.9, seed=0, dtype="float64",
                             schedule="cosine")
    options = RunOptions(out=out, resume=resume, stop_after=stop_after, quiet=True)
    return train(data, "ethanol_train", CONFIG, settings, options, valid_fraction=0.25, amsgrad=amsgrad)


def weights(path: Path) -> dict:
    return torch.load(path, weights_only=True)["model"]


def test_training_learns_and_resumes_exactly(data_dir: Path, tmp_path: Path) -> None:
    full = run(data_dir, tmp_path / "full", epochs=3)
    assert full["status"] == "finished" and len(full["history"]) == 3
    history = full["history"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert (tmp_path / "full" / "model.pt").is_file()
    model = load_model(tmp_path / "full" / "model.pt")
    assert model.config.avg_num_neighbors > 1.0
    first = run(data_dir, tmp_path / "split", epochs=3, stop_after=1)
    assert first["status"] == "stopped"
    resumed = run(data_dir, tmp_path / "split", epochs=3, resume=True)
    assert resumed["status"] == "finished"
    a, b = weights(tmp_path / "full" / "checkpoint.pt"), weights(tmp_path / "split" / "checkpoint.pt")
    for key in a:
        assert torch.equal(a[key], b[key]), key
    with pytest.raises(ValueError, match="other settings"):
        run(data_dir, tmp_path / "split", epochs=3, resume=True, lr=0.01)


def test_amsgrad_is_used_and_recorded(data_dir: Path, tmp_path: Path) -> None:
    run(data_dir, tmp_path / "ams", epochs=1, amsgrad=True)
    state = torch.load(tmp_path / "ams" / "checkpoint.pt", weights_only=True)["optimizer"]
    assert all(group["amsgrad"] for group in state["param_groups"])
    assert all("max_exp_avg_sq" in s for s in state["state"].values()) and state["state"]
    with pytest.raises(ValueError, match="other settings"):  # the optimiser variant is part of the run
        run(data_dir, tmp_path / "ams", epochs=1, resume=True, amsgrad=False)


def test_cli_errors(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "models.mace_potential.train", "--data", str(tmp_path / "nothing"),
           "--out", str(tmp_path / "run")]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0] and "make mace-data" in lines[0]


@pytest.mark.slow
def test_torchrun_two_processes(data_dir: Path, tmp_path: Path) -> None:
    """2 gloo processes on CPU give the weights of one process (same global batch, float64)."""
    single = run(data_dir, tmp_path / "one", epochs=1)
    assert single["status"] == "finished"
    cmd = ["-m", "models.mace_potential.train", "--data", str(data_dir), "--train-set", "ethanol_train",
           "--out", str(tmp_path / "two"), "--epochs", "1", "--batch-size", "3", "--lr", "0.005",
           "--ema", "0.9", "--clip", "0", "--dtype", "float64", "--schedule", "cosine",
           "--valid-fraction", "0.25", "--channels", "4", "--max-ell", "2", "--correlation", "2",
           "--r-max", "4.0", "--radial-hidden", "8", "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    torchrun(cmd, out=tmp_path / "two", cwd=ROOT, env=env, timeout=300)
    a, b = weights(tmp_path / "one" / "checkpoint.pt"), weights(tmp_path / "two" / "checkpoint.pt")
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-9, atol=1e-11)


def test_cpu_budget_stops_a_busy_process(tmp_path: Path) -> None:
    from models.mace_potential.budget import run_with_cpu_budget

    script = "import time\nprint('Started training', flush=True)\nwhile True:\n    pass\n"
    result = run_with_cpu_budget([sys.executable, "-c", script], tmp_path / "busy.log", 0.5)
    assert result["stopped_by_budget"] and result["cpu_seconds_training"] >= 0.5
    assert result["peak_rss_MiB"] is not None
    quick = [sys.executable, "-c", "print('Started training')"]
    done = run_with_cpu_budget(quick, tmp_path / "quick.log", 5.0)
    assert not done["stopped_by_budget"] and done["returncode"] == 0


def test_peer_gets_our_split(data_dir: Path, tmp_path: Path) -> None:
    import argparse

    import ase.io

    from models.mace_potential.dataset import split_train_valid
    from models.mace_potential.peer import mace_command, write_split

    assert write_split(data_dir, "ethanol_train", tmp_path, 0.25, 0) == (9, 3)
    frames = load_set(data_dir, "ethanol_train")
    train_idx, valid_idx = split_train_valid(len(frames), 0.25, 0)
    written = ase.io.read(tmp_path / "valid.xyz", ":")
    for k, atoms in zip(valid_idx, written, strict=True):
        np.testing.assert_allclose(atoms.positions, frames[k].positions)
    args = argparse.Namespace(channels=16, hidden_ell=1, max_ell=3, correlation=3, r_max=5.0, batch_size=5,
                              lr=0.01, dtype="float32", seed=0)
    cmd = mace_command(Path("bin"), tmp_path, args, 7)
    assert cmd[cmd.index("--hidden_irreps") + 1] == "16x0e+16x1o"
    assert cmd[cmd.index("--max_num_epochs") + 1] == "7"


def test_report_reads_mace_torch_logs(tmp_path: Path) -> None:
    from models.mace_potential.report import peer_history

    log = tmp_path / "train.log"
    log.write_text(
        "2026-12-01 21:18:22.837 INFO: Started training, reporting errors on validation set\n"
        "2026-12-01 21:18:25.678 INFO: Epoch 0: head: Default, loss=1.0, MAE_E_per_atom=    7.84 meV, "
        "MAE_F=  807.02 meV / A\n")
    rows = peer_history(log)
    assert rows == [{"epoch": 1, "seconds": 2.841, "val_e_mae_mev_atom": 7.84, "val_f_mae_mev_A": 807.02}]
