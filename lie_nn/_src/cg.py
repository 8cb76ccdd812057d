"""Public Clebsch–Gordan coefficients: validated, certified, cached.

``clebsch_gordan(ir1, ir2, ir3)`` returns ``C`` of shape ``(mul, d1, d2, d3)`` with

    (X1_a ⊗ 1 + 1 ⊗ X2_a) C_m = C_m X3_a      for every Lie-algebra generator a,
    (D1_b ⊗ D2_b) C_m = C_m D3_b              for every discrete generator b,

and, when all three irreps are unitary in their bases, ``sum_ij conj(C[m,i,j,k]) C[n,i,j,l] =
δ_mn δ_kl``.  Every result is certified against these equations before it enters the cache; a
result that fails raises :class:`RuntimeError` and is never cached.

This module is the one dispatcher: a group with a closed form defines
``clebsch_gordan(self, ir2, ir3)`` on its irrep class and that is used; every other group goes
through :func:`numeric_clebsch_gordan` (the solver of :mod:`lie_nn._src.intertwiner`).  The
selection rule ``ir1 * ir2`` cross-checks the multiplicity of either result when the group has one.
"""

from __future__ import annotations

import numpy as np

from lie_nn._src.cache import cached
from lie_nn._src.intertwiner import intertwiners, tensor_generators
from lie_nn._src.irrep import Irrep
from lie_nn._src.irreps import Irreps

__all__ = [
    "CERTIFY_TOL",
    "certify_clebsch_gordan",
    "clebsch_gordan",
    "clebsch_gordan_exact",
    "expected_multiplicity",
    "has_closed_form",
    "numeric_clebsch_gordan",
]

CERTIFY_TOL = 1e-10
"""Largest relative residual accepted by :func:`clebsch_gordan`."""



def _check_irreps(ir1: object, ir2: object, ir3: object) -> None:
    for position, ir in enumerate((ir1, ir2, ir3), start=1):
        if not isinstance(ir, Irrep):
            raise TypeError(f"clebsch_gordan: argument {position} must be an Irrep, got {type(ir).__name__}")
    ir1.check_same_group(ir2)  # type: ignore[union-attr]
    ir1.check_same_group(ir3)  # type: ignore[union-attr]


def _op_norm_bound(X: np.ndarray) -> np.ndarray:
    """Cheap upper bound sqrt(|X|_1 |X|_inf) >= |X|_2 for each matrix of a stack ``(n, d, d)``."""
    absx = np.abs(X)
    col = absx.sum(axis=1).max(axis=-1, initial=0.0)
    row = absx.sum(axis=2).max(axis=-1, initial=0.0)
    return np.sqrt(col * row)


def _relative(residual: np.ndarray, scale: np.ndarray) -> float:
    """max_a |R_a|_F / scale_a, where a zero scale demands an exactly zero residual."""
    if residual.shape[0] == 0:
        return 0.0
    norms = np.sqrt(np.sum(np.abs(residual.reshape(residual.shape[0], -1)) ** 2, axis=1))
    safe = np.where(scale > 0, scale, 1.0)
    rel = np.where(scale > 0, norms / safe, np.where(norms > 0, np.inf, 0.0))
    return float(rel.max())


def _algebra_residual(X1: np.ndarray, X2: np.ndarray, X3: np.ndarray, C: np.ndarray) -> float:
    if X1.shape[0] != X2.shape[0] or X1.shape[0] != X3.shape[0]:
        raise ValueError(f"generator counts differ: {X1.shape[0]}, {X2.shape[0]}, {X3.shape[0]}")
    R = (np.einsum("aik,mkjl->amijl", X1, C) + np.einsum("ajk,mikl->amijl", X2, C)
         - np.einsum("mijk,akl->amijl", C, X3))
    scale = np.linalg.norm(C) * (_op_norm_bound(X1) + _op_norm_bound(X2) + _op_norm_bound(X3))
    return _relative(R, scale)


