r"""Structural observables of Cα trajectories and the distances between their distributions.

* ``rmsd_to(x, ref)``: Cα RMSD after optimal superposition (Kabsch), Å.
* ``radius_of_gyration(x)``: :math:`R_g = \sqrt{\frac1n \sum_i |x_i - \bar x|^2}`, Å.
* ``pair_distances(x)``: the Cα–Cα distances ``|x_i - x_j|`` for ``j ≥ i + 2`` (TICA/PCA input).
* ``Projection``: TICA (``deeptime``) of the pair distances fitted on the training trajectories, or
  PCA of them when ``deeptime`` is not installed (the method used is recorded).
* ``js_divergence(p_samples, q_samples, bins)``: Jensen–Shannon divergence (base 2, so in
  ``[0, 1]``) of the histograms of two samples on shared bins:
  :math:`JS = \tfrac12 KL(P\|M) + \tfrac12 KL(Q\|M)`, :math:`M = \tfrac12 (P + Q)`.
* ``autocorrelation(series, lag)``: normalised autocorrelation of a 0/1 (folded) series.
"""

from __future__ import annotations

import numpy as np
import torch

from models.md_jump.interpolant import kabsch_align

__all__ = ["Projection", "autocorrelation", "js_divergence", "pair_distances", "radius_of_gyration",
           "rmsd_to", "shared_bins"]


def rmsd_to(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """RMSD ``(...)`` of frames ``x (..., n, 3)`` to ``ref (n, 3)`` after superposition.

    >>> ref = np.random.default_rng(0).normal(size=(6, 3))
    >>> float(rmsd_to(ref[None] + 2.0, ref)[0]) < 1e-12
    True
    """
    xt = torch.from_numpy(np.asarray(x, dtype=np.float64))
    rt = torch.from_numpy(np.asarray(ref, dtype=np.float64)).expand_as(xt)
    rc = rt - rt.mean(dim=-2, keepdim=True)
    aligned = kabsch_align(xt, rc)
    return (aligned - rc).square().sum(-1).mean(-1).sqrt().numpy()


def radius_of_gyration(x: np.ndarray) -> np.ndarray:
    """``R_g`` ``(...)`` of frames ``x (..., n, 3)``.

    >>> float(radius_of_gyration(np.array([[[1.0, 0, 0], [-1.0, 0, 0]]]))[0])
    1.0
    """
    xc = x - x.mean(axis=-2, keepdims=True)
    return np.sqrt((xc**2).sum(-1).mean(-1))


def pair_distances(x: np.ndarray) -> np.ndarray:
    """Distances ``(..., m)`` between atoms ``i < j - 1`` of frames ``x (..., n, 3)``.

    >>> pair_distances(np.zeros((2, 4, 3))).shape
    (2, 3)
    """
    i, j = np.triu_indices(x.shape[-2], k=2)
    return np.linalg.norm(x[..., i, :] - x[..., j, :], axis=-1)


class Projection:
    """Slow coordinates of the pair distances: TICA (``deeptime``, kinetic map) with lag ``lag`` frames
    fitted on ``trajectories`` (a list of ``(frames, n, 3)``), or PCA when deeptime is missing."""

    def __init__(self, trajectories: list[np.ndarray], lag: int, dim: int = 2) -> None:
        feats = [pair_distances(t) for t in trajectories]
        try:
            from deeptime.decomposition import TICA
        except ImportError:
            TICA = None  # noqa: N806
        if TICA is not None:
            self.method = f"TICA (deeptime, lag {lag} frames)"
            self._model = TICA(lagtime=lag, dim=dim).fit(feats).fetch_model()
            self._transform = self._model.transform
        else:
            self.method = "PCA (deeptime not installed)"
            stacked = np.concatenate(feats)
            mean = stacked.mean(0)
            _, _, vt = np.linalg.svd(stacked - mean, full_matrices=False)
            self._transform = lambda f: (f - mean) @ vt[:dim].T
        ref = self._transform(feats[0])
        self._sign = np.sign(ref[-1] - ref[0] + 1e-300)  # orient: first trajectory's drift is positive

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Projections ``(..., dim)`` of frames ``x (..., n, 3)``."""
        shape = x.shape[:-2]
        f = pair_distances(x).reshape(-1, x.shape[-2] * (x.shape[-2] - 1) // 2 - (x.shape[-2] - 1))
        return (self._transform(f) * self._sign).reshape(*shape, -1)


def shared_bins(*samples: np.ndarray, bins: int = 40) -> np.ndarray:
    """``bins + 1`` equal-width edges spanning all ``samples`` together.

    >>> shared_bins(np.array([0.0, 1.0]), np.array([3.0]), bins=3).tolist()
    [0.0, 1.0, 2.0, 3.0]
    """
    lo = min(float(np.min(s)) for s in samples)
    hi = max(float(np.max(s)) for s in samples)
    if hi <= lo:
        hi = lo + 1e-9
    return np.linspace(lo, hi, bins + 1)


def js_divergence(p: np.ndarray, q: np.ndarray, bins: np.ndarray | int = 40) -> float:
    """Jensen–Shannon divergence (bits) of the histograms of samples ``p`` and ``q`` on shared bins.

    >>> rng = np.random.default_rng(0)
    >>> js_divergence(rng.normal(size=1000), rng.normal(size=1000) + 100) > 0.99
    True
    """
    p, q = np.ravel(p), np.ravel(q)
    if len(p) == 0 or len(q) == 0 or not (np.isfinite(p).all() and np.isfinite(q).all()):
        raise ValueError("js_divergence: need two non-empty, finite samples")
    edges = shared_bins(p, q, bins=bins) if isinstance(bins, int) else bins
    hp = np.histogram(p, edges)[0].astype(np.float64)
    hq = np.histogram(q, edges)[0].astype(np.float64)
    hp, hq = hp / hp.sum(), hq / hq.sum()
    m = 0.5 * (hp + hq)

    def kl(a: np.ndarray) -> float:
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / m[nz])))

    return 0.5 * kl(hp) + 0.5 * kl(hq)


def autocorrelation(series: np.ndarray, lag: int) -> float:
    """``⟨δf_t δf_{t+lag}⟩ / ⟨δf²⟩`` over the last axis (rows = independent trajectories); NaN when
    ``f`` never varies.

    >>> autocorrelation(np.array([[0, 0, 1, 1, 0, 0, 1, 1.0]]), 2)
    -1.0
    """
    f = np.atleast_2d(np.asarray(series, dtype=np.float64))
    if lag >= f.shape[-1]:
        raise ValueError(f"autocorrelation: lag {lag} >= series length {f.shape[-1]}")
    d = f - f.mean()
    var = float((d**2).mean())
    if var == 0:
        return float("nan")
    return float((d[:, : f.shape[-1] - lag] * d[:, lag:]).mean() / var)
