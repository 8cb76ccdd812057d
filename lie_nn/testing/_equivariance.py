r"""Group elements, their matrices on any representation, and equivariance assertions.

A group element is stored group-independently as ``g = exp(sum_a theta_a T_a) d_{i1} d_{i2} ...``:
real coefficients ``theta`` on the fixed Lie-algebra basis ``T_a`` of the group, followed by a word
in the discrete generators (e.g. parity for O(3)).  On a representation with generators ``X_a``
and discrete generators ``D_b`` it acts as ``expm(sum_a theta_a X_a) @ D_{i1} @ D_{i2} @ ...``.

This module needs only numpy: torch is imported on demand, when a function works on torch tensors
(``backend="torch"``, or ``"auto"`` trying torch first when it is installed).
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from lie_nn._src.irreps import Irreps

__all__ = [
    "GroupElement",
    "assert_equivariant",
    "assert_intertwines",
    "generators",
    "intertwining_residual",
    "represent",
]


# ------------------------------------------------------------------------------- representations
def generators(rep: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(X, D)``: algebra ``(n_gen, dim, dim)`` and discrete generators ``(n_disc, dim, dim)``.

    ``rep`` is anything ``Irreps(...)`` accepts (an irrep, a ``MulIrrep``, an ``Irreps``, a string
    such as ``"2x0e + 1o"``, ...): block diagonal in the order of its terms.

    >>> X, D = generators("2x1o")
    >>> X.shape, D.shape
    ((3, 6, 6), (1, 6, 6))
    """
    try:
        irreps = Irreps(rep)
    except (TypeError, ValueError) as err:
        raise TypeError(f"expected a representation (anything Irreps accepts), got {rep!r}: {err}") from None
    if not irreps:
        return np.zeros((0, 0, 0)), np.zeros((0, 0, 0))
    return irreps.algebra(), irreps.discrete_generators()


def _is_complex(*arrays: np.ndarray) -> bool:
    return any(np.iscomplexobj(a) and bool(np.any(np.imag(a) != 0)) for a in arrays)


_PADE7 = (17297280.0, 8648640.0, 1995840.0, 277200.0, 25200.0, 1512.0, 56.0, 1.0)


def _expm(matrix: np.ndarray) -> np.ndarray:
    """Matrix exponential in float64 / complex128: Padé (7, 7) with scaling and squaring.

    The matrix is scaled to 1-norm <= 0.95, where the degree-7 Padé approximant is accurate to
    double-precision rounding (Higham 2005, table 2.3), then squared back.
    """
    A = np.asarray(matrix, dtype=np.complex128 if np.iscomplexobj(matrix) else np.float64)
    norm = float(np.abs(A).sum(axis=0).max(initial=0.0))
    squarings = max(0, math.ceil(math.log2(norm / 0.95))) if norm > 0.95 else 0
    A = A / 2.0**squarings
    b, eye = _PADE7, np.eye(A.shape[0], dtype=A.dtype)
    A2 = A @ A
    A4 = A2 @ A2
    A6 = A4 @ A2
    U = A @ (b[7] * A6 + b[5] * A4 + b[3] * A2 + b[1] * eye)
    V = b[6] * A6 + b[4] * A4 + b[2] * A2 + b[0] * eye
    R = np.linalg.solve(V - U, V + U)
    for _ in range(squarings):
        R = R @ R
    return R


def _torch_if_loaded() -> ModuleType | None:
    """The torch module when the program has already imported it (then tensors may occur)."""
    module = sys.modules.get("torch")
    return module if isinstance(module, ModuleType) else None


def _torch_available() -> bool:
    """Whether torch can be imported (without importing it when it is not loaded yet)."""
    if _torch_if_loaded() is not None:
        return True
    if "torch" in sys.modules:  # set to None: deliberately blocked
        return False
    return importlib.util.find_spec("torch") is not None


def _import_torch() -> ModuleType:
    """Import torch on demand (the torch backend); ``ImportError`` when it is not available."""
    return importlib.import_module("torch")


