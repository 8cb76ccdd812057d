r"""Reading one protein chain from a PDB/mmCIF file (gemmi) into the atom14 layout, and writing PDBs.

:func:`read_chain` returns a :class:`Chain`: residue types ``(L,)``, heavy-atom coordinates
``(L, 14, 3)`` in Å and the slot mask ``(L, 14)`` (see :mod:`~models.protein_autoencoder.residues`).

What is read, skipped or refused (nothing is dropped without a note in ``Chain.notes``):

- only the first model of a multi-model file (noted); alternative locations: the first (noted);
- hydrogens (by element or an ``H`` name) and ``OXT`` are not modelled (noted with counts); waters
  and hetero groups outside the polymer (ligands, ions) are skipped (noted by name);
- refused with :class:`StructureError`: an empty or unreadable file, no standard amino acid, several
  protein chains without ``chain=`` naming one, a non-standard residue inside the chain (``MSE``,
  ``SEP``, ...), and -- with ``strict=True`` -- a residue missing heavy atoms (named) or an
  unexpected atom name.  With ``strict=False`` (data generation) incomplete residues are kept and
  flagged in ``Chain.complete`` so the caller can cut fragments around them.

>>> text = ("ATOM      1  N   GLY A   1       0.000   0.000   0.000  1.00  0.00           N\n"
...         "ATOM      2  CA  GLY A   1       1.458   0.000   0.000  1.00  0.00           C\n"
...         "ATOM      3  C   GLY A   1       2.009   1.420   0.000  1.00  0.00           C\n"
...         "ATOM      4  O   GLY A   1       1.251   2.390   0.000  1.00  0.00           O\nEND\n")
>>> chain = chain_from_text(text)
>>> chain.sequence, chain.coords.shape, int(chain.mask.sum())
('G', (1, 14, 3), 4)
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from models.common.io import write_text_atomic
from models.protein_autoencoder.residues import ATOM14, NUM_SLOTS, RESIDUES, atom_mask, one_letter

__all__ = ["Chain", "StructureError", "chain_from_text", "read_chain", "structure_to_pdb", "write_pdb"]

WATERS = frozenset({"HOH", "WAT", "DOD", "H2O", "TIP", "TIP3", "SOL"})
# Force-field (CHARMM/AMBER) names of standard residues and atoms, renamed with a note.
RESIDUE_ALIASES = {
    "HSD": "HIS",
    "HSE": "HIS",
    "HSP": "HIS",
    "HID": "HIS",
    "HIE": "HIS",
    "HIP": "HIS",
    "CYX": "CYS",
}
ATOM_ALIASES = {("ILE", "CD"): "CD1", ("*", "OT1"): "O", ("*", "OT2"): "OXT"}


class StructureError(ValueError):
    """A structure that cannot be turned into one chain of standard residues (the message says why)."""


@dataclasses.dataclass
class Chain:
    """One protein chain: ``types (L,)`` indices into RESIDUES, ``coords (L, 14, 3)`` Å, ``mask (L, 14)``,
    ``complete (L,)`` (all heavy atoms present), residue numbers and the notes of what was skipped."""

    name: str
    types: np.ndarray
    coords: np.ndarray
    mask: np.ndarray
    complete: np.ndarray
    numbers: list[str]
    notes: list[str]

    @property
    def sequence(self) -> str:
        return one_letter([RESIDUES[t] for t in self.types])

    def __len__(self) -> int:
        return len(self.types)


def _gemmi():
    import gemmi

    return gemmi


def _is_polymer_residue(res, gemmi) -> bool:
    info = gemmi.find_tabulated_residue(res.name)
    return res.het_flag != "H" or (info is not None and info.is_amino_acid())


def _protein_chains(model, gemmi) -> dict[str, list]:
    chains: dict[str, list] = {}
    for ch in model:
        residues = [
            r for r in ch if r.name in RESIDUES or (_is_polymer_residue(r, gemmi) and r.name not in WATERS)
        ]
        if any(r.name in RESIDUES for r in residues):
            chains.setdefault(ch.name, []).extend(residues)
    return chains


def _parse(structure, source: str, chain: str | None, strict: bool) -> Chain:
    gemmi = _gemmi()
    notes: list[str] = []
    if len(structure) == 0 or not any(len(r) for ch in structure[0] for r in ch):
        raise StructureError(f"{source}: no atoms (empty or not a PDB/mmCIF file)")
    if len(structure) > 1:
        notes.append(f"used model 1 of {len(structure)}")
    if structure.remove_alternative_conformations() or False:
        notes.append("kept the first alternative location")
    model = structure[0]
    renamed = sorted({r.name for ch in model for r in ch if r.name in RESIDUE_ALIASES})
    if renamed:
        notes.append(f"renamed force-field residues {', '.join(renamed)}")
    for ch in model:
        for r in ch:
            r.name = RESIDUE_ALIASES.get(r.name, r.name)
    chains = _protein_chains(model, gemmi)
    if not chains:
        raise StructureError(f"{source}: no standard amino-acid residues")
    if chain is None and len(chains) > 1:
        raise StructureError(
            f"{source}: {len(chains)} protein chains ({', '.join(map(repr, chains))}); "
            "choose one with chain=/--chain"
        )
    name = next(iter(chains)) if chain is None else chain
    if name not in chains:
        raise StructureError(f"{source}: no protein chain {name!r} (chains: {', '.join(map(repr, chains))})")
    skipped = sorted({r.name for ch in model if ch.name == name for r in ch} - {r.name for r in chains[name]})
    if skipped:
        notes.append(f"skipped waters/hetero groups {', '.join(skipped)}")
    residues = chains[name]
    bad = [f"{r.name} {r.seqid.num}{r.seqid.icode.strip()}" for r in residues if r.name not in RESIDUES]
    if bad:
        raise StructureError(
            f"{source}: non-standard residue(s) {', '.join(bad[:5])} in chain {name!r}; "
            "replace them by their standard parent (e.g. MSE -> MET) or cut them out"
        )
    return _to_arrays(residues, name, source, strict, notes)


def _to_arrays(residues, name: str, source: str, strict: bool, notes: list[str]) -> Chain:
    n = len(residues)
    types = np.array([RESIDUES.index(r.name) for r in residues], dtype=np.int64)
    coords = np.zeros((n, NUM_SLOTS, 3))
    mask = np.zeros((n, NUM_SLOTS), dtype=bool)
    numbers, n_oxt, n_h = [], 0, 0
    for i, res in enumerate(residues):
        slots = ATOM14[res.name]
        numbers.append(f"{res.seqid.num}{res.seqid.icode.strip()}")
        for atom in res:
            if atom.is_hydrogen() or atom.name.lstrip("0123456789").startswith(
                "H"
            ):  # no heavy atom name does
                n_h += 1
                continue
            atom_name = ATOM_ALIASES.get((res.name, atom.name), ATOM_ALIASES.get(("*", atom.name), atom.name))
            if atom_name == "OXT":
                n_oxt += 1
                continue
            if atom_name not in slots:
                raise StructureError(
                    f"{source}: unexpected atom {atom.name} in {res.name} {numbers[-1]} "
                    f"(expected heavy atoms {' '.join(slots)})"
                )
            k = slots.index(atom_name)
            if not mask[i, k]:
                coords[i, k] = (atom.pos.x, atom.pos.y, atom.pos.z)
                mask[i, k] = True
    complete = (mask == atom_mask()[types]).all(axis=1)
    if not np.isfinite(coords).all():
        raise StructureError(f"{source}: non-finite coordinates")
    if strict and not complete.all():
        i = int(np.flatnonzero(~complete)[0])
        missing = [a for k, a in enumerate(ATOM14[RESIDUES[types[i]]]) if not mask[i, k]]
        raise StructureError(
            f"{source}: residue {RESIDUES[types[i]]} {numbers[i]} of chain {name!r} misses "
            f"heavy atoms {', '.join(missing)} ({int((~complete).sum())} incomplete residues "
            "in all); rebuild them (e.g. PDBFixer) first"
        )
    if n_oxt:
        notes.append("OXT not modelled")
    if n_h:
        notes.append(f"{n_h} hydrogens not modelled")
    return Chain(name, types, coords, mask, complete, numbers, notes)


def read_chain(path: str | os.PathLike[str], *, chain: str | None = None, strict: bool = True) -> Chain:
    """Read one protein chain of a PDB / mmCIF file (``.gz`` accepted); see the module docstring."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such structure file: {path}")
    if path.stat().st_size == 0:
        raise StructureError(f"{path}: empty file")
    try:
        structure = _gemmi().read_structure(str(path))
    except (RuntimeError, ValueError) as err:
        raise StructureError(f"{path}: cannot be read as PDB/mmCIF ({err})") from None
    return _parse(structure, str(path), chain, strict)


