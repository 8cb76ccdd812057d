r"""The non-equivariant peer: an MLP from centred Cartesian coordinates to the Fock matrix.

``F = F_0 + s\,\mathrm{sym}(\mathrm{MLP}(x - \bar x))``: the input is the flattened, centred
coordinates of the molecule's atoms in the training order (so a different atom order is an error), the
output the ``nao (nao+1) / 2`` upper-triangle entries.  It knows nothing about rotations: trained with
rotation augmentation (:func:`rotate_batch`: a random rotation per frame applied to the positions and,
through ``D(R)``, to ``F`` and ``S``), it has to learn the symmetry from data.

>>> peer = FockMLP([8, 1, 1], nao=7, hidden=(16,))
>>> peer([8, 1, 1], torch.zeros(2, 3, 3)).shape
torch.Size([2, 7, 7])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

import lie_nn as lnn

__all__ = ["FockMLP", "ao_rotations", "rotate_batch"]


class FockMLP(torch.nn.Module):
    """MLP baseline with the same ``forward(numbers, positions (B, n, 3)) -> F (B, nao, nao)`` contract."""

    def __init__(self, numbers: Sequence[int], nao: int, hidden: Sequence[int] = (512, 512), *,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.numbers = tuple(int(z) for z in numbers)
        self.nao = nao
        sizes = [3 * len(self.numbers), *hidden]
        layers: list[torch.nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [torch.nn.Linear(a, b, dtype=dtype), torch.nn.SiLU()]
        layers.append(torch.nn.Linear(sizes[-1], nao * (nao + 1) // 2, dtype=dtype))
        self.mlp = torch.nn.Sequential(*layers)
        self.register_buffer("reference", torch.zeros(nao, nao, dtype=dtype))
        self.register_buffer("scale", torch.tensor(1.0, dtype=dtype))
        self.register_buffer("triu", torch.triu_indices(nao, nao))

    def set_reference(self, reference: np.ndarray, scale: float) -> None:
        """``F_0`` (the full on-site reference matrix of this molecule) and the output scale ``s``."""
        self.reference.copy_(torch.as_tensor(reference))
        self.scale.fill_(float(scale))

    def forward(self, numbers, positions: torch.Tensor) -> torch.Tensor:
        if tuple(int(z) for z in numbers) != self.numbers:
            raise ValueError(f"atom ordering/elements {[int(z) for z in numbers]} do not match the trained "
                             f"molecule {list(self.numbers)}: the MLP peer needs the training atom order")
        x = positions.to(self.scale.dtype)
        x = (x - x.mean(dim=1, keepdim=True)).reshape(x.shape[0], -1)
        out = self.mlp(x)
        f = x.new_zeros(x.shape[0], self.nao, self.nao)
        f[:, self.triu[0], self.triu[1]] = out
        f = f + f.transpose(1, 2) - torch.diag_embed(torch.diagonal(f, dim1=1, dim2=2))
        return self.reference + self.scale * f


def ao_rotations(ls: Sequence[int], rotations: np.ndarray) -> np.ndarray:
    """``D(R) (B, nao, nao)``: block-diagonal ``wigner_D(O3(l, (-1)^l), R)`` over the shells ``ls``."""
    rotations = np.asarray(rotations)
    nao = sum(2 * l + 1 for l in ls)
    out = np.zeros((len(rotations), nao, nao))
    off = 0
    for ell in ls:
        d = 2 * ell + 1
        out[:, off:off + d, off:off + d] = lnn.wigner_D(lnn.O3(ell, (-1) ** ell), rotations)
        off += d
    return out


def rotate_batch(batch: dict[str, torch.Tensor], ls: Sequence[int], rotations: np.ndarray) -> dict:
    """The batch with frame ``k`` rotated by ``rotations[k]``: ``x R^T``, ``D F D^T``, ``D S D^T``."""
    dtype = batch["positions"].dtype
    r = torch.as_tensor(np.asarray(rotations), dtype=dtype)
    d = torch.as_tensor(ao_rotations(ls, rotations), dtype=dtype)
    out = dict(batch)
    out["positions"] = batch["positions"] @ r.transpose(1, 2)
    for key in ("fock", "overlap"):
        out[key] = d @ batch[key] @ d.transpose(1, 2)
    return out