# ------------------------------------------------------------------------------- group elements
@dataclass(frozen=True)
class GroupElement:
    r"""``g = exp(sum_a theta_a T_a) · d_{i1} d_{i2} ...`` (``theta`` real, ``i_k`` discrete indices).

    ``algebra_coefficients`` has one entry per Lie-algebra generator of the group (``n_gen``); for
    the Lorentz group the last three are boost rapidities.  ``discrete`` is a word in the discrete
    generators, applied right after the exponential.

    >>> g = GroupElement((0.1, 0.2, 0.3), (0,))
    >>> g.inverse_continuous()
    GroupElement(algebra_coefficients=(-0.1, -0.2, -0.3), discrete=())
    """

    algebra_coefficients: tuple[float, ...]
    discrete: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        coefficients = tuple(self.algebra_coefficients)
        for value in coefficients:
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise TypeError(f"algebra coefficients must be real numbers, got {value!r}")
            if not math.isfinite(float(value)):
                raise ValueError(f"algebra coefficients must be finite, got {value!r}")
        word = tuple(self.discrete)
        for index in word:
            if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
                raise TypeError(f"discrete generator indices must be ints, got {index!r}")
            if index < 0:
                raise ValueError(f"discrete generator indices must be >= 0, got {index}")
        object.__setattr__(self, "algebra_coefficients", tuple(float(v) for v in coefficients))
        object.__setattr__(self, "discrete", tuple(int(i) for i in word))

    @classmethod
    def identity(cls, n_gen: int) -> GroupElement:
        """The identity element of a group with ``n_gen`` Lie-algebra generators."""
        return cls((0.0,) * n_gen, ())

    @classmethod
    def random(cls, rep: Any, *, scale: float = 1.0, seed: int | None = None, discrete: bool = True):
        """A random element for the group of ``rep``: ``theta ~ U(-scale, scale)``, random word.

        The discrete word has length 0 to 2 (each index uniform), when the group has discrete
        generators and ``discrete`` is true.
        """
        x, d = generators(rep)
        rng = np.random.default_rng(seed)
        theta = tuple(rng.uniform(-scale, scale, size=x.shape[0]).tolist())
        word: tuple[int, ...] = ()
        if discrete and d.shape[0] > 0:
            word = tuple(int(i) for i in rng.integers(0, d.shape[0], size=int(rng.integers(0, 3))))
        return cls(theta, word)

    def inverse_continuous(self) -> GroupElement:
        """``exp(-sum theta_a T_a)``: the inverse of the continuous part (the word is dropped)."""
        return GroupElement(tuple(-v for v in self.algebra_coefficients), ())


def represent(rep: Any, g: GroupElement) -> np.ndarray:
    r"""Matrix of ``g`` on ``rep``: ``expm(sum_a theta_a X_a) @ D_{i1} @ D_{i2} @ ...``, ``(dim, dim)``.

    ``rep`` is anything ``Irreps(...)`` accepts.  The result is float64 when every generator is real
    and complex128 otherwise.  For a tensor product the matrices multiply as Kronecker products,
    which is what makes Clebsch–Gordan coefficients equivariant under finite transformations.

    >>> from lie_nn import SU2
    >>> import numpy as np
    >>> R = represent(SU2(1), GroupElement((0.0, 0.0, np.pi)))
    >>> bool(np.allclose(R @ R.conj().T, np.eye(3)))
    True
    """
    if not isinstance(g, GroupElement):
        raise TypeError(f"expected a GroupElement, got {type(g).__name__}")
    x, d = generators(rep)
    dim = x.shape[1]
    if dim == 0:
        return np.zeros((0, 0))
    if len(g.algebra_coefficients) != x.shape[0]:
        raise ValueError(
            f"group element has {len(g.algebra_coefficients)} algebra coefficients but {rep} has "
            f"{x.shape[0]} generators"
        )
    bad = [i for i in g.discrete if i >= d.shape[0]]
    if bad:
        raise ValueError(f"discrete generator index {bad[0]} out of range: {rep} has {d.shape[0]}")
    complex_ = _is_complex(x, d)
    out = _expm(np.einsum("a,aij->ij", np.asarray(g.algebra_coefficients), x))
    for index in g.discrete:
        out = out @ d[index]
    return out if complex_ else np.real(out).astype(np.float64)