def _discrete_residual(D1: np.ndarray, D2: np.ndarray, D3: np.ndarray, C: np.ndarray) -> float:
    if D1.shape[0] != D2.shape[0] or D1.shape[0] != D3.shape[0]:
        raise ValueError(f"discrete generator counts differ: {D1.shape[0]}, {D2.shape[0]}, {D3.shape[0]}")
    R = np.einsum("bia,bjc,mack->bmijk", D1, D2, C) - np.einsum("mijl,blk->bmijk", C, D3)
    scale = np.linalg.norm(C) * (_op_norm_bound(D1) * _op_norm_bound(D2) + _op_norm_bound(D3))
    return _relative(R, scale)


def _normalisation_error(C: np.ndarray) -> float:
    """max |sum_ij conj(C[m,i,j,k]) C[n,i,j,l] - δ_mn δ_kl|."""
    mul, _, _, d3 = C.shape
    gram = np.einsum("mijk,nijl->mknl", np.conj(C), C).reshape(mul * d3, mul * d3)
    return float(np.abs(gram - np.eye(mul * d3)).max(initial=0.0))


def _independence_error(C: np.ndarray) -> float:
    """0 when the ``mul`` copies are linearly independent (relative smallest singular value > 1e-8)."""
    if C.shape[0] == 0:
        return 0.0
    s = np.linalg.svd(C.reshape(C.shape[0], -1), compute_uv=False)
    return 0.0 if s[-1] > 1e-8 * s[0] else float("inf")


def certify_clebsch_gordan(ir1: Irrep, ir2: Irrep, ir3: Irrep, C: np.ndarray, *,
                           check_normalization: bool = True) -> float:
    """Largest relative defect of ``C`` as Clebsch–Gordan coefficients of ``ir1 ⊗ ir2 → ir3``.

    The defect is the maximum of

    * ``|(X1_a ⊗ 1 + 1 ⊗ X2_a) C - C X3_a|_F / (|C|_F (|X1_a| + |X2_a| + |X3_a|))`` over generators,
    * ``|(D1_b ⊗ D2_b) C - C D3_b|_F / (|C|_F (|D1_b| |D2_b| + |D3_b|))`` over discrete generators,
    * the isometry error ``max |C^† C - 1|`` when all three irreps are unitary (else ``inf`` if the
      copies are linearly dependent), if ``check_normalization``,
    * ``max |Im C| / max |C|`` when all three irreps have real bases,
    * ``inf`` for non-finite entries.

    Raises ``ValueError`` if ``C`` does not have shape ``(mul, d1, d2, d3)``.

    >>> import numpy as np
    >>> from lie_nn import SU2
    >>> C = np.eye(2).reshape(1, 2, 1, 2)  # 1/2 ⊗ 0 → 1/2
    >>> certify_clebsch_gordan(SU2("1/2"), SU2(0), SU2("1/2"), C)
    0.0
    """
    C = np.asarray(C)
    shape = (ir1.dim, ir2.dim, ir3.dim)
    if C.ndim != 4 or C.shape[1:] != shape:
        raise ValueError(f"CG of {ir1} ⊗ {ir2} → {ir3} must have shape (mul, {', '.join(map(str, shape))}), "
                         f"got {C.shape}")
    if not np.issubdtype(C.dtype, np.number) or not np.all(np.isfinite(C)):
        return float("inf")
    if C.shape[0] == 0:
        return 0.0
    X1, X2, X3 = ir1.algebra(), ir2.algebra(), ir3.algebra()
    D1, D2, D3 = ir1.discrete_generators(), ir2.discrete_generators(), ir3.discrete_generators()
    errors = [_algebra_residual(X1, X2, X3, C), _discrete_residual(D1, D2, D3, C)]
    if check_normalization:
        unitary = all(ir.is_unitary() for ir in (ir1, ir2, ir3))
        errors.append(_normalisation_error(C) if unitary else _independence_error(C))
    if np.iscomplexobj(C) and all(ir.is_real for ir in (ir1, ir2, ir3)):
        errors.append(float(np.abs(C.imag).max() / np.abs(C).max()))
    return max(errors)


