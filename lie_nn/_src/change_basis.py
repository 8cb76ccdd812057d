"""Change of basis between equivalent representations, and numeric decomposition into irreps.

A *representation* here is anything with ``algebra()`` (``(n_gen, d, d)``) and optionally
``discrete_generators()`` (``(n_disc, d, d)``): an :class:`~lie_nn._src.irrep.Irrep`, an
:class:`~lie_nn._src.irreps.Irreps`, a ``GenericRep``..., or anything else ``Irreps(...)`` accepts
(``"2x0e + 1o"``, a ``MulIrrep``, a list of ``(mul, ir)`` pairs).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from lie_nn._src.intertwiner import intertwiners
from lie_nn._src.irrep import Irrep, MulIrrep
from lie_nn._src.irreps import Irreps
from lie_nn._src.parse import irrep_from_string


def _generators(rep: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    if not callable(getattr(rep, "algebra", None)):
        try:
            rep = Irreps(rep)
        except TypeError:
            raise TypeError(f"{name} must provide algebra() (an Irrep, Irreps or GenericRep) or be "
                            f"anything Irreps(...) accepts, got {type(rep).__name__}") from None
    X = np.asarray(rep.algebra())
    if X.ndim != 3:
        raise ValueError(f"{name}.algebra() must have shape (n_gen, d, d), got {X.shape}")
    disc = getattr(rep, "discrete_generators", None)
    D = np.asarray(disc()) if callable(disc) else np.zeros((0, X.shape[1], X.shape[1]))
    return X, D


def change_of_basis(rep_from: Any, rep_to: Any, *, real: bool | None = None) -> np.ndarray:
    r"""Basis of the maps ``Q`` with ``X_to Q = Q X_from`` (and ``D_to Q = Q D_from``), ``(k, d_to, d_from)``.

    ``k >= 1`` with square invertible ``Q`` means the representations are equivalent.  The basis is the
    canonical one of :func:`~lie_nn._src.intertwiner.intertwiners`, each element scaled by
    ``sqrt(d_from)`` so that between equivalent unitary irreps ``Q`` is unitary.

    >>> import numpy as np
    >>> from lie_nn import SO3
    >>> Q = change_of_basis(SO3(1), SO3(1))
    >>> Q.shape, np.allclose(Q[0], np.eye(3))
    ((1, 3, 3), True)
    """
    X_from, D_from = _generators(rep_from, "rep_from")
    X_to, D_to = _generators(rep_to, "rep_to")
    if len(X_from) != len(X_to) or len(D_from) != len(D_to):
        raise ValueError(
            f"representations of different groups: {len(X_from)} vs {len(X_to)} generators, "
            f"{len(D_from)} vs {len(D_to)} discrete generators"
        )
    Q = intertwiners(X_to, X_from, D_to, D_from, real=real)
    return np.sqrt(X_from.shape[1]) * Q


def decompose(
    rep: Any, candidates: Iterable[Any], *, patience: int = 64, max_candidates: int = 1000
) -> tuple[list[MulIrrep], np.ndarray]:
    r"""Decompose ``rep`` into the ``candidates`` irreps: ``rep ≅ ⊕ mul × ir``.

    Returns ``(terms, Q)`` where ``terms`` lists the irreps found with their multiplicity (candidate
    order) and ``Q`` (``rep.dim × rep.dim``) maps the direct sum, copies of one irrep adjacent, into
    ``rep``'s basis: ``rep.algebra()[a] @ Q == Q @ blockdiag(irreps)[a]`` (same for discrete
    generators).  Each block of ``Q`` is an isometry when the representations are unitary.

    ``candidates`` may be infinite (e.g. ``ir.iterator()``), or irreps given as a string
    (``"0e + 1o + 2e"``) or labels: it is consumed until the dimensions add
    up; a candidate larger than the remaining dimension is skipped, and the search stops after
    ``patience`` such candidates in a row or ``max_candidates`` candidates in all.  Raises
    ``ValueError`` when the decomposition is incomplete (``rep`` not completely reducible, or a
    missing candidate) or when candidates are equivalent to each other.

    >>> from lie_nn import SO3
    >>> from lie_nn import Irreps
    >>> terms, Q = decompose(Irreps([SO3(1), SO3(0), SO3(1)]), SO3(0).iterator())
    >>> [str(t) for t in terms], Q.shape
    (['1xSO3(0)', '2xSO3(1)'], (7, 7))
    >>> [str(t) for t in decompose("1o + 0e + 1o", "0e + 1o")[0]]
    ['1xO3(0e)', '2xO3(1o)']
    """
    X, D = _generators(rep, "rep")
    d = X.shape[1]
    if d == 0:
        return [], np.zeros((0, 0))
    terms: list[MulIrrep] = []
    blocks: list[np.ndarray] = []
    seen: set = set()
    remaining, misses = d, 0
    if isinstance(candidates, str):
        candidates = [term.ir for term in Irreps(candidates)]
    for examined, cand in enumerate(candidates):
        if remaining <= 0 or examined >= max_candidates or misses >= patience:
            break
        ir = irrep_from_string(cand) if isinstance(cand, str) else cand
        ir = ir.ir if isinstance(ir, MulIrrep) else ir
        if not isinstance(ir, Irrep):
            raise TypeError(f"candidates must be irreps, got {type(cand).__name__}")
        if ir in seen:
            continue
        seen.add(ir)
        if ir.dim > remaining:
            misses += 1
            continue
        misses = 0
        Q = change_of_basis(ir, rep)
        if len(Q):
            terms.append(MulIrrep(len(Q), ir))
            blocks.extend(Q)
            remaining -= len(Q) * ir.dim
    if remaining < 0:
        raise ValueError(f"candidates contain equivalent irreps: found {_fmt(terms)} of total dim > {d}")
    if remaining > 0:
        raise ValueError(f"incomplete decomposition: found {_fmt(terms)}, {remaining} of {d} dimensions left")
    Q = np.concatenate(blocks, axis=1) if blocks else np.zeros((0, 0))
    s = np.linalg.svd(Q, compute_uv=False)
    if s[-1] < 1e-8 * s[0]:
        raise ValueError("the irreducible components found are not independent (equivalent candidates?)")
    return terms, Q


def _fmt(terms: list[MulIrrep]) -> str:
    return "+".join(str(t) for t in terms) or "nothing"
