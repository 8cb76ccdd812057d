r"""Symphony's metrics for generated 3D molecules: validity, uniqueness, novelty and distribution distances.

* **validity**: RDKit ``DetermineBonds`` (connectivity from the covalent radii, bond orders by
  ``xyz2mol`` for a neutral molecule) succeeds and ``SanitizeMol`` accepts the result.  On the real QM9
  geometries this check passes for ~95 % of the molecules: that is the metric's ceiling.
  Stricter, also reported: ``strict`` = valid, one connected piece, no formal charges and no radical
  electrons (``xyz2mol`` may satisfy the valences of a strained geometry with a ``+/-`` pair of
  charges, and sanitisation accepts radicals).
* **uniqueness**: distinct canonical SMILES (no stereo, hydrogens implicit) / valid molecules.
* **novelty**: unique valid SMILES not among the training set's SMILES / unique valid SMILES.
* **distribution distances** vs the test set: the Jensen–Shannon divergence (base 2, in [0, 1])

  .. math:: \mathrm{JS}(p, q) = \tfrac12 \mathrm{KL}(p \| m) + \tfrac12 \mathrm{KL}(q \| m),
            \quad m = \tfrac12 (p + q),

  of the atom-type frequencies and of the bond-length histograms (0.01 Å bins) of each bond type
  (elements + order), averaged with the test set's bond-type frequencies as weights.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["MoleculeCheck", "check_molecule", "distribution_metrics", "js_divergence", "summarize"]

BOND_BINS = np.arange(0.9, 2.0001, 0.01)
_ELEMENT_RANK = {"C": 0, "N": 1, "O": 2, "F": 3, "H": 4}


@dataclass(frozen=True)
class MoleculeCheck:
    """What the metrics need from one structure: ``smiles`` ('' when invalid), ``fragments`` (number of
    connected pieces when valid), ``bonds`` as ``(type, length)`` pairs and the element symbols."""

    smiles: str
    fragments: int
    bonds: tuple[tuple[str, float], ...]
    elements: tuple[str, ...]
    neutral: bool = True  # no formal charges and no radical electrons on any atom

    @property
    def valid(self) -> bool:
        return bool(self.smiles)


def _rdkit_molecule(numbers: Sequence[int], positions: np.ndarray):
    from rdkit import Chem
    from rdkit.Geometry import Point3D

    mol = Chem.RWMol()
    for z in numbers:
        mol.AddAtom(Chem.Atom(int(z)))
    conf = Chem.Conformer(len(numbers))
    for k, (x, y, z) in enumerate(np.asarray(positions, dtype=np.float64)):
        conf.SetAtomPosition(k, Point3D(float(x), float(y), float(z)))
    mol.AddConformer(conf, assignId=True)
    return mol.GetMol()


def bonded_molecule(numbers: Sequence[int], positions: np.ndarray):
    """The sanitised RDKit molecule with bonds and orders determined from 3D, or ``None`` (invalid)."""
    from rdkit import Chem, RDLogger
    from rdkit.Chem import rdDetermineBonds

    RDLogger.DisableLog("rdApp.*")
    if len(numbers) == 0:
        return None
    mol = Chem.Mol(_rdkit_molecule(numbers, positions))
    try:
        rdDetermineBonds.DetermineBonds(mol, charge=0, embedChiral=False)
        Chem.SanitizeMol(mol)
    except (ValueError, RuntimeError):
        return None
    return mol


def check_molecule(numbers: Sequence[int], positions: np.ndarray) -> MoleculeCheck:
    """Validity, canonical SMILES and bond lengths of one structure (atomic numbers, positions in Å).

    >>> c = check_molecule([8, 1, 1], np.array([[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0.0]]))
    >>> c.smiles, c.fragments, c.elements
    ('O', 1, ('O', 'H', 'H'))
    """
    from rdkit import Chem

    mol = bonded_molecule(numbers, positions)
    symbols = tuple(Chem.GetPeriodicTable().GetElementSymbol(int(z)) for z in numbers)
    if mol is None:
        return MoleculeCheck("", 0, (), symbols)
    smiles = Chem.MolToSmiles(Chem.RemoveHs(mol, sanitize=False), isomericSmiles=False)
    fragments = len(Chem.GetMolFrags(mol))
    pos = np.asarray(positions, dtype=np.float64)
    bonds = []
    for bond in mol.GetBonds():
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        a, b = sorted((symbols[i], symbols[j]), key=_ELEMENT_RANK.get)
        order = {1.0: "-", 1.5: ":", 2.0: "=", 3.0: "#"}.get(bond.GetBondTypeAsDouble(), "?")
        bonds.append((f"{a}{order}{b}", float(np.linalg.norm(pos[i] - pos[j]))))
    neutral = all(a.GetFormalCharge() == 0 and a.GetNumRadicalElectrons() == 0 for a in mol.GetAtoms())
    return MoleculeCheck(smiles or "", fragments, tuple(bonds), symbols, neutral)


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen–Shannon divergence (base 2) of two histograms (normalised here).

    >>> js_divergence(np.array([1.0, 0.0]), np.array([0.0, 1.0])), js_divergence(np.ones(3), np.ones(3))
    (1.0, 0.0)
    """
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.sum() <= 0 or q.sum() <= 0:
        return 1.0
    p, q = p / p.sum(), q / q.sum()
    m = 0.5 * (p + q)

    def kl(a: np.ndarray) -> float:
        keep = a > 0
        return float(np.sum(a[keep] * np.log2(a[keep] / m[keep])))

    return max(0.0, 0.5 * kl(p) + 0.5 * kl(q))