def expected_multiplicity(ir1: Irrep, ir2: Irrep, ir3: Irrep) -> int | None:
    """Multiplicity of ``ir3`` in ``ir1 ⊗ ir2`` by the selection rule, ``None`` when it is unknown.

    >>> from lie_nn import SUN
    >>> expected_multiplicity(SUN((2, 1, 0)), SUN((2, 1, 0)), SUN((2, 1, 0)))
    2
    """
    try:
        rule = Irreps(ir1 * ir2)
    except NotImplementedError:
        return None
    if rule.count(ir3) == 0 and getattr(ir3, "numeric_selection_rule", False):
        return None  # a numeric rule names one representative per class; ir3 may be isomorphic to one
    return rule.count(ir3)


def has_closed_form(ir: Irrep) -> bool:
    """True when the group of ``ir`` provides closed-form coefficients (a ``clebsch_gordan`` method).

    >>> from lie_nn import SO3, SUN
    >>> has_closed_form(SO3(1)), has_closed_form(SUN((1, 0, 0)))
    (True, False)
    """
    return callable(getattr(ir, "clebsch_gordan", None))


def numeric_clebsch_gordan(ir1: Irrep, ir2: Irrep, ir3: Irrep) -> np.ndarray:
    r"""Clebsch–Gordan coefficients ``C[m, i, j, k]`` for ``ir1 ⊗ ir2 → ir3`` from the numeric solver.

    Solves ``(X1 ⊗ 1 + 1 ⊗ X2) C = C X3`` and ``(D1 ⊗ D2) C = C D3`` with
    :func:`~lie_nn._src.intertwiner.intertwiners`.  The copies are orthonormal as flattened vectors,
    each scaled to squared norm ``d3`` (for unitary irreps each copy is then an isometry
    ``V3 → V1 ⊗ V2``).  When the selection rule ``ir1 * ir2`` is known, the number of solutions is
    cross-checked against it (``RuntimeError`` on mismatch).  Uncached: call :func:`clebsch_gordan`.

    >>> from lie_nn import SO3
    >>> C = numeric_clebsch_gordan(SO3(1), SO3(1), SO3(0))
    >>> C.shape, bool(np.allclose(C[0, :, :, 0], np.eye(3) / np.sqrt(3)))
    ((1, 3, 3, 1), True)
    """
    _check_irreps(ir1, ir2, ir3)
    XA, DA = tensor_generators(ir1, ir2)
    X3 = ir3.algebra()
    if len(XA) != len(X3):
        raise ValueError(f"generator counts differ: {ir1} ⊗ {ir2} has {len(XA)}, {ir3} has {len(X3)}")
    C = intertwiners(XA, X3, DA, ir3.discrete_generators())
    expected = expected_multiplicity(ir1, ir2, ir3)
    if expected is not None and expected != len(C):
        raise RuntimeError(
            f"{ir1} ⊗ {ir2} → {ir3}: found {len(C)} intertwiners but the selection rule says {expected}"
        )
    return np.sqrt(ir3.dim) * C.reshape(len(C), ir1.dim, ir2.dim, ir3.dim)


def _certify(args: tuple, C: object) -> None:
    """Validation hook of the cache: raise ``RuntimeError`` unless ``C`` is certified."""
    ir1, ir2, ir3 = args
    if not isinstance(C, np.ndarray):
        raise RuntimeError(f"CG of {ir1} ⊗ {ir2} → {ir3}: expected one array, got {type(C).__name__}")
    try:
        defect = certify_clebsch_gordan(ir1, ir2, ir3, C)
    except ValueError as error:
        raise RuntimeError(f"CG of {ir1} ⊗ {ir2} → {ir3} failed certification: {error}") from error
    if not defect < CERTIFY_TOL:
        raise RuntimeError(f"CG of {ir1} ⊗ {ir2} → {ir3} failed certification: relative defect {defect:.3g} "
                           f"(tolerance {CERTIFY_TOL:g}); refusing to return or cache it")
    expected = expected_multiplicity(ir1, ir2, ir3)
    if expected is not None and expected != C.shape[0]:
        raise RuntimeError(f"CG of {ir1} ⊗ {ir2} → {ir3} has {C.shape[0]} copies but the selection rule "
                           f"{ir1} * {ir2} gives multiplicity {expected}")


