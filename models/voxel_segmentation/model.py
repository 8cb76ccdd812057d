r"""The O(3)-equivariant voxel U-Net (steerable convolutions of ``lie_nn.nn``) and the MONAI peer.

:class:`EquivariantUNet`: every hidden field is ``s × 0e ⊕ v × 1o ⊕ t × 2e`` (per level); a block is
:class:`~lie_nn.nn.VoxelConvolution` (filters ``Y_0..Y_2``, kernel 5, radial Bessel basis with a smooth
cutoff) → :class:`~lie_nn.nn.VoxelBatchNorm` → :class:`~lie_nn.nn.VoxelGate` (ReLU on scalars, sigmoid
gates on the ``1o`` / ``2e`` channels); average pooling down, trilinear upsampling up (both act on each
channel alike, so they commute with the grid's symmetries), skip connections by concatenating fields,
and a final kernel-1 convolution to 4 scalar logits.  The logits are invariant fields: rotating (or
reflecting) the input rotates the logit map, exactly for the 48 symmetries of a cubic grid whose side
is a multiple of 4, up to resampling error for other rotations.

:func:`monai_unet`: MONAI's ``UNet`` (the residual U-Net of Kerfoot et al. 2018) with widths chosen for
a similar parameter count.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from lie_nn import Irreps
from lie_nn.nn import VoxelBatchNorm, VoxelConvolution, VoxelGate, VoxelPool

__all__ = ["EquivariantUNet", "UNetConfig", "build_model", "count_parameters", "monai_unet"]

N_CLASSES = 4


@dataclass(frozen=True)
class UNetConfig:
    """Widths ``(scalars, vectors 1o, tensors 2e)`` per level, kernel size, filter ``lmax``."""

    level0: tuple[int, int, int] = (8, 2, 1)
    level1: tuple[int, int, int] = (12, 4, 2)
    level2: tuple[int, int, int] = (16, 4, 2)
    kernel_size: int = 5
    lmax: int = 2
    monai_channels: tuple[int, int, int] = (4, 8, 16)

    def to_dict(self) -> dict:
        return asdict(self)


def _field(widths: tuple[int, int, int]) -> Irreps:
    s, v, t = widths
    return Irreps(f"{s}x0e + {v}x1o + {t}x2e")


class GatedBlock(torch.nn.Module):
    """``VoxelConvolution → VoxelBatchNorm → VoxelGate``: ``irreps_in`` → ``s×0e + v×1o + t×2e``."""

    def __init__(self, irreps_in: Irreps, widths: tuple[int, int, int], kernel_size: int, lmax: int,
                 dtype: torch.dtype) -> None:
        super().__init__()
        s, v, t = widths
        gated = Irreps(f"{v}x1o + {t}x2e")
        pre = Irreps(f"{s}x0e + {v + t}x0e") + gated
        self.conv = VoxelConvolution(irreps_in, pre, kernel_size, lmax=lmax, dtype=dtype)
        self.norm = VoxelBatchNorm(pre, dtype=dtype)
        self.gate = VoxelGate(f"{s}x0e", torch.relu, f"{v + t}x0e", torch.sigmoid, gated)
        self.irreps_in, self.irreps_out = irreps_in, self.gate.irreps_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gate(self.norm(self.conv(x)))


class EquivariantUNet(torch.nn.Module):
    """Two-level-deep equivariant U-Net: ``(batch, 1, D, H, W)`` T1 → ``(batch, 4, D, H, W)`` logits.

    ``D, H, W`` must be multiples of 4 (two poolings by 2).

    >>> net = EquivariantUNet(UNetConfig(level0=(2, 1, 1), level1=(2, 1, 0), level2=(2, 1, 0), kernel_size=3))
    >>> net(torch.randn(1, 1, 8, 8, 8)).shape
    torch.Size([1, 4, 8, 8, 8])
    """

    def __init__(self, config: UNetConfig = UNetConfig(), dtype: torch.dtype | None = None) -> None:
        super().__init__()
        dtype = dtype or torch.get_default_dtype()
        k, lmax = config.kernel_size, config.lmax
        f0, f1, f2 = _field(config.level0), _field(config.level1), _field(config.level2)
        self.irreps_in = Irreps("1x0e")
        self.enc0 = GatedBlock(self.irreps_in, config.level0, k, lmax, dtype)
        self.pool0 = VoxelPool(f0, 2)
        self.enc1 = GatedBlock(f0, config.level1, k, lmax, dtype)
        self.pool1 = VoxelPool(f1, 2)
        self.bottom = GatedBlock(f1, config.level2, k, lmax, dtype)
        self.dec1 = GatedBlock(f2 + f1, config.level1, k, lmax, dtype)
        self.dec0 = GatedBlock(f1 + f0, config.level0, k, lmax, dtype)
        self.head = VoxelConvolution(f0, f"{N_CLASSES}x0e", 1, lmax=0, dtype=dtype)

    @staticmethod
    def _up(x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.interpolate(x, scale_factor=2, mode="trilinear", align_corners=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.ndim != 5 or x.shape[1] != 1:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"EquivariantUNet: input must be (batch, 1, D, H, W), got {shape}")
        if any(n % 4 for n in x.shape[2:]):
            raise ValueError(f"EquivariantUNet: spatial sizes must be multiples of 4, got "
                             f"{tuple(x.shape[2:])}")
        e0 = self.enc0(x)
        e1 = self.enc1(self.pool0(e0))
        b = self.bottom(self.pool1(e1))
        d1 = self.dec1(torch.cat([self._up(b), e1], dim=1))
        d0 = self.dec0(torch.cat([self._up(d1), e0], dim=1))
        return self.head(d0)


def monai_unet(config: UNetConfig = UNetConfig(), dtype: torch.dtype | None = None) -> torch.nn.Module:
    """MONAI ``UNet`` (3D, 1 → 4 channels, strides 2, one residual unit per level)."""
    try:
        from monai.networks.nets import UNet
    except ImportError as err:
        raise ImportError("the MONAI peer needs monai: pip install 'lie_nn[voxel]'") from err
    net = UNet(spatial_dims=3, in_channels=1, out_channels=N_CLASSES, channels=config.monai_channels,
               strides=(2, 2), num_res_units=1)
    return net.to(dtype or torch.get_default_dtype())


def build_model(kind: str, config: UNetConfig, dtype: torch.dtype) -> torch.nn.Module:
    """``"equivariant"`` or ``"monai"``."""
    if kind == "equivariant":
        return EquivariantUNet(config, dtype)
    if kind == "monai":
        return monai_unet(config, dtype)
    raise ValueError(f"unknown model kind {kind!r}; use 'equivariant' or 'monai'")


def count_parameters(model: torch.nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
