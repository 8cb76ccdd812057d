r"""Clebsch–Gordan recombination of ``⊕ L`` features into atomic-orbital blocks, and block placement.

The block of shells ``a`` (``l_a``, on atom ``i``) and ``b`` (``l_b``, on atom ``j``) of an AO matrix
transforms as ``l_a ⊗ l_b = ⊕_{L=|l_a-l_b|}^{l_a+l_b} L`` (parity ``(-1)^{l_a+l_b}``).  From one
feature ``v_L`` per allowed ``L`` (an ``O3(L, (-1)^{l_a+l_b})`` vector), the block is

.. math:: B_{ab}[m_a, m_b] = \sum_L \sum_M C^{l_a l_b L}_{m_a m_b M}\, v_{L, M}

with ``C = lie_nn.clebsch_gordan``, so ``D_{l_a}(R) B D_{l_b}(R)^T`` is the block of the rotated
features.  :class:`BlockAssembler` stacks these maps for all shell pairs of an element pair into one
matrix ``A`` (``n_features × n_ao_i n_ao_j``); ``A`` is square and orthogonal (the CG
coefficients are unitary), so every block is reachable.

>>> asm = BlockAssembler((0, 1), (1,))
>>> [str(m) for m in asm.irreps], asm.matrix.shape
(['1xO3(1o)', '1xO3(0e)', '1xO3(1e)', '1xO3(2e)'], (12, 12))
"""

from __future__ import annotations

import numpy as np
import torch

import lie_nn as lnn

__all__ = ["BlockAssembler", "parity_irrep"]


def parity_irrep(ell: int, parity: int) -> lnn.O3:
    """``O3(ell, parity)``: the irrep of an AO shell is ``parity_irrep(l, (-1)**l)``."""
    return lnn.O3(ell, parity)


class BlockAssembler:
    """The linear map from block features (``irreps``) to the flattened block ``(n_ao_i · n_ao_j)``.

    ``shells_i``, ``shells_j``: the angular momenta of the shells of the two atoms, in AO order.
    """

    def __init__(self, shells_i: tuple[int, ...], shells_j: tuple[int, ...]) -> None:
        self.shells_i, self.shells_j = tuple(shells_i), tuple(shells_j)
        nai = sum(2 * l + 1 for l in self.shells_i)
        naj = sum(2 * l + 1 for l in self.shells_j)
        rows, irreps = [], []
        off_i = 0
        for la in self.shells_i:
            off_j = 0
            for lb in self.shells_j:
                ir_a, ir_b = lnn.O3(la, (-1) ** la), lnn.O3(lb, (-1) ** lb)
                for ell in range(abs(la - lb), la + lb + 1):
                    ir = lnn.O3(ell, (-1) ** (la + lb))
                    cg = lnn.clebsch_gordan(ir_a, ir_b, ir)[0]  # (2la+1, 2lb+1, 2L+1)
                    full = np.zeros((2 * ell + 1, nai, naj))
                    full[:, off_i:off_i + 2 * la + 1, off_j:off_j + 2 * lb + 1] = cg.transpose(2, 0, 1)
                    rows.append(full.reshape(2 * ell + 1, nai * naj))
                    irreps.append((1, ir))
                off_j += 2 * lb + 1
            off_i += 2 * la + 1
        self.shape = (nai, naj)
        self.irreps = lnn.Irreps(irreps)
        self.matrix = np.concatenate(rows, axis=0)

    def tensor(self, dtype: torch.dtype) -> torch.Tensor:
        """``A`` as a torch tensor: ``blocks = features @ A``."""
        return torch.tensor(self.matrix, dtype=dtype)
