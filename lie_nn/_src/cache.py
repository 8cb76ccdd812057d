"""Memory + disk cache for pure functions of hashable arguments that return numpy arrays.

Layout and guarantees (see docs/cache.md):

* memory layer: a bounded LRU dict keyed by the argument values;
* disk layer: ``<dir>/v<CONVENTIONS_VERSION>/<name>/<sha256>.npz`` where ``<dir>`` is
  ``$LIE_NN_CACHE_DIR`` (read at every call) or the platform cache directory;
* files are written to a temporary file in the same directory and moved into place with
  :func:`os.replace` (atomic), read with ``np.load(allow_pickle=False)`` (never pickle), and carry
  their key and a sha256 checksum of the arrays; an entry that fails any check is reported with a
  :class:`CacheWarning`, deleted and recomputed;
* callers always receive fresh copies, so they cannot corrupt the cache.

Disable the disk layer with ``LIE_NN_DISK_CACHE=0`` (or ``LIE_NN_CACHE_DIR`` set to ``""``,
``"off"`` or ``"none"``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import os
import sys
import tempfile
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import numpy as np

from lie_nn._src.irrep import CONVENTIONS_VERSION

__all__ = ["CacheInfo", "CacheWarning", "cache_dir", "cache_info", "cached", "clear_cache"]

Result = np.ndarray | tuple[np.ndarray, ...]
F = TypeVar("F", bound=Callable[..., Any])

_OFF_VALUES = {"", "0", "off", "none", "false", "no"}
_KEY_FIELD = "__key__"
_SUM_FIELD = "__checksum__"
_KIND_FIELD = "__kind__"
_MEMORY_MAXSIZE = 1024


class CacheWarning(UserWarning):
    """Emitted when a disk cache entry is corrupt or the cache directory cannot be written."""


class CacheInfo(NamedTuple):
    """Counters and sizes reported by :func:`cache_info`."""

    memory_hits: int
    disk_hits: int
    misses: int
    disk_errors: int
    memory_entries: int
    memory_bytes: int
    disk_dir: Path | None


class _State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.memory: OrderedDict[Any, tuple[np.ndarray, ...] | np.ndarray] = OrderedDict()
        self.maxsize = _MEMORY_MAXSIZE
        self.unwritable: set[Path] = set()
        self.reset_counters()

    def reset_counters(self) -> None:
        self.memory_hits = self.disk_hits = self.misses = self.disk_errors = 0


_STATE = _State()


# ------------------------------------------------------------------------------------ directory
def _default_dir() -> Path:
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
        return base / "lie_nn" / "Cache"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "lie_nn"
    base = os.environ.get("XDG_CACHE_HOME") or ""
    return (Path(base) if base else home / ".cache") / "lie_nn"


def cache_dir() -> Path | None:
    """The disk cache directory in effect now, or ``None`` when the disk layer is disabled.

    ``LIE_NN_DISK_CACHE=0`` disables it; otherwise ``LIE_NN_CACHE_DIR`` (``""``, ``"off"`` or
    ``"none"`` disable) or the platform default (``~/.cache/lie_nn`` on Linux).

    >>> import os
    >>> os.environ["LIE_NN_DISK_CACHE"] = "0"
    >>> cache_dir() is None
    True
    >>> del os.environ["LIE_NN_DISK_CACHE"]
    """
    if os.environ.get("LIE_NN_DISK_CACHE", "1").strip().lower() in _OFF_VALUES:
        return None
    value = os.environ.get("LIE_NN_CACHE_DIR")
    if value is None:
        return _default_dir()
    if value.strip().lower() in _OFF_VALUES:
        return None
    return Path(value).expanduser()


# ------------------------------------------------------------------------------------ keys
def canonical_repr(value: object) -> str | None:
    """A process-independent textual form of ``value``, or ``None`` if there is none.

    Supports ``None``, bools, ints, floats, strings, bytes, ``Fraction``, numpy scalars and arrays,
    tuples, lists, frozensets and dataclasses (recursively over the fields that take part in ``==``,
    tagged with module and class name).  Values of other types have no reliable cross-process form:
    they are cached in memory only.

    >>> from fractions import Fraction
    >>> canonical_repr((1, Fraction(1, 2), "a"))
    "(int:1,Fraction:1/2,str:'a')"
    """
    if isinstance(value, Fraction):
        return f"Fraction:{value}"
    if value is None or isinstance(value, (bool, int, float, str, np.generic)):
        return f"{type(value).__name__}:{value!r}"
    if isinstance(value, bytes):
        return f"bytes:{len(value)}:{hashlib.sha256(value).hexdigest()}"
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            return None
        digest = hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
        return f"ndarray:{value.dtype.str}:{value.shape}:{digest}"
    if isinstance(value, (tuple, list, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, frozenset) else value
        parts = [canonical_repr(item) for item in items]
        if any(part is None for part in parts):
            return None
        # tuple subclasses (Irreps) compare equal to plain tuples, so they share their key
        open_, close = "()" if isinstance(value, tuple) else ("[]" if isinstance(value, list) else "{}")
        return open_ + ",".join(parts) + close  # type: ignore[arg-type]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        compared = [f.name for f in dataclasses.fields(value) if f.compare]
        fields = [(name, canonical_repr(getattr(value, name))) for name in compared]
        if any(part is None for _, part in fields):
            return None
        return f"{cls.__module__}.{cls.__qualname__}(" + ",".join(f"{k}={v}" for k, v in fields) + ")"
    return None


def _disk_key(name: str, args: tuple) -> str | None:
    text = canonical_repr(args)
    if text is None:
        return None
    return hashlib.sha256(f"lie_nn-cache|v{CONVENTIONS_VERSION}|{name}|{text}".encode()).hexdigest()


def _memory_key(name: str, args: tuple) -> Any:
    # Types are part of the key so that e.g. f(1) and f(1.0) never share an entry.
    return (name, args, tuple(type(a) for a in args))


# ------------------------------------------------------------------------------------ files
def _checksum(arrays: tuple[np.ndarray, ...]) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(f"{a.dtype.str}|{a.shape}|".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _entry_path(root: Path, name: str, key: str) -> Path:
    return root / f"v{CONVENTIONS_VERSION}" / name / f"{key}.npz"


def _read_entry(path: Path, key: str) -> Result:
    """Load and verify one entry; raises on any problem (the caller treats it as corrupt)."""
    # open the file ourselves: np.load leaks its handle when the zip directory is unreadable (truncated)
    with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
        names = set(data.files)
        meta = {_KEY_FIELD, _SUM_FIELD, _KIND_FIELD}
        if not meta <= names:
            raise ValueError("missing metadata")
        if str(data[_KEY_FIELD]) != key:
            raise ValueError("key mismatch")
        kind = str(data[_KIND_FIELD])
        count = len(names - meta)
        if kind not in ("array", "tuple") or (kind == "array" and count != 1):
            raise ValueError(f"bad entry kind {kind!r}")
        arrays = tuple(data[f"arr_{i}"] for i in range(count))
        if _checksum(arrays) != str(data[_SUM_FIELD]):
            raise ValueError("checksum mismatch")
    return arrays[0] if kind == "array" else arrays


def _write_entry(path: Path, key: str, result: Result) -> None:
    arrays = (result,) if isinstance(result, np.ndarray) else tuple(result)
    payload = {f"arr_{i}": a for i, a in enumerate(arrays)}
    payload[_KEY_FIELD] = np.array(key)
    payload[_SUM_FIELD] = np.array(_checksum(arrays))
    payload[_KIND_FIELD] = np.array("array" if isinstance(result, np.ndarray) else "tuple")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **payload)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def _discard(path: Path, reason: str) -> None:
    _STATE.disk_errors += 1
    warnings.warn(f"lie_nn cache: discarding corrupt entry {path} ({reason}); recomputing",
                  CacheWarning, stacklevel=4)
    with contextlib.suppress(OSError):
        path.unlink()


# ------------------------------------------------------------------------------------ results
def _normalise(result: object, name: str) -> Result:
    if isinstance(result, np.ndarray):
        arrays: tuple[np.ndarray, ...] = (result,)
    elif isinstance(result, tuple) and all(isinstance(a, np.ndarray) for a in result):
        arrays = result
    else:
        raise TypeError(f"cached function {name!r} must return an ndarray or a tuple of ndarrays, "
                        f"got {type(result).__name__}")
    if any(a.dtype.hasobject for a in arrays):
        raise TypeError(f"cached function {name!r} returned an object array, which cannot be cached")
    frozen = tuple(np.array(a, copy=True) for a in arrays)
    for a in frozen:
        a.setflags(write=False)
    return frozen[0] if isinstance(result, np.ndarray) else frozen


def _copy(result: Result) -> Result:
    if isinstance(result, np.ndarray):
        return result.copy()
    return tuple(a.copy() for a in result)


def _nbytes(result: Result) -> int:
    return result.nbytes if isinstance(result, np.ndarray) else sum(a.nbytes for a in result)


def _remember(key: Any, result: Result) -> None:
    with _STATE.lock:
        _STATE.memory[key] = result
        _STATE.memory.move_to_end(key)
        while len(_STATE.memory) > _STATE.maxsize:
            _STATE.memory.popitem(last=False)


def _load_from_disk(path: Path, key: str, args: tuple, validate: Callable | None) -> Result | None:
    try:
        if not path.is_file():
            return None
        result = _normalise(_read_entry(path, key), path.name)
        if validate is not None:
            validate(args, result)
    except FileNotFoundError:
        return None
    except Exception as error:  # noqa: BLE001 - any failure means the entry is unusable
        _discard(path, f"{type(error).__name__}: {error}")
        return None
    return result


def _store_on_disk(root: Path, path: Path, key: str, result: Result) -> None:
    if root in _STATE.unwritable:
        return
    try:
        _write_entry(path, key, result)
    except Exception as error:  # noqa: BLE001 - the disk layer must never break a computation
        _STATE.unwritable.add(root)
        warnings.warn(f"lie_nn cache: cannot write to {root} ({error}); using the memory cache only",
                      CacheWarning, stacklevel=4)


def _lookup(name: str, fn: Callable, validate: Callable | None, args: tuple) -> Result:
    try:
        mkey = _memory_key(name, args)
        with _STATE.lock:
            hit = _STATE.memory.get(mkey)
            if hit is not None:
                _STATE.memory.move_to_end(mkey)
                _STATE.memory_hits += 1
    except TypeError as error:  # unhashable arguments
        raise TypeError(f"arguments of cached function {name!r} must be hashable: {error}") from None
    if hit is not None:
        return hit
    root = cache_dir()
    dkey = _disk_key(name, args) if root is not None else None
    path = _entry_path(root, name, dkey) if root is not None and dkey is not None else None
    if path is not None:
        loaded = _load_from_disk(path, dkey, args, validate)  # type: ignore[arg-type]
        if loaded is not None:
            _STATE.disk_hits += 1
            _remember(mkey, loaded)
            return loaded
    _STATE.misses += 1
    result = _normalise(fn(*args), name)
    if validate is not None:
        validate(args, result)  # raises: nothing is cached
    _remember(mkey, result)
    if path is not None:
        _store_on_disk(root, path, dkey, result)  # type: ignore[arg-type]
    return result


def cached(name: str, *, validate: Callable[[tuple, Result], None] | None = None) -> Callable[[F], F]:
    """Decorate a pure function of hashable positional arguments returning arrays.

    ``name`` names the on-disk namespace (bump ``CONVENTIONS_VERSION`` or change ``name`` when the
    function's output changes).  ``validate(args, result)`` is called on every freshly computed
    result and on every entry read from disk; it must raise if the result is wrong.  A fresh result
    that fails is never cached (the exception propagates); a disk entry that fails is discarded and
    recomputed.  The wrapped function is available as ``wrapper.uncached``.

    >>> import numpy as np
    >>> import os; os.environ["LIE_NN_DISK_CACHE"] = "0"  # keep the doctest off the disk
    >>> @cached("doctest_arange")
    ... def arange(n):
    ...     return np.arange(n)
    >>> arange(3)
    array([0, 1, 2])
    >>> arange(3) is arange(3)
    False
    >>> del os.environ["LIE_NN_DISK_CACHE"]
    """
    if not isinstance(name, str) or not name or not name.replace("_", "").isalnum():
        raise ValueError(f"cache name must be a non-empty identifier, got {name!r}")

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: object) -> Result:
            return _copy(_lookup(name, fn, validate, args))

        wrapper.uncached = fn  # type: ignore[attr-defined]
        wrapper.cache_name = name  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def _is_cache_file(stem: str) -> bool:
    return stem.startswith(".tmp-") or (len(stem) == 64 and all(c in "0123456789abcdef" for c in stem))


_MEMORY_HOOKS: list[Callable[[], None]] = []


def on_clear_memory(hook: Callable[[], None]) -> Callable[[], None]:
    """Register ``hook`` to run whenever :func:`clear_cache` empties the memory layer.

    In-process caches built on top of this one (e.g. the layer descriptors' ``lru_cache``s) register
    their own clearing here, so one ``clear_cache()`` forgets everything.  Returns ``hook``.
    """
    _MEMORY_HOOKS.append(hook)
    return hook


def clear_cache(memory: bool = True, disk: bool = False) -> None:
    """Empty the memory layer (and reset counters) and/or delete this library's files on disk.

    Emptying the memory layer also runs the hooks registered with :func:`on_clear_memory`.

    Only files of the form ``<dir>/v<N>/<name>/<sha256>.npz`` (and leftover temporary files) are
    removed, so pointing ``LIE_NN_CACHE_DIR`` at a shared directory is safe.
    """
    if memory:
        with _STATE.lock:
            _STATE.memory.clear()
            _STATE.reset_counters()
            _STATE.unwritable.clear()
        for hook in _MEMORY_HOOKS:
            hook()
    root = cache_dir()
    if disk and root is not None and root.is_dir():
        for version_dir in root.glob("v*"):
            if not version_dir.name[1:].isdigit():
                continue
            for path in version_dir.glob("*/*.npz"):
                if _is_cache_file(path.stem):
                    with contextlib.suppress(OSError):
                        path.unlink()
            for sub in version_dir.iterdir():
                with contextlib.suppress(OSError):
                    sub.rmdir()  # only succeeds when empty
            with contextlib.suppress(OSError):
                version_dir.rmdir()


def cache_info() -> CacheInfo:
    """Hit/miss counters since the last memory clear, memory usage and the current disk directory."""
    with _STATE.lock:
        entries = len(_STATE.memory)
        size = sum(_nbytes(r) for r in _STATE.memory.values())
        return CacheInfo(_STATE.memory_hits, _STATE.disk_hits, _STATE.misses, _STATE.disk_errors,
                         entries, size, cache_dir())
