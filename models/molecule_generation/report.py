r"""Figures and the metric table of docs/molecule_generation.md from the runs' samples and metrics.

::

    python -m models.molecule_generation.report --data data/qm9 --runs runs/qm9gen runs/qm9gen_mlp --docs docs

Reads ``<first run>/metrics.json`` (:mod:`~models.molecule_generation.evaluate`), the SDF files of
the runs (``samples.sdf`` and ``snapshots/cpu_<minutes>.sdf``) with their ``.json`` sidecars, and
writes ``molecule_generation_curve.png`` (validity vs training CPU minutes, published anchors as
lines), ``molecule_generation_samples.png`` (RDKit drawings of generated molecules) and
``molecule_generation_distributions.png`` (bond lengths and atom types vs the QM9 test set); the
markdown table goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

from models.common.cli import run_cli
from models.common.io import atomic_path
from models.common.plotting import pyplot, save_figure
from models.molecule_generation.data import load
from models.molecule_generation.generate import read_sdf
from models.molecule_generation.metrics import check_molecule

__all__ = ["ANCHORS", "main"]

# Published QM9 numbers (validity %, uniqueness %), cited as scale: GPU-days of training, 10k samples.
ANCHORS = {"Symphony (Daigavane et al. 2024)": (83.50, 97.98), "EDM (Hoogeboom et al. 2022)": (86.74, 99.16),
           "G-SchNet (Gebauer et al. 2019)": (74.97, None)}
_CPU = re.compile(r"cpu_(\d+\.\d+)")


def _label(run: Path) -> str:
    config = json.loads((run / "model.json").read_text())["config"]
    return "lie_nn equivariant" if config["kind"] == "equivariant" else "MLP + rotation augmentation"


def _curve(metrics: dict, run: Path, key: str = "validity") -> tuple[list[float], list[float]]:
    """Points (training CPU minutes, % of ``key``) of the snapshots' samples and the final samples."""
    points = [(float(_CPU.search(k).group(1)), v[key]) for k, v in metrics.items()
              if k.startswith(str(run / "snapshots")) and _CPU.search(k)]
    final = str(run / "samples.sdf")
    if final in metrics and (run / "cpu.json").is_file():
        points.append((json.loads((run / "cpu.json").read_text())["cpu_minutes"], metrics[final][key]))
    points.sort()
    return [p[0] for p in points], [100 * p[1] for p in points]


def _variant(sdf: Path) -> str:
    """What distinguishes a sample file from the default (its sidecar's temperatures and refinement)."""
    side = json.loads(sdf.with_suffix(".json").read_text())
    parts = []
    if side.get("temperature", 1.0) != 1.0:
        parts.append(f"position temperature {side['temperature']:g}")
    if side.get("focus_temperature", 1.0) != 1.0:
        parts.append(f"focus temperature {side['focus_temperature']:g}")
    if side.get("refine", 1) == 1:
        parts.append("grid radii (no refinement)")
    return ", ".join(parts)


