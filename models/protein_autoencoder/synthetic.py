r"""Tiny synthetic chains (a helical Cα trace with random residue types and side chains) for tests and
examples; no chemistry is claimed beyond consecutive Cα 3.8 Å apart and peptide C–N bonds under 2 Å.

>>> c = synthetic_chain(5, seed=0)
>>> c.coords.shape, bool(c.complete.all())
((5, 14, 3), True)
>>> import numpy as np
>>> np.round(np.linalg.norm(np.diff(c.coords[:, 1], axis=0), axis=-1), 2).tolist()
[3.8, 3.8, 3.8, 3.8]
"""

from __future__ import annotations

import numpy as np

from models.protein_autoencoder.residues import RESIDUES, atom_mask
from models.protein_autoencoder.structure import Chain

__all__ = ["synthetic_chain"]


def synthetic_chain(length: int, seed: int = 0, *, name: str = "A") -> Chain:
    """A :class:`Chain` of ``length`` residues: Cα on an α-helix-like spiral (3.8 Å steps), N and C
    on the way to the neighbours, O and side-chain atoms at random 1.5 Å steps."""
    rng = np.random.default_rng(seed)
    k = np.arange(length + 2) - 1
    angle, rise = np.deg2rad(100.0), 1.5
    radius = np.sqrt((3.8**2 - rise**2) / (2 - 2 * np.cos(angle)))
    ca = np.stack([radius * np.cos(angle * k), radius * np.sin(angle * k), rise * k], -1)
    types = rng.integers(0, len(RESIDUES), size=length)
    mask = atom_mask()[types]
    coords = np.zeros((length, 14, 3))
    for i in range(length):
        here, prev, nxt = ca[i + 1], ca[i], ca[i + 2]
        coords[i, 0], coords[i, 1], coords[i, 2] = (
            here + 0.38 * (prev - here),
            here,
            here + 0.38 * (nxt - here),
        )
        coords[i, 3] = coords[i, 2] + 1.2 * _unit(rng.normal(size=3))
        last = here
        for slot in range(4, int(mask[i].sum())):
            last = last + 1.5 * _unit(rng.normal(size=3))
            coords[i, slot] = last
    coords *= mask[..., None]
    return Chain(name, types, coords, mask, np.ones(length, bool), [str(i + 1) for i in range(length)], [])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)
