r"""The KiCad 3D component library (Debian package ``kicad-packages3d``) as labelled meshes.

The package (379 MB, ~6,200 VRML meshes in ~90 ``<Class>.3dshapes`` folders) is fetched with
``apt-get download`` into a cache directory and the chosen classes are extracted with
``dpkg-deb --fsys-tarfile | tar -x``; nothing is installed system-wide.

Near-duplicate variants of one part (``DIP-8_W7.62mm``, ``DIP-8_W7.62mm_Socket``,
``DIP-8_W7.62mm_LongPads``) share a *family* (:func:`family_of`): the file name's ``_``-separated
tokens without those that only name a pitch, pad, orientation or socket variant, first three kept.
:func:`split_by_family` keeps every family on one side of the train/test split.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["DEFAULT_CLASSES", "PACKAGE", "download_package", "extract_classes", "family_of",
           "cap_per_class", "split_by_family"]

PACKAGE = "kicad-packages3d"
MODELS_DIR = "usr/share/kicad/3dmodels"
DEFAULT_CLASSES = ("Capacitor_THT", "Package_DIP", "Package_SO", "Resistor_THT", "Crystal", "Package_BGA",
                   "Package_QFP", "Inductor_THT", "Package_TO_SOT_THT", "LED_THT")

_VARIANT = re.compile(
    r"^(?:P|Px|Py|O|Z|EP|Pad|Ball|Mask|Pitch)\d"
    r"|^(?:Horizontal|Vertical|Socket|SMDSocket|LongPads|SlugUp|SlugDown|ThermalVias|TopEP|style\d+"
    r"|Layout\d+x\d+|NSMD|SMD|THT|Wide|Narrow|\d*EP)$", re.IGNORECASE)


def family_of(stem: str) -> str:
    """The part family of a mesh file name (without suffix): variant tokens dropped, three kept.

    >>> family_of("DIP-8_W7.62mm_SMDSocket_LongPads")
    'DIP-8_W7.62mm'
    >>> family_of("CP_Axial_L10.0mm_D6.0mm_P15.00mm_Horizontal")
    'CP_Axial_L10.0mm'
    """
    tokens = [t for t in stem.split("_") if not _VARIANT.match(t)]
    return "_".join(tokens[:3]) or stem


def _run(command: Sequence[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    if shutil.which(command[0]) is None:
        raise OSError(f"{what}: `{command[0]}` is not available; the KiCad meshes come from the Debian "
                      f"package {PACKAGE} (Debian/Ubuntu with apt-get and dpkg-deb needed)")
    result = subprocess.run(list(command), capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise OSError(f"{what}: `{' '.join(command)}` failed ({tail[0]})")
    return result


def download_package(cache: Path, *, update: bool = False) -> Path:
    """The ``.deb`` of :data:`PACKAGE` in ``cache``, downloaded with ``apt-get download`` if absent.

    ``update=True`` runs ``apt-get update`` first (needed once on a fresh machine; root only).
    """
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    found = sorted(cache.glob(f"{PACKAGE}_*_all.deb"))
    if found:
        return found[-1]
    if update:
        _run(["apt-get", "update"], "apt-get update")
    _run(["apt-get", "download", PACKAGE], "downloading the KiCad meshes", cwd=cache)
    found = sorted(cache.glob(f"{PACKAGE}_*_all.deb"))
    if not found:
        raise OSError(f"apt-get download {PACKAGE} wrote no .deb into {cache}")
    return found[-1]


def extract_classes(deb: Path, classes: Sequence[str], out: Path) -> dict[str, list[Path]]:
    """Extract ``<Class>.3dshapes/*.wrl`` of each class from ``deb`` into ``out``; sorted paths per class.

    Extraction is skipped for classes already present under ``out``.
    """
    out = Path(out)
    root = out / MODELS_DIR
    missing = [c for c in classes if not (root / f"{c}.3dshapes").is_dir()]
    if missing:
        out.mkdir(parents=True, exist_ok=True)
        patterns = [f"./{MODELS_DIR}/{c}.3dshapes/*.wrl" for c in missing]
        if shutil.which("dpkg-deb") is None or shutil.which("tar") is None:
            raise OSError("extracting the KiCad meshes needs `dpkg-deb` and `tar`")
        dpkg = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
        tar = subprocess.run(["tar", "-x", "-C", str(out), "--wildcards", *patterns], stdin=dpkg.stdout,
                             capture_output=True, text=True)
        dpkg.stdout.close()
        if dpkg.wait() != 0 or tar.returncode != 0:
            raise OSError(f"extracting {', '.join(missing)} from {deb} failed: "
                          f"{(tar.stderr or 'dpkg-deb error').strip().splitlines()[-1]} "
                          f"(is the class name spelled as in {MODELS_DIR}?)")
    found = {c: sorted((root / f"{c}.3dshapes").glob("*.wrl")) for c in classes}
    empty = [c for c, paths in found.items() if not paths]
    if empty:
        raise OSError(f"no .wrl meshes for class(es) {', '.join(empty)} in {deb}")
    return found


def cap_per_class(families: Sequence[str], labels: np.ndarray, cap: int | None, seed: int) -> np.ndarray:
    """Indices kept when each class keeps at most ``cap`` meshes, taken as whole families in a seeded
    random order (a family that would overflow the cap is skipped), sorted.

    >>> cap_per_class(["a", "a", "b", "c"], np.array([0, 0, 0, 0]), 2, seed=0).tolist() in ([0, 1], [2, 3])
    True
    """
    labels = np.asarray(labels)
    if cap is None:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    keep: list[int] = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        groups = sorted({families[i] for i in members})
        taken = 0
        for g in rng.permutation(len(groups)):
            idx = [i for i in members if families[i] == groups[g]]
            if taken + len(idx) <= cap:
                keep += idx
                taken += len(idx)
    return np.sort(np.array(keep, dtype=np.int64))


def split_by_family(families: Sequence[str], labels: np.ndarray, test_fraction: float, seed: int
                    ) -> np.ndarray:
    """Boolean ``is_test`` per mesh: per class, whole families (seeded order) go to test until at
    least ``test_fraction`` of the class is there; no family is on both sides.

    >>> bool(split_by_family(["a", "a", "b", "c", "d"], np.zeros(5, int), 0.4, seed=1).sum() >= 2)
    True
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    is_test = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        groups = sorted({families[i] for i in members})
        if len(groups) < 2:
            raise ValueError(f"class {label} has a single part family; it cannot be split")
        for g in rng.permutation(len(groups))[:-1]:  # the last family always stays in training
            if is_test[members].sum() >= test_fraction * len(members):
                break
            is_test[[i for i in members if families[i] == groups[g]]] = True
    return is_test
