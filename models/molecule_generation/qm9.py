r"""Reading the QM9 CSV files shipped by the ``qm9pack`` wheel (1.0.3), with their integrity checked.

``qm9pack`` (MIT) ships the 130,831 QM9 molecules (B3LYP/6-31G(2df,p) geometries) in
``qm9pack/data/qm9_part{1,2,3}.csv``; the columns used here are ``Index``, ``N_atoms``, ``Elements``
(a list like ``['C','H']``) and ``XYZ_Ang`` (a list of ``[x, y, z]`` rows in Å).  The package is
located without importing it (its ``__init__`` needs ``pkg_resources``, absent from recent
setuptools), and every file is checked against the sha256 recorded in the wheel's ``RECORD``, the
package's own manifest: a missing package, a missing file and a corrupted file are each one clear
:class:`~models.common.io.DataError`.
"""

from __future__ import annotations

import base64
import csv
import importlib.util
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.common.io import DataError, sha256_file

__all__ = ["ELEMENTS", "QM9_PARTS", "Molecule", "bond_graph", "is_connected", "qm9pack_files", "read_csv"]

QM9_PARTS = ("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv")
ELEMENTS = {"H": 1, "C": 6, "N": 7, "O": 8, "F": 9}
INSTALL_HINT = "install it with: pip install 'lie_nn[qm9]' (or pip install qm9pack==1.0.3)"
_COLUMNS = ("Index", "N_atoms", "Elements", "XYZ_Ang")
_SYMBOL = re.compile(r"^\s*['\"]?([A-Z][a-z]?)['\"]?\s*$")


@dataclass(frozen=True)
class Molecule:
    """One QM9 molecule: ``index`` (QM9 number), atomic ``numbers (n,)`` and ``positions (n, 3)`` Å."""

    index: int
    numbers: np.ndarray
    positions: np.ndarray


def _record_hashes(package_dir: Path) -> dict[str, str]:
    """``{relative path: hex sha256}`` from the ``RECORD`` of the installed ``qm9pack`` wheel."""
    records = sorted(package_dir.parent.glob("qm9pack-*.dist-info/RECORD"))
    if not records:
        raise DataError(f"qm9pack is installed in {package_dir} without its RECORD (wheel manifest); "
                        f"reinstall it: pip install --force-reinstall qm9pack==1.0.3")
    hashes = {}
    for row in csv.reader(records[-1].read_text().splitlines()):
        if len(row) >= 2 and row[1].startswith("sha256="):
            digest = base64.urlsafe_b64decode(row[1][7:] + "=" * (-len(row[1][7:]) % 4))
            hashes[row[0]] = digest.hex()
    return hashes


def qm9pack_files(verify: bool = True) -> list[Path]:
    """Paths of the three QM9 CSV files of the installed ``qm9pack``, checked against its ``RECORD``.

    Raises :class:`~models.common.io.DataError` when the package is not installed, a file is
    missing, or a file's sha256 differs from the one the wheel recorded (a corrupted install).
    """
    spec = importlib.util.find_spec("qm9pack")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"the QM9 data package qm9pack is not installed; {INSTALL_HINT}")
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    hashes = _record_hashes(package_dir) if verify else {}
    files = []
    for name in QM9_PARTS:
        path = package_dir / "data" / name
        if not path.is_file():
            raise DataError(f"{path} is missing from the qm9pack install; reinstall it: "
                            f"pip install --force-reinstall qm9pack==1.0.3")
        if verify:
            expected = hashes.get(f"qm9pack/data/{name}")
            if expected is None:
                raise DataError(f"{name} is not listed in the qm9pack RECORD: not qm9pack 1.0.3?")
            if sha256_file(path) != expected:
                raise DataError(f"{path} is corrupt (its sha256 differs from the qm9pack RECORD); "
                                f"reinstall it: pip install --force-reinstall qm9pack==1.0.3")
        files.append(path)
    return files


