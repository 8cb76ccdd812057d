r"""Shape data sets: the KiCad component meshes (real) and trimesh primitives (synthetic, for tests).

Generate the real set (``make shapes-data``)::

    python -m models.shape_recognition.data generate --out data/shapes --cache data/cache/kicad

Both sets are :class:`ShapeSet`\ s: ``points (M, P, 3)`` normalised surface samples (zero centroid, unit
RMS radius), integer ``labels``, ``is_test`` and the part ``families`` that decided the split.  On disk
a set is ``points.npz`` (no pickles) plus ``manifest.json`` (sha256, settings, seeds, split, versions).
"""

from __future__ import annotations

import argparse
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.common.cli import run_cli
from models.common.io import DataError, atomic_path, verify_manifest, write_manifest
from models.common.progress import progress
from models.shape_recognition import kicad
from models.shape_recognition.meshes import MeshError, mesh_to_cloud, read_mesh

__all__ = ["ShapeSet", "SYNTHETIC_CLASSES", "load_shapes", "save_shapes", "synthetic_mesh",
           "synthetic_shapes"]

NPZ_NAME = "points.npz"
REGENERATE = "make shapes-data"
SYNTHETIC_CLASSES = ("box", "cylinder", "sphere", "capsule", "cone", "torus")


@dataclass(frozen=True)
class ShapeSet:
    """Labelled point clouds: ``points (M, P, 3)``, ``labels (M,)`` in ``[0, len(classes))``,
    ``is_test (M,)``, ``names (M,)`` and ``families (M,)`` (split groups), ``classes (C,)``."""

    points: np.ndarray
    labels: np.ndarray
    is_test: np.ndarray
    names: np.ndarray
    families: np.ndarray
    classes: tuple[str, ...]

    def __post_init__(self) -> None:
        m = len(self.labels)
        if self.points.ndim != 3 or self.points.shape[0] != m or self.points.shape[2] != 3:
            raise DataError(f"points must have shape ({m}, P, 3), got {self.points.shape}")
        for name in ("is_test", "names", "families"):
            if getattr(self, name).shape != (m,):
                raise DataError(f"{name} must have shape ({m},), got {getattr(self, name).shape}")
        if m and (self.labels.min() < 0 or self.labels.max() >= len(self.classes)):
            raise DataError(f"labels must lie in [0, {len(self.classes)}), got [{self.labels.min()}, "
                            f"{self.labels.max()}]")
        if not np.isfinite(self.points).all():
            raise DataError("points contain NaN or infinite values")
        shared = set(self.families[self.is_test]) & set(self.families[~self.is_test])
        if shared:
            raise DataError(f"{len(shared)} part families are on both sides of the split, e.g. {min(shared)}")

    def part(self, test: bool) -> tuple[np.ndarray, np.ndarray]:
        """``(points, labels)`` of the test (``True``) or training (``False``) part."""
        mask = self.is_test if test else ~self.is_test
        return self.points[mask], self.labels[mask]


def save_shapes(shapes: ShapeSet, directory: Path, *, settings: dict, seeds: dict, skipped: dict) -> None:
    """Write ``points.npz`` atomically, then the manifest (last, so a manifest means complete)."""
    directory = Path(directory)
    with atomic_path(directory / NPZ_NAME) as tmp:
        np.savez(tmp, points=shapes.points, labels=shapes.labels, is_test=shapes.is_test,
                 names=shapes.names, families=shapes.families, classes=np.array(shapes.classes))
    counts = {c: {"train": int(np.sum((shapes.labels == k) & ~shapes.is_test)),
                  "test": int(np.sum((shapes.labels == k) & shapes.is_test))}
              for k, c in enumerate(shapes.classes)}
    split = {"rule": "per class, whole part families (kicad.family_of) to test until >= test_fraction",
             "per_class": counts, "skipped_meshes": skipped}
    write_manifest(directory, [NPZ_NAME], settings=settings, seeds=seeds, split=split,
                   packages=["numpy", "vtk", "trimesh"])


def load_shapes(directory: str | Path) -> ShapeSet:
    """Verify the manifest's sha256 and load a :class:`ShapeSet` (no pickles)."""
    directory = Path(directory)
    verify_manifest(directory, regenerate=REGENERATE)
    with np.load(directory / NPZ_NAME, allow_pickle=False) as z:
        missing = {"points", "labels", "is_test", "names", "families", "classes"} - set(z.files)
        if missing:
            raise DataError(f"{directory / NPZ_NAME} lacks {sorted(missing)}; regenerate with: {REGENERATE}")
        return ShapeSet(z["points"], z["labels"].astype(np.int64), z["is_test"].astype(bool), z["names"],
                        z["families"], tuple(str(c) for c in z["classes"]))


def mesh_seed(seed: int, name: str) -> int:
    """Sampling seed of one mesh: independent of which other meshes are in the set.

    >>> mesh_seed(0, "DIP-8_W7.62mm") == mesh_seed(0, "DIP-8_W7.62mm") != mesh_seed(1, "DIP-8_W7.62mm")
    True
    """
    return (zlib.crc32(name.encode()) + 1_000_003 * seed) % 2**32


