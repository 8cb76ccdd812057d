"""Storage of the top-tagging jets: npz + JSON manifest, checksums, chunk seeds and splits.

Pure numpy / standard library: loading a generated data set needs neither Pythia nor FastJet.

Layout of a data directory::

    <data_dir>/jets.npz        arrays, one row per jet (see ARRAY_SPECS)
    <data_dir>/manifest.json   settings, versions, seeds, counts, splits, sha256 of jets.npz

The manifest is written last, so a directory with a manifest holds a complete data set.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.common.io import DataError, atomic_path, sha256_file

NPZ_NAME = "jets.npz"
MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 2  # 2: momenta in float64 (float32 cannot fix constituent masses of boosted jets)
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "top_tagging"
SPLITS = ("train", "val", "test")
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
SEEDS_PER_BASE = 20_000  # chunk seeds of base seed s: 1 + s * SEEDS_PER_BASE + label * 10_000 + chunk
MAX_BASE_SEED = 44_999  # keeps every chunk seed <= 900_000_000, Pythia's maximum
MAX_CHUNKS = 10_000

# name -> (dtype, trailing shape; "M" is the maximal number of constituents)
ARRAY_SPECS: dict[str, tuple[str, tuple[Any, ...]]] = {
    "constituents": ("float64", ("M", 4)),
    "mask": ("bool", ("M",)),
    "n_constituents": ("int32", ()),
    "jet_p4": ("float64", (4,)),
    "label": ("int8", ()),
    "seed": ("int64", ()),
    "event": ("int64", ()),
}


class DatasetMissingError(FileNotFoundError):
    """The data set has not been generated (the message says how to generate it)."""


class DatasetCorruptError(DataError):
    """The data files do not match their manifest."""


def generate_command(data_dir: str | os.PathLike[str], n_jets: int = 20000, seed: int = 1) -> str:
    """The command that generates a data set into ``data_dir`` (which holds none yet)."""
    return f"python -m models.top_tagging.data generate --out {data_dir} --n-jets {n_jets} --seed {seed}"


def regenerate_command(data_dir: str | os.PathLike[str], manifest: Mapping[str, Any] | None = None) -> str:
    """The command that regenerates the data set of ``data_dir`` in place: the settings recorded in its
    manifest (when readable), ``--out`` the directory as given here, and ``--force`` (the generator
    refuses to overwrite a data set without it).

    >>> regenerate_command("d", {"n_jets": 8, "seed": 3, "chunk_jets": 2, "config": {"mpi": False}})
    'python -m models.top_tagging.data generate --out d --n-jets 8 --seed 3 --chunk-jets 2 --no-mpi --force'
    """
    m = manifest if isinstance(manifest, Mapping) else {}
    try:
        command = generate_command(data_dir, int(m.get("n_jets", 20000)), int(m.get("seed", 1)))
        if "chunk_jets" in m:
            command += f" --chunk-jets {int(m['chunk_jets'])}"
        if not m.get("config", {}).get("mpi", True):
            command += " --no-mpi"
    except (TypeError, ValueError, AttributeError):  # a manifest of another format: the defaults
        command = generate_command(data_dir)
    return command + " --force"


# ----------------------------------------------------------------------------------------------------
# seeds and splits


def chunk_seed(base_seed: int, label: int, index: int) -> int:
    """Pythia seed of chunk ``index`` of class ``label``; distinct for distinct arguments.

    >>> chunk_seed(1, 1, 0), chunk_seed(1, 0, 3), chunk_seed(2, 0, 0)
    (30001, 20004, 40001)
    """
    if not (isinstance(base_seed, int) and 0 <= base_seed <= MAX_BASE_SEED):
        raise ValueError(f"seed must be an integer in [0, {MAX_BASE_SEED}], got {base_seed!r}")
    if label not in (0, 1):
        raise ValueError(f"label must be 0 or 1, got {label!r}")
    if not (isinstance(index, int) and 0 <= index < MAX_CHUNKS):
        raise ValueError(f"chunk index must be an integer in [0, {MAX_CHUNKS}), got {index!r}")
    return 1 + base_seed * SEEDS_PER_BASE + label * 10_000 + index


def default_chunk_jets(n_per_class: int) -> int:
    """Jets per chunk: about 20 chunks per class (splits by chunk are then fine-grained), at most 250,
    at least 25 (a Pythia initialisation costs as much as ~20 jets) unless that leaves fewer than
    3 chunks per class (one each for train / val / test).

    >>> [default_chunk_jets(n) for n in (2, 10, 100, 2000, 20000)]
    [1, 4, 25, 100, 250]
    """
    return max(1, min(250, max(math.ceil(n_per_class / 20), min(25, math.ceil(n_per_class / 3)))))


def plan_chunks(n_per_class: int, base_seed: int, chunk_jets: int) -> list[dict[str, int]]:
    """The chunks ``{"label", "seed", "n_jets"}`` of a balanced data set, top and QCD interleaved.

    >>> [tuple(c.values()) for c in plan_chunks(5, 0, 3)]
    [(1, 10001, 3), (0, 1, 3), (1, 10002, 2), (0, 2, 2)]
    """
    if not (isinstance(n_per_class, int) and n_per_class >= 0):
        raise ValueError(f"n_per_class must be a non-negative integer, got {n_per_class!r}")
    if not (isinstance(chunk_jets, int) and chunk_jets >= 1):
        raise ValueError(f"chunk_jets must be a positive integer, got {chunk_jets!r}")
    sizes = [min(chunk_jets, n_per_class - start) for start in range(0, n_per_class, chunk_jets)]
    if len(sizes) > MAX_CHUNKS:
        raise ValueError(f"{len(sizes)} chunks per class exceed {MAX_CHUNKS}; increase chunk_jets")
    return [
        {"label": label, "seed": chunk_seed(base_seed, label, i), "n_jets": n}
        for i, n in enumerate(sizes)
        for label in (1, 0)
    ]


def split_chunks(chunks: Sequence[Mapping[str, int]], fractions: Sequence[float] = DEFAULT_FRACTIONS
                 ) -> dict[str, list[int]]:
    """Assign whole chunks (seeds) to train / val / test, separately per class, in chunk order.

    With ``c`` chunks in a class, val and test get ``round(f * c)`` chunks each (at least one each
    when ``c >= 3``) and train the rest, so no event stream is shared between splits.

    >>> chunks = [{"label": l, "seed": 10 * l + i} for l in (0, 1) for i in range(5)]
    >>> split_chunks(chunks, (0.6, 0.2, 0.2))
    {'train': [0, 1, 2, 10, 11, 12], 'val': [3, 13], 'test': [4, 14]}
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not math.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions!r}")
    out: dict[str, list[int]] = {name: [] for name in SPLITS}
    for label in (0, 1):
        seeds = [int(c["seed"]) for c in chunks if c["label"] == label]
        c = len(seeds)
        n_val, n_test = (round(f * c) for f in fractions[1:])
        if c >= 3:  # every split with a positive fraction gets at least one chunk
            n_val, n_test = max(n_val, int(fractions[1] > 0)), max(n_test, int(fractions[2] > 0))
        n_train = max(c - n_val - n_test, 0)
        out["train"] += seeds[:n_train]
        out["val"] += seeds[n_train : n_train + n_val]
        out["test"] += seeds[n_train + n_val :]
    return out


