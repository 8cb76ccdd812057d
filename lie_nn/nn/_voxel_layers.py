r"""Equivariant pointwise layers and pooling for irreps fields on voxel grids ``(batch, dim, D, H, W)``.

* :class:`VoxelGate`: :class:`~lie_nn.nn.Gate` applied at every voxel.
* :class:`VoxelBatchNorm`: scalars (trivial irreps) are batch-normalised like ``BatchNorm3d``; every other
  channel is divided by the root mean square of its norm (no centring, which would break equivariance),
  then scaled by a learnable per-channel factor.
* :class:`VoxelPool`: average pooling (linear and channel-wise, so equivariant) or, per channel, the
  voxel of largest norm in the window (``"norm_max"``).

Every operation acts on voxels identically, so it commutes with permutations of the grid that map
pooling windows to pooling windows (e.g. 90° rotations of a cube whose side is a multiple of the window).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from lie_nn.nn._layout import as_irreps, is_trivial
from lie_nn.nn._nonlinearity import Gate
from lie_nn.nn._voxel_convolution import check_field

__all__ = ["VoxelBatchNorm", "VoxelGate", "VoxelPool"]

Activation = Callable[[torch.Tensor], torch.Tensor]


def _channel_index(irreps: Any) -> tuple[list[int], list[bool]]:
    """For every component the index of its channel, and for every channel whether it is trivial."""
    index, trivial = [], []
    for item in irreps:
        for _ in range(item.mul):
            index += [len(trivial)] * item.ir.dim
            trivial.append(is_trivial(item.ir))
    return index, trivial


class VoxelGate(torch.nn.Module):
    """:class:`~lie_nn.nn.Gate` at every voxel: input channels ``scalars ⊕ gates ⊕ gated``.

    >>> gate = VoxelGate("4x0e", torch.relu, "2x0e", torch.sigmoid, "1x1o + 1x2e")
    >>> str(gate.irreps_out), gate(torch.randn(1, 14, 3, 3, 3)).shape
    ('4x0e+1x1o+1x2e', torch.Size([1, 12, 3, 3, 3]))
    """

    def __init__(self, irreps_scalars: Any, act_scalars: Activation | Sequence[Activation], irreps_gates: Any,
                 act_gates: Activation | Sequence[Activation], irreps_gated: Any) -> None:
        super().__init__()
        self.gate = Gate(irreps_scalars, act_scalars, irreps_gates, act_gates, irreps_gated)
        self.irreps_in, self.irreps_out = self.gate.irreps_in, self.gate.irreps_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, irreps_in.dim, D, H, W)`` → ``(batch, irreps_out.dim, D, H, W)``."""
        check_field(x, self.irreps_in.dim, "x", "VoxelGate")
        return self.gate(x.movedim(1, -1)).movedim(-1, 1)


