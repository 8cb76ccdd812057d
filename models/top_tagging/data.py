"""Top-tagging data set: parallel, reproducible generation and the command-line interface.

Generate (balanced classes; needs the optional ``pythia8mc`` and ``fastjet``)::

    python -m models.top_tagging.data generate --out data/top_tagging --n-jets 20000 --workers 2 --seed 1

Show and verify the manifest::

    python -m models.top_tagging.data info --data data/top_tagging

The data set is a deterministic function of ``(n_jets, seed, chunk_jets, physics settings)`` and of
the Pythia/FastJet versions; the number of workers changes only the wall time.  Loading:
:func:`models.top_tagging.dataset.load_jets`.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.common.cli import run_cli
from models.common.io import package_versions, sha256_file, write_json_atomic
from models.common.progress import progress as progress_bar
from models.top_tagging.dataset import (
    DEFAULT_DATA_DIR,
    DEFAULT_FRACTIONS,
    FORMAT_VERSION,
    MANIFEST_NAME,
    NPZ_NAME,
    default_chunk_jets,
    load_manifest,
    plan_chunks,
    split_chunks,
    validate_arrays,
    verify,
    write_npz_atomic,
)
from models.top_tagging.generate import CLASS_NAMES, GenerationConfig, generate_jets, pythia_settings

COLUMNS = {
    "constituents": "(n, M, 4) float64: constituent 4-momenta (E, px, py, pz) in GeV, pT-descending, "
                    "zero-padded",
    "mask": "(n, M) bool: True for real constituents",
    "n_constituents": "(n,) int32: constituents in the jet before truncation to M",
    "jet_p4": "(n, 4) float64: jet 4-momentum (E, px, py, pz), the sum of all its constituents",
    "label": "(n,) int8: 1 = top, 0 = QCD",
    "seed": "(n,) int64: Pythia seed of the event stream (chunk) the jet comes from",
    "event": "(n,) int64: index of the event in that stream",
}


GENERATOR_PACKAGES = ("pythia8mc", "fastjet")  # their versions decide the events of a chunk seed
CACHE_DIR = ".chunks"  # finished chunks of an unfinished data set (resume); removed when it completes


def _chunk_path(cache: Path, chunk: dict[str, int], config: GenerationConfig) -> Path:
    tag = hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True).encode()).hexdigest()[:12]
    return cache / f"label{chunk['label']}_seed{chunk['seed']}_n{chunk['n_jets']}_{tag}.npz"


def _load_cached(path: Path) -> tuple[dict[str, np.ndarray], int, float] | None:
    """A finished chunk written by an earlier, interrupted run (``None`` if absent or unreadable)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile):
        return None
    meta = arrays.pop("_meta", None)
    if meta is None or meta.shape != (2,):
        return None
    return arrays, int(meta[0]), float(meta[1])


def _run_chunk(task: tuple[dict[str, int], GenerationConfig, Path | None]
               ) -> tuple[dict[str, np.ndarray], int, float]:
    chunk, config, cache = task
    path = None if cache is None else _chunk_path(cache, chunk, config)
    if path is not None and (cached := _load_cached(path)) is not None:
        return cached
    start = time.perf_counter()
    arrays, n_events = generate_jets(chunk["label"], chunk["seed"], chunk["n_jets"], config)
    wall = time.perf_counter() - start
    if path is not None:
        write_npz_atomic(path, dict(arrays, _meta=np.array([n_events, wall])))
    return arrays, n_events, wall


