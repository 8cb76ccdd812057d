r"""Files that are either complete or absent: atomic writes, sha256 checksums and data manifests.

Every writer goes through :func:`atomic_path`: the content is written to a temporary file in the
target's directory, flushed to disk, then moved onto the target with :func:`os.replace` (atomic on
POSIX).  A crash leaves either the old file or the new one, never half of one.

A *manifest* (``manifest.json``) records how a data directory was made (settings, seeds, split,
package versions, command line, UTC time) and the sha256 of every file; :func:`verify_manifest`
checks it before a model reads the data and says how to regenerate what is missing or corrupt.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import platform
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "MANIFEST_NAME",
    "DataError",
    "atomic_path",
    "package_versions",
    "read_history",
    "sha256_file",
    "verify_manifest",
    "write_json_atomic",
    "write_manifest",
    "write_text_atomic",
]

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "models.common.manifest/1"


class DataError(ValueError):
    """A data file is missing, corrupt or inconsistent; the message names it and how to regenerate it."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is fsynced and renamed onto ``path``.

    On an exception the temporary file is removed and ``path`` is left untouched.  The temporary name
    keeps the target's suffix (``np.savez`` and ``savefig`` look at it) and is hidden
    (``.<name>.<random>.tmp<suffix>``).  The final file has mode ``0o666 & ~umask`` (``0o644`` for the
    usual umask 022), like a file created by ``open``, not the ``0o600`` of :func:`tempfile.mkstemp`.
    Parent directories are created.

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("hello")
    ...     target.exists()
    False
    >>> target.read_text()
    'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}")
    tmp = Path(name)
    try:
        try:
            os.fchmod(fd, 0o666 & ~_umask())
        finally:
            os.close(fd)
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _json_default(obj: Any) -> Any:
    """numpy scalars/arrays, paths and sets in JSON (anything else is a TypeError, as in ``json``)."""
    if hasattr(obj, "tolist"):  # numpy scalar or array, torch tensor
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    raise TypeError(f"object of type {type(obj).__name__} is not JSON serialisable")


def to_json(obj: Any) -> str:
    """Indented JSON with sorted keys and a final newline; numpy values and paths allowed.

    >>> print(to_json({"b": 1, "a": [1.5]}), end="")
    {
      "a": [
        1.5
      ],
      "b": 1
    }
    """
    return json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n"


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented, key-sorted JSON to ``path`` atomically; returns the path.

    >>> import tempfile
    >>> p = write_json_atomic(Path(tempfile.mkdtemp()) / "x.json", {"b": 2, "a": 1})
    >>> json.loads(p.read_text())
    {'a': 1, 'b': 2}
    """
    return write_text_atomic(path, to_json(obj))


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 digest of a file, read in 1 MiB blocks.

    >>> import tempfile
    >>> p = write_text_atomic(Path(tempfile.mkdtemp()) / "x", "abc")
    >>> sha256_file(p)[:16]
    'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_versions(packages: Iterable[str] = ()) -> dict[str, str]:
    """``{"python": ..., name: version}`` for each distribution name (``"not installed"`` if absent).

    >>> package_versions(["surely-not-a-distribution"])["surely-not-a-distribution"]
    'not installed'
    """
    out = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def write_manifest(
    directory: str | os.PathLike[str],
    files: Iterable[str | os.PathLike[str]],
    *,
    settings: Mapping[str, Any],
    seeds: Mapping[str, Any] | None = None,
    split: Mapping[str, Any] | None = None,
    packages: Iterable[str] = (),
    command: list[str] | None = None,
) -> Path:
    """Write ``<directory>/manifest.json`` describing the data files ``files`` (names relative to
    ``directory``, or paths inside it) and return its path.

    Recorded: the sha256 and size of every file, ``settings``, ``seeds``, ``split``, the versions of
    Python and of ``packages`` (via :mod:`importlib.metadata`), the command line (default
    ``sys.argv``) and the UTC time.  Write the manifest last: a directory with a manifest is complete.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = write_text_atomic(d / "x.csv", "1,2\\n")
    >>> m = write_manifest(d, ["x.csv"], settings={"n": 1}, command=["make", "data"])
    >>> verify_manifest(d, regenerate="make data")["files"]["x.csv"]["bytes"]
    4
    """
    directory = Path(directory)
    entries = {}
    for f in files:
        name = Path(f).relative_to(directory).as_posix() if Path(f).is_absolute() else Path(f).as_posix()
        path = directory / name
        if not path.is_file():
            raise FileNotFoundError(f"write_manifest: {path} does not exist")
        entries[name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    manifest = {
        "format": MANIFEST_FORMAT,
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": list(sys.argv if command is None else command),
        "packages": package_versions(packages),
        "settings": dict(settings),
        "seeds": None if seeds is None else dict(seeds),
        "split": None if split is None else dict(split),
        "files": entries,
    }
    return write_json_atomic(directory / MANIFEST_NAME, manifest)


def verify_manifest(directory: str | os.PathLike[str], *, regenerate: str) -> dict[str, Any]:
    """Check every file listed in ``<directory>/manifest.json`` against its sha256; return the manifest.

    Raises :class:`DataError` naming the missing or corrupt file (or manifest) and ending with
    ``regenerate with: <regenerate>``.
    """
    directory = Path(directory)
    hint = f"regenerate with: {regenerate}"
    path = directory / MANIFEST_NAME
    if not path.is_file():
        raise DataError(f"no data in {directory} ({MANIFEST_NAME} not found); {hint}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{path} is not valid JSON ({err}); {hint}") from err
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        raise DataError(f"{path} has no 'files' table; {hint}")
    for name, meta in files.items():
        file = directory / name
        if not file.is_file():
            raise DataError(f"{file} is listed in {path} but missing; {hint}")
        digest = sha256_file(file)
        if not isinstance(meta, dict) or digest != meta.get("sha256"):
            raise DataError(f"{file} is corrupt: its sha256 {digest[:16]}... does not match {path}; {hint}")
    return manifest


def read_history(run: str | Path) -> list[dict[str, Any]]:
    """The per-epoch entries of ``<run>/history.jsonl`` (or a legacy ``history.json`` list)."""
    run = Path(run)
    if (run / "history.jsonl").is_file():
        lines = (run / "history.jsonl").read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    if (run / "history.json").is_file():
        return json.loads((run / "history.json").read_text())
    raise FileNotFoundError(f"no history.jsonl in {run}: is it a run directory of a models.* trainer?")
