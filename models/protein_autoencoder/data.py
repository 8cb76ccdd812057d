r"""The data set: 64-residue fragments of the MDAnalysisTests single-chain proteins, split by protein.

``python -m models.protein_autoencoder.data generate --out data/protein`` (``make protein-data``)
reads ``MDAnalysisTests/data/dssp/*.pdb.gz`` (52 files) with gemmi
(:func:`~models.protein_autoencoder.structure.read_chain`, ``strict=False``) and

1. drops ``wrong_hydrogens`` (a 2-residue test file) and ``1mr1D_failing`` (the same protein as
   ``1mr1D``), leaving 50 proteins;
2. splits the *proteins* (seeded permutation) into train / val / test (default 38 / 4 / 8), so no
   protein is in two splits;
3. cuts every chain into segments of consecutive complete residues (a residue missing heavy atoms,
   or a chain break ``|C_i - N_{i+1}| > 2`` Å, ends a segment; both are counted per protein in the
   manifest), and each segment into windows of ``--length`` residues, every ``--stride`` residues
   in train (overlapping) and every ``--length`` residues in val / test (disjoint);
4. writes ``train.npz``, ``val.npz``, ``test.npz`` (``types (F, L)``, ``coords (F, L, 14, 3)``,
   ``mask (F, L, 14)``, ``protein (F,)``, ``start (F,)``) and ``manifest.json`` (sha256, settings,
   seed, the split by protein, per-protein counts).

:func:`load_split` checks the sha256 and reads the arrays (``allow_pickle=False``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from models.common.cli import run_cli
from models.common.io import DataError, atomic_path, verify_manifest, write_manifest
from models.common.progress import progress
from models.protein_autoencoder.structure import Chain, read_chain

__all__ = [
    "DEFAULT_DATA",
    "SPLITS",
    "dssp_files",
    "fragments",
    "generate",
    "load_split",
    "segments",
    "split_proteins",
]

DEFAULT_DATA = Path("data/protein")
SPLITS = ("train", "val", "test")
EXCLUDED = {"wrong_hydrogens": "2-residue test file", "1mr1D_failing": "same protein as 1mr1D"}
REGENERATE = "make protein-data"


def mdanalysis_tests_data() -> Path:
    """The ``data`` folder of the installed MDAnalysisTests (the ``[protein]`` extra)."""
    try:
        import MDAnalysisTests
    except ImportError as err:
        raise ImportError(
            "MDAnalysisTests is needed for the protein data: pip install -e '.[protein]'",
            name="MDAnalysisTests",
        ) from err
    return Path(MDAnalysisTests.__file__).parent / "data"


def dssp_files(root: Path | None = None) -> dict[str, Path]:
    """``{protein id: path}`` of the usable ``dssp/*.pdb.gz`` files (exclusions in ``EXCLUDED``)."""
    root = mdanalysis_tests_data() if root is None else Path(root)
    files = {p.name.removesuffix(".pdb.gz"): p for p in sorted((root / "dssp").glob("*.pdb.gz"))}
    if not files:
        raise DataError(f"no dssp/*.pdb.gz under {root}")
    return {k: v for k, v in files.items() if k not in EXCLUDED}


def segments(chain: Chain, max_peptide: float = 2.0) -> list[tuple[int, int]]:
    """``[(start, stop)]`` runs of complete residues without a chain break (``|C_i N_{i+1}| > max_peptide``).

    >>> import numpy as np
    >>> from models.protein_autoencoder.structure import Chain
    >>> c = np.zeros((4, 14, 3)); c[:, 0, 0] = [0, 1.3, 2.6, 9.0]; c[:, 2, 0] = [0, 1.3, 2.6, 9.0]
    >>> segments(Chain("A", np.zeros(4, int), c, None, np.array([1, 1, 0, 1], bool), [], []))
    [(0, 2), (3, 4)]
    """
    cut = ~chain.complete.copy()
    gaps = np.linalg.norm(chain.coords[1:, 0] - chain.coords[:-1, 2], axis=-1) > max_peptide
    out, start = [], None
    for i in range(len(chain) + 1):
        end_here = i == len(chain) or cut[i] or (start is not None and gaps[i - 1])
        if start is not None and end_here:
            out.append((start, i))
            start = None
        if i < len(chain) and not cut[i] and start is None:
            start = i
    return out


def fragments(chain: Chain, length: int, stride: int) -> list[int]:
    """Start indices of the ``length``-residue windows, every ``stride`` inside each segment."""
    return [s + k for s, e in segments(chain) for k in range(0, e - s - length + 1, stride)]


def split_proteins(names: list[str], counts: tuple[int, int], seed: int) -> dict[str, list[str]]:
    """Seeded split of protein ids: ``counts = (n_val, n_test)``, the rest train (sorted lists).

    >>> split_proteins(list("abcdef"), (1, 2), seed=0)["test"]
    ['c', 'f']
    """
    n_val, n_test = counts
    if n_val + n_test >= len(names):
        raise ValueError(f"cannot hold out {n_val} + {n_test} of {len(names)} proteins")
    order = np.random.default_rng(seed).permutation(sorted(names))
    return {
        "train": sorted(order[n_val + n_test :].tolist()),
        "val": sorted(order[:n_val].tolist()),
        "test": sorted(order[n_val : n_val + n_test].tolist()),
    }


def _stack(chains: dict[str, Chain], names: list[str], length: int, stride: int) -> dict[str, np.ndarray]:
    rows = [(k, name, s) for k, name in enumerate(names) for s in fragments(chains[name], length, stride)]
    if not rows:
        raise DataError(f"no {length}-residue fragment in proteins {names}")
    sl = [slice(s, s + length) for _, _, s in rows]
    return {
        "types": np.stack([chains[n].types[w] for (_, n, _), w in zip(rows, sl, strict=True)]),
        "coords": np.stack([chains[n].coords[w] for (_, n, _), w in zip(rows, sl, strict=True)]),
        "mask": np.stack([chains[n].mask[w] for (_, n, _), w in zip(rows, sl, strict=True)]),
        "protein": np.array([k for k, _, _ in rows]),
        "start": np.array([s for _, _, s in rows]),
    }


def generate(
    out: Path,
    *,
    length: int = 64,
    stride: int = 16,
    n_val: int = 4,
    n_test: int = 8,
    seed: int = 0,
    source: Path | None = None,
) -> Path:
    """Write the three splits and the manifest (module docstring); returns the manifest path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = dssp_files(source)
    chains = {
        name: read_chain(path, strict=False)
        for name, path in progress(files.items(), total=len(files), desc="reading", unit="pdb")
    }
    split = split_proteins(list(chains), (n_val, n_test), seed)
    written = []
    for name in SPLITS:
        arrays = _stack(chains, split[name], length, length if name != "train" else stride)
        with atomic_path(out / f"{name}.npz") as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        written.append(f"{name}.npz")
    proteins = {
        n: {
            "residues": len(c),
            "incomplete_residues": int((~c.complete).sum()),
            "segments": len(segments(c)),
            "notes": c.notes,
            "fragments": len(fragments(c, length, length if n not in split["train"] else stride)),
        }
        for n, c in chains.items()
    }
    settings = {
        "length": length,
        "stride_train": stride,
        "stride_eval": length,
        "n_val": n_val,
        "n_test": n_test,
        "source": "MDAnalysisTests/data/dssp/*.pdb.gz",
        "excluded": EXCLUDED,
        "proteins": proteins,
    }
    return write_manifest(
        out,
        written,
        settings=settings,
        seeds={"split": seed},
        split={**split, "protein_order": "index into each split's sorted list"},
        packages=["MDAnalysisTests", "gemmi", "numpy"],
    )


def load_split(data: Path, name: str) -> dict[str, np.ndarray]:
    """The arrays of split ``name`` after checking the manifest's sha256 (:class:`DataError` otherwise)."""
    if name not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {name!r}")
    verify_manifest(data, regenerate=REGENERATE)
    with np.load(Path(data) / f"{name}.npz", allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="python -m models.protein_autoencoder.data",
        description="Protein fragments from MDAnalysisTests, split by protein.",
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="write the splits and the manifest")
    g.add_argument("--out", type=Path, default=DEFAULT_DATA)
    g.add_argument("--length", type=int, default=64)
    g.add_argument("--stride", type=int, default=16)
    g.add_argument("--n-val", type=int, default=4)
    g.add_argument("--n-test", type=int, default=8)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--source", type=Path, default=None,
                   help="a folder with dssp/*.pdb.gz (default: the installed MDAnalysisTests data)")
    i = sub.add_parser("info", help="check the sha256 and print the sizes")
    i.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = p.parse_args(argv)
    if args.cmd == "generate":
        if args.length < 2 or args.stride < 1:
            raise ValueError("--length must be >= 2 and --stride >= 1")
        path = generate(args.out, length=args.length, stride=args.stride, n_val=args.n_val,
                        n_test=args.n_test, seed=args.seed, source=args.source)
        print(f"wrote {path}")
    else:
        for name in SPLITS:
            arrays = load_split(args.data, name)
            proteins = len(set(arrays["protein"].tolist()))
            print(f"{name}: {len(arrays['types'])} fragments from {proteins} proteins")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    run_cli(main)
    sys.exit(0)
