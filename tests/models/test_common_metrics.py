"""Tests of models/common metrics, plotting and the CPU allocator helper."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from models.common import metrics
from models.common.io import read_history, write_json_atomic, write_text_atomic
from models.common.memory import keep_freed_memory


def test_regression_errors() -> None:
    pred, target = np.array([1.0, -1.0, 3.0]), np.array([0.0, 1.0, 3.0])
    assert metrics.mae(pred, target) == pytest.approx(1.0)
    assert metrics.rmse(pred, target) == pytest.approx(np.sqrt(5 / 3))
    assert metrics.rmse(pred, pred) == 0.0
    with pytest.raises(ValueError, match="one shape"):
        metrics.mae(pred, target[:2])
    with pytest.raises(ValueError, match="NaN"):
        metrics.rmse(np.array([np.nan]), np.array([0.0]))
    with pytest.raises(ValueError, match="non-empty"):
        metrics.mae(np.array([]), np.array([]))


def test_auc_equals_mann_whitney() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 200)
    scores = np.round(rng.random(200) + 0.5 * labels, 1)
    sig, bkg = scores[labels == 1], scores[labels == 0]
    u = ((sig[:, None] > bkg) + 0.5 * (sig[:, None] == bkg)).mean()
    assert metrics.auc(labels, scores) == pytest.approx(u, abs=1e-12)
    assert 0 < metrics.auc_standard_error(labels, scores) < 0.1


def test_read_history_formats(tmp_path: Path) -> None:
    write_text_atomic(tmp_path / "a" / "history.jsonl", '{"epoch": 1, "loss": 0.5}\n\n{"epoch": 2}\n')
    assert read_history(tmp_path / "a") == [{"epoch": 1, "loss": 0.5}, {"epoch": 2}]
    write_json_atomic(tmp_path / "b" / "history.json", [{"epoch": 1}])
    assert read_history(tmp_path / "b") == [{"epoch": 1}]
    with pytest.raises(FileNotFoundError, match="history.jsonl"):
        read_history(tmp_path)


def test_learning_curve_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from models.common.plotting import plot_learning_curves

    histories = {"a": [{"epoch": 1, "train_loss": 1.0, "val_auc": 0.7}, {"epoch": 2, "train_loss": 0.5}]}
    out = plot_learning_curves(histories, ["train_loss", "val_auc"], tmp_path / "curves.png",
                               log_keys=["train_loss"])
    assert out.stat().st_size > 1000 and not list(tmp_path.glob(".*"))
    with pytest.raises(ValueError, match="no keys"):
        plot_learning_curves(histories, [], tmp_path / "x.png")


def test_keep_freed_memory_reports_whether_applied() -> None:
    applied = keep_freed_memory()
    assert isinstance(applied, bool)
    if sys.platform.startswith("linux") and "glibc" in " ".join(__import__("platform").libc_ver()):
        assert applied
