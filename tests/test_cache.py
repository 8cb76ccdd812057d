"""Tests of the memory + disk cache (lie_nn._src.cache)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lie_nn
from lie_nn._src import cache
from lie_nn._src.cache import CacheWarning, cache_dir, cache_info, cached, canonical_repr, clear_cache

CALLS: list[tuple] = []
PICKLE_SIDE_EFFECTS: list[str] = []


@cached("test_square")
def square(n: int) -> np.ndarray:
    CALLS.append(("square", n))
    return np.arange(n, dtype=float) ** 2


@cached("test_pair")
def pair(n: int) -> tuple[np.ndarray, np.ndarray]:
    CALLS.append(("pair", n))
    return np.ones((n, 2), dtype=np.complex128) * 1j, np.arange(n)


@pytest.fixture
def disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("LIE_NN_CACHE_DIR", str(root))
    monkeypatch.delenv("LIE_NN_DISK_CACHE", raising=False)
    clear_cache(memory=True)
    CALLS.clear()
    yield root
    clear_cache(memory=True)


def entries(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def only_entry(root: Path) -> Path:
    files = entries(root)
    assert len(files) == 1, files
    return files[0]


# ------------------------------------------------------------------------------------ round trip
def test_round_trip_through_disk(disk: Path) -> None:
    first = square(5)
    path = only_entry(disk)
    assert path.suffix == ".npz" and len(path.stem) == 64
    assert path.parent.name == "test_square" and path.parent.parent.name == f"v{lie_nn.CONVENTIONS_VERSION}"
    clear_cache(memory=True)
    second = square(5)
    np.testing.assert_array_equal(first, second)
    assert CALLS == [("square", 5)]
    info = cache_info()
    assert (info.disk_hits, info.misses, info.disk_dir) == (1, 0, disk)


def test_memory_hits_and_tuple_results(disk: Path) -> None:
    a, b = pair(3)
    clear_cache(memory=True)
    c, d = pair(3)
    e, f = pair(3)
    assert CALLS == [("pair", 3)]
    for x, y in ((a, c), (b, d), (a, e), (b, f)):
        np.testing.assert_array_equal(x, y)
        assert x.dtype == y.dtype
    assert cache_info().memory_hits == 1


def test_returned_arrays_are_fresh_copies(disk: Path) -> None:
    x = square(4)
    x[:] = -1
    np.testing.assert_array_equal(square(4), np.arange(4.0) ** 2)
    a, _ = pair(2)
    a[:] = 0
    np.testing.assert_array_equal(pair(2)[0], np.full((2, 2), 1j))
    assert square(4) is not square(4)


def test_memory_lru_is_bounded(disk: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache._STATE, "maxsize", 2)
    monkeypatch.setenv("LIE_NN_DISK_CACHE", "0")
    for n in (1, 2, 3, 1):
        square(n)
    assert CALLS == [("square", 1), ("square", 2), ("square", 3), ("square", 1)]
    assert cache_info().memory_entries == 2


# ------------------------------------------------------------------------------------ atomicity
def test_no_temporary_files_left(disk: Path) -> None:
    for n in range(5):
        square(n)
    pair(2)
    names = [p.name for p in entries(disk)]
    assert len(names) == 6
    assert not [n for n in names if n.startswith(".tmp")]


def test_failed_write_leaves_nothing_and_warns_once(disk: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_savez(handle: object, **arrays: object) -> None:
        handle.write(b"PK\x03\x04 half a file")  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(cache.np, "savez", broken_savez)
    with pytest.warns(CacheWarning, match="cannot write"):
        np.testing.assert_array_equal(square(3), [0.0, 1.0, 4.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        square(4)  # memory-only from now on: no second warning
    assert entries(disk) == []


def test_unwritable_directory_is_memory_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("LIE_NN_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.delenv("LIE_NN_DISK_CACHE", raising=False)
    clear_cache()
    CALLS.clear()
    with pytest.warns(CacheWarning, match="memory cache only"):
        square(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        square(5)
        square(3)
    assert CALLS == [("square", 3), ("square", 5)]
    clear_cache()


def test_concurrent_writers_of_one_key(disk: Path) -> None:
    key = "ab" * 32
    path = cache._entry_path(disk, "test_concurrent", key)
    value = np.linspace(0, 1, 10_000)
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(10):
                cache._write_entry(path, key, value)
                np.testing.assert_array_equal(cache._read_entry(path, key), value)
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert entries(disk) == [path]


def test_concurrent_processes(disk: Path) -> None:
    code = (
        "import numpy as np\n"
        "from lie_nn._src.cache import cached\n"
        "@cached('test_processes')\n"
        "def f(n):\n    return np.arange(n) * 3\n"
        "for _ in range(20):\n    assert (f(1000) == np.arange(1000) * 3).all()\n"
        "    from lie_nn._src.cache import clear_cache; clear_cache()\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ)) for _ in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    path = only_entry(disk)
    assert path.parent.name == "test_processes"


# ------------------------------------------------------------------------------------ corruption
def _corrupt_truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _corrupt_flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 8):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _corrupt_garbage(path: Path) -> None:
    path.write_bytes(os.urandom(300))


def _corrupt_empty(path: Path) -> None:
    path.write_bytes(b"")


def _corrupt_wrong_key(path: Path) -> None:
    cache._write_entry(path, "0" * 64, np.arange(5.0) * 7)


def _corrupt_checksum(path: Path) -> None:
    with np.load(path) as data:
        payload = {name: data[name] for name in data.files}
    payload["arr_0"] = payload["arr_0"] + 1.0  # valid zip, right key, wrong content
    with open(path, "wb") as handle:
        np.savez(handle, **payload)


def _corrupt_missing_meta(path: Path) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, arr_0=np.arange(5.0) ** 2)


class _Evil:
    def __reduce__(self) -> tuple:
        return (PICKLE_SIDE_EFFECTS.append, ("unpickled!",))


def _corrupt_pickle(path: Path) -> None:
    with np.load(path) as data:
        payload = {name: data[name] for name in data.files}
    payload["arr_0"] = np.array([_Evil()], dtype=object)
    with open(path, "wb") as handle:
        np.savez(handle, **payload)  # object arrays are stored with pickle


CORRUPTIONS = [_corrupt_truncate, _corrupt_flip, _corrupt_garbage, _corrupt_empty, _corrupt_wrong_key,
               _corrupt_checksum, _corrupt_missing_meta, _corrupt_pickle]


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda f: f.__name__[9:])
def test_corrupt_entry_is_detected_and_rewritten(disk: Path, corrupt) -> None:
    square(5)
    path = only_entry(disk)
    corrupt(path)
    clear_cache(memory=True)
    with pytest.warns(CacheWarning, match="corrupt"):
        value = square(5)
    np.testing.assert_array_equal(value, np.arange(5.0) ** 2)
    assert CALLS == [("square", 5), ("square", 5)]
    assert cache_info().disk_errors == 1
    assert PICKLE_SIDE_EFFECTS == []
    clear_cache(memory=True)  # the rewritten entry is valid again
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(square(5), value)
    assert len(CALLS) == 2 and only_entry(disk) == path


# ------------------------------------------------------------------------------------ validation
def test_validate_rejects_fresh_result_without_caching(disk: Path) -> None:
    def validate(args: tuple, result: np.ndarray) -> None:
        if result.sum() < 0:
            raise RuntimeError("negative")

    @cached("test_validate", validate=validate)
    def f(x: int) -> np.ndarray:
        CALLS.append(("f", x))
        return np.array([float(x)])

    with pytest.raises(RuntimeError, match="negative"):
        f(-1)
    with pytest.raises(RuntimeError, match="negative"):
        f(-1)
    assert CALLS == [("f", -1), ("f", -1)] and entries(disk) == []
    f(2)
    path = only_entry(disk)
    cache._write_entry(path, path.stem, np.array([-5.0]))  # well-formed but fails validation
    clear_cache(memory=True)
    with pytest.warns(CacheWarning, match="negative"):
        np.testing.assert_array_equal(f(2), [2.0])


def test_bad_arguments_and_results(disk: Path) -> None:
    with pytest.raises(TypeError, match="hashable"):
        square([1, 2])  # type: ignore[arg-type]

    @cached("test_bad_result")
    def bad(kind: str) -> object:
        return {"list": [1, 2], "object": np.array([None], dtype=object)}[kind]

    with pytest.raises(TypeError, match="ndarray"):
        bad("list")
    with pytest.raises(TypeError, match="object array"):
        bad("object")
    with pytest.raises(ValueError, match="identifier"):
        cached("../escape")


# ------------------------------------------------------------------------------------ configuration
def test_env_var_read_at_call_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIE_NN_DISK_CACHE", raising=False)
    for sub in ("a", "b"):
        monkeypatch.setenv("LIE_NN_CACHE_DIR", str(tmp_path / sub))
        clear_cache()
        square(2)
        assert cache_dir() == tmp_path / sub
        assert len(entries(tmp_path / sub)) == 1
    clear_cache()


@pytest.mark.parametrize("var,value", [("LIE_NN_DISK_CACHE", "0"), ("LIE_NN_DISK_CACHE", "off"),
                                       ("LIE_NN_CACHE_DIR", ""), ("LIE_NN_CACHE_DIR", "none")])
def test_disk_layer_can_be_disabled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, var: str,
                                    value: str) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("LIE_NN_CACHE_DIR", raising=False)
    monkeypatch.setenv(var, value)
    clear_cache()
    square(3)
    assert cache_dir() is None and cache_info().disk_dir is None
    assert entries(tmp_path) == []
    clear_cache()


def test_default_directory_is_user_cache_not_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIE_NN_CACHE_DIR", raising=False)
    monkeypatch.delenv("LIE_NN_DISK_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    root = cache_dir()
    assert root is not None
    package = Path(lie_nn.__file__).resolve().parent
    assert package not in root.resolve().parents and root.resolve() != package
    if sys.platform.startswith("linux"):
        assert root == tmp_path / "xdg" / "lie_nn"
        monkeypatch.delenv("XDG_CACHE_HOME")
        assert cache_dir() == Path.home() / ".cache" / "lie_nn"


def test_key_depends_on_conventions_version(disk: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    square(2)
    monkeypatch.setattr(cache, "CONVENTIONS_VERSION", 999)
    clear_cache()
    square(2)
    assert CALLS == [("square", 2), ("square", 2)]
    assert {p.parent.parent.name for p in entries(disk)} == {f"v{lie_nn.CONVENTIONS_VERSION}", "v999"}


def test_clear_cache_memory_and_disk(disk: Path) -> None:
    square(2)
    keep = disk / "user_notes.txt"
    keep.write_text("not ours")
    clear_cache(memory=True, disk=False)
    assert cache_info().memory_entries == 0 and len(entries(disk)) == 2
    square(2)
    assert len(CALLS) == 1
    clear_cache(memory=False, disk=True)
    assert entries(disk) == [keep]
    assert cache_info().memory_entries == 1
    clear_cache(memory=True, disk=True)
    square(2)
    assert len(CALLS) == 2


# ------------------------------------------------------------------------------------ keys
def test_canonical_repr_distinguishes_types() -> None:
    values = [1, 1.0, True, Fraction(1), "1", (1,), [1], np.int64(1), np.array([1]), np.array([1.0])]
    reprs = [canonical_repr(v) for v in values]
    assert None not in reprs and len(set(reprs)) == len(values)
    assert canonical_repr(object()) is None
    assert canonical_repr((1, object())) is None
    assert canonical_repr(np.array([None], dtype=object)) is None


def test_canonical_repr_is_stable_across_processes() -> None:
    from dataclasses import dataclass

    value = (Fraction(1, 2), "x", (3, -4.25), frozenset({2, 1}), None)
    code = ("from fractions import Fraction; from lie_nn._src.cache import canonical_repr; "
            "print(canonical_repr((Fraction(1, 2), 'x', (3, -4.25), frozenset({2, 1}), None)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONHASHSEED="12345"))
    assert out.stdout.strip() == canonical_repr(value)

    @dataclass(frozen=True)
    class Label:
        j: Fraction

    assert canonical_repr(Label(Fraction(3, 2))).endswith("Label(j=Fraction:3/2)")


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(dtype=st.sampled_from([np.float64, np.complex128, np.int32, np.bool_]),
                  shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)))
def test_entry_file_round_trip(tmp_path_factory: pytest.TempPathFactory, array: np.ndarray) -> None:
    path = tmp_path_factory.mktemp("rt") / "entry.npz"
    cache._write_entry(path, "k" * 64, array)
    loaded = cache._read_entry(path, "k" * 64)
    assert loaded.dtype == array.dtype and loaded.shape == array.shape
    np.testing.assert_array_equal(loaded, array)
    cache._write_entry(path, "k" * 64, (array, array[..., None]))
    first, second = cache._read_entry(path, "k" * 64)
    np.testing.assert_array_equal(second, array[..., None])


# ------------------------------------------------------------------------------------ mutation-test gaps
class _MakesDirectory:
    """Unpickling calls ``os.mkdir(path)``: a side effect visible outside the unpickled object."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple:
        return (os.mkdir, (self.path,))


