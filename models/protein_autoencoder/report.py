r"""Figures and the table of docs/protein_autoencoder.md from the evaluation JSON and the runs.

    python -m models.protein_autoencoder.report --eval runs/protein_eval.json --data data/protein --docs docs

Writes ``protein_reconstruction.png`` (Cα traces of a rotated test fragment: input vs the
reconstructions of both models at every compression factor), ``protein_learning_curves.png`` and
prints the markdown table (mean over the test fragments ± standard error).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from models.common.cli import run_cli
from models.common.plotting import pyplot, save_figure
from models.common.training import read_history
from models.protein_autoencoder.data import DEFAULT_DATA, load_split
from models.protein_autoencoder.evaluate import rotated
from models.protein_autoencoder.geometry import CA
from models.protein_autoencoder.train import load_model, tensors

__all__ = ["main", "table"]


def _cell(block: dict, key: str, digits: int = 2) -> str:
    pf = block[f"{key}_per_fragment"]
    return f"{pf['mean']:.{digits}f} ± {pf['se']:.{digits}f}"


def table(results: list[dict]) -> str:
    """Markdown table: per compression factor and model, metrics on the test set and rotated test set."""
    rows = [
        "| residues per latent node | model | parameters | epochs | heavy-atom RMSD (Å) | rotated | "
        "Cα RMSD (Å) | rotated | residue types | rotated |",
        "|---" * 10 + "|",
    ]
    for r in sorted(results, key=lambda r: (r["factor"], r["kind"] != "equivariant")):
        t, q = r["test"], r["test_rotated"]
        rows.append(
            f"| {r['factor']} | {r['kind']} | {r['parameters']:,} | {r['epochs']} | "
            f"{_cell(t, 'heavy_rmsd')} | {_cell(q, 'heavy_rmsd')} | {_cell(t, 'ca_rmsd')} | "
            f"{_cell(q, 'ca_rmsd')} | {_cell(t, 'type_accuracy', 3)} | {_cell(q, 'type_accuracy', 3)} |"
        )
    return "\n".join(rows)


@torch.no_grad()
def reconstruction_figure(
    results: list[dict], data: Path, out: Path, fragment: int = 0, seed: int = 5
) -> Path:
    plt = pyplot()
    factors = sorted({r["factor"] for r in results})
    kinds = ["equivariant", "peer"]
    fig = plt.figure(figsize=(4 * len(factors), 8))
    for row, kind in enumerate(kinds):
        for col, factor in enumerate(factors):
            run = [r for r in results if r["kind"] == kind and r["factor"] == factor]
            if not run:
                continue
            model, _ = load_model(Path(run[0]["run"]) / "model.pt")
            batch = tensors(load_split(data, "test"), next(model.parameters()).dtype)
            batch = {k: v[fragment : fragment + 1] for k, v in rotated(batch, seed).items()}
            pred = model(batch["types"], batch["coords"], batch["mask"])[0][0, :, CA].double().numpy()
            true = batch["coords"][0, :, CA].double().numpy()
            rmsd = float(((pred - true) ** 2).sum(-1).mean() ** 0.5)
            ax = fig.add_subplot(2, len(factors), row * len(factors) + col + 1, projection="3d")
            ax.plot(*true.T, "-", color="0.3", lw=2, label="input (rotated)")
            ax.plot(
                *pred.T, "-", color="C0" if kind == "equivariant" else "C1", lw=1.2, label="reconstruction"
            )
            ax.set_title(f"{kind}, {factor} residues/node\nCα RMSD {rmsd:.2f} Å", fontsize=9)
            ax.set_xticklabels([]), ax.set_yticklabels([]), ax.set_zticklabels([])
            if row == col == 0:
                ax.legend(fontsize=7)
    return save_figure(fig, out)


def curves_figure(results: list[dict], out: Path) -> Path:
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for r in sorted(results, key=lambda r: (r["kind"], r["factor"])):
        h = read_history(r["run"])
        style = "-" if r["kind"] == "equivariant" else "--"
        color = {2: "C0", 4: "C1", 8: "C2"}.get(r["factor"], "C3")
        label = f"{r['kind']} x{r['factor']}"
        axes[0].plot([e["epoch"] for e in h], [e["val_rmsd"] for e in h], style, color=color, label=label)
        axes[1].plot([e["epoch"] for e in h], [e["val_type_acc"] for e in h], style, color=color, label=label)
    axes[0].set(xlabel="epoch", ylabel="validation heavy-atom RMSD (Å)", yscale="log")
    axes[1].set(xlabel="epoch", ylabel="validation residue-type accuracy")
    axes[0].legend(fontsize=7)
    return save_figure(fig, out)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="python -m models.protein_autoencoder.report", description=__doc__.split("\n")[0]
    )
    p.add_argument("--eval", type=Path, required=True, help="JSON of models.protein_autoencoder.evaluate")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--docs", type=Path, default=Path("docs"))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    results = json.loads(args.eval.read_text())
    print(f"wrote {reconstruction_figure(results, args.data, args.docs / 'protein_reconstruction.png')}")
    print(f"wrote {curves_figure(results, args.docs / 'protein_learning_curves.png')}")
    print(table(results))
    return 0


if __name__ == "__main__":
    run_cli(main)
