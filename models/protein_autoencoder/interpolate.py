r"""Latent interpolation between two conformations of one protein (ADK open ↔ closed by default).

Both structures are encoded, the latents ``(P, z)`` interpolated linearly,
``(P_t, z_t) = ((1-t) P_0 + t P_1, (1-t) z_0 + t z_1)``, and decoded; as the baseline the heavy-atom
coordinates themselves are interpolated (``x_t = (1-t) x_0 + t x_1``).  For every step: Cα RMSD to
both end structures (the end structure is first superposed on the start by its Cα atoms, so that
neither path has to carry a rigid motion; ``--no-superpose`` keeps the files' frames), the Cα–Cα distances of
consecutive residues (3.80 Å in real chains), and clashes = heavy-atom pairs of residues at least
two apart closer than ``--clash`` Å (2.5 by default, below hydrogen-bond N–O distances).  Writes the
paths as multi-model PDB files, the numbers as JSON and the plot.

    python -m models.protein_autoencoder.interpolate --model runs/protein_equivariant_l2/model.pt \
        --steps 9 --out runs/protein_adk --plot docs/protein_interpolation.png
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch

from models.common.cli import run_cli
from models.common.io import write_json_atomic
from models.common.plotting import pyplot, save_figure
from models.protein_autoencoder.geometry import CA, superpose
from models.protein_autoencoder.model import Latent
from models.protein_autoencoder.structure import Chain, read_chain, write_pdb
from models.protein_autoencoder.train import load_model

__all__ = ["chain_tensors", "clashes", "interpolate_latent", "main", "path_metrics"]


def chain_tensors(chain: Chain, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``types (1, L)``, ``coords (1, L, 14, 3)``, ``mask (1, L, 14)`` of one chain."""
    return (
        torch.as_tensor(chain.types)[None],
        torch.as_tensor(chain.coords, dtype=dtype)[None],
        torch.as_tensor(chain.mask)[None],
    )


def interpolate_latent(a: Latent, b: Latent, steps: int) -> list[Latent]:
    """``steps`` latents evenly spaced from ``a`` to ``b`` (both ends included)."""
    if a.pos.shape != b.pos.shape or a.length != b.length:
        raise ValueError(
            f"the two structures must have the same length, got {a.length} and {b.length} residues"
        )
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    ts = torch.linspace(0.0, 1.0, steps, dtype=a.pos.dtype)
    return [
        Latent((1 - t) * a.pos + t * b.pos, (1 - t) * a.features + t * b.features, a.valid, a.length)
        for t in ts
    ]


def clashes(coords: np.ndarray, mask: np.ndarray, cutoff: float = 2.5) -> int:
    """Heavy-atom pairs closer than ``cutoff`` Å between residues at least two apart in sequence.

    >>> import numpy as np
    >>> c = np.zeros((3, 14, 3)); c[:, :, 0] = np.arange(3)[:, None] * 10.0; m = np.zeros((3, 14), bool)
    >>> m[:, 1] = True; c[2, 1, 0] = 1.0
    >>> clashes(c, m)
    1
    """
    xyz = coords[mask]
    res = np.nonzero(mask)[0]
    d = np.linalg.norm(xyz[:, None] - xyz[None], axis=-1)
    far = np.abs(res[:, None] - res[None]) >= 2
    return int(np.triu((d < cutoff) & far, 1).sum())


def path_metrics(
    path: list[np.ndarray], mask: np.ndarray, start: np.ndarray, end: np.ndarray, cutoff: float
) -> list[dict]:
    """Per-step Cα RMSD to both ends, consecutive Cα–Cα distances, clashes."""
    out = []
    for x in path:
        ca = x[:, CA]
        bonds = np.linalg.norm(ca[1:] - ca[:-1], axis=-1)
        out.append(
            {
                "ca_rmsd_start": float(np.sqrt(((ca - start[:, CA]) ** 2).sum(-1).mean())),
                "ca_rmsd_end": float(np.sqrt(((ca - end[:, CA]) ** 2).sum(-1).mean())),
                "ca_ca_mean": float(bonds.mean()),
                "ca_ca_max_dev": float(np.abs(bonds - 3.8).max()),
                "ca_ca_rms_dev": float(np.sqrt(((bonds - 3.8) ** 2).mean())),
                "clashes": clashes(x, mask, cutoff),
            }
        )
    return out


@torch.no_grad()
def latent_path(model: torch.nn.Module, a: Chain, b: Chain, steps: int) -> list[np.ndarray]:
    """Decoded coordinates ``(L, 14, 3)`` of the latent interpolation from ``a`` to ``b``."""
    if not np.array_equal(a.types, b.types):
        raise ValueError("the two structures must have the same sequence")
    dtype = next(model.parameters()).dtype
    za, zb = (model.encode(*chain_tensors(c, dtype)) for c in (a, b))
    return [model.decode(z)[0][0].double().numpy() for z in interpolate_latent(za, zb, steps)]