def test_pickled_key_is_never_unpickled(disk: Path, tmp_path: Path) -> None:
    square(4)
    path = only_entry(disk)
    with np.load(path) as data:
        payload = {name: data[name] for name in data.files}
    marker = tmp_path / "unpickled"
    payload["__key__"] = np.array([_MakesDirectory(marker)], dtype=object)  # stored with pickle
    with open(path, "wb") as handle:
        np.savez(handle, **payload)
    clear_cache(memory=True)
    with pytest.warns(CacheWarning, match="corrupt"):
        np.testing.assert_array_equal(square(4), np.arange(4.0) ** 2)
    assert not marker.exists(), "a cache entry was unpickled"


@pytest.mark.parametrize("kind, arrays", [("array", 2), ("bogus", 1), ("bogus", 2), ("array", 0)])
def test_entry_kind_is_checked(disk: Path, kind: str, arrays: int) -> None:
    square(3)
    path = only_entry(disk)
    parts = tuple(np.arange(3.0) ** 2 for _ in range(arrays))
    payload = {f"arr_{i}": a for i, a in enumerate(parts)}  # right key and checksum, wrong kind
    payload.update(__key__=np.array(path.stem), __checksum__=np.array(cache._checksum(parts)),
                   __kind__=np.array(kind))
    with open(path, "wb") as handle:
        np.savez(handle, **payload)
    with pytest.raises(ValueError, match="kind"):
        cache._read_entry(path, path.stem)
    clear_cache(memory=True)
    with pytest.warns(CacheWarning, match="kind"):
        np.testing.assert_array_equal(square(3), np.arange(3.0) ** 2)