def _parse_elements(text: str, where: str) -> np.ndarray:
    body = text.strip()
    if not (body.startswith("[") and body.endswith("]")):
        raise DataError(f"{where}: Elements must be a list like ['C','H'], got {text[:40]!r}")
    numbers = []
    for item in body[1:-1].split(","):
        match = _SYMBOL.match(item)
        if match is None or match.group(1) not in ELEMENTS:
            raise DataError(f"{where}: unknown element {item.strip()!r} (QM9 has {', '.join(ELEMENTS)})")
        numbers.append(ELEMENTS[match.group(1)])
    return np.asarray(numbers, dtype=np.int64)


def _parse_positions(text: str, n: int, where: str) -> np.ndarray:
    body = text.replace(" ", "")
    if not (body.startswith("[[") and body.endswith("]]")):
        raise DataError(f"{where}: XYZ_Ang must be a list of [x, y, z] rows, got {text[:40]!r}")
    try:
        xyz = np.array([[float(v) for v in row.split(",")] for row in body[2:-2].split("],[")])
    except ValueError as err:
        raise DataError(f"{where}: XYZ_Ang holds a value that is not a number ({err})") from None
    if xyz.shape != (n, 3):
        raise DataError(f"{where}: XYZ_Ang has shape {xyz.shape}, expected ({n}, 3) for N_atoms = {n}")
    if not np.isfinite(xyz).all():
        raise DataError(f"{where}: XYZ_Ang holds NaN or infinite coordinates")
    return xyz


def _parse_row(row: dict[str, str], where: str) -> Molecule:
    try:
        index, n = int(row["Index"]), int(row["N_atoms"])
    except (TypeError, ValueError):
        raise DataError(f"{where}: Index and N_atoms must be integers, got {row.get('Index')!r}, "
                        f"{row.get('N_atoms')!r}") from None
    if n < 1:
        raise DataError(f"{where}: N_atoms must be >= 1, got {n}")
    numbers = _parse_elements(row["Elements"] or "", where)
    if numbers.size != n:
        raise DataError(f"{where}: {numbers.size} elements listed but N_atoms = {n}")
    return Molecule(index, numbers, _parse_positions(row["XYZ_Ang"] or "", n, where))


def read_csv(path: str | Path) -> Iterator[Molecule]:
    """The molecules of one QM9 CSV file in the ``qm9pack`` format, in file order.

    A missing file, a missing column or a malformed row is a :class:`~models.common.io.DataError`
    naming the file and line.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "q.csv"
    >>> _ = p.write_text('Index,N_atoms,Elements,XYZ_Ang\\n1,2,"[\\'H\\',\\'H\\']","[[0,0,0],[0,0,0.74]]"\\n')
    >>> [m.numbers.tolist() for m in read_csv(p)]
    [[1, 1]]
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"QM9 CSV file {path} not found")
    csv.field_size_limit(1 << 24)
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path} is not a QM9 CSV in the qm9pack format: missing column(s) {missing}")
        try:
            for row in reader:
                yield _parse_row(row, f"{path}:{reader.line_num}")
        except csv.Error as err:
            raise DataError(f"{path}:{reader.line_num}: unreadable CSV ({err})") from None
        except UnicodeDecodeError as err:
            raise DataError(f"{path}: not UTF-8 text ({err.reason})") from None


def bond_graph(numbers: np.ndarray, positions: np.ndarray, scale: float = 1.15) -> np.ndarray:
    r"""Covalent bonds ``(i, j)``, ``i < j``, with ``|x_i - x_j| < scale · (ρ_i + ρ_j)`` (ASE covalent
    radii ``ρ``): the neighbours that a generation step places around a focus atom.

    >>> bond_graph(np.array([8, 1, 1]), np.array([[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0.0]])).tolist()
    [[0, 1], [0, 2]]
    """
    from ase.data import covalent_radii

    radii = covalent_radii[numbers]
    dist = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
    i, j = np.nonzero(np.triu(dist < scale * (radii[:, None] + radii[None]), k=1))
    return np.stack([i, j], axis=1).astype(np.int64)


def is_connected(n: int, bonds: np.ndarray) -> bool:
    """Whether the graph on ``n`` nodes with edges ``bonds`` is connected.

    >>> is_connected(3, np.array([[0, 1]])), is_connected(3, np.array([[0, 1], [1, 2]]))
    (False, True)
    """
    parent = list(range(n))

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in bonds:
        parent[root(int(a))] = root(int(b))
    return len({root(a) for a in range(n)}) == 1 if n else False

