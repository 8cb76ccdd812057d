r"""What the generated jets look like: per-class summary numbers and a two-panel plot.

::

    python -m models.top_tagging.overview --data data/top_tagging --out docs/top_tagging_data.png

The jet mass is ``m_J = sqrt(J·J)`` with ``J`` the sum of the constituents (Minkowski metric
``diag(1, -1, -1, -1)``), the only Lorentz invariant of a jet alone; top jets peak near the top mass
(~173 GeV), QCD jets fall off from small masses.  The multiplicity is the number of constituents
before truncation to the stored maximum.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from models.common.cli import run_cli

__all__ = ["jet_mass", "plot_overview", "summary"]

CLASSES = ((1, "top"), (0, "QCD"))


def jet_mass(jet_p4: np.ndarray) -> np.ndarray:
    """``sqrt(max(E² - |p|², 0))`` over the last axis of ``(..., 4)`` arrays ``(E, px, py, pz)``.

    >>> float(jet_mass(np.array([5.0, 0.0, 3.0, 0.0])))
    4.0
    """
    p = np.asarray(jet_p4, dtype=np.float64)
    if p.shape[-1:] != (4,):
        raise ValueError(f"jet_mass: expected (..., 4) four-momenta, got shape {p.shape}")
    return np.sqrt(np.clip(p[..., 0] ** 2 - (p[..., 1:] ** 2).sum(-1), 0.0, None))


def summary(arrays: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Per class: jet count, median / 16–84 % jet mass (GeV) and mean constituent multiplicity.

    >>> arrays = {"label": np.array([1, 0]), "jet_p4": np.array([[5.0, 0, 3, 0], [2.0, 0, 0, 0]]),
    ...           "n_constituents": np.array([10, 4])}
    >>> summary(arrays)["top"]["mass_median"], summary(arrays)["QCD"]["multiplicity_mean"]
    (4.0, 4.0)
    """
    out = {}
    mass = jet_mass(arrays["jet_p4"])
    for label, name in CLASSES:
        rows = arrays["label"] == label
        if not rows.any():
            raise ValueError(f"summary: no {name} jets in the data")
        m = mass[rows]
        out[name] = {"jets": int(rows.sum()), "mass_median": float(np.median(m)),
                     "mass_p16": float(np.percentile(m, 16)), "mass_p84": float(np.percentile(m, 84)),
                     "multiplicity_mean": float(arrays["n_constituents"][rows].mean())}
    return out


def plot_overview(arrays: dict[str, np.ndarray], out: str | Path) -> Path:
    """Histograms of jet mass and constituent multiplicity per class, written to ``out`` (PNG)."""
    from models.common.plotting import pyplot, save_figure

    plt = pyplot()
    mass = jet_mass(arrays["jet_p4"])
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 3.2), dpi=110)
    for label, name in CLASSES:
        rows = arrays["label"] == label
        axes[0].hist(mass[rows], bins=np.linspace(0, 300, 61), histtype="step", density=True, label=name)
        axes[1].hist(arrays["n_constituents"][rows], bins=np.arange(0, 201, 5), histtype="step",
                     density=True, label=name)
    axes[0].set_xlabel("jet mass m_J (GeV)")
    axes[1].set_xlabel("constituents per jet")
    for ax in axes:
        ax.set_ylabel("density")
        ax.legend(fontsize=8)
    return save_figure(fig, out)


def main(argv: list[str] | None = None) -> int:
    from models.top_tagging.dataset import load_jets

    parser = argparse.ArgumentParser(prog="python -m models.top_tagging.overview", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="data/top_tagging")
    parser.add_argument("--out", default=None, help="PNG path (default: no plot)")
    args = parser.parse_args(argv)
    arrays = load_jets(args.data, None)
    print(json.dumps(summary(arrays), indent=2))
    if args.out:
        print(plot_overview(arrays, args.out))
    return 0


if __name__ == "__main__":
    run_cli(main)
