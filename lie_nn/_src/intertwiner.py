"""Numeric solver for intertwiners ``X_A C = C X_B`` (arrays only: no irrep type is imported here).

Algorithm
---------
Every intertwiner ``C`` (``XA[a] C = C XB[a]`` for all ``a``, ``DA[b] C = C DB[b]`` for all ``b``)
also intertwines any non-commutative polynomial in the generators.  We pick one such element
``H = p(X, D)`` with fixed-seed random coefficients (a generic element of the associative algebra
they generate, degree two).  When ``H_A`` and ``H_B`` are diagonalizable, ``H_A = P_A Λ_A P_A^-1``
and ``H_B = P_B Λ_B P_B^-1``, every intertwiner has the form ``C = P_A Ĉ P_B^-1`` where ``Ĉ`` is
supported on the pairs ``(i, j)`` with ``λ_A[i] == λ_B[j]``.  This leaves a handful of unknowns
(``Σ_λ mult_A(λ) mult_B(λ)`` instead of ``dA * dB``), on which all the equations are imposed through
their Gram matrix (assembled in closed form, never forming the ``dA dB``-row system) or, when that is
ambiguous or the problem is small, through a backward-stable chunked QR/SVD.  Whenever ``H`` is not
safely diagonalizable (e.g. non-semisimple representations) the solver falls back to the direct
Kronecker system on all ``dA * dB`` unknowns.  The result is always certified: the residual of every
equation is checked and ``RuntimeError`` is raised when it exceeds ``1e-8`` (relative).

The basis returned is the canonical one of :mod:`lie_nn._src.canonical`.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from lie_nn._src.canonical import canonical_basis, real_form

_SEED = 20240519
_CERT_TOL = 1e-8
_SMALL_WORK = 2_000_000  # n_eq * dA * dB * p below which the accurate QR/SVD path is always used
_CHUNK_LIMIT = 20_000_000  # largest dA * dB * p block the accurate path may form

_MEMO: OrderedDict[tuple, Any] = OrderedDict()
Frame = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


# --------------------------------------------------------------------------- public API
def intertwiners(
    XA: Any, XB: Any, DA: Any = None, DB: Any = None, *, real: bool | None = None
) -> np.ndarray:
    r"""Basis of ``{C : XA[a] C = C XB[a] ∀a, DA[b] C = C DB[b] ∀b}``, shape ``(k, dA, dB)``.

    The basis is orthonormal for the Frobenius inner product and in the canonical form described in
    the module docstring.  ``real=None`` returns a real basis when all inputs are real; ``real=False``
    forces a complex basis, ``real=True`` requires real inputs.

    >>> import numpy as np
    >>> from lie_nn import intertwiners
    >>> J = np.array([[[0.0, -1.0], [1.0, 0.0]]])     # so(2) acting on R^2
    >>> intertwiners(J, J).shape                       # spanned by identity and J itself
    (2, 2, 2)
    >>> np.allclose(intertwiners(J, np.zeros((1, 1, 1))), 0)   # no invariant vector
    True
    """
    XA, XB, DA, DB = _validate(XA, XB, DA, DB)
    inputs_real = all(_is_real(M) for M in (XA, XB, DA, DB))
    if real is True and not inputs_real:
        raise ValueError("real=True requires real generators")
    dA, dB = XA.shape[1], XB.shape[1]
    if dA == 0 or dB == 0:
        return np.zeros((0, dA, dB))
    scale = max(np.abs(XA).max(initial=0.0), np.abs(XB).max(initial=0.0), 1e-300)
    equations = [(XA[a] / scale, XB[a] / scale) for a in range(len(XA))]
    equations += [(DA[b], DB[b]) for b in range(len(DA))]
    basis = _solve(XA, XB, DA, DB, equations)
    if inputs_real and real is not False:
        basis = real_form(basis)
    basis = canonical_basis(basis)
    C = basis.reshape(len(basis), dA, dB)
    _certify(C, equations)
    return C


def tensor_generators(ir1: Any, ir2: Any) -> tuple[np.ndarray, np.ndarray]:
    """``X1 ⊗ 1 + 1 ⊗ X2`` and ``D1 ⊗ D2`` (row-major pair index ``(i, j) -> i * d2 + j``).

    ``ir1`` and ``ir2`` are anything with ``algebra()``, ``discrete_generators()`` and ``dim``.

    >>> from lie_nn import SO3
    >>> [m.shape for m in tensor_generators(SO3(1), SO3(2))]
    [(3, 15, 15), (0, 15, 15)]
    """
    X1, X2, D1, D2 = ir1.algebra(), ir2.algebra(), ir1.discrete_generators(), ir2.discrete_generators()
    if len(X1) != len(X2) or len(D1) != len(D2):
        raise ValueError(f"generator counts differ between {ir1} and {ir2}")
    n = ir1.dim * ir2.dim
    XA = np.einsum("aik,jl->aijkl", X1, np.eye(ir2.dim)) + np.einsum("ik,ajl->aijkl", np.eye(ir1.dim), X2)
    return XA.reshape(-1, n, n), np.einsum("aik,ajl->aijkl", D1, D2).reshape(-1, n, n)



# --------------------------------------------------------------------------- validation
def _as_stack(M: Any, name: str, d: int | None = None) -> np.ndarray:
    try:
        arr = np.asarray(M)
        if arr.dtype == object:
            raise TypeError
        arr = arr.astype(np.complex128 if np.iscomplexobj(arr) else np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a numeric array, got {type(M).__name__}") from err
    if arr.ndim != 3 or arr.shape[1] != arr.shape[2]:
        raise ValueError(f"{name} must have shape (n, d, d), got {arr.shape}")
    if d is not None and arr.shape[1] != d:
        raise ValueError(f"{name} acts on dimension {arr.shape[1]}, expected {d}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite entries")
    return arr


def _validate(XA: Any, XB: Any, DA: Any, DB: Any) -> tuple[np.ndarray, ...]:
    XA, XB = _as_stack(XA, "XA"), _as_stack(XB, "XB")
    dA, dB = XA.shape[1], XB.shape[1]
    DA = np.zeros((0, dA, dA)) if DA is None else _as_stack(DA, "DA", dA)
    DB = np.zeros((0, dB, dB)) if DB is None else _as_stack(DB, "DB", dB)
    if len(XA) != len(XB):
        raise ValueError(f"XA has {len(XA)} generators but XB has {len(XB)}")
    if len(DA) != len(DB):
        raise ValueError(f"DA has {len(DA)} discrete generators but DB has {len(DB)}")
    return XA, XB, DA, DB


def _is_real(M: np.ndarray) -> bool:
    return bool(np.isrealobj(M) or not np.any(M.imag))


# --------------------------------------------------------------------------- solver
def _solve(XA, XB, DA, DB, equations) -> np.ndarray:
    """Orthonormal (complex) basis of the solution space, rows flattened, shape ``(k, dA * dB)``."""
    dA, dB = XA.shape[1], XB.shape[1]
    frame = _eigen_frame(XA, XB, DA, DB)
    if frame is None:
        frame = _identity_frame(dA, dB)
    basis = _solve_in_frame(frame, equations)
    if basis is None and len(frame[4]) < dA * dB:
        basis = _solve_in_frame(_identity_frame(dA, dB), equations)
    if basis is None:
        raise RuntimeError("intertwiners: the null space is numerically ambiguous")
    return basis


def _identity_frame(dA: int, dB: int) -> Frame:
    I, J = np.divmod(np.arange(dA * dB), dB)
    eA, eB = np.eye(dA, dtype=complex), np.eye(dB, dtype=complex)
    return eA, eA, eB, eB, I, J


def _memo(key: tuple, compute: Callable[[], Any]) -> Any:
    """Small LRU memo: one side's data are reused across the targets of a CG computation."""
    if key in _MEMO:
        _MEMO.move_to_end(key)
        return _MEMO[key]
    _MEMO[key] = value = compute()
    if len(_MEMO) > 8:
        _MEMO.popitem(last=False)
    return value


