"""Tests of models/common training: schedule, checkpoints, exact resume, refusals, DDP equivalence."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from models.common.args import add_training_arguments, options_from_args, settings_from_args
from models.common.batching import SampleList, TensorData, epoch_batches
from models.common.checkpoint import CheckpointError, load_checkpoint, save_state, settings_differences
from models.common.schedule import LRSchedule
from models.common.training import RunOptions, Trainer, TrainSettings, prepare, read_history

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("ddp_tiny_train.py")

sys.path.insert(0, str(WORKER.parent))
from ddp_tiny_train import loss_fn, tiny_data  # noqa: E402

SETTINGS = TrainSettings(epochs=3, batch_size=4, lr=1e-2, dtype="float64", clip=1.0, seed=3)


def make_model(dropout: float = 0.3) -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 8, dtype=torch.float64), torch.nn.Tanh(),
                               torch.nn.Dropout(dropout), torch.nn.Linear(8, 1, dtype=torch.float64))


def fit(out: Path, settings: TrainSettings = SETTINGS, model: torch.nn.Module | None = None,
        **options) -> tuple[dict, torch.nn.Module]:
    model = model or make_model()
    opts = RunOptions(out=out, quiet=True, **options)
    trainer = Trainer(model, loss_fn, tiny_data(13, 1, torch.float64), settings, opts,
                      val_data=tiny_data(5, 2, torch.float64), identity={"model": "mlp"})
    return trainer.fit(), model


def assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


# ------------------------------------------------------------------------------------ pieces
def test_epoch_batches_are_seeded_and_cover_the_data() -> None:
    a, b = epoch_batches(10, 3, 5, 1), epoch_batches(10, 3, 5, 1)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert sorted(torch.cat(a).tolist()) == list(range(10)) and [len(x) for x in a] == [3, 3, 3, 1]
    assert not torch.equal(torch.cat(a), torch.cat(epoch_batches(10, 3, 5, 2)))
    assert [len(x) for x in epoch_batches(10, 3, 5, 1, world=2)] == [3, 3, 4]
    with pytest.raises(ValueError, match="2 processes"):
        epoch_batches(1, 3, 0, 0, world=2)
    assert SampleList(["a", "b"], "".join).batch(torch.tensor([1, 0])) == "ba"
    with pytest.raises(ValueError, match="equal length"):
        TensorData({"x": torch.zeros(2), "y": torch.zeros(3)})


def test_schedule_warmup_cosine_and_plateau() -> None:
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=2.0)
    sched = LRSchedule(opt, 10, warmup=0.2, kind="cosine", min_lr=0.1)
    lrs = [sched.lr]
    for _ in range(10):
        sched.step()
        lrs.append(sched.lr)
    assert lrs[:3] == [1.0, 2.0, 2.0] and lrs[-1] == pytest.approx(0.2)
    assert all(x >= y for x, y in zip(lrs[1:], lrs[2:], strict=False))
    plateau = LRSchedule(torch.optim.SGD([p], lr=1.0), 10, warmup=0.0, kind="plateau", patience=1,
                         min_lr=0.3)
    for metric in (1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1):
        plateau.epoch_end(metric)
    assert plateau.lr == pytest.approx(0.3)  # halved twice (0.25) but floored at min_lr
    state = plateau.state_dict()
    again = LRSchedule(torch.optim.SGD([p], lr=1.0), 10, warmup=0.0, kind="plateau")
    again.load_state_dict(state)
    assert again.lr == plateau.lr
    with pytest.raises(ValueError, match="schedule"):
        LRSchedule(opt, 10, kind="step")


def test_settings_validation_and_cli_flags() -> None:
    with pytest.raises(ValueError, match="epochs"):
        TrainSettings(epochs=0)
    with pytest.raises(ValueError, match="dtype"):
        TrainSettings(dtype="float16")
    parser = add_training_arguments(argparse.ArgumentParser(), TrainSettings(epochs=7, monitor="val_auc"))
    args = parser.parse_args(["--out", "r", "--lr", "0.5", "--dtype", "float64", "--time-budget", "2",
                              "--cpu-budget", "3", "--resume", "--force"])
    settings = settings_from_args(args, TrainSettings(monitor="val_auc", mode="max"))
    assert (settings.epochs, settings.lr, settings.dtype, settings.monitor) == (7, 0.5, "float64", "val_auc")
    options = options_from_args(args)
    assert options.resume and options.force and options.time_budget == 2.0 and options.out == Path("r")
    assert options.cpu_budget == 3.0
    with pytest.raises(SystemExit):
        parser.parse_args(["--out", "r", "--epochs", "0"])


def test_settings_differences_treat_tuples_as_lists() -> None:
    assert settings_differences({"a": (1, 2)}, {"a": [1, 2]}) == []
    assert settings_differences({"a": {"b": 1}}, {"a": {"b": 2}}) == ["a.b: 1 -> 2"]


# ------------------------------------------------------------------------------------ the trainer
def test_training_writes_the_run_directory(tmp_path: Path) -> None:
    result, model = fit(tmp_path / "run")
    assert result["status"] == "finished" and result["epochs"] == 3
    history = read_history(tmp_path / "run")
    assert [h["epoch"] for h in history] == [1, 2, 3] and history == result["history"]
    assert {"train_loss", "train_mae", "val_loss", "val_mae", "lr", "train_seconds"} <= set(history[0])
    best = min(history, key=lambda h: h["val_loss"])
    assert result["best"] == {"value": best["val_loss"], "epoch": best["epoch"]}
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert state["epoch"] == 3 and state["settings"]["lr"] == 1e-2 and state["identity"] == {"model": "mlp"}
    assert_same_state(state["model"], model.state_dict())
    best_weights = torch.load(tmp_path / "run" / "best.pt", weights_only=True)
    assert best_weights.keys() == model.state_dict().keys()
    assert json.loads((tmp_path / "run" / "run.json").read_text())["settings"]["seed"] == 3
    assert not [p for p in (tmp_path / "run").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_resume_is_bit_exact(tmp_path: Path, ema: float) -> None:
    settings = replace(SETTINGS, ema=ema)
    full, model = fit(tmp_path / "full", settings)
    part, _ = fit(tmp_path / "part", settings, stop_after=1)
    assert part["status"] == "stopped" and part["epochs"] == 1
    # a mid-epoch stop: the time budget is used up after the first batch of epoch 2
    mid, _ = fit(tmp_path / "part", settings, make_model(), resume=True, time_budget=1e-9)
    assert mid["status"] == "stopped" and load_checkpoint(tmp_path / "part" / "checkpoint.pt")["batch"] == 1
    done, resumed = fit(tmp_path / "part", settings, make_model(), resume=True)
    assert done["status"] == "finished"
    assert_same_state(resumed.state_dict(), model.state_dict())
    assert [h["val_loss"] for h in done["history"]] == [h["val_loss"] for h in full["history"]]
    a = load_checkpoint(tmp_path / "full" / "checkpoint.pt")
    b = load_checkpoint(tmp_path / "part" / "checkpoint.pt")
    assert_same_state(a["optimizer"]["state"][0], b["optimizer"]["state"][0])
    if ema:
        assert_same_state(a["ema"], b["ema"])

        best = torch.load(tmp_path / "part" / "best.pt", weights_only=True)
        assert best.keys() == model.state_dict().keys()  # EMA weights, loadable into the model


def test_ema_warms_up_like_the_recurrence(tmp_path: Path) -> None:
    """After n updates: ema_n = d_n ema_{n-1} + (1 - d_n) w_n with d_n = min(decay, (1+n)/(10+n))."""
    from torch.optim.swa_utils import AveragedModel

    from models.common.training import warm_ema
    model = torch.nn.Linear(2, 1, dtype=torch.float64)
    model.register_buffer("count", torch.zeros((), dtype=torch.long))
    avg = AveragedModel(model, multi_avg_fn=warm_ema(0.9), use_buffers=True)
    expected = None
    for n in range(30):
        with torch.no_grad():
            model.weight.add_(torch.randn_like(model.weight))
        model.count += 1
        avg.update_parameters(model)
        assert avg.module.count == n + 1  # integer buffers follow the model
        w = model.weight.detach().clone()
        d = min(0.9, (1 + n) / (10 + n))
        expected = w if n == 0 else d * expected + (1 - d) * w
        torch.testing.assert_close(avg.module.weight, expected, rtol=1e-12, atol=1e-12)


def test_cpu_budget_stops_mid_epoch_and_resumes_exactly(tmp_path: Path) -> None:
    full, model = fit(tmp_path / "full")
    mid, _ = fit(tmp_path / "part", cpu_budget=1e-9)
    assert mid["status"] == "stopped" and load_checkpoint(tmp_path / "part" / "checkpoint.pt")["batch"] == 1
    done, resumed = fit(tmp_path / "part", model=make_model(), resume=True)
    assert done["status"] == "finished"
    assert_same_state(resumed.state_dict(), model.state_dict())


def test_resume_refuses_changed_settings_unless_forced(tmp_path: Path) -> None:
    fit(tmp_path / "run", stop_after=1)
    with pytest.raises(FileExistsError, match="--resume"):
        fit(tmp_path / "run")
    with pytest.raises(ValueError, match=r"lr: 0.01 -> 0.02.*--force"):
        fit(tmp_path / "run", replace(SETTINGS, lr=2e-2), resume=True)
    result, _ = fit(tmp_path / "run", replace(SETTINGS, lr=2e-2), resume=True, force=True)
    assert result["status"] == "finished" and len(result["history"]) == 3
    result, _ = fit(tmp_path / "run", force=True, stop_after=1)  # --force without --resume: afresh
    assert len(read_history(tmp_path / "run")) == 1


def test_bad_checkpoints_are_named(tmp_path: Path) -> None:
    fit(tmp_path / "run", stop_after=1)
    path = tmp_path / "run" / "checkpoint.pt"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"cannot read checkpoint .*checkpoint.pt"):
        fit(tmp_path / "run", resume=True)
    save_state(path, {"model": {}, "epoch": 1})  # the tagger's old format
    with pytest.raises(CheckpointError, match="not a models.common.checkpoint/1 checkpoint.*--force"):
        fit(tmp_path / "run", resume=True)
    with pytest.raises(FileNotFoundError, match="nothing.pt"):
        load_checkpoint(tmp_path / "nothing.pt")


def test_model_dtype_must_match(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"torch.float64.*--dtype is float32"):
        fit(tmp_path / "run", replace(SETTINGS, dtype="float32"))


def test_monitor_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="monitor 'val_auc'"):
        fit(tmp_path / "run", replace(SETTINGS, monitor="val_auc"))


def test_prepare_seeds_and_threads() -> None:
    threads = torch.get_num_threads()
    try:
        ctx = prepare(SETTINGS, RunOptions(out=Path("x"), threads=1))
        a = torch.rand(3)
        prepare(SETTINGS, RunOptions(out=Path("x"), threads=1))
        assert torch.equal(a, torch.rand(3)) and ctx.world == 1 and ctx.is_main
    finally:
        torch.set_num_threads(threads)


def test_local_loss_scaling_gives_the_global_mean_gradient() -> None:
    """What DDP averages: rank r's mean loss times n_r W / n, for uneven slices of a global batch."""
    model = make_model(0.0)
    data = tiny_data(5, 1, torch.float64)
    idx = torch.arange(5)
    grads = []
    for r in range(2):
        model.zero_grad()
        local = idx[r::2]
        (loss_fn(model, data.batch(local))[0] * (len(local) * 2 / 5)).backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    model.zero_grad()
    loss_fn(model, data.batch(idx))[0].backward()
    for p, g0, g1 in zip(model.parameters(), *grads, strict=True):
        torch.testing.assert_close((g0 + g1) / 2, p.grad, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------------------------ DDP
@pytest.mark.slow
def test_two_process_ddp_equals_single_process(tmp_path: Path) -> None:
    """torchrun with 2 gloo processes on CPU trains the same weights as one process (float64), also when
    stopped in the middle of an epoch and resumed."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    flags = ["--epochs", "2", "--batch-size", "8", "--n-train", "21", "--quiet", "--force"]
    subprocess.run([sys.executable, str(WORKER), "--out", str(tmp_path / "one"), *flags], check=True,
                   env=env, cwd=ROOT, timeout=300)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                str(WORKER), "--out", str(tmp_path / "two"), *flags]
    # interrupted by the time budget after the first batch, then resumed: still the same result
    subprocess.run([*torchrun, "--time-budget", "1e-9"], check=True, env=env, cwd=ROOT, timeout=300)
    assert load_checkpoint(tmp_path / "two" / "checkpoint.pt")["batch"] == 1
    subprocess.run([*torchrun, "--resume"], check=True, env=env, cwd=ROOT, timeout=300)
    one = load_checkpoint(tmp_path / "one" / "checkpoint.pt")
    two = load_checkpoint(tmp_path / "two" / "checkpoint.pt")
    assert two["world"] == 2 and one["world"] == 1
    for key, value in one["model"].items():
        torch.testing.assert_close(two["model"][key], value, rtol=1e-9, atol=1e-10)
    for a, b in zip(one["history"], two["history"], strict=True):
        for key in ("train_loss", "train_mae", "val_loss", "val_mae"):
            assert a[key] == pytest.approx(b[key], rel=1e-9)
