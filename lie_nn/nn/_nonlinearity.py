r"""Equivariant nonlinearities: :class:`Gate` and :class:`NormActivation`.

A pointwise activation commutes with the group only on invariant channels.  On the trivial irrep
any function may be applied; on a one-dimensional irrep on which the group acts by ``±1`` (O(3)'s
pseudo-scalar ``0o``) only odd functions are allowed; on any other irrep a function of an invariant
(a gate, or the norm for unitary irreps) must *scale* the vector instead.

Complex features (SU(2), SU(N) bases): activations act on the real and imaginary parts separately,
``act(z) = act(Re z) + i act(Im z)``.  Invariant components are mapped to invariant components, so
equivariance is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from lie_nn._src.cg import clebsch_gordan
from lie_nn._src.irrep import Irrep, MulIrrep
from lie_nn._src.irreps import Irreps
from lie_nn.nn._layout import as_irreps, check_features, is_trivial, sign_character

__all__ = ["Gate", "NormActivation"]

Activation = Callable[[torch.Tensor], torch.Tensor]


def _apply(act: Activation, x: torch.Tensor) -> torch.Tensor:
    return torch.complex(act(x.real), act(x.imag)) if x.is_complex() else act(x)


def is_odd(act: Activation) -> bool:
    """Numerical check ``act(-t) == -act(t)`` on a grid of ``t`` in ``[-5, 5]`` (float64)."""
    t = torch.linspace(-5.0, 5.0, 101, dtype=torch.float64)
    with torch.no_grad():
        return bool(torch.allclose(act(-t), -act(t), atol=1e-9, rtol=1e-7))


def _activations(acts: Any, items: tuple[MulIrrep, ...], name: str) -> list[Activation]:
    """One activation per block: a single callable is broadcast; checks irreps and oddness."""
    acts = [acts] * len(items) if callable(acts) else list(acts)
    if len(acts) != len(items):
        raise ValueError(f"{name}: got {len(acts)} activations for {len(items)} blocks ({Irreps(items)})")
    for act, item in zip(acts, items, strict=True):
        if not callable(act):
            raise TypeError(f"{name}: activations must be callables, got {type(act).__name__}")
        if is_trivial(item.ir):
            continue
        if not sign_character(item.ir):
            raise ValueError(f"{name}: a pointwise activation needs a one-dimensional (scalar) irrep, got "
                             f"{item.ir}; use Gate's gated irreps or NormActivation for it")
        if not is_odd(act):
            raise ValueError(f"{name}: {item.ir} is not the trivial irrep, so its activation must be odd "
                             f"(act(-x) = -act(x)); {act!r} is not")
    return acts


def _act_runs(acts: list[Activation], slices: list[slice]) -> list[tuple[Activation, slice]]:
    """Merge consecutive blocks sharing one activation into a single slice."""
    runs: list[tuple[Activation, slice]] = []
    for act, sl in zip(acts, slices, strict=True):
        if runs and runs[-1][0] is act and runs[-1][1].stop == sl.start:
            runs[-1] = (act, slice(runs[-1][1].start, sl.stop))
        elif sl.stop > sl.start:
            runs.append((act, sl))
    return runs


def _gated_output(gated: Irrep, gate: Irrep) -> Irrep:
    """The irrep of ``gate_scalar · gated_vector``; must be a plain rescaling (CG ∝ identity)."""
    if is_trivial(gate):
        return gated
    products = [m for m in gated * gate if m.mul > 0]
    if len(products) != 1 or products[0].mul != 1:
        raise ValueError(f"Gate: {gated} ⊗ {gate} is not a single irrep")
    out = products[0].ir
    c = clebsch_gordan(gated, gate, out)[0, :, 0, :]
    if not np.allclose(c, c[0, 0] * np.eye(gated.dim), atol=1e-10):
        raise ValueError(f"Gate: multiplying {gated} by the scalar {gate} is not componentwise in this basis")
    return out


class Gate(torch.nn.Module):
    r"""Gated nonlinearity: ``[s, g, v] ↦ [act_s(s), act_g(g)_c · v_c]``.

    The input is the concatenation ``irreps_scalars ⊕ irreps_gates ⊕ irreps_gated``.  Scalars pass
    through ``act_scalars``; the gates (one scalar channel per gated *channel*, in order, so
    ``Σ mul(gates) = Σ mul(gated)``) pass through ``act_gates`` and multiply the gated channels.
    Activations are one callable or one per block.  Scalars and gates must be one-dimensional irreps:
    the trivial irrep (any activation) or a ``±1`` character such as ``0o`` (odd activations only;
    a ``0o`` gate flips the parity of its gated channel in ``irreps_out``).  Violations raise
    ``ValueError`` at construction.

    >>> from lie_nn import O3
    >>> gate = Gate([(4, O3(0, 1))], torch.tanh, [(2, O3(0, 1))], torch.sigmoid, [(2, O3(1, -1))])
    >>> [str(m) for m in gate.irreps_out], gate(torch.randn(3, 12)).shape
    (['4xO3(0e)', '2xO3(1o)'], torch.Size([3, 10]))
    """

    def __init__(self, irreps_scalars: Any, act_scalars: Activation | Sequence[Activation], irreps_gates: Any,
                 act_gates: Activation | Sequence[Activation], irreps_gated: Any) -> None:
        super().__init__()
        self.irreps_scalars = as_irreps(irreps_scalars, "irreps_scalars", "Gate")
        self.irreps_gates = as_irreps(irreps_gates, "irreps_gates", "Gate")
        self.irreps_gated = as_irreps(irreps_gated, "irreps_gated", "Gate")
        self._acts_s = _activations(act_scalars, self.irreps_scalars, "Gate scalars")
        self._acts_g = _activations(act_gates, self.irreps_gates, "Gate gates")
        n_gates = sum(m.mul for m in self.irreps_gates)
        n_gated = sum(m.mul for m in self.irreps_gated)
        if n_gates != n_gated:
            raise ValueError(f"Gate: {n_gates} gate channels ({self.irreps_gates}) for {n_gated} "
                             f"gated channels ({self.irreps_gated}); they must be equal")
        gate_irs = [m.ir for m in self.irreps_gates for _ in range(m.mul)]
        out, index, channel = list(self.irreps_scalars), [], 0
        for item in self.irreps_gated:
            runs: list[MulIrrep] = []  # consecutive channels of this block whose output irrep agrees
            for _ in range(item.mul):
                ir = _gated_output(item.ir, gate_irs[channel])
                if runs and runs[-1].ir == ir:
                    runs[-1] = MulIrrep(runs[-1].mul + 1, ir)
                else:
                    runs.append(MulIrrep(1, ir))
                index += [channel] * item.ir.dim
                channel += 1
            out += runs
        self.irreps_out = Irreps(out)
        self.dim_s, self.dim_g = self.irreps_scalars.dim, self.irreps_gates.dim
        self.dim_in = self.dim_s + self.dim_g + self.irreps_gated.dim
        self.irreps_in = self.irreps_scalars + self.irreps_gates + self.irreps_gated
        self.dim_out = self.irreps_out.dim
        self._runs_s = _act_runs(self._acts_s, self.irreps_scalars.slices())
        shift = self.dim_s
        gate_slices = [slice(sl.start + shift, sl.stop + shift) for sl in self.irreps_gates.slices()]
        self._runs_g = _act_runs(self._acts_g, gate_slices)
        self.register_buffer("gate_index", torch.tensor(index, dtype=torch.long), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (..., dim_in)``, ``dim_in = dim(scalars) + dim(gates) + dim(gated)`` → ``(..., dim_out)``."""
        check_features(x, self.dim_in, "x", "Gate")
        scalars = [_apply(act, x[..., sl]) for act, sl in self._runs_s]
        gates = [_apply(act, x[..., sl]) for act, sl in self._runs_g]
        pieces = scalars
        if gates:
            g = gates[0] if len(gates) == 1 else torch.cat(gates, dim=-1)
            pieces = pieces + [x[..., self.dim_s + self.dim_g :] * g.index_select(-1, self.gate_index)]
        if not pieces:
            return x[..., :0]
        return pieces[0] if len(pieces) == 1 else torch.cat(pieces, dim=-1)