# ------------------------------------------------------------------------------- CG helpers
def intertwining_residual(c: np.ndarray, ir1: Any, ir2: Any, ir3: Any) -> float:
    r"""Largest relative violation of the Clebsch–Gordan equations by ``C`` ``(mul, d1, d2, d3)``.

    Checks ``(X1 ⊗ 1 + 1 ⊗ X2) C = C X3`` for every generator and ``(D1 ⊗ D2) C = C D3`` for every
    discrete generator; returns ``max |lhs - rhs| / (1 + max|C| · max|X|)``.

    >>> from lie_nn import SU2
    >>> ir = SU2("1/2")
    >>> intertwining_residual(ir.clebsch_gordan(ir, SU2(1)), ir, ir, SU2(1)) < 1e-14
    True
    """
    c = np.asarray(c)
    (x1, d1), (x2, d2), (x3, d3) = generators(ir1), generators(ir2), generators(ir3)
    expected = (x1.shape[1], x2.shape[1], x3.shape[1])
    if c.ndim != 4 or c.shape[1:] != expected:
        raise ValueError(f"CG must have shape (mul, {', '.join(map(str, expected))}), got {c.shape}")
    if c.shape[0] == 0:
        return 0.0
    lhs = np.einsum("aik,mkjl->amijl", x1, c) + np.einsum("ajk,mikl->amijl", x2, c)
    res = np.abs(lhs - np.einsum("mijk,akl->amijl", c, x3)).max(initial=0.0)
    if d1.shape[0]:
        dlhs = np.einsum("bia,bjc,mack->bmijk", d1, d2, c)
        res = max(res, np.abs(dlhs - np.einsum("mijl,blk->bmijk", c, d3)).max(initial=0.0))
    scale = 1.0 + np.abs(c).max() * max(np.abs(x).max(initial=0.0) for x in (x1, x2, x3, d1, d2, d3))
    return float(res / scale)


def assert_intertwines(c: np.ndarray, ir1: Any, ir2: Any, ir3: Any, *, atol: float = 1e-10) -> None:
    """Raise ``AssertionError`` unless ``C`` intertwines ``ir1 ⊗ ir2`` and ``ir3`` to ``atol``.

    See :func:`intertwining_residual` for the equations and the (relative) error measure.

    >>> from lie_nn import SU2
    >>> ir = SU2(1)
    >>> assert_intertwines(ir.clebsch_gordan(ir, ir), ir, ir, ir)
    """
    residual = intertwining_residual(c, ir1, ir2, ir3)
    if not residual <= atol:
        raise AssertionError(
            f"C of shape {np.shape(c)} does not intertwine {ir1} ⊗ {ir2} -> {ir3}: "
            f"relative residual {residual:.3e} > {atol:.1e}"
        )


# ------------------------------------------------------------------------------- assert_equivariant
_DEFAULT_TOLERANCES = {np.float32: (1e-5, 1e-4), np.float64: (1e-10, 1e-9)}
_BACKENDS = ("auto", "torch", "numpy")


def _precision(dtype: Any) -> type:
    """Map float32 / float64 given as numpy, torch or string dtypes to ``np.float32 / np.float64``."""
    torch = _torch_if_loaded()
    if torch is not None and isinstance(dtype, torch.dtype):
        dtype = str(dtype).removeprefix("torch.")
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = None
    if name not in ("float32", "float64"):
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}")
    return np.float32 if name == "float32" else np.float64


def _rep_list(reps: Any, what: str) -> tuple[list[Irreps], bool]:
    """``(list of Irreps, several)``: a plain tuple or list means several arguments / outputs."""
    several = type(reps) in (tuple, list) and not _is_pair(reps)
    out = list(reps) if several else [reps]
    if several and not out:
        raise ValueError(f"{what} must name at least one representation")
    converted = []
    for rep in out:
        try:
            converted.append(Irreps(rep))
        except TypeError as err:
            raise TypeError(f"{what}: {err}") from None
    return converted, several


def _is_pair(value: Any) -> bool:
    """``(mul, ir)``: one representation, not a list of two."""
    return len(value) == 2 and isinstance(value[0], int) and not isinstance(value[0], bool)


