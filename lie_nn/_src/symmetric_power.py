r"""Engine behind the reduced tensor products: iterative coupling + coset symmetrisation.

Problem.  Given representations ``V_0, ..., V_{n-1}`` (each ``⊕ mul × ir``) and a group ``G`` of
signed slot permutations (``(s, σ)`` acting by ``T ↦ s · transpose(T, σ)``), find for every output
irrep ``ir`` a basis of the intertwiners ``V_ir → V_0 ⊗ ... ⊗ V_{n-1}`` that lie in the image of
the signed Reynolds projector ``P_G = |G|^{-1} Σ_g s_g g``.

Method.  Let ``H_k ⊂ G`` be the subgroup of elements that fix the slots ``k+1, ..., n-1``.  Then
``H_0 ⊂ H_1 ⊂ ... ⊂ H_{n-1} = G`` and ``P_{H_k} = c Σ_r s_r r · P_{H_{k-1}}`` where ``r`` runs over
left coset representatives of ``H_{k-1}`` in ``H_k``.  The algorithm keeps, after step ``k``, a
basis of the ``H_k``-symmetric intertwiners into ``V_0 ⊗ ... ⊗ V_k`` for each irrep; step ``k+1``

1. couples every such basis tensor ``Q_a`` (output irrep ``a``) with every irrep block ``b`` of
   ``V_{k+1}`` through the Clebsch–Gordan coefficients of ``a ⊗ b → c`` (the candidates span all
   ``H_k``-symmetric intertwiners ``V_c → V_0 ⊗ ... ⊗ V_{k+1}``),
2. applies the cheap coset symmetriser ``Σ_r s_r r`` (valid because the candidates are already
   ``H_k``-symmetric; for the symmetric power it is ``Σ_{j ≤ k+1} (j, k+1)``),
3. extracts an orthonormal basis of the span of the flattened candidates by SVD with a relative
   tolerance.

Every step is a linear-span computation in the flattened Euclidean space: a linear combination of
intertwiners is an intertwiner, so nothing relies on unitarity and the method is valid for complex
and non-unitary (e.g. Lorentz) representations.  Irreps that cannot reach a requested output irrep
through the remaining slots (by the selection rules ``ir1 * ir2``) are pruned early.

Canonical basis.  An intertwiner ``Q`` out of an irrep is determined by its first output column
``Q[..., 0]`` (the kernel of ``Q`` is a subrepresentation, so it is 0 or everything).  Ranks and the
canonical form are therefore computed on the flattened slices ``Q[..., 0]``: the unique orthonormal
basis of their span in row-echelon form with real positive pivots (pivot columns ``p_1 < ... < p_r``
are where the rank of the leading columns increases; the rows are rotated so that the ``r × r``
pivot submatrix is upper triangular with positive diagonal, a QR factorisation).  The same
coefficients are applied to the full candidates, so the result is deterministic, independent of the
basis the SVD returned.  For unitary irreps Schur's lemma (``Q_m^† Q_n ∝ 1``) turns the orthonormal
slices into mutually orthogonal isometries ``V_ir → V^{⊗n}`` (Frobenius norm ``sqrt(dim ir)``); for
non-unitary irreps only the slices are orthonormal.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from contextvars import ContextVar

import numpy as np

from lie_nn._src.cache import cached
from lie_nn._src.cg import clebsch_gordan
from lie_nn._src.irrep import Irrep
from lie_nn._src.irreps import Irreps

Rep = Irreps  # a slot's representation ⊕ mul × ir (any tuple of MulIrrep is accepted)
Coset = tuple[tuple[int, tuple[int, ...]], ...]

_RTOL = 1e-7  # singular values below _RTOL * s_max count as zero
_GRAM_KEEP, _GRAM_DROP = 1e-8, _RTOL**2  # eigenvalues of the Gram matrix, relative
_PROGRESS_START: ContextVar[float | None] = ContextVar("lie_nn_rtp_progress", default=None)
_STATS = {"gram": 0, "svd": 0}  # how often each rank decision path ran (diagnostics)


# ------------------------------------------------------------------------------------ helpers
def progress(message: str) -> None:
    """Print ``message`` to stderr when progress reporting is switched on."""
    start = _PROGRESS_START.get()
    if start is not None:
        print(f"[lie_nn rtp {time.perf_counter() - start:7.2f}s] {message}", file=sys.stderr)


class show_progress:
    """Context manager switching progress messages (to stderr) on or off for the current context
    (a ``ContextVar``, so threads and async tasks do not see each other's setting)."""

    def __init__(self, on: bool) -> None:
        self.on = bool(on)

    def __enter__(self) -> None:
        self.token = _PROGRESS_START.set(time.perf_counter() if self.on else None)

    def __exit__(self, *exc: object) -> None:
        _PROGRESS_START.reset(self.token)


def sort_irreps(irreps: Sequence[Irrep]) -> tuple[Irrep, ...]:
    return tuple(sorted(set(irreps), key=lambda ir: ir.sort_key()))


def _orthonormal_rows(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(a, a @ m)`` with ``a @ m`` an orthonormal basis of the row span of ``m`` ``(k, N)``.

    Fast path: eigen-decomposition of the small Gram matrix ``m m^†`` followed by one
    re-orthonormalisation pass; used only when the spectrum has a clear gap (every eigenvalue is
    either above ``_GRAM_KEEP`` or below ``_GRAM_DROP`` relative to the largest).  Otherwise the rank
    is decided by an SVD of ``m`` with relative tolerance ``_RTOL`` on the singular values.
    """
    empty = (np.zeros((0, m.shape[0]), m.dtype), m[:0])
    if m.shape[0] == 0:
        return empty
    lam, v = np.linalg.eigh(m @ m.conj().T)
    lam, v = lam[::-1], v[:, ::-1]
    if lam[0] <= 1e-24:
        return empty
    rel = lam / lam[0]
    if np.any((rel > _GRAM_DROP) & (rel < _GRAM_KEEP)):  # no clear gap: decide by SVD
        _STATS["svd"] += 1
        u, s, vh = np.linalg.svd(m, full_matrices=False)
        r = int(np.sum(s > _RTOL * s[0]))
        return u[:, :r].conj().T / s[:r, None], vh[:r]
    _STATS["gram"] += 1
    r = int(np.sum(rel >= _GRAM_KEEP))
    a = v[:, :r].conj().T / np.sqrt(lam[:r])[:, None]
    b = a @ m
    lam2, v2 = np.linalg.eigh(b @ b.conj().T)
    fix = (v2 / np.sqrt(lam2)) @ v2.conj().T
    return fix @ a, fix @ b


def span_coefficients(m: np.ndarray, canonical: bool) -> np.ndarray:
    """Coefficients ``a`` ``(r, k)`` such that the rows of ``a @ m`` are an orthonormal basis of the row
    span of ``m`` ``(k, N)`` (see :func:`_orthonormal_rows` for the rank decision).

    With ``canonical=True`` the basis is the unique orthonormal one in row-echelon form with real
    positive pivots: the pivots ``p_1 < ... < p_r`` are the columns at which the rank of the leading
    columns increases, and the rows are rotated so that ``(a @ m)[:, p]`` is upper triangular with
    positive diagonal (a QR factorisation of the pivot columns).
    """
    a, b = _orthonormal_rows(m)
    r = a.shape[0]
    if not canonical or r == 0:
        return a
    residual, pivots, start = b.copy(), [], 0
    while len(pivots) < r:
        big = np.flatnonzero(np.linalg.norm(residual[:, start:], axis=0) > 1e-7)
        if big.size == 0:  # pragma: no cover - only on numerical breakdown
            raise RuntimeError("canonical basis: rank deficiency while searching pivots")
        j = start + int(big[0])
        pivots.append(j)
        q = residual[:, j] / np.linalg.norm(residual[:, j])
        residual = residual - np.outer(q, q.conj() @ residual)
        start = j + 1
    rot, tri = np.linalg.qr(b[:, pivots])
    rot = rot * (np.diag(tri) / np.abs(np.diag(tri)))
    return rot.conj().T @ a


# ------------------------------------------------------------------------------------ selection
def _products(ir_a: Irrep, rep: Rep) -> set[Irrep]:
    return {mi.ir for block in rep for mi in ir_a * block.ir if mi.mul > 0}


def reachable(slots: tuple[Rep, ...]) -> list[set[Irrep]]:
    """``out[k]``: irreps occurring in ``V_0 ⊗ ... ⊗ V_k`` according to the selection rules."""
    sets = [{mi.ir for mi in slots[0]}]
    for rep in slots[1:]:
        sets.append(set().union(*(_products(ir, rep) for ir in sets[-1])))
    return sets


def useful(slots: tuple[Rep, ...], irs_out: tuple[Irrep, ...]) -> list[set[Irrep]]:
    """``out[k]``: irreps after step ``k`` that can still reach one of ``irs_out``."""
    sets = reachable(slots)
    keep = [set() for _ in slots]
    keep[-1] = sets[-1] & set(irs_out)
    for k in range(len(slots) - 2, -1, -1):
        keep[k] = {ir for ir in sets[k] if _products(ir, slots[k + 1]) & keep[k + 1]}
    return keep


# ------------------------------------------------------------------------------------ steps
def _symmetrise(t: np.ndarray, cosets: Coset) -> np.ndarray:
    """``Σ_r s_r r·t`` for ``t`` of shape ``(cand, d_0, ..., d_k, d_out)``."""
    if len(cosets) == 1 and cosets[0][0] == 1 and cosets[0][1] == tuple(range(len(cosets[0][1]))):
        return t
    out = np.zeros_like(t)
    last = t.ndim - 1
    for sign, perm in cosets:
        out += sign * np.transpose(t, (0, *(1 + p for p in perm), last))
    return out


def _first_slot(rep: Rep, keep: set[Irrep]) -> dict[Irrep, list[np.ndarray]]:
    d, off, blocks = Irreps(rep).dim, 0, {}
    for mi in rep:
        if mi.ir in keep:
            e = np.zeros((mi.mul, d, mi.ir.dim))
            for u in range(mi.mul):
                e[u, off + u * mi.ir.dim : off + (u + 1) * mi.ir.dim] = np.eye(mi.ir.dim)
            blocks.setdefault(mi.ir, []).append(e)
        off += mi.dim
    return blocks


def _couple(cur: dict[Irrep, np.ndarray], rep: Rep, keep: set[Irrep]) -> dict[Irrep, list[np.ndarray]]:
    """Candidates ``(cand, X, d_new, d_c)`` from coupling every ``Q_a`` ``(m, X, d_a)`` with ``rep``."""
    d_new, cands = Irreps(rep).dim, {}
    for ir_a, q_a in cur.items():
        off = 0
        for mi in rep:
            ir_b, d_b = mi.ir, mi.ir.dim
            for ir_c in sort_irreps([m.ir for m in ir_a * ir_b if m.mul > 0 and m.ir in keep]):
                cg = clebsch_gordan(ir_a, ir_b, ir_c)
                if cg.shape[0] == 0:
                    continue
                r = np.einsum("mxi,wijc->mwxjc", q_a, cg)  # (m, w, X, d_b, d_c)
                t = np.zeros((q_a.shape[0], mi.mul, cg.shape[0], q_a.shape[1], d_new, ir_c.dim), r.dtype)
                for u in range(mi.mul):
                    t[:, u, :, :, off + u * d_b : off + (u + 1) * d_b, :] = r
                cands.setdefault(ir_c, []).append(t.reshape(-1, *t.shape[3:]))
            off += mi.dim
    return cands


def _reduce(cands: dict[Irrep, list[np.ndarray]], dims: tuple[int, ...], cosets: Coset,
            final: bool) -> dict[Irrep, np.ndarray]:
    """Symmetrise the candidates and extract a basis of their span, per output irrep.

    An intertwiner ``Q`` from an irrep is determined by its first output column ``Q[..., 0]`` (its
    kernel is a subrepresentation), so spans and canonical forms are computed on that slice and the
    resulting coefficients applied to the full candidates; symmetrisation commutes with both.
    """
    out = {}
    for ir in sort_irreps(list(cands)):
        t = np.concatenate(cands[ir]).reshape(-1, *dims, ir.dim)
        t0 = _symmetrise(t[..., :1], cosets).reshape(t.shape[0], -1)
        a = span_coefficients(t0, canonical=final)
        progress(f"slots={len(dims)} {ir}: {t.shape[0]} candidates -> {a.shape[0]}")
        if a.shape[0]:
            q = _symmetrise(np.tensordot(a, t, axes=1), cosets)
            out[ir] = q.reshape(a.shape[0], int(np.prod(dims)), ir.dim)
    return out


def _all_real(slots: tuple[Rep, ...], irs_out: tuple[Irrep, ...]) -> bool:
    return all(mi.ir.is_real for rep in slots for mi in rep) and all(ir.is_real for ir in irs_out)


def _on_slot(mat: np.ndarray, q: np.ndarray, slot: int) -> np.ndarray:
    return np.moveaxis(np.tensordot(mat, q, axes=(1, slot + 1)), 0, slot + 1)


def certify(args: tuple, result: tuple[np.ndarray, ...], tol: float = 1e-8) -> None:
    """Raise ``RuntimeError`` unless every basis intertwines and has the required symmetries."""
    slots, cosets, irs_out = args
    n, dims = len(slots), tuple(Irreps(rep).dim for rep in slots)
    if len(result) != len(irs_out):
        raise RuntimeError(f"expected {len(irs_out)} bases, got {len(result)}")
    xs = [Irreps(rep).algebra() for rep in slots]
    ds = [Irreps(rep).discrete_generators() for rep in slots]
    for ir, q in zip(irs_out, result, strict=True):
        if q.shape[1:] != (*dims, ir.dim):
            raise RuntimeError(f"basis of {ir} has shape {q.shape}, expected (mul, {dims}, {ir.dim})")
        if q.shape[0] == 0:
            continue
        scale = np.abs(q).max()
        x_out, d_out = ir.algebra(), ir.discrete_generators()
        errors = [np.abs(sum(_on_slot(xs[k][a], q, k) for k in range(n)) - q @ x_out[a]).max()
                  / max(1.0, np.abs(x_out[a]).max()) for a in range(x_out.shape[0])]
        for b in range(d_out.shape[0]):
            lhs = q
            for k in range(n):
                lhs = _on_slot(ds[k][b], lhs, k)
            errors.append(np.abs(lhs - q @ d_out[b]).max())
        for k, reps in enumerate(cosets):
            for sign, perm in reps:
                axes = (0, *(1 + p for p in perm), *range(k + 2, n + 2))
                errors.append(np.abs(q - sign * np.transpose(q, axes)).max())
        if max(errors) > tol * scale:
            raise RuntimeError(f"reduced tensor product basis of {ir} failed certification "
                               f"(relative residual {max(errors) / scale:.1e})")


@cached("reduced_tensor_power", validate=certify)
def tensor_power_bases(slots: tuple[Rep, ...], cosets: tuple[Coset, ...],
                       irs_out: tuple[Irrep, ...]) -> tuple[np.ndarray, ...]:
    """Canonical bases ``(mul, d_0, ..., d_{n-1}, d_ir)`` for each of ``irs_out`` (``mul`` may be 0).

    ``cosets[k]`` holds signed coset representatives ``(s, σ)`` of ``H_{k-1}`` in ``H_k`` (``σ`` a
    permutation of the first ``k+1`` slots acting by ``transpose``); see the module docstring.
    """
    keep = useful(slots, irs_out)
    dims = tuple(Irreps(rep).dim for rep in slots)
    cur = _reduce(_first_slot(slots[0], keep[0]), dims[:1], cosets[0], len(slots) == 1)
    for k in range(1, len(slots)):
        cands = _couple(cur, slots[k], keep[k])
        cur = _reduce(cands, dims[: k + 1], cosets[k], k == len(slots) - 1)
    real = _all_real(slots, irs_out)
    out = []
    for ir in irs_out:
        q = cur.get(ir, np.zeros((0, int(np.prod(dims)), ir.dim)))
        if real and np.iscomplexobj(q):
            if np.max(np.abs(q.imag), initial=0.0) > 1e-9:  # pragma: no cover - would be a CG bug
                raise RuntimeError(f"expected a real basis for {ir}, got imaginary parts")
            q = q.real
        out.append(np.ascontiguousarray(q.reshape(q.shape[0], *dims, ir.dim)))
    return tuple(out)


def symmetric_cosets(order: int, sign: int) -> tuple[Coset, ...]:
    """Coset representatives ``{id} ∪ {(j, k) : j < k}`` of ``S_k`` in ``S_{k+1}``, signed by ``sign``."""
    out = []
    for k in range(order):
        reps = [(1, tuple(range(k + 1)))]
        for j in range(k):
            perm = list(range(k + 1))
            perm[j], perm[k] = k, j
            reps.append((sign, tuple(perm)))
        out.append(tuple(reps))
    return tuple(out)
