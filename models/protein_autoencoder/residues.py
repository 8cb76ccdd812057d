r"""The 20 standard amino acids in a fixed 14-slot heavy-atom layout ("atom14"), and their symmetries.

Every residue is stored as 14 atom slots: ``N, CA, C, O`` then the side chain in PDB naming order;
unused slots are masked.  Hydrogens and the C-terminal ``OXT`` are not modelled.

Symmetric atoms.  A name pair is *symmetric* when swapping the two names gives the same molecule with
the same geometry, so which atom carries which name is arbitrary in a deposited structure:

- ``ASP`` OD1/OD2 and ``GLU`` OE1/OE2: the two carboxylate oxygens (resonance-equivalent, rotation
  of the terminal group by 180° exchanges them);
- ``PHE`` and ``TYR``: the ring flip exchanges CD1↔CD2 *and* CE1↔CE2 together.

Not symmetric (kept as labelled): ``LEU`` CD1/CD2 and ``VAL`` CG1/CG2 are prochiral methyls whose
names are fixed by the chirality convention (pro-R / pro-S), so the labels carry geometry;
``ARG`` NH1/NH2 are named by the IUPAC rule "NH1 cis to CD", also a geometric label; ``ASN``/``GLN``
OD1/ND2 and OE1/NE2 are different elements.  This is the choice of AlphaFold's "ambiguous atoms".
The loss (:func:`models.protein_autoencoder.geometry.symmetric_squared_error`) takes the minimum over
the identity and the swap of each residue.

>>> ATOM14["ASP"][:8]
('N', 'CA', 'C', 'O', 'CB', 'CG', 'OD1', 'OD2')
>>> len(RESIDUES), NUM_SLOTS
(20, 14)
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ATOM14",
    "NUM_SLOTS",
    "RESIDUES",
    "SYMMETRIC_SWAPS",
    "atom_mask",
    "one_letter",
    "swap_permutations",
]

NUM_SLOTS = 14
BACKBONE = ("N", "CA", "C", "O")
_SIDE = {
    "ALA": ("CB",),
    "ARG": ("CB", "CG", "CD", "NE", "CZ", "NH1", "NH2"),
    "ASN": ("CB", "CG", "OD1", "ND2"),
    "ASP": ("CB", "CG", "OD1", "OD2"),
    "CYS": ("CB", "SG"),
    "GLN": ("CB", "CG", "CD", "OE1", "NE2"),
    "GLU": ("CB", "CG", "CD", "OE1", "OE2"),
    "GLY": (),
    "HIS": ("CB", "CG", "ND1", "CD2", "CE1", "NE2"),
    "ILE": ("CB", "CG1", "CG2", "CD1"),
    "LEU": ("CB", "CG", "CD1", "CD2"),
    "LYS": ("CB", "CG", "CD", "CE", "NZ"),
    "MET": ("CB", "CG", "SD", "CE"),
    "PHE": ("CB", "CG", "CD1", "CD2", "CE1", "CE2", "CZ"),
    "PRO": ("CB", "CG", "CD"),
    "SER": ("CB", "OG"),
    "THR": ("CB", "OG1", "CG2"),
    "TRP": ("CB", "CG", "CD1", "CD2", "NE1", "CE2", "CE3", "CZ2", "CZ3", "CH2"),
    "TYR": ("CB", "CG", "CD1", "CD2", "CE1", "CE2", "CZ", "OH"),
    "VAL": ("CB", "CG1", "CG2"),
}
RESIDUES: tuple[str, ...] = tuple(sorted(_SIDE))
ATOM14: dict[str, tuple[str, ...]] = {r: BACKBONE + _SIDE[r] for r in RESIDUES}
_ONE = dict(zip(RESIDUES, "ARNDCQEGHILKMFPSTWYV", strict=True))
SYMMETRIC_SWAPS: dict[str, tuple[tuple[str, str], ...]] = {
    "ASP": (("OD1", "OD2"),),
    "GLU": (("OE1", "OE2"),),
    "PHE": (("CD1", "CD2"), ("CE1", "CE2")),
    "TYR": (("CD1", "CD2"), ("CE1", "CE2")),
}


def one_letter(names: list[str]) -> str:
    """The one-letter sequence of three-letter residue names.

    >>> one_letter(["GLY", "TRP"])
    'GW'
    """
    return "".join(_ONE[n] for n in names)


def atom_mask() -> np.ndarray:
    """``(20, 14)`` bool: which slots exist for each residue type (index = position in RESIDUES).

    >>> [int(atom_mask().sum(1)[RESIDUES.index(r)]) for r in ("GLY", "TRP")]
    [4, 14]
    """
    mask = np.zeros((len(RESIDUES), NUM_SLOTS), dtype=bool)
    for k, r in enumerate(RESIDUES):
        mask[k, : len(ATOM14[r])] = True
    return mask


def swap_permutations() -> np.ndarray:
    """``(20, 14)`` int: the slot permutation of the symmetric swap of each type (identity if none).

    >>> p = swap_permutations()[RESIDUES.index("ASP")]
    >>> p[6:8].tolist()
    [7, 6]
    """
    perm = np.tile(np.arange(NUM_SLOTS), (len(RESIDUES), 1))
    for r, pairs in SYMMETRIC_SWAPS.items():
        k, names = RESIDUES.index(r), ATOM14[r]
        for a, b in pairs:
            i, j = names.index(a), names.index(b)
            perm[k, i], perm[k, j] = j, i
    return perm
