r"""What the symmetry buys: the models on validation fragments in their pose and randomly rotated.

::

    python -m models.molecule_generation.symmetry --data data/qm9 --runs runs/qm9gen runs/qm9gen_mlp \
        --out runs/qm9gen/symmetry.json [--n 512]

For ``n`` teacher-forcing fragments of the validation molecules (the trainer's validation set) and a
Haar-random rotation ``R_g`` of each (seeded), per model: the mean focus / element / position
cross-entropies in the original and in the rotated pose, and the mean total-variation distance

.. math:: \mathrm{TV}_g = \tfrac12 \sum_{kj} \big| p_{kj}(\text{fragment}) -
          \tilde p_{kj}(R_g\,\text{fragment}) \big|,

``\tilde p`` the rotated fragment's distribution evaluated at the rotated grid points ``R_g x_{kj}``
and normalised over them (0 for an exactly equivariant model, up to float32 rounding).  (The
position cross-entropy itself is only approximately invariant for any model: its smoothed target is
built on the fixed grid, whose points sit differently relative to a rotated target.)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

import lie_nn as lnn
from lie_nn.nn import spherical_harmonics
from models.common.args import positive_int
from models.common.cli import run_cli
from models.common.io import write_json_atomic
from models.molecule_generation.data import load
from models.molecule_generation.fragments import FragmentBatch
from models.molecule_generation.model import MoleculeGenerator
from models.molecule_generation.objective import FragmentData, loss_terms

__all__ = ["main", "rotation_gap"]


def _position_log_probs(model: MoleculeGenerator, batch: FragmentBatch, rotations: torch.Tensor | None
                        ) -> torch.Tensor:
    """``log p (G', K, J)`` at the non-stop fragments' teacher-forced focus and element, on the grid
    rotated by ``rotations`` (``None``: the plain grid)."""
    go = ~batch.stop
    s, h = model.encode(batch)
    coeff = model.position_coefficients(s, h, batch.focus[go], batch.next_element[go])
    grid = model.grid
    if rotations is None:
        harmonics = grid.harmonics.expand(len(coeff), -1, -1)
    else:
        dirs = torch.einsum("gij,nj->gni", rotations[go], grid.directions)
        harmonics = spherical_harmonics(list(range(grid.config.lmax + 1)), dirs)
    f = grid.basis @ (coeff @ harmonics.transpose(1, 2))
    logits = (f + grid.log_radial[:, None] + grid.log_angular).flatten(1)
    return (logits - torch.logsumexp(logits, 1, keepdim=True)).view_as(f)


@torch.no_grad()
def rotation_gap(model: MoleculeGenerator, batch: FragmentBatch, rotations: torch.Tensor,
                 chunk: int = 64) -> dict[str, float]:
    """Mean cross-entropies in both poses and the mean TV distance of the position distributions."""
    rotated = batch.rotated(rotations)
    out = {}
    for name, b in (("original", batch), ("rotated", rotated)):
        for term, value in loss_terms(model, b).items():
            out[f"{term}_{name}"] = float(value.mean())
    tv = []
    for idx in torch.arange(batch.num_graphs).split(chunk):
        sub = _subset(batch, idx)
        p = _position_log_probs(model, sub, None).exp()
        q = _position_log_probs(model, sub.rotated(rotations[idx]), rotations[idx]).exp()
        tv.append(0.5 * (p - q).abs().flatten(1).sum(1))
    out["position_tv"] = float(torch.cat(tv).mean())
    return out


def _subset(batch: FragmentBatch, graphs: torch.Tensor) -> FragmentBatch:
    keep = torch.isin(batch.batch, graphs)
    new_index = torch.cumsum(keep.long(), 0) - 1
    remap = torch.full((batch.num_graphs,), -1, dtype=torch.long)
    remap[graphs] = torch.arange(len(graphs))
    edges = batch.edge_index[:, keep[batch.edge_index[0]]]
    return FragmentBatch(species=batch.species[keep], positions=batch.positions[keep],
                         batch=remap[batch.batch[keep]], edge_index=new_index[edges], num_graphs=len(graphs),
                         focus_target=batch.focus_target[keep], stop=batch.stop[graphs],
                         focus=new_index[batch.focus[graphs]], element_target=batch.element_target[graphs],
                         next_element=batch.next_element[graphs],
                         position_targets=batch.position_targets[graphs],
                         position_mask=batch.position_mask[graphs])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m models.molecule_generation.symmetry",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--runs", type=Path, nargs="+", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--n", type=positive_int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from models.molecule_generation.train import load_generator

    torch.set_num_threads(1)
    molecules, split, _ = load(args.data)
    batch = FragmentData(molecules, split["valid"], length=args.n, seed=10**6).batch(range(args.n))
    rotations = torch.tensor(lnn.random_rotation(np.random.default_rng(args.seed), size=args.n),
                             dtype=torch.float32)
    results = {str(run): rotation_gap(load_generator(run, dtype=torch.float32), batch, rotations)
               for run in args.runs}
    write_json_atomic(args.out, results)
    for run, r in results.items():
        print(f"{run}: " + ", ".join(f"{k} {v:.4g}" for k, v in r.items()))


if __name__ == "__main__":
    run_cli(main)
