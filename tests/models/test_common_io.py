"""Tests of models/common: atomic files, manifests, progress bars and the CLI error wrapper."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from models.common import progress as progress_module
from models.common.cli import format_error, run_cli
from models.common.io import (
    MANIFEST_NAME,
    DataError,
    atomic_path,
    sha256_file,
    verify_manifest,
    write_json_atomic,
    write_manifest,
    write_text_atomic,
)
from models.common.progress import TextBar, progress


# ------------------------------------------------------------------------------------ atomic files
def test_atomic_path_replaces_on_success_with_umask_mode(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.npz"
    old = os.umask(0o027)
    try:
        with atomic_path(target) as tmp:
            assert tmp.parent == target.parent and tmp.name.startswith(".a.npz.") and tmp.suffix == ".npz"
            tmp.write_bytes(b"new")
            assert not target.exists()
    finally:
        os.umask(old)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in target.parent.iterdir()] == ["a.npz"]


def test_atomic_path_keeps_old_file_on_error(tmp_path: Path) -> None:
    target = write_text_atomic(tmp_path / "a.txt", "old")
    with pytest.raises(RuntimeError, match="boom"), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_json_and_text_writers(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    path = write_json_atomic(tmp_path / "x.json", {"b": np.float32(0.5), "a": np.arange(2), "p": tmp_path})
    assert json.loads(path.read_text()) == {"a": [0, 1], "b": 0.5, "p": str(tmp_path)}
    assert path.read_text().endswith("\n")
    with pytest.raises(TypeError, match="object"):
        write_json_atomic(tmp_path / "y.json", {"a": object()})
    assert not (tmp_path / "y.json").exists() and len(list(tmp_path.iterdir())) == 1
    assert sha256_file(write_text_atomic(tmp_path / "t", "")) == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


# ------------------------------------------------------------------------------------ manifests
def _make_data(tmp_path: Path) -> Path:
    write_text_atomic(tmp_path / "a.csv", "1,2\n")
    (tmp_path / "sub").mkdir()
    write_text_atomic(tmp_path / "sub" / "b.txt", "xyz")
    write_manifest(tmp_path, ["a.csv", tmp_path / "sub" / "b.txt"], settings={"n": 3}, seeds={"data": 1},
                   split={"train": [0], "test": [1]}, packages=["numpy"], command=["make", "x-data"])
    return tmp_path


def test_manifest_round_trip(tmp_path: Path) -> None:
    manifest = verify_manifest(_make_data(tmp_path), regenerate="make x-data")
    assert set(manifest["files"]) == {"a.csv", "sub/b.txt"}
    assert manifest["files"]["a.csv"] == {"sha256": sha256_file(tmp_path / "a.csv"), "bytes": 4}
    assert manifest["settings"] == {"n": 3} and manifest["seeds"] == {"data": 1}
    assert manifest["split"] == {"train": [0], "test": [1]} and manifest["command"] == ["make", "x-data"]
    assert manifest["packages"]["numpy"] != "not installed" and "python" in manifest["packages"]
    assert manifest["created_utc"].endswith("+00:00")


def test_manifest_errors_name_the_file_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"manifest.json not found.*regenerate with: make x-data"):
        verify_manifest(tmp_path, regenerate="make x-data")
    _make_data(tmp_path)
    (tmp_path / "sub" / "b.txt").write_text("xyZ")
    with pytest.raises(DataError, match=r"b.txt is corrupt.*regenerate with: make x-data"):
        verify_manifest(tmp_path, regenerate="make x-data")
    (tmp_path / "a.csv").unlink()
    with pytest.raises(DataError, match=r"a.csv is listed .* but missing; regenerate with: make x-data"):
        verify_manifest(tmp_path, regenerate="make x-data")
    (tmp_path / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        verify_manifest(tmp_path, regenerate="make x-data")
    assert issubclass(DataError, ValueError)
    with pytest.raises(FileNotFoundError, match="nope"):
        write_manifest(tmp_path, ["nope"], settings={})


# ------------------------------------------------------------------------------------ progress
def test_progress_disabled_off_a_terminal(monkeypatch, capsys) -> None:
    monkeypatch.delenv("LIE_NN_PROGRESS", raising=False)
    assert list(progress(range(4), desc="x")) == [0, 1, 2, 3]  # pytest's stderr is not a TTY
    with progress(total=3, desc="y") as bar:
        bar.update(3)
        bar.set_postfix(loss=0.1)
    assert capsys.readouterr().err == ""


def test_progress_forced_text_bar(monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # the fallback, whether or not tqdm is installed
    monkeypatch.setenv("LIE_NN_PROGRESS", "1")
    bar = progress(range(20), desc="jets", unit="jet")
    assert isinstance(bar, TextBar) and len(bar) == 20
    assert sum(bar) == 190
    err = capsys.readouterr().err.splitlines()
    assert 2 <= len(err) <= 12 and err[-1].startswith("jets: 20/20 jet [")
    with progress(total=5, desc="manual", disable=False) as bar:
        bar.update(2)
        bar.set_postfix({"loss": 0.25}, acc=1)
    assert capsys.readouterr().err.splitlines()[-1].endswith("loss=0.25, acc=1")


def test_text_bar_redraws_in_place_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    with TextBar(total=3, desc="d", unit="it", enabled=True, file=out) as bar:
        bar.update(3)
    text = out.getvalue()
    assert text.startswith("\r") and "\rd: 3/3 it [" in text and text.count("\n") == 1
    with pytest.raises(TypeError, match="iterable"):
        iter(TextBar(total=1, desc="", unit="it", enabled=False)).__next__()


def test_progress_uses_tqdm_when_installed(monkeypatch) -> None:
    tqdm = pytest.importorskip("tqdm")
    monkeypatch.setenv("LIE_NN_PROGRESS", "0")
    assert isinstance(progress_module.progress(range(2)), tqdm.tqdm)


# ------------------------------------------------------------------------------------ CLI errors
def _exit(main, argv, capsys):
    with pytest.raises(SystemExit) as info:
        run_cli(main, argv)
    return info.value.code, capsys.readouterr().err


@pytest.mark.parametrize("error, code", [
    (DataError("data/x/a.csv is corrupt\n    regenerate with: make x-data"), 1),
    (FileNotFoundError("no run in runs/a"), 1),
    (ValueError("--lr must be positive"), 1),
    (KeyboardInterrupt(), 130),
])
def test_run_cli_prints_one_line(error, code, capsys, monkeypatch) -> None:
    monkeypatch.delenv("LIE_NN_DEBUG", raising=False)

    def main(argv):
        raise error

    status, err = _exit(main, [], capsys)
    assert status == code
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "error: " in lines[0] and "Traceback" not in err
    assert lines[0].endswith(format_error(error))


def test_run_cli_debug_shows_traceback_and_passes_status(capsys, monkeypatch) -> None:
    monkeypatch.delenv("LIE_NN_DEBUG", raising=False)
    seen = []

    def main(argv):
        seen.append(argv)
        if argv == ["bad"]:
            raise ValueError("bad value")
        return 3 if argv else None

    status, err = _exit(main, ["bad", "--debug"], capsys)
    assert status == 1 and "Traceback" in err and err.strip().endswith("error: bad value")
    assert seen[-1] == ["bad"]  # --debug is removed before main sees it
    assert _exit(main, [], capsys)[0] == 0 and _exit(main, ["x"], capsys)[0] == 3
    monkeypatch.setenv("LIE_NN_DEBUG", "1")
    assert "Traceback" in _exit(main, ["bad"], capsys)[1]


def test_run_cli_lets_bugs_through(capsys) -> None:
    def main(argv):
        raise KeyError("a bug, not a user error")

    with pytest.raises(KeyError):
        run_cli(main, [])


def test_import_errors_name_the_package() -> None:
    err = ModuleNotFoundError("No module named 'fastjet'", name="fastjet")
    assert format_error(err) == "No module named 'fastjet' (install the optional package 'fastjet')"
