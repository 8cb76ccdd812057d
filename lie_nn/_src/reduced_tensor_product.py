r"""Reduced tensor products: tensor powers with index symmetries, decomposed into irreps.

A *formula* such as ``"ijk=jik=-ikj"`` names the slots of a tensor ``T`` (the letters of its first
word, in order) and imposes signed permutation symmetries: ``"ij=-ji"`` means ``T_ij = -T_ji``.
The relations generate a group ``G`` of signed permutations ``(s, σ)``; the admissible tensors are
the image of the projector ``P = |G|^{-1} Σ_{(s,σ) ∈ G} s σ``.  Since ``P`` commutes with the group
action ``ρ(g) = ρ_1(g) ⊗ ... ⊗ ρ_n(g)`` (equal letters carry equal representations), the image is a
representation and decomposes as ``⊕_ir mul_ir × ir``.  For each output irrep the result holds a
basis ``Q`` of shape ``(mul, d_1, ..., d_n, d_ir)`` with

* intertwining: ``Σ_k (X_k acting on slot k) Q = Q X_ir`` for every Lie-algebra generator and
  ``(D_1 ⊗ ... ⊗ D_n) Q = Q D_ir`` for every discrete generator;
* symmetry: ``Q = s · σ(Q)`` for every relation of the formula;
* completeness: ``Σ_ir mul_ir dim(ir) = rank P`` when no output filter is given;
* canonical normalisation: each copy has Frobenius norm ``sqrt(dim ir)`` (an isometry for unitary
  irreps), copies of one irrep are orthogonal, and the basis is a deterministic canonical form (see
  :mod:`lie_nn._src.symmetric_power`).  The basis is real when every irrep involved has a real basis.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from lie_nn._src.irrep import Irrep, MulIrrep
from lie_nn._src.irreps import Irreps
from lie_nn._src.symmetric_power import (
    Coset,
    Rep,
    reachable,
    show_progress,
    sort_irreps,
    symmetric_cosets,
    tensor_power_bases,
)

__all__ = [
    "ReducedTensorProduct",
    "reduced_antisymmetric_tensor_product",
    "reduced_symmetric_tensor_product",
    "reduced_tensor_product",
]

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
Signed = tuple[int, tuple[int, ...]]


# ------------------------------------------------------------------------------------ result
@dataclass(frozen=True, eq=False)
class ReducedTensorProduct:
    """Decomposition of a (symmetrised) tensor power: pairs ``(MulIrrep, basis)``.

    ``irreps_in[k]`` is the representation of slot ``k`` (the ``k``-th letter of ``formula``'s first
    word); ``bases[i]`` has shape ``(mul, d_1, ..., d_n, dim ir)`` for ``irreps_out[i] = mul × ir``.
    Iterating yields ``(mul_ir, basis)`` pairs; ``rtp[ir]`` returns the basis of ``ir``.
    """

    formula: str
    irreps_in: tuple[Irreps, ...]
    irreps_out: Irreps
    bases: tuple[np.ndarray, ...]

    def __iter__(self) -> Iterator[tuple[MulIrrep, np.ndarray]]:
        return iter(zip(self.irreps_out, self.bases, strict=True))

    def __len__(self) -> int:
        return len(self.irreps_out)

    def __getitem__(self, ir: Irrep) -> np.ndarray:
        for mul_ir, basis in self:
            if mul_ir.ir == ir:
                return basis
        raise KeyError(f"{ir} does not occur in this reduced tensor product")

    @property
    def dims_in(self) -> tuple[int, ...]:
        return tuple(sum(mi.dim for mi in rep) for rep in self.irreps_in)

    @property
    def dim_out(self) -> int:
        """``Σ mul · dim(ir)`` over the output irreps."""
        return sum(mi.dim for mi in self.irreps_out)

    @property
    def change_of_basis(self) -> np.ndarray:
        """All bases concatenated, shape ``(dim_out, d_1, ..., d_n)``.

        Row ``offset + u · dim(ir) + c`` is copy ``u``, component ``c`` of irrep ``ir``
        (irreps in the order of ``irreps_out``, the usual ``⊕ mul × ir`` layout).
        """
        parts = [np.moveaxis(b, -1, 1).reshape(-1, *self.dims_in) for b in self.bases]
        return np.concatenate(parts) if parts else np.zeros((0, *self.dims_in))

    def __repr__(self) -> str:
        out = " + ".join(str(mi) for mi in self.irreps_out) or "0"
        return f"ReducedTensorProduct({self.formula!r}, out={out})"


# ------------------------------------------------------------------------------------ inputs
def _nonempty_irreps(value: object) -> Irreps:
    """``Irreps(value)`` without zero multiplicities; ``ValueError`` if the dimension is 0."""
    rep = Irreps(value).remove_zero_multiplicities()
    if not rep:
        raise ValueError(f"the representation {value!r} has dimension 0")
    return rep


def _as_filter(value: object, group_ir: Irrep) -> tuple[Irrep, ...] | None:
    if value is None:
        return None
    try:
        irreps = Irreps(value)
    except TypeError as err:
        raise TypeError(f"filter_ir_out must be irreps (an Irrep, a sequence of irreps or a string), "
                        f"got {value!r}") from err
    for term in irreps:
        group_ir.check_same_group(term.ir)
    return tuple(term.ir for term in irreps)


# ------------------------------------------------------------------------------------ formula
def _parse_formula(formula: str) -> tuple[str, list[Signed]]:
    """Base word and the signed permutations ``(s, σ)`` meaning ``T = s · transpose(T, σ)``."""
    if not isinstance(formula, str):
        raise TypeError(f"formula must be a string, got {type(formula).__name__}")
    words = [w.strip() for w in formula.replace(" ", "").split("=")]
    signs = [-1 if w.startswith("-") else 1 for w in words]
    words = [w[1:] if w.startswith("-") else w for w in words]
    for w in words:
        if not w or any(c not in _LETTERS for c in w):
            raise ValueError(f"bad word {w!r} in formula {formula!r}: use letters a-z, A-Z")
        if len(set(w)) != len(w):
            raise ValueError(f"word {w!r} of formula {formula!r} repeats an index")
    base = words[0]
    for w in words[1:]:
        if len(w) != len(base):
            raise ValueError(f"formula {formula!r}: words {base!r} and {w!r} have different lengths")
        if set(w) != set(base):
            raise ValueError(f"formula {formula!r}: words {base!r} and {w!r} use different indices")
    pairs = zip(words[1:], signs[1:], strict=True)
    gens = [(signs[0] * s, tuple(w.index(c) for c in base)) for w, s in pairs]
    return base, gens


def _compose(a: Signed, b: Signed) -> Signed:
    """The operator ``a ∘ b`` (apply ``b``, then ``a``) for ``T ↦ s · transpose(T, σ)``."""
    return a[0] * b[0], tuple(b[1][i] for i in a[1])


def _closure(gens: list[Signed], n: int) -> set[Signed]:
    group = {(1, tuple(range(n)))}
    frontier = list(group)
    while frontier:
        new = []
        for g in frontier:
            for h in gens:
                gh = _compose(g, h)
                if gh not in group:
                    group.add(gh)
                    new.append(gh)
        frontier = new
    return group


def _formula_cosets(group: set[Signed], n: int) -> tuple[Coset, ...]:
    """Left coset representatives of ``H_{k-1}`` in ``H_k`` (``H_k`` fixes slots ``> k``)."""
    subgroups = [{g for g in group if all(g[1][j] == j for j in range(k + 1, n))} for k in range(n)]
    out, previous = [], {(1, tuple(range(n)))}
    for h_k in subgroups:
        reps, covered = [], set()
        for g in sorted(h_k, key=lambda g: (g[1], -g[0])):
            if g not in covered:
                reps.append(g)
                covered |= {_compose(g, h) for h in previous}
        out.append(tuple((s, perm[: len(out) + 1]) for s, perm in reps))
        previous = h_k
    return tuple(out)


def _slot_reps(base: str, irreps: dict, group: set[Signed]) -> tuple[Rep, ...]:
    if not isinstance(irreps, dict):
        raise TypeError(f"irreps must be a dict mapping indices to representations, got {irreps!r}")
    by_letter: dict[str, Rep] = {}
    for key, value in irreps.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"irreps keys must be non-empty strings of indices, got {key!r}")
        rep = _nonempty_irreps(value)
        for c in key:
            if c not in base:
                raise ValueError(f"index {c!r} of the irreps dict does not appear in the formula {base!r}")
            if c in by_letter:
                raise ValueError(f"index {c!r} is given a representation twice")
            by_letter[c] = rep
    for _ in base:  # propagate along the symmetry orbits: "ij=ji" needs only "i"
        for _, perm in group:
            for p, q in enumerate(perm):
                if base[q] in by_letter and base[p] not in by_letter:
                    by_letter[base[p]] = by_letter[base[q]]
    missing = [c for c in base if c not in by_letter]
    if missing:
        raise ValueError(f"no representation given for indices {missing} of the formula")
    slots = tuple(by_letter[c] for c in base)
    for ir in (mi.ir for rep in slots for mi in rep):
        slots[0][0].ir.check_same_group(ir)
    for _, perm in group:
        for p, q in enumerate(perm):
            if slots[p] != slots[q]:
                raise ValueError(f"indices {base[p]!r} and {base[q]!r} are related by a symmetry of the "
                                 "formula but carry different representations")
    return slots


def _build(formula: str, slots: tuple[Rep, ...], cosets: tuple[Coset, ...], filter_ir_out: object,
           progress: bool) -> ReducedTensorProduct:
    flt = _as_filter(filter_ir_out, slots[0][0].ir)
    candidates = reachable(slots)[-1]
    irs_out = sort_irreps([ir for ir in candidates if flt is None or ir in flt])
    with show_progress(progress):
        bases = tensor_power_bases(slots, cosets, irs_out)
    pairs = [(MulIrrep(b.shape[0], ir), b) for ir, b in zip(irs_out, bases, strict=True) if b.shape[0] > 0]
    return ReducedTensorProduct(formula, slots, Irreps([p[0] for p in pairs]), tuple(p[1] for p in pairs))


# ------------------------------------------------------------------------------------ public
def reduced_tensor_product(formula: str, irreps: dict, *, filter_ir_out: object = None,
                           progress: bool = False) -> ReducedTensorProduct:
    r"""Decompose the tensors with the index symmetries of ``formula`` into irreps.

    ``formula`` is a chain of words ``"w_0=w_1=..."``, each a permutation of the same distinct
    letters, optionally prefixed by ``-``: ``"ij=ji"`` (symmetric), ``"ij=-ji"`` (antisymmetric),
    ``"ijkl=jikl=klij"`` (elasticity tensor), ``"ij"`` (no symmetry).  ``irreps`` maps letters (or
    strings of letters) to representations ``⊕ mul × ir``; letters related by a symmetry share their
    representation, which need be given for one of them only.  ``filter_ir_out`` restricts the output
    to the given irreps.  Returns a :class:`ReducedTensorProduct` whose slots follow the first word.

    >>> from lie_nn import SU2
    >>> rtp = reduced_tensor_product("ij=ji", {"i": SU2(1)})
    >>> [str(mi) for mi in rtp.irreps_out]
    ['1xSU2(0)', '1xSU2(2)']
    >>> rtp.change_of_basis.shape
    (6, 3, 3)
    """
    base, gens = _parse_formula(formula)
    group = _closure(gens, len(base))
    slots = _slot_reps(base, irreps, group)
    return _build(formula, slots, _formula_cosets(group, len(base)), filter_ir_out, progress)


def _power_formula(order: int, sign: int) -> str:
    letters = _LETTERS[:order]
    swaps = ["".join(letters[:k] + letters[k + 1] + letters[k] + letters[k + 2:]) for k in range(order - 1)]
    prefix = "-" if sign < 0 else ""
    return "=".join([letters] + [prefix + w for w in swaps])


def _check_order(order: object) -> int:
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)):
        raise TypeError(f"order must be an int, got {type(order).__name__}")
    if not 1 <= order <= len(_LETTERS):
        raise ValueError(f"order must be between 1 and {len(_LETTERS)}, got {order}")
    return int(order)


def reduced_symmetric_tensor_product(irreps: object, order: int, *, filter_ir_out: object = None,
                                     progress: bool = False) -> ReducedTensorProduct:
    r"""Decompose the symmetric power ``Sym^order(V)``, ``V = ⊕ mul × ir`` (the MACE/ACE product basis).

    Built iteratively, ``Sym^n(V) ⊂ Sym^{n-1}(V) ⊗ V``: each irrep block of ``Sym^{n-1}`` is coupled
    with each irrep of ``V`` by Clebsch–Gordan coefficients and symmetrised by the coset operator
    ``Σ_{j ≤ n} (j n)``.  Only the final order is filtered by ``filter_ir_out``; intermediate irreps
    that cannot reach the filter are pruned.  ``Σ mul · dim = C(dim V + n - 1, n)`` without filter.

    >>> from lie_nn import SU2
    >>> rtp = reduced_symmetric_tensor_product([SU2(0), SU2(1)], 2)
    >>> [str(mi) for mi in rtp.irreps_out], rtp.dim_out
    (['2xSU2(0)', '1xSU2(1)', '1xSU2(2)'], 10)
    """
    rep, order = _nonempty_irreps(irreps), _check_order(order)
    return _build(_power_formula(order, 1), (rep,) * order, symmetric_cosets(order, 1), filter_ir_out,
                  progress)


def reduced_antisymmetric_tensor_product(irreps: object, order: int, *, filter_ir_out: object = None,
                                         progress: bool = False) -> ReducedTensorProduct:
    r"""Decompose the exterior power ``Λ^order(V)``; ``Σ mul · dim = C(dim V, n)`` without filter.

    >>> from lie_nn import SU2
    >>> [str(mi) for mi in reduced_antisymmetric_tensor_product(SU2(1), 2).irreps_out]
    ['1xSU2(1)']
    """
    rep, order = _nonempty_irreps(irreps), _check_order(order)
    return _build(_power_formula(order, -1), (rep,) * order, symmetric_cosets(order, -1), filter_ir_out,
                  progress)
