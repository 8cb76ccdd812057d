"""Spherical harmonics: the original lie_nn definition, CG recurrence, e3nn / sphericart values,
equivariance, normalisations, zero vectors, dtypes, gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import lie_nn as lnn
from lie_nn.nn import spherical_harmonics

PERM = [1, 2, 0]  # Cartesian (x, y, z) -> lie_nn's l = 1 basis (y, z, x)


def sign(l: int) -> int:
    """ε_l: lie_nn's sign relative to the standard real harmonics (e3nn, sphericart)."""
    return 1 if l == 0 else (-1) ** ((l - 1) // 2)


def signs(lmax: int) -> torch.Tensor:
    return torch.cat([torch.full((2 * l + 1,), float(sign(l)), dtype=torch.float64) for l in range(lmax + 1)])


def reference(l: int, vectors: torch.Tensor, normalize: bool = True) -> torch.Tensor:
    """lie_nn's original definition: ``Y_l = c_l Q_l · u^{⊗l}``, ``Q_l`` the ``SO3(l)`` part of ``Sym^l``."""
    u = vectors[:, PERM]
    if normalize:
        u = u / u.norm(dim=-1, keepdim=True)
    if l == 0:
        return torch.ones(len(u), 1, dtype=u.dtype)
    q = lnn.reduced_symmetric_tensor_product(lnn.SO3(1), l, filter_ir_out=[lnn.SO3(l)])[lnn.SO3(l)][0]
    at_z = q
    for _ in range(l):
        at_z = np.tensordot(np.array([0.0, 0.0, 1.0]), at_z, axes=(0, 0))
    y = torch.einsum("ni,i...->n...", u, torch.from_numpy(q * math.sqrt(2 * l + 1) / np.linalg.norm(at_z)))
    for _ in range(l - 1):
        y = torch.einsum("ni,ni...->n...", u, y)
    return y


def vectors(n: int = 40, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.randn(n, 3, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("normalize", [True, False])
def test_matches_original_definition(normalize: bool) -> None:
    x = vectors(12)
    y = spherical_harmonics(list(range(9)), x, normalize=normalize)
    expected = torch.cat([reference(l, x, normalize) for l in range(9)], dim=1)
    scale = expected.abs().amax(dim=1, keepdim=True)
    torch.testing.assert_close(y / scale, expected / scale, rtol=0, atol=1e-13)


def test_clebsch_gordan_recurrence_to_l10() -> None:
    """``Y_{l+1} ∝ C(1, l, l+1) (Y_1 ⊗ Y_l)`` with lie_nn's certified CGs, sign ``ε_{l+1} ε_l``."""
    x = vectors(20)
    ys = [spherical_harmonics(l, x).numpy() for l in range(11)]
    for l in range(10):
        c = lnn.clebsch_gordan(lnn.SO3(1), lnn.SO3(l), lnn.SO3(l + 1))[0]
        z = np.einsum("ni,na,iab->nb", ys[1], ys[l], c)
        z *= math.sqrt(2 * l + 3) / np.linalg.norm(z, axis=1, keepdims=True)
        np.testing.assert_allclose(ys[l + 1], sign(l + 1) * sign(l) * z, rtol=0, atol=1e-12)


@pytest.mark.parametrize("normalization", ["component", "norm", "integral"])
@pytest.mark.parametrize("normalize", [True, False])
def test_matches_e3nn_up_to_documented_basis_change(normalization: str, normalize: bool) -> None:
    o3 = pytest.importorskip("e3nn.o3")
    x = vectors()
    ls = list(range(11))
    theirs = o3.spherical_harmonics(ls, x[:, PERM], normalize=normalize, normalization=normalization)
    ours = spherical_harmonics(ls, x, normalize=normalize, normalization=normalization)
    torch.testing.assert_close(ours, signs(10) * theirs, rtol=1e-11, atol=1e-11)


def test_matches_sphericart_up_to_documented_basis_change() -> None:
    sphericart = pytest.importorskip("sphericart.torch")
    x = vectors()
    theirs = sphericart.SphericalHarmonics(10).compute(x)  # integral normalisation, z polar
    ours = spherical_harmonics(list(range(11)), x, normalization="integral")
    torch.testing.assert_close(ours, signs(10) * theirs, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("normalization", ["component", "norm", "integral"])
@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("zeros", [0, 1])
def test_sphericart_backend_gives_the_same_values_and_gradients(normalization: str, normalize: bool,
                                                                zeros: int) -> None:
    """Both sphericart paths: normalised inside its kernel (no zero vector) and here (a zero vector)."""
    pytest.importorskip("sphericart.torch")
    x = torch.cat([vectors(20), torch.zeros(zeros, 3, dtype=torch.float64)]).requires_grad_()
    for ls in (list(range(9)), [3, 0, 2]):
        kwargs = {"normalize": normalize, "normalization": normalization}
        ours = spherical_harmonics(ls, x, **kwargs)
        theirs = spherical_harmonics(ls, x, **kwargs, backend="sphericart")
        torch.testing.assert_close(theirs, ours, rtol=1e-10, atol=1e-10)
        with torch.no_grad():  # the in-place rescaling path
            torch.testing.assert_close(spherical_harmonics(ls, x, **kwargs, backend="sphericart"), ours)
        weights = torch.linspace(-1, 1, ours.shape[1], dtype=ours.dtype)
        g_ours, g_theirs = (torch.autograd.grad((y * weights).sum(), x)[0] for y in (ours, theirs))
        torch.testing.assert_close(g_theirs, g_ours, rtol=1e-9, atol=1e-9)
    f = lambda v: spherical_harmonics([0, 1, 3], v, normalize=normalize, backend="sphericart")  # noqa: E731
    assert torch.autograd.gradgradcheck(f, (vectors(3).requires_grad_(),))


def test_sphericart_backend_handles_empty_batches_and_l0() -> None:
    pytest.importorskip("sphericart.torch")
    x = torch.cat([vectors(3), torch.zeros(1, 3, dtype=torch.float64)])
    assert spherical_harmonics([0, 2], x[:0], backend="sphericart").shape == (0, 6)
    torch.testing.assert_close(spherical_harmonics(0, x, backend="sphericart"), spherical_harmonics(0, x))


def test_sphericart_backend_refuses_a_grown_thread_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """sphericart-torch 2.0.4 segfaults when the thread count grows after its first call: refuse it."""
    pytest.importorskip("sphericart.torch")
    from lie_nn.nn import _spherical_harmonics as module

    monkeypatch.setattr(module, "_SPHERICART_THREADS", [0])  # as if first used with fewer threads
    with pytest.raises(RuntimeError, match="thread count grows"):
        spherical_harmonics(1, vectors(2), backend="sphericart")


def rotation(seed: int, lmax: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """A random rotation: Cartesian ``R`` and lie_nn's ``D_l = exp(θ · X_l)`` for ``l ≤ lmax``."""
    theta = torch.randn(3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 2
    ds = [torch.linalg.matrix_exp(torch.einsum("k,kij->ij", theta, torch.from_numpy(lnn.SO3(l).algebra())))
          for l in range(lmax + 1)]
    p = torch.eye(3, dtype=torch.float64)[PERM]
    return p.T @ ds[1] @ p, ds


@pytest.mark.parametrize("seed", range(3))
def test_equivariance_float64_and_float32(seed: int) -> None:
    lmax = 10
    r, ds = rotation(seed, lmax)
    x = vectors(30, seed)
    ls = list(range(lmax + 1))
    d = torch.block_diag(*ds)
    y = spherical_harmonics(ls, x)
    torch.testing.assert_close(spherical_harmonics(ls, x @ r.T), y @ d.T, rtol=0, atol=1e-10)
    poly = spherical_harmonics(ls, x, normalize=False)
    torch.testing.assert_close(spherical_harmonics(ls, x @ r.T, normalize=False), poly @ d.T,
                               rtol=1e-10, atol=1e-9)
    # inversion: parity (-1)^l, the O3(l, (-1)^l) irreps
    parity = torch.cat([torch.full((2 * l + 1,), (-1.0) ** l, dtype=torch.float64) for l in ls])
    torch.testing.assert_close(spherical_harmonics(ls, -x), parity * y, rtol=0, atol=1e-12)
    x32 = x.float()
    y32 = spherical_harmonics(ls[:7], x32 @ r.T.float())
    expected = (spherical_harmonics(ls[:7], x) @ torch.block_diag(*ds[:7]).T).float()
    torch.testing.assert_close(y32, expected, rtol=0, atol=2e-5)


NORMS = [("component", lambda l: 2 * l + 1), ("norm", lambda l: 1),
         ("integral", lambda l: (2 * l + 1) / (4 * math.pi))]


@pytest.mark.parametrize(("normalization", "norm2"), NORMS)
def test_normalizations(normalization: str, norm2) -> None:
    x = vectors(25)
    y = spherical_harmonics(list(range(7)), x, normalization=normalization)
    start = 0
    for l in range(7):
        block = y[:, start : start + 2 * l + 1]
        expected = torch.full((25,), float(norm2(l)), dtype=torch.float64)
        torch.testing.assert_close(block.square().sum(1), expected)
        start += 2 * l + 1
    # homogeneous polynomials without normalize: |r|^l Y_l(r̂)
    poly = spherical_harmonics([3], 2.5 * x, normalize=False, normalization=normalization)
    torch.testing.assert_close(poly, (2.5 * x.norm(dim=1, keepdim=True)) ** 3 * y[:, 9:16])


def test_integral_normalization_is_orthonormal_on_the_sphere() -> None:
    lmax = 6
    cos_t, w_t = np.polynomial.legendre.leggauss(lmax + 1)  # exact for degree <= 2 lmax + 1 in cos θ
    phi = np.arange(2 * lmax + 2) * 2 * np.pi / (2 * lmax + 2)
    c, p = np.meshgrid(cos_t, phi, indexing="ij")
    s = np.sqrt(1 - c**2)
    x = torch.from_numpy(np.stack([s * np.cos(p), s * np.sin(p), c], axis=-1).reshape(-1, 3))
    w = torch.from_numpy((w_t[:, None] * np.full(phi.shape, 2 * np.pi / len(phi))).reshape(-1))
    y = spherical_harmonics(list(range(lmax + 1)), x, normalization="integral")
    gram = y.T @ (w[:, None] * y)
    torch.testing.assert_close(gram, torch.eye(gram.shape[0], dtype=torch.float64), rtol=0, atol=1e-12)


def test_arbitrary_order_of_ls_and_leading_shape() -> None:
    x = vectors(12).reshape(3, 4, 3)
    y = spherical_harmonics([3, 0, 1, 3], x)
    assert y.shape == (3, 4, 7 + 1 + 3 + 7)
    full = spherical_harmonics(list(range(4)), x)
    expected = torch.cat([full[..., 9:16], full[..., :1], full[..., 1:4], full[..., 9:16]], dim=-1)
    torch.testing.assert_close(y, expected)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_zero_vector_has_defined_value_and_finite_gradient(dtype: torch.dtype) -> None:
    x = torch.tensor([[0.0, 0.0, 0.0], [0.3, -0.2, 0.9], [0.0, 0.0, 1e-30]], dtype=dtype, requires_grad=True)
    y = spherical_harmonics(list(range(5)), x)
    torch.testing.assert_close(y[0], torch.eye(25, dtype=dtype)[0])  # Y_0 = 1, Y_{l>=1}(0) = 0
    (grad,) = torch.autograd.grad(y.sum(), x)
    assert bool(torch.isfinite(grad).all()) and bool((grad[0] == 0).all())
    assert bool(torch.isfinite(y).all())
    (grad,) = torch.autograd.grad(spherical_harmonics(list(range(5)), x, normalize=False).sum(), x)
    assert bool(torch.isfinite(grad).all())
    torch.testing.assert_close(grad[0], math.sqrt(3) * torch.ones(3, dtype=dtype))  # only Y_1 is linear


def test_gradients_match_finite_differences() -> None:
    x = vectors(3).requires_grad_()
    for normalize in (True, False):
        def f(v: torch.Tensor, normalize: bool = normalize) -> torch.Tensor:
            return spherical_harmonics([0, 1, 3], v, normalize=normalize, normalization="norm")

        assert torch.autograd.gradcheck(f, (x,))
        assert torch.autograd.gradgradcheck(f, (x,))  # forces in a loss need second derivatives


def test_compiles_without_graph_breaks() -> None:
    # dynamo only (backend="eager"): fullgraph=True fails on any graph break
    f = torch.compile(lambda v: spherical_harmonics([0, 1, 2], v, normalization="norm"), fullgraph=True,
                      backend="eager")
    x = vectors(7).requires_grad_()
    y = f(x)
    torch.testing.assert_close(y, spherical_harmonics([0, 1, 2], x, normalization="norm"))
    (grad,) = torch.autograd.grad(y.sum(), x)
    expected = torch.autograd.grad(spherical_harmonics([0, 1, 2], x, normalization="norm").sum(), x)[0]
    torch.testing.assert_close(grad, expected)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_inputs_keep_their_dtype(dtype: torch.dtype) -> None:
    x = vectors(10, dtype=torch.float32)
    y = spherical_harmonics([0, 1, 2], x.to(dtype))
    assert y.dtype == dtype
    torch.testing.assert_close(y.float(), spherical_harmonics([0, 1, 2], x.to(dtype).float()), rtol=0,
                               atol=3e-2)


def test_bad_input() -> None:
    x = vectors(3)
    with pytest.raises(TypeError, match="floating-point"):
        spherical_harmonics(1, torch.ones(3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="normalization must be"):
        spherical_harmonics(1, x, normalization="unit")
    with pytest.raises(ValueError, match="ls must be"):
        spherical_harmonics([1, -1], x)
    with pytest.raises(ValueError, match="ls must be"):
        spherical_harmonics([], x)
    with pytest.raises(ValueError, match="backend must be"):
        spherical_harmonics(1, x, backend="cuda")
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 3\)"):
        spherical_harmonics(1, x[:, :2])