def synthetic_mesh(kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A trimesh primitive of kind ``kind`` (one of :data:`SYNTHETIC_CLASSES`) with random proportions.

    >>> v, f = synthetic_mesh("torus", np.random.default_rng(0))
    >>> v.shape[1], f.shape[1]
    (3, 3)
    """
    import trimesh

    a, b, c = rng.uniform(0.5, 1.5, size=3)
    make = {
        "box": lambda: trimesh.creation.box(extents=(a, 2 * b, 3 * c)),
        "cylinder": lambda: trimesh.creation.cylinder(radius=0.5 * a, height=3 * b, sections=24),
        "sphere": lambda: trimesh.creation.icosphere(subdivisions=2, radius=a),
        "capsule": lambda: trimesh.creation.capsule(radius=0.5 * a, height=2 * b, count=(12, 12)),
        "cone": lambda: trimesh.creation.cone(radius=a, height=2 * b, sections=24),
        "torus": lambda: trimesh.creation.torus(major_radius=a, minor_radius=0.15 * a * (1 + c / 3),
                                                major_sections=24, minor_sections=12),
    }
    if kind not in make:
        raise ValueError(f"unknown synthetic shape {kind!r}; expected one of {', '.join(make)}")
    mesh = make[kind]()
    return np.asarray(mesh.vertices), np.asarray(mesh.faces)


def synthetic_shapes(n_per_class: int, n_points: int, seed: int = 0, test_fraction: float = 0.25) -> ShapeSet:
    """A small labelled set of trimesh primitives (:data:`SYNTHETIC_CLASSES`), each its own family.

    >>> s = synthetic_shapes(2, 16, seed=0)
    >>> s.points.shape, s.classes[:2], int(s.is_test.sum())
    ((12, 16, 3), ('box', 'cylinder'), 6)
    """
    rng = np.random.default_rng(seed)
    points, labels, names = [], [], []
    for k, kind in enumerate(SYNTHETIC_CLASSES):
        for i in range(n_per_class):
            vertices, faces = synthetic_mesh(kind, rng)
            points.append(mesh_to_cloud(vertices, faces, n_points, seed=int(rng.integers(2**31))))
            labels.append(k)
            names.append(f"{kind}_{i}")
    labels_arr, names_arr = np.array(labels), np.array(names)
    is_test = kicad.split_by_family(list(names_arr), labels_arr, test_fraction, seed)
    return ShapeSet(np.stack(points).astype(np.float32), labels_arr, is_test, names_arr, names_arr.copy(),
                    SYNTHETIC_CLASSES)


def build_kicad(args: argparse.Namespace) -> tuple[ShapeSet, dict]:
    """Download, extract, cap, sample and split the KiCad classes; returns the set and skipped meshes."""
    deb = kicad.download_package(Path(args.cache), update=args.apt_update)
    found = kicad.extract_classes(deb, args.classes, Path(args.cache) / "extracted")
    paths = [p for c in args.classes for p in found[c]]
    labels = np.array([k for k, c in enumerate(args.classes) for _ in found[c]])
    families = [f"{c}/{kicad.family_of(p.stem)}" for c, p in zip(np.array(args.classes)[labels], paths,
                                                                  strict=True)]
    keep = kicad.cap_per_class(families, labels, args.max_per_class, args.seed)
    points, kept, skipped = [], [], {}
    for i in progress(keep, desc="meshes", unit="mesh"):
        try:
            vertices, faces = read_mesh(paths[i])
        except MeshError as err:
            skipped[paths[i].name] = str(err).split(": ", 1)[-1]
            continue
        points.append(mesh_to_cloud(vertices, faces, args.points, mesh_seed(args.seed, paths[i].stem)))
        kept.append(i)
    if not kept:
        raise DataError("no mesh could be read")
    kept = np.array(kept)
    fams = np.array([families[i] for i in kept])
    is_test = kicad.split_by_family(list(fams), labels[kept], args.test_fraction, args.seed)
    names = np.array([f"{args.classes[labels[i]]}/{paths[i].stem}" for i in kept])
    shapes = ShapeSet(np.stack(points).astype(np.float32), labels[kept], is_test, names, fams,
                      tuple(args.classes))
    return shapes, skipped


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m models.shape_recognition.data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="build the KiCad point-cloud set (or --synthetic primitives)")
    gen.add_argument("--out", default="data/shapes")
    gen.add_argument("--cache", default="data/cache/kicad", help="where the .deb and extracted meshes go")
    gen.add_argument("--classes", nargs="+", default=list(kicad.DEFAULT_CLASSES))
    gen.add_argument("--points", type=int, default=1024, help="surface samples per mesh")
    gen.add_argument("--max-per-class", type=int, default=120, help="cap per class (whole families)")
    gen.add_argument("--test-fraction", type=float, default=0.2)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--apt-update", action="store_true", help="run `apt-get update` before downloading")
    gen.add_argument("--synthetic", type=int, default=0, metavar="N",
                     help="instead: N trimesh primitives per class (offline, for tests and demos)")
    info = sub.add_parser("info", help="verify a data set and print its class counts")
    info.add_argument("--data", default="data/shapes")
    args = parser.parse_args(argv)
    if args.command == "info":
        shapes = load_shapes(args.data)
        for k, c in enumerate(shapes.classes):
            sel = shapes.labels == k
            n_train, n_test = int((sel & ~shapes.is_test).sum()), int((sel & shapes.is_test).sum())
            print(f"{c:20s} train {n_train:4d}  test {n_test:4d}")
        return
    if args.points < 2:
        raise ValueError(f"--points must be at least 2, got {args.points}")
    if args.synthetic:
        shapes, skipped = synthetic_shapes(args.synthetic, args.points, args.seed, args.test_fraction), {}
    else:
        shapes, skipped = build_kicad(args)
    settings = {k: v for k, v in vars(args).items() if k not in ("command", "seed", "out")}
    save_shapes(shapes, Path(args.out), settings=settings, seeds={"seed": args.seed}, skipped=skipped)
    print(f"wrote {len(shapes.labels)} clouds ({int(shapes.is_test.sum())} test, {len(skipped)} meshes "
          f"skipped) to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    run_cli(main)