def _digest(X: np.ndarray, D: np.ndarray) -> tuple:
    h = hashlib.blake2b(digest_size=16)
    for M in (X, D):
        h.update(np.ascontiguousarray(M).reshape(-1).view(np.uint8))
    return (X.shape, X.dtype.str, D.shape, D.dtype.str, h.hexdigest())


def _flags(X: np.ndarray, D: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Per generator: Hermitian?, anti-Hermitian?; and whether all discrete generators are unitary."""
    Xh = np.conj(np.swapaxes(X, 1, 2))
    tol = 1e-12 * np.maximum(1.0, np.abs(X).max(axis=(1, 2), initial=0.0))
    herm = np.abs(X - Xh).max(axis=(1, 2), initial=0.0) <= tol
    anti = np.abs(X + Xh).max(axis=(1, 2), initial=0.0) <= tol
    unitary = bool(np.allclose(D @ np.conj(np.swapaxes(D, 1, 2)), np.eye(D.shape[1]), atol=1e-12))
    return herm, anti, unitary


def _generic_eig(X: np.ndarray, D: np.ndarray, herm: bool, phases: np.ndarray) -> tuple[np.ndarray, ...]:
    """Eigen-decomposition of the generic element ``H = L1 + L2² / 2 + Σ c_b K_b``."""
    rng = np.random.default_rng(_SEED)
    c1, c2 = rng.normal(size=(2, len(X)))
    c3 = rng.normal(size=len(D))
    Y = X * phases[:, None, None] if herm else X.astype(complex)
    L1, L2 = np.tensordot(c1, Y, 1), np.tensordot(c2, Y, 1)
    K = D + np.conj(np.swapaxes(D, 1, 2)) if herm else D
    H = L1 + 0.5 * L2 @ L2 + np.tensordot(c3, K, 1)
    return (*(np.linalg.eigh(H) if herm else np.linalg.eig(H)), H)


def _eigen_frame(XA, XB, DA, DB) -> Frame | None:
    """Eigen-decompose a generic element ``H`` on both sides; ``None`` if not safely diagonalizable."""
    keys = _digest(XA, DA), _digest(XB, DB)
    (hA, aA, uA), (hB, aB, uB) = (_memo((k, "flags"), lambda X=X, D=D: _flags(X, D)) for k, X, D in
                                  zip(keys, (XA, XB), (DA, DB), strict=True))
    herm = bool(np.all((hA & hB) | (aA & aB)) and uA and uB)
    phases = np.where(hA & hB, 1.0 + 0j, 1j) if herm else np.ones(len(XA))
    (wA, PA, HA), (wB, PB, HB) = (
        _memo((k, herm, phases.tobytes(), _SEED), lambda X=X, D=D: _generic_eig(X, D, herm, phases))
        for k, X, D in zip(keys, (XA, XB), (DA, DB), strict=True)
    )
    scale = max(1.0, np.abs(wA).max(), np.abs(wB).max())
    labels = _cluster(np.concatenate([wA, wB]), (1e-7 if herm else 1e-5) * scale)
    lA, lB = labels[: len(wA)], labels[len(wA) :]
    if herm:
        PAinv, PBinv = PA.conj().T, PB.conj().T
    else:
        sides = []
        for H, w, P, lab in ((HA, wA, PA, lA), (HB, wB, PB, lB)):
            side = _checked_eigvecs(H, w, P, lab)
            if side is None:
                return None
            sides.append(side)
        (PA, PAinv), (PB, PBinv) = sides
    I, J = _pairs(lA, lB)
    return PA, PAinv, PB, PBinv, I, J


def _checked_eigvecs(H, w, P, labels) -> tuple[np.ndarray, np.ndarray] | None:
    P = P.copy()
    for lab in np.unique(labels):
        idx = np.flatnonzero(labels == lab)
        if len(idx) > 1:
            P[:, idx], _ = np.linalg.qr(P[:, idx])
    P /= np.linalg.norm(P, axis=0)
    s = np.linalg.svd(P, compute_uv=False)
    if s[-1] < 1e-8 * s[0]:
        return None
    Pinv = np.linalg.inv(P)
    err = np.abs(Pinv @ H @ P - np.diag(w)).max()
    if err > 1e-9 * max(1.0, np.abs(H).max()) * s[0] / s[-1]:
        return None
    return P, Pinv


def _cluster(w: np.ndarray, tol: float) -> np.ndarray:
    """Single-linkage clusters of complex numbers at distance ``< tol`` (union-find on a sweep)."""
    if not np.any(w.imag):
        order = np.argsort(w.real, kind="stable")
        labels = np.empty(len(w), dtype=int)
        labels[order] = np.concatenate([[0], np.cumsum(np.diff(w.real[order]) >= tol)])
        return labels
    order = np.argsort(w.real, kind="stable")
    parent = list(range(len(w)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for pos, i in enumerate(order):
        for j in order[pos + 1 :]:
            if w[j].real - w[i].real >= tol:
                break
            if abs(w[j] - w[i]) < tol:
                parent[find(i)] = find(j)
    return np.array([find(i) for i in range(len(w))])


def _pairs(lA: np.ndarray, lB: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    I, J = [], []
    for lab in np.intersect1d(lA, lB):
        a, b = np.flatnonzero(lA == lab), np.flatnonzero(lB == lab)
        I.append(np.repeat(a, len(b)))
        J.append(np.tile(b, len(a)))
    if not I:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    return np.concatenate(I), np.concatenate(J)


def _solve_in_frame(frame: Frame, equations) -> np.ndarray | None:
    PA, PAinv, PB, PBinv, I, J = frame
    dA, dB, p = len(PA), len(PB), len(I)
    if p == 0:
        return np.zeros((0, dA * dB), dtype=complex)
    Iu, iI = np.unique(I, return_inverse=True)
    Ju, iJ = np.unique(J, return_inverse=True)
    blocks = [(PAinv @ (A @ PA[:, Iu]), (PBinv[Ju] @ B) @ PB) for A, B in equations]
    if len(equations) * dA * dB * p <= _SMALL_WORK:
        theta = _accurate_null(blocks, I, J, iI, iJ, dA, dB)
    else:
        theta = _gram_null(blocks, I, J, iI, iJ)
        if theta is None and dA * dB * p <= _CHUNK_LIMIT:
            theta = _accurate_null(blocks, I, J, iI, iJ, dA, dB)
    if theta is None:
        return None
    if theta.shape[1] == 0:
        return np.zeros((0, dA * dB), dtype=complex)
    C = np.einsum("ip,pm,pj->mij", PA[:, I], theta, PBinv[J], optimize=True).reshape(theta.shape[1], -1)
    Q, _ = np.linalg.qr(C.T)
    return Q.T


def _gram_null(blocks, I, J, iI, iJ) -> np.ndarray | None:
    """Null space from the closed-form Gram matrix ``Σ_e M_e^H M_e``; ``None`` when ambiguous."""
    p = len(I)
    G = np.zeros((p, p), dtype=complex)
    sameI, sameJ = I[:, None] == I[None, :], J[:, None] == J[None, :]
    for Acol, Brow in blocks:
        A_II = Acol[I[:, None], iI[None, :]]
        B_JJ = Brow[iJ[:, None], J[None, :]]
        AA = (Acol.conj().T @ Acol)[iI[:, None], iI[None, :]]
        BB = (Brow.conj() @ Brow.T)[iJ[:, None], iJ[None, :]]
        M = A_II * B_JJ.conj()
        G += AA * sameJ + BB * sameI - M - M.conj().T
    lam, U = np.linalg.eigh(G)
    sig = np.sqrt(np.clip(lam, 0, None) / max(lam[-1], 1.0))  # generators are normalised to O(1)
    null = sig < 1e-6
    if np.any(~null) and sig[~null].min() < 1e-2:
        return None
    return U[:, null]


def _accurate_null(blocks, I, J, iI, iJ, dA, dB) -> np.ndarray | None:
    """Null space by a chunked QR of the explicit system followed by an SVD; ``None`` if ambiguous."""
    p = len(I)
    ar = np.arange(p)
    R = np.zeros((0, p), dtype=complex)
    for Acol, Brow in blocks:
        M = np.zeros((dA, dB, p), dtype=complex)
        M[:, J, ar] = Acol[:, iI]
        M[I, :, ar] -= Brow[iJ]
        R = np.linalg.qr(np.vstack([R, M.reshape(dA * dB, p)]), mode="r")
    _, s, Vh = np.linalg.svd(R)
    s = np.concatenate([s, np.zeros(p - len(s))])
    top = max(s[0], 1.0)  # generators are normalised to O(1)
    null = s < 1e-9 * top
    if np.any((s >= 1e-9 * top) & (s < 1e-6 * top)):
        return None
    return Vh.conj().T[:, null]


# --------------------------------------------------------------------------- post-processing
def _certify(C: np.ndarray, equations) -> None:
    if len(C) == 0:
        return
    for A, B in equations:
        res = A @ C - C @ B
        size = np.linalg.norm(A) / np.sqrt(len(A)) + np.linalg.norm(B) / np.sqrt(len(B))
        err = np.linalg.norm(res.reshape(len(C), -1), axis=1).max(initial=0.0)
        if err > _CERT_TOL * max(size, 1e-300):
            raise RuntimeError(f"intertwiners: certification failed, residual {err:.2e}")
