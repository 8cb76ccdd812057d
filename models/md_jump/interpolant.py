r"""The stochastic interpolant between two MD frames, its training loss and its sampler.

For a pair of frames ``(x_0, x_1) = (x_t, x_{t+Δ})`` (``x_1`` superposed on ``x_0``), an interpolation
time ``s ∈ [0, 1]`` and Gaussian noise ``z ~ N(0, I)`` per atom and axis,

.. math:: x_s = (1 - s)\, x_0 + s\, x_1 + γ(s)\, z, \qquad γ(s) = σ\, s (1 - s),

(Albergo & Vanden-Eijnden's stochastic interpolants with the start frame as the coupling, as in
EquiJump).  The network learns the velocity ``b(s, x) = E[ẋ_s | x_s = x, x_0]`` with
``ẋ_s = x_1 - x_0 + γ'(s) z`` and the denoiser ``η(s, x) = E[z | x_s = x, x_0]`` by least squares:

.. math:: L = \big\| \hat b(s, x_s) - (x_1 - x_0 + γ'(s) z) \big\|^2 + \big\| \hat η(s, x_s) - z \big\|^2,

averaged over atoms, axes, ``s ~ U(0, 1)`` and ``z``.  Sampling ``x_{t+Δ}`` given ``x_t`` integrates the
SDE with the marginals of ``x_s`` (diffusion ``ε(s) = ε_0 γ(s)``, so the score term
``-ε η / γ = -ε_0 η`` stays finite at the ends) from ``X_0 = x_t`` with ``K`` Euler–Maruyama steps:

.. math:: X_{k+1} = X_k + h\,\big(\hat b - ε_0 \hat η\big)(s_k, X_k) + \sqrt{2 ε_0 γ(s_k) h}\; ξ_k,
          \qquad s_k = k h,\ h = 1/K .

``ε_0 = 0`` is the probability-flow ODE, deterministic from the fixed start (it does not sample).
With the noises ``ξ_k`` given, the sample is a deterministic function of ``x_t``; for an equivariant
network ``sample(R x_t + c, R ξ) = R sample(x_t, ξ) + c`` exactly, and since ``R ξ`` has the law of
``ξ``, rotating ``x_t`` rotates the distribution of samples.
"""

from __future__ import annotations

import dataclasses

import torch

from models.md_jump.model import JumpGraph, jump_graph

__all__ = ["Interpolant", "interpolant_loss", "kabsch_align", "sample_jump"]


@dataclasses.dataclass(frozen=True)
class Interpolant:
    """``γ(s) = σ s (1 - s)`` (σ in Å) and the sampler's ``ε_0`` (Å) and number of steps."""

    sigma: float = 1.0
    eps0: float = 0.5
    steps: int = 20

    def __post_init__(self) -> None:
        if not self.sigma >= 0 or not self.eps0 >= 0 or self.steps < 1:
            raise ValueError(f"Interpolant: need sigma >= 0, eps0 >= 0, steps >= 1, got {self}")

    def gamma(self, s: torch.Tensor) -> torch.Tensor:
        """``γ(s) = σ s (1 - s)``.

        >>> Interpolant(sigma=2.0).gamma(torch.tensor([0.0, 0.5, 1.0])).tolist()
        [0.0, 0.5, 0.0]
        """
        return self.sigma * s * (1 - s)

    def gamma_dot(self, s: torch.Tensor) -> torch.Tensor:
        """``γ'(s) = σ (1 - 2 s)``."""
        return self.sigma * (1 - 2 * s)


def kabsch_align(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    r"""``x`` rigidly superposed on ``ref`` (both ``(..., n, 3)``): ``(x - \bar x) R^T + \bar{ref}`` with the
    proper rotation ``R`` minimising the RMSD (Kabsch; SVD with the reflection fixed).

    >>> ref = torch.randn(5, 3, dtype=torch.float64)
    >>> import lie_nn
    >>> R = torch.tensor(lie_nn.random_rotation(0))
    >>> bool(torch.allclose(kabsch_align(ref @ R.T + 1.0, ref), ref))
    True
    """
    xc = x - x.mean(dim=-2, keepdim=True)
    rc = ref.mean(dim=-2, keepdim=True)
    h = xc.transpose(-1, -2) @ (ref - rc)
    u, _, vt = torch.linalg.svd(h)
    d = torch.sign(torch.linalg.det(vt.transpose(-1, -2) @ u.transpose(-1, -2)))
    fix = torch.ones_like(u[..., 0, :])
    fix[..., -1] = d
    rot = (vt.transpose(-1, -2) * fix[..., None, :]) @ u.transpose(-1, -2)  # R = V diag(1,1,d) U^T
    return xc @ rot.transpose(-1, -2) + rc


def interpolant_loss(model: torch.nn.Module, interp: Interpolant, x0: torch.Tensor, x1: torch.Tensor,
                     lag: torch.Tensor, r_cut: float, s: torch.Tensor | None = None,
                     z: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The loss of the module docstring for pairs ``x0, x1 (G, n, 3)`` with Δ indices ``lag (G,)``.

    ``s (G,)`` and ``z (G, n, 3)`` are drawn from torch's global generator (seeded and checkpointed by
    the trainer) unless given.
    """
    g, n, _ = x0.shape
    s = torch.rand(g, dtype=x0.dtype, device=x0.device) if s is None else s
    z = torch.randn_like(x0) if z is None else z
    sv = s[:, None, None]
    xs = (1 - sv) * x0 + sv * x1 + interp.gamma(sv) * z
    target_b = x1 - x0 + interp.gamma_dot(sv) * z
    graph = jump_graph(x0, r_cut)
    b, eta = model(graph, x0.reshape(-1, 3), xs.reshape(-1, 3), s, lag)
    loss_b = (b - target_b.reshape(-1, 3)).square().sum(-1).mean()
    loss_eta = (eta - z.reshape(-1, 3)).square().sum(-1).mean()
    return loss_b + loss_eta, {"loss_b": loss_b.detach(), "loss_eta": loss_eta.detach()}


@torch.no_grad()
def sample_jump(model: torch.nn.Module, interp: Interpolant, x_t: torch.Tensor, lag: torch.Tensor,
                r_cut: float, noise: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """One jump: samples of ``x_{t+Δ}`` ``(G, n, 3)`` from start frames ``x_t (G, n, 3)``.

    ``noise (steps, G, n, 3)``: the ``ξ_k`` of the module docstring (drawn from ``generator`` when not
    given).  Every intermediate state is checked to be finite.
    """
    g, n, _ = x_t.shape
    if noise is None:
        noise = torch.randn((interp.steps, g, n, 3), generator=generator, dtype=x_t.dtype)
    if noise.shape != (interp.steps, g, n, 3):
        raise ValueError(f"sample_jump: noise must be {(interp.steps, g, n, 3)}, got {tuple(noise.shape)}")
    graph: JumpGraph = jump_graph(x_t, r_cut)
    h = 1.0 / interp.steps
    x0 = x_t.reshape(-1, 3)
    x = x0.clone()
    for k in range(interp.steps):
        s = torch.full((g,), k * h, dtype=x_t.dtype)
        b, eta = model(graph, x0, x, s, lag)
        x = x + h * (b - interp.eps0 * eta)
        scale = (2 * interp.eps0 * float(interp.gamma(torch.tensor(k * h))) * h) ** 0.5
        x = x + scale * noise[k].reshape(-1, 3)
        if not torch.isfinite(x).all():
            raise FloatingPointError(f"sample_jump: non-finite positions at step {k + 1} of {interp.steps}")
    return x.reshape(g, n, 3)