def _check_same_group(reps: list[Irreps]) -> None:
    irs = [term.ir for rep in reps for term in rep]
    for ir in irs[1:]:
        if ir.group_id() != irs[0].group_id():
            raise ValueError(f"representations of different groups: {irs[0]} and {ir}")


def _default_elements(rep: Any, count_: int, seed: int) -> list[GroupElement]:
    """``count_`` random elements; all but the last start with discrete generator ``k % n_disc``."""
    n_disc = generators(rep)[1].shape[0]
    out = []
    for k in range(count_):
        g = GroupElement.random(rep, seed=seed + k)
        head = (k % n_disc,) if n_disc and k < count_ - 1 else ()
        out.append(GroupElement(g.algebra_coefficients, head + g.discrete if head else ()))
    return out


def _to_numpy(value: Any, name: str) -> np.ndarray:
    torch = _torch_if_loaded()
    if torch is not None and isinstance(value, torch.Tensor):
        value = value.detach().cpu().resolve_conj().numpy()
    array = np.asarray(value)
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.complexfloating)):
        raise TypeError(f"{name} must be a float or complex array, got dtype {array.dtype}")
    return array.astype(np.complex128 if np.iscomplexobj(array) else np.float64)


def _call(fn: Any, xs: list[np.ndarray], backend: str, precision: type) -> Any:
    if backend == "numpy":
        complex_ = np.complex64 if precision is np.float32 else np.complex128
        return fn(*[x.astype(complex_ if np.iscomplexobj(x) else precision) for x in xs])
    torch = _import_torch()
    cast = {np.float32: (torch.float32, torch.complex64), np.float64: (torch.float64, torch.complex128)}
    real, cplx = cast[precision]
    return fn(*[torch.from_numpy(x).to(cplx if np.iscomplexobj(x) else real) for x in xs])


def _outputs(raw: Any, reps_out: list[Any], several: bool) -> list[np.ndarray]:
    values = list(raw) if several and isinstance(raw, (tuple, list)) else [raw]
    if several and not isinstance(raw, (tuple, list)):
        raise ValueError(f"fn must return a tuple of {len(reps_out)} outputs, got {type(raw).__name__}")
    if len(values) != len(reps_out):
        raise ValueError(f"fn returned {len(values)} outputs but irreps_out names {len(reps_out)}")
    out = []
    for k, (value, rep) in enumerate(zip(values, reps_out, strict=True)):
        array = _to_numpy(value, f"output {k}")
        dim = generators(rep)[0].shape[1]
        if array.ndim == 0 or array.shape[-1] != dim:
            raise ValueError(f"output {k} has shape {array.shape}; its last axis must be {rep}'s dim {dim}")
        out.append(array)
    return out


def _inputs(inputs: Any, reps_in: list[Any], several: bool, batch: int, seed: int, complex_: bool):
    if inputs is None:
        rng = np.random.default_rng(seed)
        xs = []
        for rep in reps_in:
            shape = (batch, generators(rep)[0].shape[1])
            x = rng.standard_normal(shape)
            xs.append(x + 1j * rng.standard_normal(shape) if complex_ else x)
        return xs, None
    values = list(inputs) if several else [inputs]
    if len(values) != len(reps_in):
        raise ValueError(f"got {len(values)} inputs for {len(reps_in)} input representations")
    torch = _torch_if_loaded()
    is_tensor = torch is not None and any(isinstance(v, torch.Tensor) for v in values)
    backend = "torch" if is_tensor else "numpy"
    xs = [_to_numpy(v, f"input {k}") for k, v in enumerate(values)]
    for k, (x, rep) in enumerate(zip(xs, reps_in, strict=True)):
        dim = generators(rep)[0].shape[1]
        if x.ndim == 0 or x.shape[-1] != dim:
            raise ValueError(f"input {k} has shape {x.shape}; its last axis must be {rep}'s dim {dim}")
    return xs, backend


