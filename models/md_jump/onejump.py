r"""One-jump (short-time) statistics: how well a model's ``x_{t+Δ}`` given ``x_t`` matches the MD's.

Long rollouts need long reference MD to be judged; one jump from a held-out MD frame does not.  For
start frames ``x_t`` of the test trajectory the model samples ``k`` endpoints; the MD's actual
``x_{t+Δ}`` is one more.  Each endpoint gives the *changes* over the jump

* ``d_tic1``: TIC1(x_{t+Δ}) − TIC1(x_t), ``d_rmsd``: Δ of the Cα RMSD to the folded structure,
  ``d_rg``: Δ of the radius of gyration, and ``jump_rmsd``: the Cα RMSD between ``x_t`` and
  ``x_{t+Δ}`` after superposition (how far the structure moved).

Two statistics compare them:

* ``wasserstein_1d(p, q)``: the 1-D Wasserstein distance of the pooled changes,
  :math:`W_1 = \int |F_p(u) - F_q(u)|\, du` (same units as the observable).  Its *noise floor* is the
  same distance between the pair distributions of two independent MD trajectories.
* ``crps(samples, observed)``: per start, the continuous ranked probability score of the model's
  ``k`` samples against the MD's single outcome, :math:`E|X - y| - \tfrac12 E|X - X'|` (a proper
  score: lower is better; its expectation is smallest for the true conditional distribution).  Two
  models evaluated on the same starts are ranked by the paired difference of their mean scores.

Errors are block-bootstrap standard errors over starts (``block_bootstrap``: blocks of consecutive
starts, so the correlation of overlapping jumps is kept inside a block).
"""

from __future__ import annotations

import numpy as np
import torch

from models.md_jump.interpolant import kabsch_align
from models.md_jump.metrics import Projection, radius_of_gyration, rmsd_to

__all__ = ["CHANGES", "block_bootstrap", "crps", "jump_changes", "pair_rmsd", "wasserstein_1d"]

CHANGES = ("d_tic1", "d_rmsd", "d_rg", "jump_rmsd")


def _check_finite(name: str, a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0:
        raise ValueError(f"{name}: empty sample")
    if not np.isfinite(a).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    return a


def wasserstein_1d(p: np.ndarray, q: np.ndarray) -> float:
    """1-D Wasserstein distance between the empirical distributions of samples ``p`` and ``q``
    (flattened; sizes may differ): the area between their CDFs.

    >>> wasserstein_1d(np.array([0.0, 1.0]), np.array([2.0, 3.0]))
    2.0
    """
    p = np.sort(_check_finite("wasserstein_1d p", p).ravel())
    q = np.sort(_check_finite("wasserstein_1d q", q).ravel())
    grid = np.concatenate([p, q])
    grid.sort(kind="mergesort")
    fp = np.searchsorted(p, grid[:-1], side="right") / len(p)
    fq = np.searchsorted(q, grid[:-1], side="right") / len(q)
    return float(np.sum(np.abs(fp - fq) * np.diff(grid)))


def crps(samples: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """CRPS ``(P,)`` of ``samples (P, k)`` (k model draws per start) against ``observed (P,)``:
    ``mean|X - y| - mean|X - X'| / 2`` over all draw pairs (the unbiased ``k/(k-1)`` form for k ≥ 2).

    >>> float(crps(np.array([[1.0, 1.0]]), np.array([1.0]))[0])
    0.0
    """
    s = _check_finite("crps samples", samples)
    y = _check_finite("crps observed", observed)
    if s.ndim != 2 or y.shape != s.shape[:1]:
        raise ValueError(f"crps: need samples (P, k) and observed (P,), got {s.shape} and {y.shape}")
    k = s.shape[1]
    term1 = np.abs(s - y[:, None]).mean(1)
    if k == 1:
        return term1
    spread = np.abs(s[:, :, None] - s[:, None, :]).sum((1, 2)) / (k * (k - 1))
    return term1 - 0.5 * spread


def block_bootstrap(n: int, block: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_boot, n)`` index resamples of ``n`` ordered items built from random blocks of ``block``
    consecutive items (moving-block bootstrap).

    >>> block_bootstrap(5, 2, 3, np.random.default_rng(0)).shape
    (3, 5)
    """
    if n < 1 or block < 1:
        raise ValueError(f"block_bootstrap: need n >= 1 and block >= 1, got {n}, {block}")
    block = min(block, n)
    n_blocks = -(-n // block)
    starts = rng.integers(0, n - block + 1, size=(n_boot, n_blocks))
    idx = (starts[..., None] + np.arange(block)).reshape(n_boot, -1)
    return idx[:, :n]


def pair_rmsd(x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    """RMSD ``(...)`` between frames ``x1 (..., n, 3)`` and ``x0`` (broadcast to ``x1``) after superposing.

    >>> x = np.random.default_rng(0).normal(size=(1, 5, 3))
    >>> float(pair_rmsd(x, x + 3.0)[0]) < 1e-12
    True
    """
    a = torch.from_numpy(np.broadcast_to(np.asarray(x0, dtype=np.float64), np.shape(x1)).copy())
    b = torch.from_numpy(np.asarray(x1, dtype=np.float64))
    ac = a - a.mean(dim=-2, keepdim=True)
    return (kabsch_align(b, ac) - ac).square().sum(-1).mean(-1).sqrt().numpy()


def jump_changes(x0: np.ndarray, x1: np.ndarray, folded: np.ndarray,
                 proj: Projection) -> dict[str, np.ndarray]:
    """The changes :data:`CHANGES` over jumps from ``x0 (P, n, 3)`` to ``x1 (P, n, 3)`` or to ``k``
    endpoints each, ``x1 (P, k, n, 3)``; every array has shape ``x1.shape[:-2]``."""
    x0 = _check_finite("jump_changes x0", x0)
    x1 = _check_finite("jump_changes x1", x1)
    if x0.ndim != 3 or x0.shape[-1] != 3:
        raise ValueError(f"jump_changes: x0 must be (P, n, 3), got {x0.shape}")
    if x1.shape[:1] != x0.shape[:1] or x1.shape[-2:] != x0.shape[-2:] or x1.ndim not in (3, 4):
        raise ValueError(f"jump_changes: x1 must be (P, n, 3) or (P, k, n, 3) for x0 {x0.shape}, "
                         f"got {x1.shape}")
    a = x0 if x1.ndim == 3 else x0[:, None]
    return {"d_tic1": proj(x1)[..., 0] - proj(a)[..., 0],
            "d_rmsd": rmsd_to(x1, folded) - rmsd_to(a, folded),
            "d_rg": radius_of_gyration(x1) - radius_of_gyration(a),
            "jump_rmsd": pair_rmsd(a, x1)}
