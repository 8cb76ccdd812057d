"""Shared helpers for the lie_nn.nn tests: block-diagonal group actions and equivariance checks."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from lie_nn._src.groups.lorentz import SO13
from lie_nn._src.groups.o3 import O3
from lie_nn._src.groups.so3 import SO3
from lie_nn._src.groups.su2 import SU2
from lie_nn._src.groups.sun import SUN
from lie_nn._src.irrep import MulIrrep
from lie_nn.nn._layout import as_mul_irreps
from lie_nn.testing import GroupElement, represent

A, F = SUN((1, 0, 0)), SUN((2, 1, 0))

# (name, irreps_in1, irreps_in2 (multiplicity 1 each), a linear output): one per group
CASES = {
    "SO3": ([(3, SO3(0)), (2, SO3(1)), (2, SO3(2))], [SO3(0), SO3(1), SO3(2)],
            [(2, SO3(0)), (3, SO3(1)), (1, SO3(2))]),
    "O3": ([(3, O3(0, 1)), (1, O3(0, -1)), (2, O3(1, -1)), (1, O3(2, 1))], [O3(0, 1), O3(1, -1), O3(2, 1)],
           [(2, O3(0, 1)), (2, O3(0, -1)), (3, O3(1, -1)), (1, O3(1, 1)), (2, O3(2, 1))]),
    "SU2": ([(2, SU2(0)), (2, SU2("1/2")), (1, SU2(1))], [SU2("1/2"), SU2(1)],
            [(3, SU2(0)), (2, SU2("1/2")), (2, SU2(1))]),
    "SU3": ([(2, F), (1, A)], [F], [(3, F), (2, A)]),
    "SO13": ([(2, SO13(0, 0)), (2, SO13("1/2", "1/2")), (1, SO13("1/2", 0))],
             [SO13(0, 0), SO13("1/2", "1/2")],
             [(2, SO13(0, 0)), (3, SO13("1/2", "1/2"))]),
}


def is_complex(*reps: Sequence) -> bool:
    return any(not m.ir.is_real for rep in reps for m in as_mul_irreps(rep))


def rep_matrix(rep: Sequence, g: GroupElement) -> np.ndarray:
    """Block-diagonal matrix of ``g`` on ``⊕ mul × ir`` in the mul-major layout."""
    blocks = [represent(m, g) for m in as_mul_irreps(rep) if m.mul]
    dim = sum(b.shape[0] for b in blocks)
    out = np.zeros((dim, dim), dtype=np.complex128)
    start = 0
    for b in blocks:
        out[start : start + b.shape[0], start : start + b.shape[0]] = b
        start += b.shape[0]
    return out


def elements(rep: Sequence, n: int = 3, seed: int = 0) -> list[GroupElement]:
    """Random elements; each discrete generator appears alone in one element."""
    first = MulIrrep(1, as_mul_irreps(rep)[0].ir)
    n_disc = first.ir.discrete_generators().shape[0]
    out = [GroupElement.random(first, seed=seed + k, discrete=False) for k in range(n)]
    out += [GroupElement(GroupElement.random(first, seed=seed + 100 + b).algebra_coefficients, (b,))
            for b in range(n_disc)]
    out += [GroupElement((0.0,) * len(out[0].algebra_coefficients), (b,)) for b in range(n_disc)]
    return out


def features(rep: Sequence, batch: int, dtype: torch.dtype, seed: int = 0,
             complex_: bool = False) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    dim = sum(m.dim for m in as_mul_irreps(rep))
    real = dtype if not dtype.is_complex else torch.empty((), dtype=dtype).real.dtype
    x = torch.randn(batch, dim, generator=gen, dtype=real)
    if complex_:
        x = torch.complex(x, torch.randn(batch, dim, generator=gen, dtype=real))
    return x


def equivariance_error(fn: Callable, reps_in: list, rep_out: Sequence, dtype: torch.dtype = torch.float64,
                       batch: int = 5, seed: int = 0) -> float:
    """Max over group elements of ``|f(D x) - D f(x)| / max|f(x)|`` (inputs complex for complex bases)."""
    complex_ = is_complex(*reps_in, rep_out)
    xs = [features(rep, batch, dtype, seed + i, complex_) for i, rep in enumerate(reps_in)]
    with torch.no_grad():
        y = fn(*xs)
    y_np = y.detach().numpy().astype(np.complex128)
    scale = np.abs(y_np).max()
    assert scale > 0
    worst = 0.0
    for g in elements(reps_in[0]):
        dx = []
        for x, rep in zip(xs, reps_in, strict=True):
            d = torch.from_numpy(rep_matrix(rep, g))
            d = d if x.is_complex() else d.real
            dx.append(x @ d.to(x.dtype).T)
        with torch.no_grad():
            y_rot = fn(*dx).numpy().astype(np.complex128)
        expected = y_np @ rep_matrix(rep_out, g).T
        worst = max(worst, float(np.abs(y_rot - expected).max() / max(scale, np.abs(expected).max())))
    return worst