def _bond_lengths(checks: Iterable[MoleculeCheck]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for c in checks:
        for kind, length in c.bonds:
            out.setdefault(kind, []).append(length)
    return out


def distribution_metrics(generated: Sequence[MoleculeCheck], reference: Sequence[MoleculeCheck],
                         top_bonds: int = 8) -> dict[str, float]:
    """JS divergences of atom types (all generated structures) and bond lengths (valid ones) vs
    ``reference``: ``atom_type_js``, ``bond_length_js`` (weighted mean over the ``top_bonds`` most
    frequent reference bond types) and ``bond_length_js[<type>]`` for each of them."""
    elements = sorted({e for c in [*generated, *reference] for e in c.elements})
    count = [Counter(e for c in checks for e in c.elements) for checks in (generated, reference)]
    out = {"atom_type_js": js_divergence(np.array([count[0][e] for e in elements], dtype=float),
                                         np.array([count[1][e] for e in elements], dtype=float))}
    gen, ref = _bond_lengths(generated), _bond_lengths(reference)
    kinds = sorted(ref, key=lambda k: -len(ref[k]))[:top_bonds]
    weights, values = [], []
    for kind in kinds:
        js = js_divergence(np.histogram(gen.get(kind, []), BOND_BINS)[0],
                           np.histogram(ref[kind], BOND_BINS)[0])
        out[f"bond_length_js[{kind}]"] = js
        weights.append(len(ref[kind]))
        values.append(js)
    out["bond_length_js"] = float(np.average(values, weights=weights)) if values else float("nan")
    return out


def summarize(checks: Sequence[MoleculeCheck], train_smiles: set[str] | None = None) -> dict[str, float]:
    """``n``, ``validity``, ``connected`` (valid and one piece, / n), ``strict`` (valid, one piece, no
    formal charges or radicals, / n), ``uniqueness`` and ``novelty``.

    >>> ok = MoleculeCheck("CO", 1, (), ("C", "O"))
    >>> summarize([ok, ok, MoleculeCheck("", 0, (), ("C",))], {"CO"})["uniqueness"]
    0.5
    """
    n = len(checks)
    valid = [c for c in checks if c.valid]
    unique = {c.smiles for c in valid}
    out = {"n": float(n), "validity": len(valid) / n if n else float("nan"),
           "connected": sum(c.fragments == 1 for c in valid) / n if n else float("nan"),
           "strict": sum(c.fragments == 1 and c.neutral for c in valid) / n if n else float("nan"),
           "uniqueness": len(unique) / len(valid) if valid else float("nan")}
    if train_smiles is not None:
        out["novelty"] = len(unique - train_smiles) / len(unique) if unique else float("nan")
    return out
