r"""Radial (invariant) building blocks: Bessel basis, polynomial cutoff, radial MLP.

These act on invariant quantities such as edge lengths ``r`` and are group-agnostic plain torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

__all__ = ["BesselBasis", "PolynomialCutoff", "RadialMLP"]


def _check_positive(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


class BesselBasis(torch.nn.Module):
    r"""``e_n(r) = sqrt(2 / r_max) · sin(n π r / r_max) / r`` for ``n = 1..num_basis``.

    Input ``r (...)`` (a tensor or a Python number), output ``(..., num_basis)``.  ``trainable=True``
    makes the frequencies ``ω_n = n π / r_max`` learnable.  At ``r = 0`` (a zero-length edge) the value
    is the limit ``sqrt(2 / r_max) · ω_n`` and the gradient is the limit ``0`` (the function is even
    in ``r``), both finite.

    >>> BesselBasis(5.0, 8)(torch.tensor([1.0, 2.0])).shape
    torch.Size([2, 8])
    >>> bool(torch.isfinite(BesselBasis(5.0, 8)(0.0)).all())
    True
    """

    def __init__(self, r_max: float, num_basis: int = 8, *, trainable: bool = False) -> None:
        super().__init__()
        self.r_max = _check_positive(r_max, "r_max")
        if isinstance(num_basis, bool) or not isinstance(num_basis, int) or num_basis < 1:
            raise ValueError(f"num_basis must be a positive int, got {num_basis!r}")
        freq = torch.arange(1, num_basis + 1, dtype=torch.get_default_dtype()) * math.pi / self.r_max
        if trainable:
            self.frequencies = torch.nn.Parameter(freq)
        else:
            self.register_buffer("frequencies", freq)
        self.prefactor = math.sqrt(2.0 / self.r_max)

    def forward(self, r: torch.Tensor | float) -> torch.Tensor:
        if not isinstance(r, torch.Tensor):
            r = torch.as_tensor(r, dtype=self.frequencies.dtype, device=self.frequencies.device)
        if not r.dtype.is_floating_point:
            raise TypeError(f"BesselBasis: r must be a float tensor, got dtype {r.dtype}")
        r = r.unsqueeze(-1)
        freq = self.frequencies.to(r.dtype)
        zero = r == 0
        safe = torch.where(zero, torch.ones_like(r), r)  # no 0/0 in the unused branch (finite gradients)
        return self.prefactor * torch.where(zero, freq, torch.sin(freq * safe) / safe)


class PolynomialCutoff(torch.nn.Module):
    r"""Smooth envelope ``f(x) = 1 - (p+1)(p+2)/2 x^p + p(p+2) x^{p+1} - p(p+1)/2 x^{p+2}``, ``x = r/r_max``.

    ``f(0) = 1``, and ``f`` with its first two derivatives vanishes at ``r = r_max``; ``f = 0`` beyond.

    >>> PolynomialCutoff(5.0)(torch.tensor([0.0, 5.0, 6.0]))
    tensor([1., 0., 0.])
    """

    def __init__(self, r_max: float, p: int = 6) -> None:
        super().__init__()
        self.r_max = _check_positive(r_max, "r_max")
        if isinstance(p, bool) or not isinstance(p, int) or p < 1:
            raise ValueError(f"p must be a positive int, got {p!r}")
        self.p = p

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        x, p = r / self.r_max, self.p
        env = 1 - (p + 1) * (p + 2) / 2 * x**p + p * (p + 2) * x ** (p + 1) - p * (p + 1) / 2 * x ** (p + 2)
        return env * (x < 1)


class RadialMLP(torch.nn.Module):
    r"""Multi-layer perceptron on invariant features: ``sizes = [in, hidden..., out]``.

    ``Linear → act → ... → Linear`` (no activation after the last layer).  Weights are ``N(0, 1)``
    scaled by ``1/sqrt(fan_in)`` in ``forward``, no biases by default (so a zero input gives zero
    output, as used to produce per-edge tensor-product weights in MACE-like models).

    >>> mlp = RadialMLP([8, 16, 10], torch.nn.functional.silu)
    >>> mlp(torch.randn(3, 8)).shape
    torch.Size([3, 10])
    """

    def __init__(self, sizes: Sequence[int], act: Callable[[torch.Tensor], torch.Tensor], *,
                 bias: bool = False, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        sizes = list(sizes)
        if len(sizes) < 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
            raise ValueError(f"sizes must list at least two positive ints, got {sizes!r}")
        if not callable(act):
            raise TypeError(f"act must be callable, got {type(act).__name__}")
        self.sizes, self.act = sizes, act
        dtype = dtype or torch.get_default_dtype()
        self.weights = torch.nn.ParameterList(
            [torch.nn.Parameter(torch.randn(a, b, dtype=dtype))
             for a, b in zip(sizes[:-1], sizes[1:], strict=True)])
        self.biases = torch.nn.ParameterList(
            [torch.nn.Parameter(torch.zeros(b, dtype=dtype)) for b in sizes[1:]]) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.sizes[0]:
            raise ValueError(f"RadialMLP: input must have shape (..., {self.sizes[0]}), got {tuple(x.shape)}")
        n = len(self.weights)
        for k, w in enumerate(self.weights):
            x = x @ (w * w.shape[0] ** -0.5).to(x.dtype)
            if self.biases is not None:
                x = x + self.biases[k].to(x.dtype)
            if k < n - 1:
                x = self.act(x)
        return x