def test_argument_order_is_part_of_the_key(disk: Path) -> None:
    @cached("test_order")
    def ordered(*args: object) -> np.ndarray:
        return np.array([float(a) for a in args])

    assert canonical_repr((1, 2)) != canonical_repr((2, 1))
    assert canonical_repr([1, 2]) != canonical_repr([2, 1])
    assert cache._disk_key("x", (1, 2)) != cache._disk_key("x", (2, 1))
    np.testing.assert_array_equal(ordered(1, 2), [1.0, 2.0])
    clear_cache(memory=True)  # the second call can only come from disk
    np.testing.assert_array_equal(ordered(2, 1), [2.0, 1.0])
    np.testing.assert_array_equal(ordered(3, 1), [3.0, 1.0])
    assert len(entries(disk)) == 3


@pytest.mark.parametrize("result", [[np.ones(2)], (np.ones(2), 3), (np.ones(2), [np.ones(1)]), 3.0, None])
def test_non_array_results_are_refused(disk: Path, result: object) -> None:
    @cached("test_refused")
    def f() -> object:
        return result

    with pytest.raises(TypeError, match="must return an ndarray or a tuple of ndarrays"):
        f()
    assert entries(disk) == []


def test_truncated_entry_does_not_leak_a_file_handle(disk: Path) -> None:
    square(6)
    _corrupt_truncate(only_entry(disk))
    clear_cache(memory=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        warnings.simplefilter("ignore", CacheWarning)
        code = ("import gc, sys, warnings; warnings.simplefilter('error', ResourceWarning)\n"
                "from pathlib import Path; from lie_nn._src import cache\n"
                "try:\n    cache._read_entry(Path(sys.argv[1]), 'k')\nexcept Exception as e:\n"
                "    print(type(e).__name__)\ngc.collect()\n")
        out = subprocess.run([sys.executable, "-X", "dev", "-c", code, str(only_entry(disk))],
                             capture_output=True, text=True, timeout=120)
    assert "ResourceWarning" not in out.stderr and out.returncode == 0, out.stderr
    assert out.stdout.strip() in {"BadZipFile", "EOFError", "ValueError", "OSError"}, out.stdout