def coordinate_path(a: Chain, b: Chain, steps: int) -> list[np.ndarray]:
    return [(1 - t) * a.coords + t * b.coords for t in np.linspace(0.0, 1.0, steps)]


def _plot(results: dict, out: Path) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    styles = {"latent (equivariant)": "C0", "latent (peer)": "C1", "coordinates": "k"}
    for name, rows in results["paths"].items():
        t = np.linspace(0, 1, len(rows))
        c = styles.get(name, None)
        axes[0].plot(t, [r["ca_rmsd_start"] for r in rows], "-o", color=c, ms=3, label=f"{name}: to open")
        axes[0].plot(t, [r["ca_rmsd_end"] for r in rows], "--s", color=c, ms=3, label=f"{name}: to closed")
        axes[1].plot(t, [r["ca_ca_rms_dev"] for r in rows], "-o", color=c, ms=3, label=name)
        axes[2].plot(t, [r["clashes"] for r in rows], "-o", color=c, ms=3, label=name)
    axes[0].set(xlabel="t (0 = open, 1 = closed)", ylabel="Cα RMSD (Å)", title="distance to the end states")
    axes[1].set(xlabel="t", ylabel="RMS(|Cα–Cα| − 3.8 Å) (Å)", title="chain geometry")
    axes[2].set(xlabel="t", ylabel=f"heavy-atom pairs < {results['clash_cutoff']} Å", title="clashes")
    axes[0].legend(fontsize=6)
    axes[1].legend(fontsize=7)
    save_figure(fig, out)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="python -m models.protein_autoencoder.interpolate",
        description="Latent vs coordinate interpolation between two conformations.",
    )
    p.add_argument("--model", type=Path, required=True, help="model.pt of the equivariant run")
    p.add_argument("--peer", type=Path, default=None, help="model.pt of a peer run (optional)")
    p.add_argument("--start", type=Path, default=None, help="PDB (default: MDAnalysisTests adk_open.pdb)")
    p.add_argument("--end", type=Path, default=None, help="PDB (default: MDAnalysisTests adk_closed.pdb)")
    p.add_argument("--steps", type=int, default=9)
    p.add_argument("--clash", type=float, default=2.5, help="clash distance (Å)")
    p.add_argument("--no-superpose", action="store_true", help="keep the end structure in its own frame")
    p.add_argument("--out", type=Path, required=True, help="output folder (PDB paths, metrics.json)")
    p.add_argument("--plot", type=Path, default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    if args.start is None or args.end is None:
        from models.protein_autoencoder.data import mdanalysis_tests_data

        root = mdanalysis_tests_data()
        args.start, args.end = args.start or root / "adk_open.pdb", args.end or root / "adk_closed.pdb"
    a, b = read_chain(args.start), read_chain(args.end)
    if len(a) != len(b):
        raise ValueError(f"{args.start} has {len(a)} residues, {args.end} {len(b)}: need the same protein")
    if not args.no_superpose:
        b.coords = superpose(b.coords, b.coords[:, CA], a.coords[:, CA]) * b.mask[..., None]
    models = {"latent (equivariant)": args.model} | ({"latent (peer)": args.peer} if args.peer else {})
    paths = {name: latent_path(load_model(path)[0], a, b, args.steps) for name, path in models.items()}
    paths["coordinates"] = coordinate_path(a, b, args.steps)
    args.out.mkdir(parents=True, exist_ok=True)
    results = {
        "superposed": not args.no_superpose,
        "start": str(args.start),
        "end": str(args.end),
        "residues": len(a),
        "clash_cutoff": args.clash,
        "end_to_end_ca_rmsd": math.sqrt(float(((a.coords[:, CA] - b.coords[:, CA]) ** 2).sum(-1).mean())),
        "reference": {
            "start": path_metrics([a.coords], a.mask, a.coords, b.coords, args.clash)[0],
            "end": path_metrics([b.coords], b.mask, a.coords, b.coords, args.clash)[0],
        },
        "paths": {n: path_metrics(x, a.mask, a.coords, b.coords, args.clash) for n, x in paths.items()},
    }
    for name, x in paths.items():
        slug = name.replace("latent (", "latent_").replace(")", "").replace(" ", "_")
        write_pdb(args.out / f"path_{slug}.pdb", [(a.types, xi, a.mask) for xi in x])
    write_json_atomic(args.out / "metrics.json", results)
    if args.plot:
        _plot(results, args.plot)
    for name, rows in results["paths"].items():
        mid = rows[len(rows) // 2]
        print(
            f"{name}: ends {rows[0]['ca_rmsd_start']:.2f} / {rows[-1]['ca_rmsd_end']:.2f} Å; middle to open "
            f"{mid['ca_rmsd_start']:.2f}, to closed {mid['ca_rmsd_end']:.2f} Å, CA-CA rms dev "
            f"{mid['ca_ca_rms_dev']:.2f} Å, clashes {mid['clashes']}"
        )
    return 0


if __name__ == "__main__":
    run_cli(main)