def plot_curve(metrics: dict, runs: list[Path], path: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for run, color in zip(runs, ("C0", "C1", "C2", "C3"), strict=False):
        ax.plot(*_curve(metrics, run), "o-", color=color, label=f"{_label(run)}: valid")
        ax.plot(*_curve(metrics, run, "strict"), "s--", color=color, ms=4,
                label=f"{_label(run)}: strict")
    ax.axhline(100 * metrics["qm9_test"]["validity"], color="k", ls=":",
               label="QM9 test geometries (ceiling)")
    for (name, (validity, _)), ls in zip(ANCHORS.items(), ("--", "-.", (0, (1, 3))), strict=True):
        ax.axhline(validity, color="gray", ls=ls, lw=1, label=f"{name}, published")
    ax.set(xlabel="training CPU minutes (1 thread)", ylabel="validity (%)", ylim=(0, 100),
           title="Validity of sampled molecules vs training time")
    ax.legend(fontsize=7, loc="center right")
    save_figure(fig, path)


def plot_samples(sdf: Path, path: Path, count: int = 24) -> None:
    from rdkit import Chem
    from rdkit.Chem import AllChem, Draw

    mols, seen = [], set()
    for numbers, xyz in read_sdf(sdf):
        check = check_molecule(numbers, xyz)
        if check.valid and check.neutral and check.fragments == 1 and check.smiles not in seen \
                and len(numbers) > 4:
            seen.add(check.smiles)
            mol = Chem.MolFromSmiles(check.smiles)
            AllChem.Compute2DCoords(mol)
            mols.append(mol)
        if len(mols) == count:
            break
    image = Draw.MolsToGridImage(mols, molsPerRow=6, subImgSize=(200, 160),
                                 legends=[Chem.MolToSmiles(m) for m in mols])
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")


def plot_distributions(data: Path, sdfs: dict[str, Path], path: Path, n_ref: int = 3000) -> None:
    molecules, split, _ = load(data)
    ref = [check_molecule(*molecules.molecule(int(k))[:2]) for k in split["test"][:n_ref]]
    sets = {"QM9 test": ref}
    sets.update({name: [check_molecule(z, x) for z, x in read_sdf(s)] for name, s in sdfs.items()})
    kinds = ["C-H", "C-C", "C-O", "C-N", "C=O", "O-H"]
    plt = pyplot()
    fig, axes = plt.subplots(2, 4, figsize=(13, 5.6))
    bins = np.arange(0.9, 1.8, 0.01)
    for ax, kind in zip(axes.flat, kinds, strict=False):
        for name, checks in sets.items():
            lengths = [d for c in checks for k, d in c.bonds if k == kind]
            ax.hist(lengths, bins=bins, density=True, histtype="step", label=f"{name} ({len(lengths)})")
        ax.set(title=f"{kind} bond length (Å)")
        ax.legend(fontsize=6)
    elements = ["H", "C", "N", "O", "F"]
    ax = axes.flat[len(kinds)]
    width = 0.8 / len(sets)
    for k, (name, checks) in enumerate(sets.items()):
        counts = np.array([sum(c.elements.count(e) for c in checks) for e in elements], dtype=float)
        ax.bar(np.arange(5) + k * width, counts / counts.sum(), width, label=name)
    ax.set(xticks=np.arange(5) + 0.4 - width / 2, xticklabels=elements, title="atom types")
    ax.legend(fontsize=6)
    ax = axes.flat[len(kinds) + 1]
    for name, checks in sets.items():
        ax.hist([len(c.elements) for c in checks], bins=np.arange(1, 37), density=True, histtype="step",
                label=name)
    ax.set(title="atoms per molecule")
    ax.legend(fontsize=6)
    fig.tight_layout()
    save_figure(fig, path)


def table(metrics: dict, runs: list[Path]) -> str:
    """The markdown metric table (ours, peer, the QM9 ceiling, published anchors)."""
    def fmt(v):
        return "–" if v is None or v != v else f"{100 * v:.1f}"

    lines = ["| model | training | samples | validity % | strict % | uniqueness % | novelty % | "
             "atom-type JS | bond-length JS |", "|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        cpu = json.loads((run / "cpu.json").read_text())["cpu_minutes"]
        files = [Path(k) for k in metrics if Path(k).parent == run and Path(k).name.startswith("samples")]
        files.sort(key=lambda f: (f.name != "samples.sdf", f.name))
        for sdf in files:
            m, side = metrics[str(sdf)], json.loads(sdf.with_suffix(".json").read_text())
            label = ", ".join(x for x in (_label(run), _variant(sdf)) if x)
            lines.append(f"| {label} | {cpu:.1f} CPU-min | {m['n']:.0f} ({side['cpu_seconds'] / 60:.1f} "
                         f"CPU-min) | {fmt(m['validity'])} | {fmt(m['strict'])} | {fmt(m['uniqueness'])} | "
                         f"{fmt(m['novelty'])} | {m['atom_type_js']:.4f} | {m['bond_length_js']:.3f} |")
    q = metrics["qm9_test"]
    lines.append(f"| QM9 test geometries (real) | – | {q['n']:.0f} | {fmt(q['validity'])} | "
                 f"{fmt(q['strict'])} | {fmt(q['uniqueness'])} | {fmt(q['novelty'])} | "
                 f"{q['atom_type_js']:.4f} | {q['bond_length_js']:.3f} |")
    for name, (validity, unique) in ANCHORS.items():
        u = "–" if unique is None else f"{unique:.2f}"
        lines.append(f"| {name}, published | GPU, days | 10,000 | {validity:.2f} | – | {u} | – | – | – |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m models.molecule_generation.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--runs", type=Path, nargs="+", required=True)
    parser.add_argument("--docs", type=Path, required=True)
    args = parser.parse_args(argv)
    metrics = json.loads((args.runs[0] / "metrics.json").read_text())
    plot_curve(metrics, args.runs, args.docs / "molecule_generation_curve.png")
    plot_samples(args.runs[0] / "samples.sdf", args.docs / "molecule_generation_samples.png")
    sets = {_label(r): r / "samples.sdf" for r in args.runs}
    for r in args.runs:  # the unrefined ablation, if sampled: what the radial grid does to bond lengths
        if (r / "samples_grid.sdf").is_file():
            sets[f"{_label(r)}, grid radii"] = r / "samples_grid.sdf"
    plot_distributions(args.data, sets, args.docs / "molecule_generation_distributions.png")
    print(table(metrics, args.runs))


if __name__ == "__main__":
    run_cli(main)