def reuse_chunks(cache: Path, source: Path, config: GenerationConfig) -> int:
    """Copy the chunks of a finished data set ``source`` into the resume cache ``cache``.

    A chunk is a deterministic function of ``(label, seed, n_jets, config)``, so a larger data set of
    the same base seed and chunk size can start from a smaller one instead of regenerating its chunks
    (the 16k test set is then the exact prefix of the 60k one).  Returns the number of chunks copied;
    ValueError if ``source`` was generated with other physics settings or other generator versions
    (:data:`GENERATOR_PACKAGES`: the same seeds give other events there).
    """
    manifest = verify(source)
    if manifest["config"] != config.to_dict():
        raise ValueError(f"{source} was generated with other settings than requested; cannot reuse it")
    theirs = {name: manifest.get("versions", {}).get(name) for name in GENERATOR_PACKAGES}
    installed = package_versions(GENERATOR_PACKAGES)
    ours = {name: installed[name] for name in GENERATOR_PACKAGES}
    if theirs != ours:
        raise ValueError(f"{source} was generated with {theirs}, not the installed {ours}; cannot reuse it")
    with np.load(Path(source) / NPZ_NAME, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    cache.mkdir(parents=True, exist_ok=True)
    copied = 0
    for chunk in manifest["chunks"]:
        key = {k: int(chunk[k]) for k in ("label", "seed", "n_jets")}
        path = _chunk_path(cache, key, config)
        rows = (arrays["seed"] == key["seed"]) & (arrays["label"] == key["label"])
        if path.exists() or int(rows.sum()) != key["n_jets"]:
            continue
        meta = np.array([chunk["n_events"], chunk["wall_s"]], dtype=np.float64)
        write_npz_atomic(path, dict({k: a[rows] for k, a in arrays.items()}, _meta=meta))
        copied += 1
    return copied


def _map_chunks(tasks: list[tuple[dict[str, int], GenerationConfig, Path | None]], workers: int,
                callback: Callable[[int], None]) -> list[tuple[dict[str, np.ndarray], int, float]]:
    """Run the chunks in order (in-process for one worker, else in a spawn pool, order preserved)."""
    results = []
    if workers == 1:
        for task in tasks:
            results.append(_run_chunk(task))
            callback(task[0]["n_jets"])
        return results
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for task, result in zip(tasks, pool.imap(_run_chunk, tasks), strict=True):
            results.append(result)
            callback(task[0]["n_jets"])
    return results


def reproduce_command(out: Path, n_jets: int, seed: int, chunk_jets: int, config: GenerationConfig) -> str:
    command = (f"python -m models.top_tagging.data generate --out {out} --n-jets {n_jets} --seed {seed} "
               f"--chunk-jets {chunk_jets}")
    return command + ("" if config.mpi else " --no-mpi")


def generate_dataset(
    out_dir: str | os.PathLike[str] = DEFAULT_DATA_DIR,
    n_jets: int = 20000,
    seed: int = 1,
    workers: int | None = None,
    chunk_jets: int | None = None,
    config: GenerationConfig | None = None,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    force: bool = False,
    progress: bool = True,
    reuse: Sequence[str | os.PathLike[str]] = (),
) -> dict[str, Any]:
    """Generate ``n_jets`` jets (half top, half QCD) into ``out_dir``; return the manifest.

    Chunk ``k`` of class ``c`` is generated with Pythia seed ``chunk_seed(seed, c, k)``; chunks are
    concatenated in plan order, so the result does not depend on ``workers`` (default: all CPUs).
    Chunks found in the finished data sets ``reuse`` (same settings) are copied, not regenerated.
    """
    config = GenerationConfig() if config is None else config
    if not (isinstance(n_jets, int) and n_jets >= 2 and n_jets % 2 == 0):
        raise ValueError(f"n_jets must be an even integer >= 2 (balanced classes), got {n_jets!r}")
    if workers is None:
        workers = os.cpu_count() or 1
    if not (isinstance(workers, int) and workers >= 1):
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    out = Path(out_dir)
    if (out / MANIFEST_NAME).exists() and not force:
        raise FileExistsError(f"{out} already holds a data set; pass force=True (--force) to overwrite it")
    n_per_class = n_jets // 2
    chunk_jets = default_chunk_jets(n_per_class) if chunk_jets is None else chunk_jets
    chunks = plan_chunks(n_per_class, seed, chunk_jets)
    splits = split_chunks(chunks, fractions)  # validates fractions before any generation

    cache = out / CACHE_DIR  # finished chunks survive an interruption: rerunning resumes
    if force and (out / MANIFEST_NAME).exists():
        shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True, exist_ok=True)
    for source in reuse:
        reuse_chunks(cache, Path(source), config)
    start = time.perf_counter()
    with progress_bar(total=n_jets, desc="top-tagging jets", unit="jet",
                      disable=None if progress else True) as bar:
        results = _map_chunks([(c, config, cache) for c in chunks], min(workers, len(chunks)), bar.update)
    wall = time.perf_counter() - start

    arrays = {k: np.concatenate([r[0][k] for r in results]) for k in results[0][0]}
    validate_arrays(arrays)
    (out / MANIFEST_NAME).unlink(missing_ok=True)  # an npz without manifest is never taken as complete
    write_npz_atomic(out / NPZ_NAME, arrays)
    manifest = {
        "format_version": FORMAT_VERSION,
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": reproduce_command(out, n_jets, seed, chunk_jets, config),
        "argv": list(sys.argv),
        "versions": package_versions(["numpy", "pythia8mc", "fastjet", "awkward"]),
        "seed": seed,
        "n_jets": n_jets,
        "chunk_jets": chunk_jets,
        "config": config.to_dict(),
        "pythia_settings": {
            CLASS_NAMES[label]: [s if not s.startswith("Random:seed") else "Random:seed = <chunk seed>"
                                 for s in pythia_settings(label, 1, config)]
            for label in CLASS_NAMES
        },
        "selection": "one jet per event: the hardest anti-kt jet passing the pT/|eta| cuts (top: with the "
                     "top, its b and both W-decay quarks within match_radius in (y, phi))",
        "counts": {name: int(np.sum(arrays["label"] == label)) for label, name in CLASS_NAMES.items()},
        "n_events": {name: int(sum(r[1] for c, r in zip(chunks, results, strict=True) if c["label"] == label))
                     for label, name in CLASS_NAMES.items()},
        "chunks": [dict(c, n_events=r[1], wall_s=round(r[2], 3))
                   for c, r in zip(chunks, results, strict=True)],
        "split_fractions": list(fractions),
        "splits": splits,
        "columns": COLUMNS,
        "files": {NPZ_NAME: {"sha256": sha256_file(out / NPZ_NAME),
                             "bytes": (out / NPZ_NAME).stat().st_size}},
        "timing": {"wall_s": round(wall, 3), "workers": workers, "jets_per_s": round(n_jets / wall, 3)},
    }
    write_json_atomic(out / MANIFEST_NAME, manifest)
    shutil.rmtree(cache, ignore_errors=True)
    return manifest