@cached("clebsch_gordan", validate=_certify)
def _cached_clebsch_gordan(ir1: Irrep, ir2: Irrep, ir3: Irrep) -> np.ndarray:
    if has_closed_form(ir1):
        C = np.asarray(ir1.clebsch_gordan(ir2, ir3))  # type: ignore[attr-defined]
    else:
        C = numeric_clebsch_gordan(ir1, ir2, ir3)
    if np.iscomplexobj(C) and all(ir.is_real for ir in (ir1, ir2, ir3)):
        if np.abs(C.imag).max(initial=0.0) <= 1e-14 * max(1.0, float(np.abs(C).max(initial=0.0))):
            C = C.real  # a real basis promises real coefficients; large imaginary parts fail certification
    return C


def clebsch_gordan(ir1: Irrep, ir2: Irrep, ir3: Irrep) -> np.ndarray:
    """Certified Clebsch–Gordan coefficients ``C[m, i, j, k]`` of shape ``(mul, d1, d2, d3)``.

    ``C`` spans the intertwiners ``V3 → V1 ⊗ V2``: ``(X1 ⊗ 1 + 1 ⊗ X2) C_m = C_m X3`` for every
    generator (and ``(D1 ⊗ D2) C_m = C_m D3`` for discrete generators); ``mul`` is the multiplicity of
    ``ir3`` in ``ir1 ⊗ ir2`` (``0`` gives an empty array).  Each copy is an isometry for unitary
    irreps; ``C`` is real when all three bases are real.  Results are certified (relative residual
    < ``CERTIFY_TOL``), cached in memory and on disk, and returned as fresh arrays.

    Raises ``TypeError`` for non-irreps or irreps of different groups, ``RuntimeError`` if the
    group's computation fails certification.

    >>> from lie_nn import SU2
    >>> clebsch_gordan(SU2("1/2"), SU2("1/2"), SU2(0)).shape
    (1, 2, 2, 1)
    """
    _check_irreps(ir1, ir2, ir3)
    return _cached_clebsch_gordan(ir1, ir2, ir3)


def clebsch_gordan_exact(ir1: Irrep, ir2: Irrep, ir3: Irrep):  # noqa: ANN201 - sympy Array
    """Exact Clebsch–Gordan coefficients, for groups providing ``clebsch_gordan_exact``.

    Same shape and convention as :func:`clebsch_gordan`, ``(mul, d1, d2, d3)`` with ``mul = 0`` when
    the selection rule forbids ``ir3``, but as a sympy ``Array`` of exact entries (square roots of
    rationals for SU(2) / SO(3) / O(3)).  Raises ``TypeError`` naming the group when it has no exact
    method.

    >>> from lie_nn import SO3
    >>> clebsch_gordan_exact(SO3(1), SO3(1), SO3(0))[0, 0, 0, 0]
    sqrt(3)/3
    >>> clebsch_gordan_exact(SO3(1), SO3(1), SO3(3)).shape
    (0, 3, 3, 7)
    """
    import sympy

    _check_irreps(ir1, ir2, ir3)
    method = getattr(ir1, "clebsch_gordan_exact", None)
    if method is None:
        raise TypeError(f"no exact Clebsch–Gordan coefficients for the group of {ir1!r} "
                        f"({type(ir1).__name__}); use clebsch_gordan for floating-point values")
    exact = method(ir2, ir3)
    if len(exact.shape) == 4:
        return exact
    if all(entry == 0 for entry in sympy.flatten(exact.tolist())):
        return sympy.Array([], (0, *exact.shape))
    return sympy.Array([exact.tolist()])
