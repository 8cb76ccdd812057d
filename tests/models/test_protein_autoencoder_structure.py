"""Protein I/O: the atom14 reader on PDB text made here, its refusals and notes, the PDB writer."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("gemmi")

from models.protein_autoencoder.residues import ATOM14, RESIDUES, atom_mask, swap_permutations  # noqa: E402
from models.protein_autoencoder.structure import (  # noqa: E402
    StructureError,
    chain_from_text,
    read_chain,
    structure_to_pdb,
)
from models.protein_autoencoder.synthetic import synthetic_chain  # noqa: E402


def _pdb(chain, name="A") -> str:
    return structure_to_pdb([(chain.types, chain.coords, chain.mask)], name)


def _replace_residue(text: str, old: str, new: str, number: int = 2) -> str:
    return "\n".join(
        line[:17] + new + line[20:]
        if line.startswith("ATOM") and line[17:20] == old and int(line[22:26]) == number
        else line
        for line in text.splitlines()
    )


def test_round_trip_keeps_every_atom():
    chain = synthetic_chain(12, seed=1)
    back = chain_from_text(_pdb(chain))
    assert back.sequence == chain.sequence
    assert np.array_equal(back.mask, chain.mask)
    assert np.abs(back.coords - chain.coords).max() < 1e-3  # PDB keeps 3 decimals


def test_multi_model_pdb_reads_model_one_and_says_so():
    a, b = synthetic_chain(6, seed=0), synthetic_chain(6, seed=0)
    b.coords = b.coords + 1.0
    text = structure_to_pdb([(a.types, a.coords, a.mask), (b.types, b.coords, b.mask)])
    assert text.count("MODEL") == 2
    back = chain_from_text(text)
    assert np.abs(back.coords - a.coords).max() < 1e-3
    assert "used model 1 of 2" in back.notes


def test_empty_input_is_refused(tmp_path):
    (tmp_path / "empty.pdb").write_text("")
    with pytest.raises(StructureError, match="empty file"):
        read_chain(tmp_path / "empty.pdb")
    (tmp_path / "end.pdb").write_text("REMARK nothing\nEND\n")
    with pytest.raises(StructureError, match="no atoms"):
        read_chain(tmp_path / "end.pdb")
    with pytest.raises(FileNotFoundError, match="no such structure file"):
        read_chain(tmp_path / "missing.pdb")


def test_several_chains_need_a_choice():
    a, b = synthetic_chain(4, seed=0), synthetic_chain(5, seed=1)
    text = _pdb(a, "A").replace("END", "") + _pdb(b, "B").replace("CRYST1", "REMARK")
    with pytest.raises(StructureError, match="2 protein chains .*'A', 'B'.*--chain"):
        chain_from_text(text)
    assert len(chain_from_text(text, chain="B")) == 5
    with pytest.raises(StructureError, match="no protein chain 'C'"):
        chain_from_text(text, chain="C")


def test_non_standard_residue_is_named():
    chain = synthetic_chain(4, seed=2)
    chain.types[1] = RESIDUES.index("MET")
    chain.mask[1] = atom_mask()[chain.types[1]]
    text = _replace_residue(_pdb(chain), "MET", "MSE")
    with pytest.raises(StructureError, match="non-standard residue.*MSE 2"):
        chain_from_text(text)


def test_force_field_histidine_is_renamed_with_a_note():
    chain = synthetic_chain(4, seed=2)
    chain.types[1] = RESIDUES.index("HIS")
    chain.mask[1] = atom_mask()[chain.types[1]]
    back = chain_from_text(_replace_residue(_pdb(chain), "HIS", "HSD"))
    assert back.sequence[1] == "H" and any("HSD" in n for n in back.notes)


def test_missing_atoms_strict_and_lenient():
    chain = synthetic_chain(5, seed=3)
    chain.types[2] = RESIDUES.index("ASP")
    chain.mask[2] = atom_mask()[chain.types[2]]
    chain.mask[2, ATOM14["ASP"].index("OD2")] = False
    text = _pdb(chain)
    with pytest.raises(StructureError, match="ASP 3 .*misses heavy atoms OD2"):
        chain_from_text(text)
    lenient = chain_from_text(text, strict=False)
    assert lenient.complete.tolist() == [True, True, False, True, True]


def test_waters_hydrogens_and_oxt_are_skipped_with_notes():
    chain = synthetic_chain(3, seed=4)
    lines = _pdb(chain).splitlines()
    end = [i for i, line in enumerate(lines) if line.startswith("ATOM")][-1]
    x = "ATOM   9990  OXT {:3s} A   3      10.000  10.000  10.000  1.00  0.00           O"
    h = "ATOM   9991  HA  {:3s} A   3      11.000  10.000  10.000  1.00  0.00           H"
    w = "HETATM 9992  O   HOH A 101      20.000  20.000  20.000  1.00  0.00           O"
    name = RESIDUES[chain.types[2]]
    text = "\n".join(lines[: end + 1] + [x.format(name), h.format(name), "TER", w] + lines[end + 1 :])
    back = chain_from_text(text)
    assert len(back) == 3
    assert {"OXT not modelled", "1 hydrogens not modelled", "skipped waters/hetero groups HOH"} <= set(
        back.notes
    )


def test_unknown_atom_name_is_refused():
    chain = synthetic_chain(3, seed=5)
    text = _pdb(chain).replace(" CA ", " CX ", 1)
    with pytest.raises(StructureError, match="unexpected atom CX"):
        chain_from_text(text)


def test_swaps_are_involutions_on_present_slots():
    perm, mask = swap_permutations(), atom_mask()
    for k in range(len(RESIDUES)):
        assert np.array_equal(perm[k][perm[k]], np.arange(14))
        assert np.array_equal(mask[k][perm[k]], mask[k])
    moved = {RESIDUES[k] for k in range(len(RESIDUES)) if (perm[k] != np.arange(14)).any()}
    assert moved == {"ASP", "GLU", "PHE", "TYR"}
