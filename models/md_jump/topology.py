r"""The heavy-atom topology a jump model is trained on, and the checks of structures against it.

A :class:`Topology` is the ordered list of heavy atoms ``(residue index, residue name, atom name)``.
A model knows exactly one topology (chignolin's 77 heavy atoms here): a structure with an atom the
model never saw is a :class:`TopologyError` naming the atom (*unknown atom*), and a structure whose
atoms are known but differ in number or order is a :class:`TopologyError` naming the first mismatch
(*mismatched topology*).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

import numpy as np

__all__ = ["Topology", "TopologyError", "read_pdb"]


class TopologyError(ValueError):
    """A structure whose atoms do not match the topology the model was trained on."""


@dataclasses.dataclass(frozen=True)
class Topology:
    """Heavy atoms in order: residue indices (0-based), residue names and atom names.

    >>> top = Topology((0, 0, 1), ("GLY", "GLY", "TYR"), ("N", "CA", "N"))
    >>> top.tokens, top.ca.tolist()
    (('GLY:N', 'GLY:CA', 'TYR:N'), [1])
    """

    residue_index: tuple[int, ...]
    residue_names: tuple[str, ...]
    atom_names: tuple[str, ...]

    def __post_init__(self) -> None:
        n = len(self.atom_names)
        if n == 0 or len(self.residue_index) != n or len(self.residue_names) != n:
            raise TopologyError(f"a topology needs equally many (>0) residue indices, residue names and "
                                f"atom names, got {len(self.residue_index)}, {len(self.residue_names)}, {n}")

    def __len__(self) -> int:
        return len(self.atom_names)

    @property
    def tokens(self) -> tuple[str, ...]:
        """``"RES:ATOM"`` of every atom."""
        return tuple(f"{r}:{a}" for r, a in zip(self.residue_names, self.atom_names, strict=True))

    @property
    def ca(self) -> np.ndarray:
        """Indices of the Cα atoms."""
        return np.array([i for i, a in enumerate(self.atom_names) if a == "CA"], dtype=np.int64)

    @property
    def sequence(self) -> str:
        """One-letter sequence (``X`` for residues without a standard code)."""
        codes = {"ALA": "A", "ARG": "R", "ASN": "N", "ASP": "D", "CYS": "C", "GLN": "Q", "GLU": "E",
                 "GLY": "G", "HIS": "H", "ILE": "I", "LEU": "L", "LYS": "K", "MET": "M", "PHE": "F",
                 "PRO": "P", "SER": "S", "THR": "T", "TRP": "W", "TYR": "Y", "VAL": "V"}
        seen = dict(zip(self.residue_index, self.residue_names, strict=True))
        return "".join(codes.get(seen[k], "X") for k in sorted(seen))

    def to_dict(self) -> dict:
        return {k: list(v) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> Topology:
        return cls(tuple(int(i) for i in d["residue_index"]), tuple(d["residue_names"]),
                   tuple(d["atom_names"]))

    def check(self, other: Topology) -> None:
        """Raise :class:`TopologyError` unless ``other`` is this topology (same atoms, same order).

        >>> a = Topology((0, 0), ("GLY", "GLY"), ("N", "CA"))
        >>> try:
        ...     a.check(Topology((0, 0), ("GLY", "GLY"), ("N", "CB")))
        ... except TopologyError as err:
        ...     print(str(err)[:34])
        unknown atom GLY:CB (atom 1, resid
        """
        known = set(self.tokens)
        for k, token in enumerate(other.tokens):
            if token not in known:
                raise TopologyError(f"unknown atom {token} (atom {k}, residue {other.residue_index[k]}): the "
                                    f"model was trained on the heavy atoms of {self.sequence} only")
        if len(other) != len(self):
            raise TopologyError(f"mismatched topology: {len(other)} heavy atoms ({other.sequence}), the "
                                f"model was trained on {len(self)} ({self.sequence})")
        for k, (mine, theirs) in enumerate(zip(self.tokens, other.tokens, strict=True)):
            if mine != theirs or self.residue_index[k] != other.residue_index[k]:
                raise TopologyError(f"mismatched topology at heavy atom {k}: {theirs} of residue "
                                    f"{other.residue_index[k]}, expected {mine} of residue "
                                    f"{self.residue_index[k]}")


def heavy_atoms(residue_index: Sequence[int], residue_names: Sequence[str], atom_names: Sequence[str],
                elements: Sequence[str]) -> tuple[Topology, np.ndarray]:
    """The :class:`Topology` of the non-hydrogen atoms and their indices in the full atom list."""
    keep = np.array([i for i, e in enumerate(elements) if e.upper() not in ("H", "D")], dtype=np.int64)
    if len(keep) == 0:
        raise TopologyError("the structure has no heavy atoms")
    first = int(residue_index[keep[0]])
    top = Topology(tuple(int(residue_index[i]) - first for i in keep), tuple(residue_names[i] for i in keep),
                   tuple(atom_names[i] for i in keep))
    return top, keep


def read_pdb(path: str | os.PathLike[str]) -> tuple[Topology, np.ndarray, np.ndarray]:
    """``(heavy-atom topology, heavy positions (n, 3) in Å, heavy indices)`` of the first model of a PDB.

    Read with OpenMM's ``PDBFile``; a missing or unreadable file is a one-line error.
    """
    import openmm.app as app
    import openmm.unit as u

    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such PDB file")
    try:
        pdb = app.PDBFile(os.fspath(path))
    except Exception as err:  # OpenMM raises bare Exceptions on malformed files
        raise TopologyError(f"{path}: not a readable PDB file ({err})") from None
    atoms = list(pdb.topology.atoms())
    if not atoms:
        raise TopologyError(f"{path}: no atoms")
    elements = [a.element.symbol if a.element is not None else a.name[:1] for a in atoms]
    top, keep = heavy_atoms([a.residue.index for a in atoms], [a.residue.name for a in atoms],
                            [a.name for a in atoms], elements)
    xyz = np.asarray(pdb.getPositions(asNumpy=True).value_in_unit(u.angstrom), dtype=np.float64)[keep]
    if not np.isfinite(xyz).all():
        raise TopologyError(f"{path}: positions contain NaN or infinite values")
    return top, xyz, keep
