r"""Decomposition of a representation given by generators into irreducibles (random-element commutant).

For a completely reducible representation ``V = ⊕_k m_k W_k`` (``W_k`` pairwise non-isomorphic
irreps) the commutant ``End_G(V) ≅ ⊕_k M_{m_k}(K_k)`` (Schur).  Over ℂ every ``K_k = ℂ``, so a
*generic* element ``A`` of the commutant acts on the ``m_k`` copies of ``W_k`` as a generic
``m_k × m_k`` matrix tensored with the identity of ``W_k``: its eigenspaces are single copies of the
irreps.  Algorithm:

1. a basis of the commutant ``{C : X_a C = C X_a, D_b C = C D_b}`` (:func:`~lie_nn.intertwiners`);
2. a random element ``A`` of it (Hermitian ``A + A^†`` when the representation is unitary, so that
   the eigenspaces are orthogonal; real symmetric for ``real=True`` orthogonal representations);
3. the eigenspaces of ``A`` (eigenvalues clustered; over ℝ a complex pair ``λ, λ̄`` gives the real
   null space of ``(A - λ)(A - λ̄)``), each an invariant subspace;
4. isomorphic blocks grouped by intertwiners between them, and every copy of a class put in the basis
   of its first copy, so that ``Q^{-1} X_a Q`` repeats identical blocks;
5. certification (else ``ValueError``): relative residual of ``X_a Q = Q ⊕ X^{(k)}_a`` below 1e-9,
   ``Q`` well conditioned, every block irreducible over the field, distinct classes non-isomorphic.

Over ℝ (``real=True``, real generators) the blocks are *real*-irreducible.  A real irreducible
representation is of real type (irreducible over ℂ too), complex type (commutant ℂ; over ℂ it
splits into ``W ⊕ W̄``, e.g. the rotations of the plane) or quaternionic type (commutant ℍ).  A block
is certified real-irreducible when it is ℂ-irreducible (Burnside), or when its complexification is
certified completely reducible and its real commutant is a division algebra: dimension 2 or 4 with
trace form ``tr(AB)`` of signature ``(1, k-1)`` (ℂ, ℍ; ``ℝ⊕ℝ``, ``M_2(ℝ)`` or ``ℂ⊕ℂ`` give other
signatures).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lie_nn._src.intertwiner import intertwiners

__all__ = ["Block", "DecompositionError", "burnside_irreducible", "real_irreducible", "split_generators"]

_RESIDUAL_TOL = 1e-9
_COND_LIMIT = 1e10
_SEEDS = (0, 1, 2)


class DecompositionError(ValueError):
    """The decomposition could not be certified (not a representation, or not completely reducible)."""


@dataclass(frozen=True, eq=False)
class Block:
    """One isomorphism class: ``mul`` copies of the irrep with generators ``x`` and ``disc``."""

    mul: int
    x: np.ndarray
    disc: np.ndarray

    @property
    def dim(self) -> int:
        return self.x.shape[1]


def split_generators(X: np.ndarray, D: np.ndarray, *, real: bool = False) -> tuple[list[Block], np.ndarray]:
    r"""Certified ``(blocks, Q)`` with ``X_a Q = Q ⊕_k 1_{m_k} ⊗ x^{(k)}_a`` (same for ``D``).

    Arrays in, arrays out (see the module docstring).  ``DecompositionError`` when certification fails.

    >>> J = np.array([[[0.0, -1.0], [1.0, 0.0]]])
    >>> [(b.mul, b.dim) for b in split_generators(J, np.zeros((0, 2, 2)))[0]]
    [(1, 1), (1, 1)]
    """
    X, D = np.asarray(X), np.asarray(D)
    is_real = not (np.iscomplexobj(X) and np.any(X.imag) or np.iscomplexobj(D) and np.any(D.imag))
    if real and not is_real:
        raise ValueError("a real decomposition needs real generators")
    if is_real and not real:  # real generators: a real basis whenever every real block is ℂ-irreducible
        try:
            blocks, Q = _split_retrying(X, D, True)
        except DecompositionError:
            blocks = []
        if blocks and all(burnside_irreducible(b.x, b.disc) for b in blocks):
            return blocks, Q
    return _split_retrying(X, D, real)


def _split_retrying(X: np.ndarray, D: np.ndarray, real: bool) -> tuple[list[Block], np.ndarray]:
    last: DecompositionError | None = None
    for seed in _SEEDS:
        try:
            return _split_once(X, D, real, seed)
        except DecompositionError as err:
            last = err
    assert last is not None
    raise last


def _split_once(X: np.ndarray, D: np.ndarray, real: bool, seed: int) -> tuple[list[Block], np.ndarray]:
    try:
        basis = intertwiners(X, X, D, D, real=True if real else False)
    except RuntimeError as err:
        raise DecompositionError(f"the commutant could not be computed reliably ({err}); the basis may be "
                                 "too ill-conditioned (an orthonormal basis helps)") from err
    element = _random_element(basis, _is_unitary(X, D), real, seed)
    spaces, blocks = _refine(X, D, _eigenspaces(element, real), real)
    classes = _group_isomorphic(blocks, real)
    out, columns = [], []
    for members in classes:
        first = blocks[members[0]]
        out.append(Block(len(members), *first))
        for i in members:
            columns.append(spaces[i] @ _intertwiner_to(blocks[i], first, real, i == members[0]))
    Q = np.concatenate(columns, axis=1)
    if real:
        Q = Q.real.copy()
        out = [Block(b.mul, b.x.real.copy(), b.disc.real.copy()) for b in out]
    _certify(X, D, out, Q, real)
    return out, Q


def _restricted(X: np.ndarray, D: np.ndarray, spaces: list[np.ndarray]) -> list[Pair]:
    Q = np.concatenate(spaces, axis=1)
    _check_condition(Q)
    Qinv = np.linalg.inv(Q)
    starts = np.cumsum([0] + [s.shape[1] for s in spaces])
    return [_restrict(X, D, Qinv[starts[i] : starts[i + 1]], s) for i, s in enumerate(spaces)]


def _refine(X: np.ndarray, D: np.ndarray, spaces: list[np.ndarray], real: bool
            ) -> tuple[list[np.ndarray], list[Pair]]:
    """Split further every eigenspace that is still reducible (over ℝ a complex eigenvalue pair of
    the random element spans two copies of a real-type irrep)."""
    out: list[np.ndarray] = []
    for space, (x, disc) in zip(spaces, _restricted(X, D, spaces), strict=True):
        if (real_irreducible(x, disc) if real else burnside_irreducible(x, disc)):
            out.append(space)
            continue
        if space.shape[1] == X.shape[1]:
            raise DecompositionError("certification failed: the representation is reducible but its "
                                     "commutant does not split it (it is not completely reducible)")
        sub, subQ = _split_retrying(x, disc, real)
        col = 0
        for b in sub:
            for _ in range(b.mul):
                out.append(space @ subQ[:, col : col + b.dim])
                col += b.dim
    return out, _restricted(X, D, out)


def _is_unitary(X: np.ndarray, D: np.ndarray) -> bool:
    scale = max(1.0, float(np.abs(X).max(initial=0.0)))
    anti = np.abs(X + np.conj(X.transpose(0, 2, 1))).max(initial=0.0) <= 1e-12 * scale
    eye = np.eye(X.shape[1])
    unit = np.abs(D @ np.conj(D.transpose(0, 2, 1)) - eye).max(initial=0.0) <= 1e-12
    return bool(anti and unit)


def _random_element(basis: np.ndarray, unitary: bool, real: bool, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coef = rng.normal(size=len(basis)) + (0 if real else 1j * rng.normal(size=len(basis)))
    A = np.tensordot(coef, basis, 1)
    return A + np.conj(A.T) if unitary else A


def _eigenspaces(A: np.ndarray, real: bool) -> list[np.ndarray]:
    """Bases (columns) of the eigenspaces of ``A``; over ℝ conjugate pairs give one real space."""
    d = len(A)
    hermitian = np.allclose(A, np.conj(A.T), atol=1e-13 * max(1.0, np.abs(A).max()))
    w = np.linalg.eigvalsh(A).astype(complex) if hermitian else np.linalg.eigvals(A)
    tol = 1e-6 * max(1e-300, float(np.abs(w).max()), float(np.abs(A).max()))
    clusters = _clusters(w, tol)
    spaces, done = [], set()
    for k, members in enumerate(clusters):
        if k in done:
            continue
        lam = w[members].mean()
        if real and abs(lam.imag) > tol:
            partner = min(range(len(clusters)), key=lambda j: abs(w[clusters[j]].mean() - np.conj(lam)))
            done.add(partner)
            M = A @ A - 2 * lam.real * A + abs(lam) ** 2 * np.eye(d)
            size = 2 * len(members)
        else:
            M = A - (lam.real if real else lam) * np.eye(d)
            size = len(members)
        done.add(k)
        spaces.append(_null_space(M, size))
    return spaces


def _clusters(w: np.ndarray, tol: float) -> list[list[int]]:
    out: list[list[int]] = []
    for i in np.argsort(w.real, kind="stable"):
        for members in out:
            if abs(w[members[0]] - w[i]) < tol:
                members.append(int(i))
                break
        else:
            out.append([int(i)])
    return out


def _null_space(M: np.ndarray, size: int) -> np.ndarray:
    _, s, Vh = np.linalg.svd(M)
    return np.conj(Vh[len(s) - size :].T)


def _check_condition(Q: np.ndarray) -> None:
    s = np.linalg.svd(Q, compute_uv=False)
    if len(s) == 0 or not s[-1] > s[0] / _COND_LIMIT:
        raise DecompositionError("the invariant subspaces found are not independent (the representation "
                                 "may not be completely reducible)")


Pair = tuple[np.ndarray, np.ndarray]


def _restrict(X: np.ndarray, D: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> Pair:
    """The representation restricted to the invariant subspace ``cols`` (left inverse ``rows``);
    entries below ``1e-13`` of the largest generator entry are rounding noise and set to zero."""
    out = []
    for M in (X, D):
        block = np.einsum("ij,ajk,kl->ail", rows, M, cols)
        noise = 1e-13 * max(1.0, float(np.abs(M).max(initial=0.0))) * np.linalg.cond(cols)
        block.real[np.abs(block.real) < noise] = 0.0
        if np.iscomplexobj(block):
            block.imag[np.abs(block.imag) < noise] = 0.0
        out.append(block)
    return out[0], out[1]


def _isomorphisms(a: Pair, b: Pair, real: bool) -> np.ndarray:
    """Intertwiners ``S`` with ``X_a S = S X_b`` (none unless the dimensions agree)."""
    if a[0].shape[1] != b[0].shape[1]:
        return np.zeros((0, a[0].shape[1], b[0].shape[1]))
    return intertwiners(a[0], b[0], a[1], b[1], real=True if real else False)


def _group_isomorphic(blocks: list[Pair], real: bool) -> list[list[int]]:
    """Classes of isomorphic blocks (indices), ordered by dimension then first appearance."""
    classes: list[list[int]] = []
    for i, block in enumerate(blocks):
        for members in classes:
            if len(_isomorphisms(blocks[members[0]], block, real)):
                members.append(i)
                break
        else:
            classes.append([i])
    return sorted(classes, key=lambda m: (blocks[m[0]][0].shape[1], m[0]))


def _intertwiner_to(block: Pair, first: Pair, real: bool, same: bool) -> np.ndarray:
    """``S`` with ``X_block S = S X_first``, scaled to ``|S|_F = sqrt(dim)`` (unitary when possible)."""
    d = block[0].shape[1]
    if same:
        return np.eye(d)
    S = _isomorphisms(block, first, real)
    if len(S) == 0:
        raise DecompositionError("blocks grouped as isomorphic have no intertwiner")
    return np.sqrt(d) * S[0]


# --------------------------------------------------------------------------- certification
def _block_diagonal(mats: list[tuple[int, np.ndarray]]) -> np.ndarray:
    n = mats[0][1].shape[0]
    d = sum(mul * m.shape[1] for mul, m in mats)
    out = np.zeros((n, d, d), dtype=np.result_type(*[m for _, m in mats]))
    i = 0
    for mul, m in mats:
        for _ in range(mul):
            out[:, i : i + m.shape[1], i : i + m.shape[1]] = m
            i += m.shape[1]
    return out


def _certify(X: np.ndarray, D: np.ndarray, blocks: list[Block], Q: np.ndarray, real: bool) -> None:
    _check_condition(Q)
    pairs = (("algebra", X, _block_diagonal([(b.mul, b.x) for b in blocks])),
             ("discrete", D, _block_diagonal([(b.mul, b.disc) for b in blocks])))
    for name, big, small in pairs:
        if len(big) == 0:
            continue
        res = np.linalg.norm(big @ Q - Q @ small, axis=(1, 2))
        scale = np.linalg.norm(Q) * (np.linalg.norm(big, axis=(1, 2)) + np.linalg.norm(small, axis=(1, 2)))
        if not np.all(res <= _RESIDUAL_TOL * np.maximum(scale, 1e-300)):
            raise DecompositionError(f"certification failed: {name} residual {res.max():.2e} "
                                     "of X Q = Q ⊕ blocks")
    for i, b in enumerate(blocks):
        if not (real_irreducible(b.x, b.disc) if real else burnside_irreducible(b.x, b.disc)):
            raise DecompositionError(f"certification failed: a {b.dim}-dimensional block is reducible over "
                                     f"{'ℝ' if real else 'ℂ'} (is the representation completely reducible?)")
        for other in blocks[:i]:
            if len(_isomorphisms((other.x, other.disc), (b.x, b.disc), real)):
                raise DecompositionError("certification failed: two classes of blocks are isomorphic")


def real_irreducible(X: np.ndarray, D: np.ndarray) -> bool:
    """Irreducible over ℝ (real generators): ℂ-irreducible, or a completely reducible complexification
    with a real commutant that is a division algebra (ℂ or ℍ: dimension 2 or 4, trace form of
    signature ``(1, k - 1)``).

    >>> real_irreducible(np.array([[[0.0, -1.0], [1.0, 0.0]]]), np.zeros((0, 2, 2)))
    True
    """
    if burnside_irreducible(X, D):
        return True
    try:
        _split_once(X, D, False, 0)  # certifies that the complexification is completely reducible
    except DecompositionError:
        return False
    C = intertwiners(X, X, D, D, real=True)
    if len(C) not in (2, 4):
        return False
    gram = np.einsum("aij,bji->ab", C, C)
    vals = np.linalg.eigvalsh((gram + gram.T) / 2)
    tol = 1e-8 * np.abs(vals).max()
    return bool(np.all(np.abs(vals) > tol) and np.sum(vals > tol) == 1)


# --------------------------------------------------------------------------- Burnside
def _orthonormal_rows(cand: np.ndarray, basis: np.ndarray, cutoff: float) -> np.ndarray:
    """Orthonormal rows spanning the part of ``cand``'s row space orthogonal to ``basis``'s rows.

    Components of norm below ``cutoff`` are numerical noise.  Uses a Gram matrix and ``eigh`` on
    whichever side is smaller (cheap and robust to BLAS oversubscription, unlike a large SVD).
    """
    for _ in range(2):
        cand = cand - (cand @ basis.conj().T) @ basis
    if cand.shape[0] <= cand.shape[1]:
        vals, vecs = np.linalg.eigh(cand @ cand.conj().T)
        keep = vals > cutoff**2
        return (vecs[:, keep].conj().T @ cand) / np.sqrt(vals[keep])[:, None]
    vals, vecs = np.linalg.eigh(cand.conj().T @ cand)
    return vecs[:, vals > cutoff**2].conj().T


def _closure_dim(gens: np.ndarray, start: np.ndarray, cutoff: float) -> int:
    """Dimension of the smallest space containing ``start`` ``(k, d, r)`` and stable under ``g @ .``."""
    k, d, r = start.shape
    empty = np.zeros((0, d * r), dtype=np.complex128)
    basis = _orthonormal_rows(start.reshape(k, d * r).astype(np.complex128), empty, cutoff)
    new = basis
    while new.shape[0] and basis.shape[0] < d * r:
        cand = np.einsum("gij,kjr->gkir", gens, new.reshape(-1, d, r)).reshape(-1, d * r)
        new = _orthonormal_rows(cand, basis, cutoff)
        basis = np.concatenate([basis, new])
    return basis.shape[0]


def burnside_irreducible(X: np.ndarray, D: np.ndarray, tol: float = 1e-7) -> bool:
    """Irreducible over ℂ, by Burnside's theorem.

    A representation on ``C^d`` is irreducible iff the associative algebra generated by the
    identity, the ``X_a`` and the ``D_b`` is all of ``M_d(C)`` (dimension ``d²``).  This also
    handles representations that are not completely reducible, where a one-dimensional
    commutant would not suffice.  A cheap pre-check first spins two eigenvectors of a random
    element: a proper invariant subspace proves reducibility.  ``tol`` is the relative size
    below which a new direction counts as numerically zero.

    >>> burnside_irreducible(np.array([[[0.0, -1.0], [1.0, 0.0]]]), np.zeros((0, 2, 2)))
    False
    """
    d = X.shape[1]
    gens = np.concatenate([X, D]).astype(np.complex128)
    if gens.shape[0] == 0:
        return d == 1
    scale = max(1.0, float(np.abs(gens).max()))
    coef = np.random.default_rng(0).normal(size=(gens.shape[0], 2)) @ np.array([1.0, 1j])
    _, vecs = np.linalg.eig(np.einsum("a,aij->ij", coef, gens))
    for v in vecs.T[:2]:
        if _closure_dim(gens, v.reshape(1, d, 1), tol * scale) < d:
            return False
    return _closure_dim(gens, np.eye(d).reshape(1, d, d), tol * scale) == d * d
