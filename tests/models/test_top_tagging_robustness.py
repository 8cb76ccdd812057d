"""What a new user hit with the top tagger (issue 16, item 5): one-line CLI errors, a working
"regenerate with" hint, refused bad flags, named bad checkpoints, NaN padding and unphysical input."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_top_tagging_model import fake_jets, small_lorentz, write_fake_dataset  # noqa: E402
from torchrun_helper import torchrun  # noqa: E402

from models.common.cli import run_cli  # noqa: E402
from models.common.io import write_json_atomic  # noqa: E402
from models.top_tagging import data as tt_data  # noqa: E402
from models.top_tagging import evaluate as tt_evaluate  # noqa: E402
from models.top_tagging import train as tt_train  # noqa: E402
from models.top_tagging.baseline import DeepSetsConfig, DeepSetsTagger  # noqa: E402
from models.top_tagging.dataset import MANIFEST_NAME, NPZ_NAME  # noqa: E402
from models.top_tagging.model import LorentzTagger, LorentzTaggerConfig  # noqa: E402


def cli(main, argv, capsys) -> tuple[int, str]:
    """Run a CLI as ``python -m`` does (through run_cli); its exit status and stderr."""
    with pytest.raises(SystemExit) as exit_info:
        run_cli(main, [str(a) for a in argv])
    return exit_info.value.code, capsys.readouterr().err


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


DS = ["--model", "deepsets", "--hidden", "8", "--epochs", "1", "--batch-size", "16", "--n-constituents",
      "12", "--quiet"]


# ------------------------------------------------------------------------------------ CLI errors
def test_missing_data_is_one_line_with_the_command(tmp_path: Path, capsys) -> None:
    code, err = cli(tt_train.main, [*DS, "--data", tmp_path / "none", "--out", tmp_path / "run"], capsys)
    line = one_line(err)
    assert code == 1 and "error: no top-tagging data set in" in line
    assert f"python -m models.top_tagging.data generate --out {tmp_path / 'none'}" in line
    code, err = cli(tt_evaluate.main, [tmp_path / "norun", "--data", tmp_path], capsys)
    assert code == 1 and "config.json not found" in one_line(err)
    code, err = cli(tt_data.main, ["info", "--data", tmp_path / "none"], capsys)
    assert code == 1 and "no top-tagging data set" in one_line(err)


def test_regenerate_hint_is_a_valid_command(tmp_path: Path, capsys) -> None:
    data = write_fake_dataset(tmp_path / "d", n_per_split=8, n=6)
    manifest = json.loads((data / MANIFEST_NAME).read_text())
    manifest.update(n_jets=24, seed=7, chunk_jets=4, config={"mpi": False},
                    command="python -m models.top_tagging.data generate --out elsewhere --n-jets 24 --seed 7")
    write_json_atomic(data / MANIFEST_NAME, manifest)
    raw = bytearray((data / NPZ_NAME).read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (data / NPZ_NAME).write_bytes(bytes(raw))
    code, err = cli(tt_data.main, ["info", "--data", data], capsys)
    line = one_line(err)
    assert code == 1 and "is corrupt" in line
    command = line.split("regenerate with ")[1]
    prefix = "python -m models.top_tagging.data "
    assert command.startswith(prefix)
    args = tt_data.build_parser().parse_args(shlex.split(command[len(prefix):]))
    assert args.cmd == "generate" and args.out == data and args.force
    assert (args.n_jets, args.seed, args.chunk_jets, args.no_mpi) == (24, 7, 4, True)


@pytest.mark.parametrize("flag, value, message", [
    ("--max-train", "0", "--max-train: must be >= 1"),
    ("--max-val", "-3", "--max-val: must be >= 1"),
    ("--n-constituents", "500", "at most 200 constituents"),
    ("--epochs", "0", "--epochs: must be >= 1"),
    ("--lr", "nan", "--lr: must be a positive number"),
])
def test_bad_flags_are_refused(tmp_path: Path, capsys, flag: str, value: str, message: str) -> None:
    code, err = cli(tt_train.main, [*DS, "--data", tmp_path, "--out", tmp_path / "r", flag, value], capsys)
    assert code == 2 and message in err.splitlines()[-1] and "Traceback" not in err


def test_bad_checkpoints_are_named(tmp_path: Path, capsys) -> None:
    data = write_fake_dataset(tmp_path / "d", n_per_split=16, n=12)
    run = tmp_path / "run"
    argv = [*DS, "--data", data, "--out", run, "--epochs", "2", "--stop-after", "1"]
    assert cli(tt_train.main, argv, capsys)[0] == 0
    checkpoint = run / "checkpoint.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:200])
    code, err = cli(tt_train.main, [*argv, "--resume"], capsys)
    assert code == 1 and f"cannot read checkpoint {checkpoint}" in one_line(err)
    torch.save({"model": {}, "optimizer": {}, "scheduler": {}, "epoch": 0, "best_val_auc": 0.5}, checkpoint)
    code, err = cli(tt_train.main, [*argv, "--resume"], capsys)
    assert code == 1 and "older version" in one_line(err) and "--force" in err
    assert cli(tt_train.main, [*argv, "--force"], capsys)[0] == 0
    best = run / "best.pt"
    best.write_bytes(best.read_bytes()[:100])
    code, err = cli(tt_evaluate.main, [run, "--data", data, "--quiet"], capsys)
    assert code == 1 and f"cannot read checkpoint {best}" in one_line(err)


# ------------------------------------------------------------------------------------ model inputs
def models():
    torch.manual_seed(0)
    deepsets = DeepSetsTagger(DeepSetsConfig(hidden=8, latent=8), dtype=torch.float64).eval()
    return [small_lorentz(), small_lorentz(k=None), deepsets]


@pytest.mark.parametrize("model", models(), ids=["lorentz", "lorentz_full", "deepsets"])
@pytest.mark.parametrize("junk", [float("nan"), float("inf"), -1e30])
def test_garbage_in_padded_slots_never_reaches_the_output(model, junk: float) -> None:
    x = fake_jets(3, 10, seed=4)
    p, mask = torch.tensor(x["p"]), torch.tensor(x["mask"])
    assert not mask.all()
    with torch.no_grad():
        clean = model(p, mask)
        dirty = model(torch.where(mask[..., None], p, junk), mask)
    assert torch.isfinite(dirty).all()
    torch.testing.assert_close(dirty, clean, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("model", models(), ids=["lorentz", "lorentz_full", "deepsets"])
def test_unphysical_constituents_are_rejected(model) -> None:
    x = fake_jets(2, 8, seed=5)
    p, mask = torch.tensor(x["p"]), torch.tensor(x["mask"])
    name = type(model).__name__
    for value, message in ((float("nan"), "not finite"), (float("inf"), "not finite"),
                           (-3.0, "unphysical"), (0.5, "unphysical")):
        bad = p.clone()
        bad[1, 2, 0] = value if value != 0.5 else 0.5 * p[1, 2, 0]  # |p| > E by a factor 2
        with pytest.raises(ValueError, match=rf"{name}: constituent 2 of jet 1 is {message}"):
            model(bad, mask)
    # float32 rounding of a massless constituent (|p| a few ulp above E) is accepted
    model(p.float().double(), mask)
    with pytest.raises(ValueError, match="real 4-momenta"):
        model(p.to(torch.complex128), mask)


def test_lorentz_tagger_needs_a_massive_jet() -> None:
    x = fake_jets(2, 8, seed=5)
    p, mask = torch.tensor(x["p"]), torch.tensor(x["mask"])
    one = torch.zeros_like(mask)
    one[:, 0] = True  # a single massless constituent per jet: no rest frame
    with pytest.raises(ValueError, match="jet 0 has no rest frame"):
        small_lorentz()(p, one)


def test_float32_lorentz_tagger_on_padded_nan_batch() -> None:
    x = fake_jets(4, 12, seed=6)
    p = np.where(x["mask"][..., None], x["p"], np.nan).astype(np.float32)
    model = LorentzTagger(LorentzTaggerConfig(channels=4, layers=1))
    out = model(torch.tensor(p), torch.tensor(x["mask"]))
    assert torch.isfinite(out).all()
    out.sum().backward()  # gradients stay finite too (torch.where, not multiplication by the mask)
    assert all(torch.isfinite(t.grad).all() for t in model.parameters() if t.grad is not None)


# ------------------------------------------------------------------------------------ DDP
@pytest.mark.slow
def test_lorentz_tagger_trains_under_torchrun(tmp_path: Path) -> None:
    """2 gloo processes train the Lorentz tagger to the weights of one process (same global batch)."""
    import os
    import subprocess

    root = Path(__file__).resolve().parents[2]
    data = write_fake_dataset(tmp_path / "d", n_per_split=24, n=10)
    flags = ["--model", "lorentz", "--channels", "4", "--layers", "1", "--n-constituents", "10",
             "--epochs", "2", "--batch-size", "10", "--dtype", "float64", "--data", str(data), "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(root)}
    single = subprocess.run([sys.executable, "-m", "models.top_tagging.train", *flags, "--out",
                             str(tmp_path / "one")],
                            cwd=root, env=env, timeout=600, capture_output=True, text=True)
    assert single.returncode == 0, single.stderr[-6000:]
    torchrun(["-m", "models.top_tagging.train", *flags, "--out", str(tmp_path / "two")], out=tmp_path / "two",
             cwd=root, env=env)
    one = torch.load(tmp_path / "one" / "checkpoint.pt", weights_only=True)
    two = torch.load(tmp_path / "two" / "checkpoint.pt", weights_only=True)
    assert (one["world"], two["world"]) == (1, 2)
    for key, value in one["model"].items():
        torch.testing.assert_close(two["model"][key], value, rtol=1e-8, atol=1e-10)
    a = json.loads((tmp_path / "one" / "test_metrics.json").read_text())
    b = json.loads((tmp_path / "two" / "test_metrics.json").read_text())
    assert a["auc"] == pytest.approx(b["auc"], abs=1e-9)