# ----------------------------------------------------------------------------------------------------
# files


def write_npz_atomic(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray]) -> None:
    """Write a compressed ``.npz`` atomically (:func:`models.common.io.atomic_path`).

    Zip entries carry a fixed timestamp, so identical arrays give byte-identical files (and sha256).
    """
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.ascontiguousarray(arrays[name]), allow_pickle=False)


def validate_arrays(arrays: Mapping[str, np.ndarray]) -> int:
    """Check names, dtypes and shapes against ARRAY_SPECS; return the number of jets."""
    missing = sorted(set(ARRAY_SPECS) - set(arrays))
    if missing:
        raise DatasetCorruptError(f"arrays missing from the data set: {missing}")
    n = len(arrays["label"])
    m = arrays["constituents"].shape[1] if arrays["constituents"].ndim == 3 else -1
    for name, (dtype, trailing) in ARRAY_SPECS.items():
        a = arrays[name]
        shape = (n, *(m if d == "M" else d for d in trailing))
        if a.dtype != np.dtype(dtype) or a.shape != shape:
            raise DatasetCorruptError(f"array {name!r} has dtype {a.dtype} and shape {a.shape}, "
                                      f"expected {dtype} and {shape}")
    return n


# ----------------------------------------------------------------------------------------------------
# loading


