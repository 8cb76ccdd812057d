"""Radial blocks: values, smoothness of the cutoff, MLP shapes and errors."""

from __future__ import annotations

import math

import pytest
import torch

from lie_nn.nn._radial import BesselBasis, PolynomialCutoff, RadialMLP


def test_bessel_values_and_orthonormality() -> None:
    basis = BesselBasis(4.0, 5)
    r = torch.tensor([0.7, 2.5], dtype=torch.float64)
    n = torch.arange(1, 6, dtype=torch.float64)
    expected = math.sqrt(2 / 4.0) * torch.sin(n * math.pi * r[:, None] / 4.0) / r[:, None]
    torch.testing.assert_close(basis(r), expected)
    # r e_n(r) are orthonormal on [0, r_max]
    grid = torch.linspace(1e-6, 4.0, 20001, dtype=torch.float64)
    f = basis(grid) * grid[:, None]
    gram = torch.trapezoid(f[:, :, None] * f[:, None, :], grid, dim=0)
    torch.testing.assert_close(gram, torch.eye(5, dtype=torch.float64), atol=1e-4, rtol=0)
    assert len(list(BesselBasis(4.0, 5, trainable=True).parameters())) == 1


def test_polynomial_cutoff_smooth() -> None:
    cut = PolynomialCutoff(3.0, p=5)
    r = torch.tensor([3.0 - 1e-4], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(cut(r).sum(), r, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), r)
    assert abs(cut(r).item()) < 1e-10 and abs(g.item()) < 1e-6 and abs(h.item()) < 1e-2
    torch.testing.assert_close(cut(torch.tensor([0.0, 4.0])), torch.tensor([1.0, 0.0]))


def test_radial_mlp() -> None:
    mlp = RadialMLP([4, 32, 7], torch.tanh, bias=True)
    x = torch.randn(10, 3, 4)
    assert mlp(x).shape == (10, 3, 7)
    mlp(x).sum().backward()
    assert all(p.grad is not None for p in mlp.parameters())
    with pytest.raises(ValueError, match=r"RadialMLP: input must have shape \(\.\.\., 4\)"):
        mlp(torch.randn(2, 5))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="r_max"):
        BesselBasis(-1.0, 3)
    with pytest.raises(ValueError, match="num_basis"):
        BesselBasis(1.0, 0)
    with pytest.raises(ValueError, match="p must"):
        PolynomialCutoff(1.0, p=0)
    with pytest.raises(ValueError, match="sizes"):
        RadialMLP([3], torch.tanh)