def chain_from_text(text: str, *, chain: str | None = None, strict: bool = True) -> Chain:
    """:func:`read_chain` on PDB-format text."""
    if not text.strip():
        raise StructureError("<text>: empty file")
    try:
        structure = _gemmi().read_pdb_string(text)
    except (RuntimeError, ValueError) as err:
        raise StructureError(f"<text>: cannot be read as PDB ({err})") from None
    return _parse(structure, "<text>", chain, strict)


def structure_to_pdb(models: list[tuple[np.ndarray, np.ndarray, np.ndarray]], chain_name: str = "A") -> str:
    """PDB text of ``models``, each ``(types (L,), coords (L, 14, 3), mask (L, 14))``; several models
    are written as ``MODEL``/``ENDMDL`` blocks (a trajectory, e.g. an interpolation path)."""
    gemmi = _gemmi()
    st = gemmi.Structure()
    for m, (types, coords, mask) in enumerate(models, start=1):
        model, ch = gemmi.Model(m), gemmi.Chain(chain_name or "A")
        for i, t in enumerate(np.asarray(types)):
            res = gemmi.Residue()
            res.name, res.seqid = RESIDUES[int(t)], gemmi.SeqId(i + 1, " ")
            res.entity_type = gemmi.EntityType.Polymer
            for k, atom_name in enumerate(ATOM14[RESIDUES[int(t)]]):
                if not mask[i, k]:
                    continue
                atom = gemmi.Atom()
                atom.name, atom.element = atom_name, gemmi.Element(atom_name[0])
                atom.pos = gemmi.Position(*map(float, coords[i, k]))
                atom.occ, atom.b_iso = 1.0, 0.0
                res.add_atom(atom)
            ch.add_residue(res)
        model.add_chain(ch)
        st.add_model(model)
    st.setup_entities()
    opts = gemmi.PdbWriteOptions()
    opts.minimal_file = True
    return st.make_pdb_string(opts)


def write_pdb(
    path: str | os.PathLike[str],
    models: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    chain_name: str = "A",
) -> Path:
    """Write :func:`structure_to_pdb` atomically to ``path``."""
    return write_text_atomic(path, structure_to_pdb(models, chain_name))