def load_manifest(data_dir: str | os.PathLike[str] = DEFAULT_DATA_DIR) -> dict[str, Any]:
    """The manifest of a data directory; DatasetMissingError (with the command to run) if absent."""
    data_dir = Path(data_dir)
    path = data_dir / MANIFEST_NAME
    if not path.is_file():
        raise DatasetMissingError(
            f"no top-tagging data set in {data_dir} ({MANIFEST_NAME} not found). Generate it with\n"
            f"    {generate_command(data_dir)}\n(needs the optional [hep] dependencies: pythia8mc, fastjet)"
        )
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise DatasetCorruptError(f"{path} is not valid JSON ({err}); regenerate with\n"
                                  f"    {regenerate_command(data_dir)}") from err
    if manifest.get("format_version") != FORMAT_VERSION:
        raise DatasetCorruptError(f"{path} has format_version {manifest.get('format_version')!r}, "
                                  f"this code reads {FORMAT_VERSION}; regenerate with\n"
                                  f"    {regenerate_command(data_dir, manifest)}")
    return manifest


def verify(data_dir: str | os.PathLike[str] = DEFAULT_DATA_DIR) -> dict[str, Any]:
    """Check the sha256 and size of every file listed in the manifest; return the manifest."""
    data_dir = Path(data_dir)
    manifest = load_manifest(data_dir)
    for name, meta in manifest["files"].items():
        path = data_dir / name
        if not path.is_file():
            raise DatasetMissingError(f"{path} is listed in the manifest but missing; regenerate with\n"
                                      f"    {regenerate_command(data_dir, manifest)}")
        digest = sha256_file(path)
        if digest != meta["sha256"]:
            raise DatasetCorruptError(f"{path} is corrupt: sha256 {digest} does not match the manifest's "
                                      f"{meta['sha256']}; regenerate with\n"
                                      f"    {regenerate_command(data_dir, manifest)}")
    return manifest


def load_jets(data_dir: str | os.PathLike[str] = DEFAULT_DATA_DIR, split: str | None = None,
              check: bool = True) -> dict[str, np.ndarray]:
    """Load the jets (all, or one of ``"train"``, ``"val"``, ``"test"``) as a dict of numpy arrays.

    ``check=True`` verifies the sha256 of the files against the manifest first.  Splits select whole
    seeds (event streams) listed in ``manifest["splits"]``, so they never share events.
    """
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be None or one of {SPLITS}, got {split!r}")
    manifest = verify(data_dir) if check else load_manifest(data_dir)
    path = Path(data_dir) / NPZ_NAME
    if not path.is_file():
        raise DatasetMissingError(f"{path} not found; regenerate with\n"
                                  f"    {regenerate_command(data_dir, manifest)}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise DatasetCorruptError(f"cannot read {path} ({err}); regenerate with\n"
                                  f"    {regenerate_command(data_dir, manifest)}") from err
    n = validate_arrays(arrays)
    if n != sum(manifest["counts"].values()):
        raise DatasetCorruptError(f"{path} holds {n} jets, the manifest says {manifest['counts']}")
    if split is None:
        return arrays
    rows = np.isin(arrays["seed"], np.asarray(manifest["splits"][split], dtype=np.int64))
    return {name: a[rows] for name, a in arrays.items()}
