r"""Tissue segmentation data from nilearn's MNI ICBM152 2009 template (offline), and a synthetic phantom.

``make voxel-data``::

    python -m models.voxel_segmentation.data generate --out data/voxel

The 2 mm template (``99 × 117 × 95`` voxels along ``x`` left→right, ``y`` posterior→anterior, ``z``
inferior→superior): T1 intensities ``t1``, and ``labels`` 0 = background (outside the brain mask),
1 = CSF, 2 = grey matter, 3 = white matter, the arg-max of ``(p_CSF, p_GM, p_WM)`` inside the mask with
``p_CSF = max(0, 1 - p_GM - p_WM)`` (nilearn ships GM and WM probability maps, no CSF map).

Split by region along ``y`` (the template is left-right symmetric, so a left/right split would leak
mirror images): training crops lie entirely in ``y < train_y_max``; test cubes (the scored central
``score × score × score`` voxels of each test crop) lie in ``y ≥ test_y_min``, a gap of
``test_y_min - train_y_max`` voxels apart.  Crop origins and test centres are written to the manifest.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.common.cli import run_cli
from models.common.io import DataError, atomic_path, verify_manifest, write_manifest

__all__ = ["CLASSES", "Volume", "SplitSettings", "load_volume", "make_split", "normalise_intensity",
           "phantom", "save_volume", "tissue_labels"]

CLASSES = ("background", "CSF", "GM", "WM")
NPZ_NAME = "volume.npz"
REGENERATE = "make voxel-data"


@dataclass(frozen=True)
class SplitSettings:
    """Crop geometry of the region split (grid units, 2 mm voxels)."""

    crop: int = 32
    score: int = 16
    train_y_max: int = 60
    test_y_min: int = 68
    train_stride: int = 6
    min_brain_fraction: float = 0.15


@dataclass(frozen=True)
class Volume:
    """``t1 (X, Y, Z)`` float32 in ``[0, 1]``, ``labels (X, Y, Z)`` uint8 in ``[0, 4)``, ``spacing`` (mm),
    ``train_origins (N, 3)`` (corners of training crops), ``test_centres (M, 3)`` (centres, half-integers)."""

    t1: np.ndarray
    labels: np.ndarray
    spacing: tuple[float, float, float]
    train_origins: np.ndarray
    test_centres: np.ndarray
    settings: SplitSettings

    def __post_init__(self) -> None:
        if self.t1.ndim != 3 or self.t1.shape != self.labels.shape:
            raise DataError(f"t1 {self.t1.shape} and labels {self.labels.shape} must be equal 3D shapes")
        if not np.isfinite(self.t1).all():
            raise DataError("t1 contains NaN or infinite values")
        if self.labels.size and self.labels.max() >= len(CLASSES):
            raise DataError(f"labels must lie in [0, {len(CLASSES)}), got max {self.labels.max()}")


def tissue_labels(gm: np.ndarray, wm: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """0 outside ``mask``, inside it ``1 + argmax(p_CSF, p_GM, p_WM)``, ``p_CSF = max(0, 1 - p_GM - p_WM)``.

    >>> tissue_labels(np.array([0.1, 0.7, 0.2, 0.9]), np.array([0.1, 0.2, 0.7, 0.0]),
    ...               np.array([1, 1, 1, 0])).tolist()
    [1, 2, 3, 0]
    """
    csf = np.clip(1.0 - gm - wm, 0.0, None)
    classes = 1 + np.argmax(np.stack([csf, gm, wm]), axis=0)
    return np.where(mask > 0.5, classes, 0).astype(np.uint8)


def normalise_intensity(image: np.ndarray) -> np.ndarray:
    """``image`` divided by the 99.5th percentile of its non-zero voxels, clipped to ``[0, 1]`` (float32).

    >>> normalise_intensity(np.array([0.0, 1.0, 2.0, 400.0])).round(3).tolist()
    [0.0, 0.003, 0.005, 1.0]
    """
    image = np.asarray(image, dtype=np.float64)
    if not np.isfinite(image).all():
        raise DataError("the image contains NaN or infinite values")
    nonzero = image[image > 0]
    if not nonzero.size:
        raise DataError("the image has no positive voxels")
    return np.clip(image / np.percentile(nonzero, 99.5), 0, 1).astype(np.float32)


def make_split(labels: np.ndarray, s: SplitSettings) -> tuple[np.ndarray, np.ndarray]:
    """Training crop origins (boxes inside ``y < train_y_max`` with enough brain) and test centres
    (scored cubes inside ``y ≥ test_y_min`` with enough brain)."""
    brain = labels > 0
    shape = labels.shape
    origins = []
    for x in range(0, shape[0] - s.crop + 1, s.train_stride):
        for y in range(0, s.train_y_max - s.crop + 1, s.train_stride):
            for z in range(0, shape[2] - s.crop + 1, s.train_stride):
                if brain[x:x + s.crop, y:y + s.crop, z:z + s.crop].mean() >= s.min_brain_fraction:
                    origins.append((x, y, z))
    centres = []
    half = s.score // 2
    for x in range(half, shape[0] - half + 1, s.score):
        for y in range(s.test_y_min + half, shape[1] - half + 1, s.score):
            for z in range(half, shape[2] - half + 1, s.score):
                cube = brain[x - half:x + half, y - half:y + half, z - half:z + half]
                if cube.mean() >= s.min_brain_fraction:
                    centres.append((x - 0.5, y - 0.5, z - 0.5))
    if not origins or not centres:
        raise DataError(f"the split {s} leaves {len(origins)} training crops and {len(centres)} test cubes")
    return np.array(origins, dtype=np.int64), np.array(centres, dtype=np.float64)


def phantom(size: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic ``(t1, labels)`` head phantom for tests: nested noisy ellipsoids (WM inside GM inside
    CSF inside background), T1-like intensities.

    >>> t1, labels = phantom(12)
    >>> t1.shape, sorted(set(labels.ravel().tolist()))
    ((12, 14, 12), [0, 1, 2, 3])
    """
    rng = np.random.default_rng(seed)
    shape = (size, size + size // 6, size)
    axes = [np.linspace(-1, 1, n) for n in shape]
    x, y, z = np.meshgrid(*axes, indexing="ij")
    wobble = 0.08 * np.sin(5 * x + 3 * y) * np.cos(4 * z)
    r = np.sqrt((x / 0.9) ** 2 + (y / 0.95) ** 2 + (z / 0.85) ** 2) + wobble
    labels = np.select([r < 0.45, r < 0.65, r < 0.8], [3, 2, 1], 0).astype(np.uint8)
    means = np.array([0.05, 0.25, 0.55, 0.8])
    t1 = means[labels] + 0.03 * rng.standard_normal(shape)
    return np.clip(t1, 0, 1).astype(np.float32), labels


def save_volume(volume: Volume, directory: Path, *, seeds: dict) -> None:
    """Write ``volume.npz`` atomically, then the manifest (last: a manifest means complete)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with atomic_path(directory / NPZ_NAME) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, t1=volume.t1, labels=volume.labels, spacing=np.array(volume.spacing),
                                train_origins=volume.train_origins, test_centres=volume.test_centres)
    s = volume.settings
    counts = {c: int((volume.labels == k).sum()) for k, c in enumerate(CLASSES)}
    split = {"axis": "y (posterior -> anterior, tensor axis 1)",
             "train": f"crops of {s.crop}^3 entirely in y < {s.train_y_max}",
             "test": f"scored cubes of {s.score}^3 entirely in y >= {s.test_y_min} (input crops of "
                     f"{s.crop}^3 around them may reach into the gap and the training region; labels there "
                     "are never scored)",
             "train_origins": volume.train_origins.tolist(), "test_centres": volume.test_centres.tolist(),
             "voxels_per_class": counts}
    write_manifest(directory, [NPZ_NAME], settings={**s.__dict__, "spacing_mm": list(volume.spacing),
                                                     "shape": list(volume.t1.shape)},
                   seeds=seeds, split=split, packages=["nilearn", "nibabel", "numpy"])


def load_volume(directory: Path) -> Volume:
    """The saved volume, after checking the manifest's sha256 (a clear error says how to regenerate)."""
    directory = Path(directory)
    manifest = verify_manifest(directory, regenerate=REGENERATE)
    settings = {k: v for k, v in manifest["settings"].items() if k in SplitSettings.__dataclass_fields__}
    with np.load(directory / NPZ_NAME, allow_pickle=False) as f:
        return Volume(f["t1"], f["labels"], tuple(float(v) for v in f["spacing"]), f["train_origins"],
                      f["test_centres"], SplitSettings(**settings))


def generate(out: Path, settings: SplitSettings) -> Volume:
    """Read the 2 mm MNI152 template with nilearn and write ``out`` (see the module docstring)."""
    try:
        from nilearn import datasets
    except ImportError as err:
        raise ImportError("the voxel data need nilearn: pip install 'lie_nn[voxel]'") from err
    t1_img = datasets.load_mni152_template(resolution=2)
    gm = datasets.load_mni152_gm_template(resolution=2).get_fdata()
    wm = datasets.load_mni152_wm_template(resolution=2).get_fdata()
    mask = datasets.load_mni152_brain_mask(resolution=2).get_fdata()
    t1 = normalise_intensity(t1_img.get_fdata())
    labels = tissue_labels(gm, wm, mask)
    origins, centres = make_split(labels, settings)
    spacing = tuple(float(v) for v in t1_img.header.get_zooms()[:3])
    volume = Volume(t1, labels, spacing, origins, centres, settings)
    save_volume(volume, out, seeds={"note": "deterministic: no random numbers"})
    return volume


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.voxel_segmentation.data")
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="read nilearn's MNI152 template, label it, split it")
    gen.add_argument("--out", type=Path, required=True)
    info = sub.add_parser("info", help="summarise a generated data directory")
    info.add_argument("--data", type=Path, required=True)
    args = parser.parse_args(argv)
    volume = generate(args.out, SplitSettings()) if args.command == "generate" else load_volume(args.data)
    counts = ", ".join(f"{c} {int((volume.labels == k).sum())}" for k, c in enumerate(CLASSES))
    print(f"volume {volume.t1.shape} at {volume.spacing} mm: {counts}; {len(volume.train_origins)} training "
          f"crops, {len(volume.test_centres)} test cubes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_cli(main)