def _info(data_dir: Path, check: bool) -> int:
    manifest = verify(data_dir) if check else load_manifest(data_dir)
    print(json.dumps(manifest, indent=2, sort_keys=True))
    status = "sha256 verified" if check else "not verified"
    print(f"\n{data_dir}: {manifest['counts']} jets, {status}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m models.top_tagging.data`` (subcommands ``generate`` and ``info``)."""
    parser = argparse.ArgumentParser(prog="python -m models.top_tagging.data",
                                     description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    gen = sub.add_parser("generate", help="generate a balanced top / QCD jet data set")
    gen.add_argument("--out", type=Path, default=DEFAULT_DATA_DIR, help="output directory")
    gen.add_argument("--n-jets", type=int, default=20000, help="total number of jets (even; half per class)")
    gen.add_argument("--seed", type=int, default=1, help="base seed (0 .. 44999)")
    gen.add_argument("--workers", type=int, default=None, help="worker processes (default: all CPUs)")
    gen.add_argument("--chunk-jets", type=int, default=None, help="jets per seed (default: ~n/40, 25..250)")
    gen.add_argument("--no-mpi", action="store_true", help="switch off multiparton interactions (faster)")
    gen.add_argument("--force", action="store_true", help="overwrite an existing data set")
    gen.add_argument("--quiet", action="store_true", help="no progress output")
    gen.add_argument("--reuse", type=Path, nargs="*", default=[], metavar="DIR",
                     help="finished data sets whose chunks (same seeds and settings) are copied, not rerun")
    info = sub.add_parser("info", help="print the manifest and verify the checksums")
    info.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR, help="data directory")
    info.add_argument("--no-verify", action="store_true", help="skip the sha256 check")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.cmd == "info":
        return _info(args.data, not args.no_verify)
    config = GenerationConfig(mpi=not args.no_mpi)
    manifest = generate_dataset(args.out, args.n_jets, args.seed, args.workers, args.chunk_jets, config,
                                force=args.force, progress=not args.quiet, reuse=args.reuse)
    print(f"wrote {args.out / NPZ_NAME}: {manifest['counts']} in {manifest['timing']['wall_s']:.0f}s "
          f"({manifest['n_events']} events)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_cli(main)