class NormActivation(torch.nn.Module):
    r"""Norm nonlinearity: every channel ``v`` of every block becomes ``v · act(|v|) / |v|``.

    ``|v| = sqrt(Σ_i |v_i|^2 + ε^2)`` is invariant only for unitary irreps (anti-Hermitian generators
    and unitary discrete generators: SO(3), O(3), SU(2), SU(N) in their bases), so non-unitary irreps
    such as the Lorentz group's raise ``ValueError``.  ``normalize=False`` gives ``v · act(|v|)``.

    >>> from lie_nn import SO3
    >>> na = NormActivation([(2, SO3(0)), (3, SO3(1))], torch.sigmoid)
    >>> na(torch.randn(4, 11)).shape
    torch.Size([4, 11])
    """

    def __init__(self, irreps: Any, act: Activation, *, normalize: bool = True,
                 epsilon: float = 1e-8) -> None:
        super().__init__()
        self.irreps_in = self.irreps_out = as_irreps(irreps, "irreps", "NormActivation")
        if not callable(act):
            raise TypeError(f"NormActivation: act must be callable, got {type(act).__name__}")
        for item in self.irreps_in:
            if not item.ir.is_unitary():
                raise ValueError(f"NormActivation: {item.ir} is not unitary in its basis, so the Euclidean "
                                 "norm is not invariant; use Gate with invariant gates instead")
        self.act, self.normalize, self.epsilon = act, normalize, float(epsilon)
        self.dim = self.irreps_in.dim
        index: list[int] = []
        channel = 0
        for item in self.irreps_in:
            for _ in range(item.mul):
                index += [channel] * item.ir.dim
                channel += 1
        self.n_channels = channel
        self.register_buffer("channel_index", torch.tensor(index, dtype=torch.long), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (..., dim)`` → ``(..., dim)``."""
        check_features(x, self.dim, "x", "NormActivation")
        sq = x.real**2 + x.imag**2 if x.is_complex() else x**2
        sq_ch = sq.new_zeros(*x.shape[:-1], self.n_channels).index_add(-1, self.channel_index, sq)
        norm = torch.sqrt(sq_ch + self.epsilon**2)
        scale = self.act(norm) / norm if self.normalize else self.act(norm)
        return x * scale.index_select(-1, self.channel_index)
