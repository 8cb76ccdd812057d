r"""Command line for users: encode a PDB to a latent file, decode it back, interpolate two PDBs.

::

    python -m models.protein_autoencoder.cli encode MODEL.pt protein.pdb --out latent.npz [--chain A]
    python -m models.protein_autoencoder.cli decode MODEL.pt latent.npz --out reconstructed.pdb
    python -m models.protein_autoencoder.cli interpolate MODEL.pt open.pdb closed.pdb --steps 9 --out path.pdb

``interpolate`` superposes the second structure on the first by its Cα atoms (Kabsch) first.

The latent file (``.npz``, read with ``allow_pickle=False``) holds ``pos (n, 3)`` Å, ``features (n, dim)``
(the model's latent irreps, lie_nn's mul-major layout), ``length`` and the sha256 of the model file it
belongs to; decoding with another model is refused.  ``encode`` prints the reconstruction RMSD.
Input problems (empty file, several chains without ``--chain``, non-standard residues, missing heavy
atoms) stop with one line naming the problem (:mod:`~models.protein_autoencoder.structure`); what was
skipped (waters, hydrogens, OXT, ...) is printed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from models.common.cli import run_cli
from models.common.io import DataError, atomic_path, sha256_file
from models.protein_autoencoder.geometry import CA, heavy_atom_rmsd, superpose
from models.protein_autoencoder.interpolate import chain_tensors, latent_path
from models.protein_autoencoder.model import Latent
from models.protein_autoencoder.structure import read_chain, write_pdb
from models.protein_autoencoder.train import load_model

__all__ = ["decode_file", "encode_file", "main"]


def _read(path: Path, chain: str | None):
    c = read_chain(path, chain=chain)
    for note in c.notes:
        print(f"note: {path}: {note}")
    return c


@torch.no_grad()
def encode_file(model_path: Path, pdb: Path, out: Path, chain: str | None = None) -> float:
    """Write the latent of ``pdb`` to ``out``; returns the heavy-atom reconstruction RMSD (Å)."""
    model, _ = load_model(model_path)
    c = _read(pdb, chain)
    dtype = next(model.parameters()).dtype
    types, coords, mask = chain_tensors(c, dtype)
    z = model.encode(types, coords, mask)
    pred, _ = model.decode(z)
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        np.savez(
            fh,
            pos=z.pos[0].double().numpy(),
            features=z.features[0].double().numpy(),
            length=np.array(z.length),
            model_sha256=np.array(sha256_file(model_path)),
        )
    return heavy_atom_rmsd(pred.double(), coords.double(), mask, types)


@torch.no_grad()
def decode_file(model_path: Path, latent: Path, out: Path) -> Path:
    """Decode a latent file to a PDB (residue types from the decoded logits)."""
    model, _ = load_model(model_path)
    try:
        with np.load(latent, allow_pickle=False) as f:
            pos, feats, length, sha = f["pos"], f["features"], int(f["length"]), str(f["model_sha256"])
    except (KeyError, ValueError, OSError):
        raise DataError(f"{latent} is not a latent .npz file written by 'encode'") from None
    if sha != sha256_file(model_path):
        raise DataError(f"{latent} was encoded with another model (sha256 {sha[:12]}...), not {model_path}")
    dtype = next(model.parameters()).dtype
    z = Latent(
        torch.as_tensor(pos, dtype=dtype)[None],
        torch.as_tensor(feats, dtype=dtype)[None],
        torch.ones(1, len(pos), dtype=torch.bool),
        length,
    )
    coords, logits = model.decode(z)
    types = logits[0].argmax(-1).numpy()
    from models.protein_autoencoder.residues import atom_mask

    return write_pdb(out, [(types, coords[0].double().numpy(), atom_mask()[types])])


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="python -m models.protein_autoencoder.cli", description=__doc__.split("\n")[0]
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("encode", help="PDB -> latent .npz")
    e.add_argument("model", type=Path)
    e.add_argument("pdb", type=Path)
    e.add_argument("--chain", default=None)
    e.add_argument("--out", type=Path, required=True)
    d = sub.add_parser("decode", help="latent .npz -> PDB")
    d.add_argument("model", type=Path)
    d.add_argument("latent", type=Path)
    d.add_argument("--out", type=Path, required=True)
    i = sub.add_parser("interpolate", help="two PDBs of one protein -> multi-model PDB of the latent path")
    i.add_argument("model", type=Path)
    i.add_argument("start", type=Path)
    i.add_argument("end", type=Path)
    i.add_argument("--chain", default=None)
    i.add_argument("--steps", type=int, default=9)
    i.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    if not args.model.is_file():
        raise FileNotFoundError(f"no such model file: {args.model}")
    if args.cmd == "encode":
        rmsd = encode_file(args.model, args.pdb, args.out, args.chain)
        print(f"wrote {args.out}; heavy-atom reconstruction RMSD {rmsd:.2f} Å")
    elif args.cmd == "decode":
        print(f"wrote {decode_file(args.model, args.latent, args.out)}")
    else:
        a, b = _read(args.start, args.chain), _read(args.end, args.chain)
        if len(a) != len(b):
            raise ValueError(f"{args.start} has {len(a)} residues and {args.end} {len(b)}: not one protein")
        b.coords = superpose(b.coords, b.coords[:, CA], a.coords[:, CA]) * b.mask[..., None]
        print(f"note: {args.end} superposed on {args.start} by its Cα atoms")
        path = latent_path(load_model(args.model)[0], a, b, args.steps)
        print(f"wrote {write_pdb(args.out, [(a.types, x, a.mask) for x in path])} ({args.steps} models)")
    return 0


if __name__ == "__main__":
    run_cli(main)