def assert_equivariant(
    fn: Any,
    irreps_in: Any,
    irreps_out: Any,
    *,
    inputs: Any = None,
    group_element: GroupElement | Sequence[GroupElement] | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    dtype: Any = np.float64,
    batch: int = 4,
    n_elements: int = 3,
    seed: int = 0,
    backend: str = "auto",
) -> float:
    r"""Assert ``fn(D_in(g) x) == D_out(g) fn(x)`` for random inputs ``x`` and group elements ``g``.

    ``irreps_in`` / ``irreps_out`` are representations (anything ``Irreps(...)`` accepts: an irrep,
    a ``MulIrrep``, an ``Irreps``, a string such as ``"8x0e + 4x1o"``), or a plain tuple / list of
    them when ``fn`` takes several arguments / returns a tuple.  Arrays have the
    representation index last, ``(..., dim)``; ``g`` acts as ``x @ D(g).T`` (see :func:`represent`).
    Random inputs ``(batch, dim)`` are complex when any representation has a complex basis.

    ``fn`` may work on torch tensors or numpy arrays: ``backend="auto"`` tries torch first, then
    numpy (given ``inputs`` decide the backend themselves); torch is imported only for the torch
    backend, so numpy functions are checked without it.  ``dtype`` is float32 or float64; the
    check passes when ``max|error| <= atol + rtol * max|output|`` with defaults ``(1e-5, 1e-4)``
    in float32 and ``(1e-10, 1e-9)`` in float64.  Returns the largest absolute error.

    >>> import numpy as np
    >>> err = assert_equivariant(lambda x: 2 * x, "SU2(1)", "SU2(1)", backend="numpy")
    >>> err < 1e-12
    True
    >>> odd_to_even = lambda x: np.concatenate([x, x], -1)  # a pseudo-scalar is not a scalar
    >>> assert_equivariant(odd_to_even, "0o", "2x0e", backend="numpy")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    AssertionError: fn is not equivariant: output 0 (2x0e): ...
    """
    if backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS}, got {backend!r}")
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    precision = _precision(dtype)
    reps_in, several_in = _rep_list(irreps_in, "irreps_in")
    reps_out, several_out = _rep_list(irreps_out, "irreps_out")
    _check_same_group(reps_in + reps_out)
    default_atol, default_rtol = _DEFAULT_TOLERANCES[precision]
    atol = default_atol if atol is None else float(atol)
    rtol = default_rtol if rtol is None else float(rtol)
    complex_ = any(_is_complex(*generators(rep)) for rep in reps_in + reps_out)
    xs, given_backend = _inputs(inputs, reps_in, several_in, batch, seed, complex_)
    backend = given_backend or backend
    if group_element is None:
        elements = _default_elements(reps_in[0], n_elements, seed)
    else:
        elements = [group_element] if isinstance(group_element, GroupElement) else list(group_element)

    if backend == "auto" and _torch_available() is False:
        backend = "numpy"

    def evaluate(arrays: list[np.ndarray]) -> list[np.ndarray]:
        nonlocal backend
        if backend != "auto":
            return _outputs(_call(fn, arrays, backend, precision), reps_out, several_out)
        try:
            result = _outputs(_call(fn, arrays, "torch", precision), reps_out, several_out)
            backend = "torch"
        except (TypeError, AttributeError) as torch_error:
            try:
                result = _outputs(_call(fn, arrays, "numpy", precision), reps_out, several_out)
            except Exception:
                raise torch_error from None
            backend = "numpy"
        return result

    ys = evaluate(xs)
    worst = 0.0
    for g in elements:
        rotated = [x @ represent(rep, g).T for x, rep in zip(xs, reps_in, strict=True)]
        ys_rot = evaluate(rotated)
        for k, (y, y_rot, rep) in enumerate(zip(ys, ys_rot, reps_out, strict=True)):
            expected = y @ represent(rep, g).T
            err = float(np.abs(y_rot - expected).max(initial=0.0))
            scale = float(max(np.abs(expected).max(initial=0.0), np.abs(y_rot).max(initial=0.0)))
            worst = max(worst, err)
            if not err <= atol + rtol * scale:
                raise AssertionError(
                    f"fn is not equivariant: output {k} ({rep}): max |f(D_in(g) x) - D_out(g) f(x)| = "
                    f"{err:.3e} > {atol + rtol * scale:.3e} (atol {atol:.1e} + rtol {rtol:.1e} "
                    f"* max|f| {scale:.3e}) in {np.dtype(precision).name} for g = {g}"
                )
    return worst