class VoxelBatchNorm(torch.nn.Module):
    r"""Equivariant batch normalisation of an irreps field.

    Trivial channel ``s``: ``(s - μ) / sqrt(σ² + ε) · γ + β``; other channel ``v`` (``d`` components):
    ``v / sqrt(⟨|v|²⟩ / d + ε) · γ``, with ``μ, σ², ⟨|v|²⟩`` over batch and voxels in training (running
    averages with ``momentum`` in eval mode).

    >>> bn = VoxelBatchNorm("2x0e + 1x1o")
    >>> y = bn(torch.randn(2, 5, 4, 4, 4) * 3)
    >>> round(float(y[:, 2:].detach().square().mean()), 4)
    1.0
    """

    def __init__(self, irreps: Any, *, momentum: float = 0.1, eps: float = 1e-5,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.irreps_in = self.irreps_out = as_irreps(irreps, "irreps", "VoxelBatchNorm")
        index, trivial = _channel_index(self.irreps_in)
        self.momentum, self.eps = float(momentum), float(eps)
        dtype = dtype or torch.get_default_dtype()
        n = len(trivial)
        self.register_buffer("channel_index", torch.tensor(index, dtype=torch.long), persistent=False)
        self.register_buffer("trivial", torch.tensor(trivial, dtype=torch.bool), persistent=False)
        self.register_buffer("component_trivial", self.trivial[self.channel_index].clone(), persistent=False)
        dims = torch.zeros(n).index_add(0, self.channel_index, torch.ones(len(index)))
        self.register_buffer("channel_dim", dims.to(dtype), persistent=False)
        self.weight = torch.nn.Parameter(torch.ones(n, dtype=dtype))
        self.bias = torch.nn.Parameter(torch.zeros(n, dtype=dtype))
        self.register_buffer("running_mean", torch.zeros(n, dtype=dtype))
        self.register_buffer("running_square", torch.ones(n, dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, dim, D, H, W)`` → same shape."""
        check_field(x, self.irreps_in.dim, "x", "VoxelBatchNorm")
        idx, comp_trivial = self.channel_index, self.component_trivial
        if self.training:
            mean_c = x.mean(dim=(0, 2, 3, 4))  # per component
            mean = torch.zeros_like(self.running_mean, dtype=x.dtype).index_add(0, idx, mean_c)
            mean = torch.where(self.trivial, mean, 0.0)
            centred = x - torch.where(comp_trivial, mean[idx], 0.0).view(1, -1, 1, 1, 1)
            sq_c = centred.square().mean(dim=(0, 2, 3, 4))
            square = torch.zeros_like(mean).index_add(0, idx, sq_c) / self.channel_dim.to(x.dtype)
            with torch.no_grad():
                self.running_mean.lerp_(mean.to(self.running_mean.dtype), self.momentum)
                self.running_square.lerp_(square.to(self.running_square.dtype), self.momentum)
        else:
            mean, square = self.running_mean.to(x.dtype), self.running_square.to(x.dtype)
            centred = x - torch.where(comp_trivial, mean[idx], 0.0).view(1, -1, 1, 1, 1)
        scale = self.weight.to(x.dtype) / torch.sqrt(square + self.eps)
        shift = torch.where(self.trivial, self.bias.to(x.dtype), 0.0)
        return centred * scale[idx].view(1, -1, 1, 1, 1) + shift[idx].view(1, -1, 1, 1, 1)


class VoxelPool(torch.nn.Module):
    r"""Equivariant pooling with windows ``kernel_size`` (stride = ``kernel_size``).

    ``mode="average"``: the mean over the window; ``mode="norm_max"``: per channel, the value at the voxel
    whose channel norm ``|v|`` is largest (for trivial scalars ``|s|``).

    >>> pool = VoxelPool("1x0e + 1x1o", 2, mode="norm_max")
    >>> pool(torch.randn(1, 4, 4, 4, 4)).shape
    torch.Size([1, 4, 2, 2, 2])
    """

    def __init__(self, irreps: Any, kernel_size: int = 2, *, mode: str = "average") -> None:
        super().__init__()
        self.irreps_in = self.irreps_out = as_irreps(irreps, "irreps", "VoxelPool")
        if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1:
            raise ValueError(f"VoxelPool: kernel_size must be a positive int, got {kernel_size!r}")
        if mode not in ("average", "norm_max"):
            raise ValueError(f"VoxelPool: mode must be 'average' or 'norm_max', got {mode!r}")
        self.kernel_size, self.mode = kernel_size, mode
        index, trivial = _channel_index(self.irreps_in)
        self.n_channels = len(trivial)
        self.register_buffer("channel_index", torch.tensor(index, dtype=torch.long), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, dim, D, H, W)`` → ``(batch, dim, D // k, H // k, W // k)``."""
        check_field(x, self.irreps_in.dim, "x", "VoxelPool")
        k = self.kernel_size
        if self.mode == "average":
            return torch.nn.functional.avg_pool3d(x, k)
        b, dim = x.shape[:2]
        norms = x.new_zeros(b, self.n_channels, *x.shape[2:]).index_add(1, self.channel_index, x.square())
        _, where = torch.nn.functional.max_pool3d(norms, k, return_indices=True)
        where = where.index_select(1, self.channel_index)  # (b, dim, d', h', w'): flat voxel indices
        return x.flatten(2).gather(2, where.flatten(2)).reshape(where.shape)
