r"""The peer: mace-torch (the reference MACE) trained on the same split with the same CPU-time budget.

mace-torch pins e3nn 0.4.4, so it lives in its own virtual environment::

    python3 -m venv /work/venvs/mace && /work/venvs/mace/bin/pip install torch==2.13.0 mace-torch

``python -m models.mace_potential.peer --train-set aspirin_train --out runs/peer_aspirin --cpu-budget 4``

1. writes ``train.xyz`` / ``valid.xyz``: exactly the frames our trainer uses
   (:func:`~models.mace_potential.dataset.split_train_valid` with the same seed and fraction);
2. runs ``mace_run_train`` with the settings of our documented run (channels, ``max_ell``,
   correlation, ``r_max``, Bessel functions, radial MLP, batch size, learning rate, EMA, loss
   weights, RMS-force scaling, least-squares E0s), stopped when its CPU-time budget is used up
   (:mod:`models.mace_potential.budget`, the same rule as ``train.py --cpu-budget``);
3. runs it again with ``--restart_latest`` and ``--max_num_epochs`` = the index ``N`` of the newest
   checkpoint (``*_epoch-N.pt``), which loads it and writes ``peer.model`` without training (not
   counted in the budget).  mace-torch resumes *at* epoch ``N``, so ``--max_num_epochs N+1`` would
   train one more epoch outside the budget (the runs documented before 2026-12-02 did); the export
   log is checked for training lines.

CPU and wall-clock time and peak memory (``/usr/bin/time``) of the training go to ``peer.json``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from models.common.cli import run_cli
from models.common.io import atomic_path, write_json_atomic
from models.mace_potential.budget import run_with_cpu_budget
from models.mace_potential.data import DEFAULT_DATA_DIR, load_set
from models.mace_potential.dataset import split_train_valid

__all__ = ["mace_command", "trained_epochs_in_log", "write_split"]

DEFAULT_MACE_BIN = Path("/work/venvs/mace/bin")


def write_split(data: Path, train_set: str, out: Path, valid_fraction: float, seed: int) -> tuple[int, int]:
    """Write ``out/train.xyz`` and ``out/valid.xyz`` (our trainer's split); returns their sizes."""
    import ase.io

    frames = load_set(data, train_set)
    train_idx, valid_idx = split_train_valid(len(frames), valid_fraction, seed)
    for name, idx in (("train", train_idx), ("valid", valid_idx)):
        with atomic_path(out / f"{name}.xyz") as tmp:
            ase.io.write(tmp, [frames[i] for i in idx], format="extxyz")
    return len(train_idx), len(valid_idx)


def mace_command(mace_bin: Path, out: Path, args: argparse.Namespace, max_epochs: int) -> list[str]:
    """The ``mace_run_train`` command line matching our model and training settings."""
    irreps = "+".join(f"{args.channels}x{ell}{'eo'[ell % 2]}" for ell in range(args.hidden_ell + 1))
    return [
        str(mace_bin / "mace_run_train"), "--name", "peer", "--work_dir", str(out), "--seed", str(args.seed),
        "--train_file", str(out / "train.xyz"), "--valid_file", str(out / "valid.xyz"),
        "--energy_key", "REF_energy", "--forces_key", "REF_forces", "--E0s", "average",
        "--model", "MACE", "--hidden_irreps", irreps, "--r_max", str(args.r_max),
        "--max_ell", str(args.max_ell),
        "--correlation", str(args.correlation), "--num_interactions", "2", "--num_radial_basis", "8",
        "--num_cutoff_basis", "5", "--radial_MLP", "[64, 64, 64]", "--scaling", "rms_forces_scaling",
        "--loss", "weighted", "--energy_weight", "1.0", "--forces_weight", "100.0",
        "--batch_size", str(args.batch_size), "--valid_batch_size", "10", "--lr", str(args.lr),
        "--ema", "--ema_decay", "0.99", "--max_num_epochs", str(max_epochs), "--default_dtype", args.dtype,
        "--device", "cpu", "--error_table", "PerAtomMAE", "--plot", "False", "--save_cpu",
    ]


def _epochs_done(out: Path) -> int:
    """Epochs of the newest mace-torch checkpoint (``*_epoch-N.pt`` holds epoch N, counted from 0)."""
    found = [int(m.group(1)) for p in (out / "checkpoints").glob("*.pt")
             if (m := re.search(r"epoch-(\d+)", p.name))]
    if not found:
        raise RuntimeError(f"mace-torch wrote no checkpoint in {out / 'checkpoints'} within the budget")
    return max(found) + 1


def trained_epochs_in_log(log: Path) -> list[int]:
    """Epoch numbers that a mace-torch log reports as trained (``Epoch N: ... loss=``; not ``Initial``).

    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "log"
    >>> _ = f.write_text("x INFO: Initial: head: Default, loss=0.1\\n"
    ...                  "x INFO: Epoch 2: head: Default, loss=0.2\\n")
    >>> trained_epochs_in_log(f)
    [2]
    """
    text = log.read_text(errors="replace")
    return [int(m.group(1)) for m in re.finditer(r"INFO: Epoch (\d+): .*loss=", text)]


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m models.mace_potential.peer",
                                description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    p.add_argument("--train-set", default="aspirin_train")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--mace-bin", type=Path, default=DEFAULT_MACE_BIN, help="bin/ of the mace-torch venv")
    p.add_argument("--cpu-budget", type=float, default=5.0, help="CPU minutes of training (see budget.py)")
    p.add_argument("--max-epochs", type=int, default=1000)
    p.add_argument("--valid-fraction", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--hidden-ell", type=int, default=1)
    p.add_argument("--max-ell", type=int, default=3)
    p.add_argument("--correlation", type=int, default=3)
    p.add_argument("--r-max", type=float, default=5.0)
    p.add_argument("--batch-size", type=int, default=5)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = p.parse_args(argv)
    if not (args.mace_bin / "mace_run_train").is_file():
        raise FileNotFoundError(f"{args.mace_bin / 'mace_run_train'} not found: install mace-torch in its "
                                "own venv (see python -m models.mace_potential.peer --help)")
    args.out.mkdir(parents=True, exist_ok=True)
    n_train, n_valid = write_split(args.data, args.train_set, args.out, args.valid_fraction, args.seed)
    cmd = mace_command(args.mace_bin, args.out, args, args.max_epochs)
    print(" ".join(cmd), flush=True)
    result = run_with_cpu_budget(cmd, args.out / "train.log", 60.0 * args.cpu_budget)
    if not result["stopped_by_budget"] and result["returncode"] != 0:
        raise RuntimeError(f"mace_run_train failed (exit {result['returncode']}); "
                           f"see {args.out / 'train.log'}")
    epochs = _epochs_done(args.out) if result["stopped_by_budget"] else args.max_epochs
    if result["stopped_by_budget"]:  # load the best checkpoint and export peer.model (not counted)
        # mace-torch resumes at the newest checkpoint's epoch index (epochs - 1): that as the
        # maximum means no further training, only the export
        restart = [*mace_command(args.mace_bin, args.out, args, epochs - 1), "--restart_latest"]
        export = run_with_cpu_budget(restart, args.out / "export.log", None)
        if export["returncode"] != 0:
            raise RuntimeError(f"mace-torch export failed; see {args.out / 'export.log'}")
        if trained_epochs_in_log(args.out / "export.log"):
            raise RuntimeError(f"the mace-torch export trained outside the budget; see "
                               f"{args.out / 'export.log'}")
    write_json_atomic(args.out / "peer.json", {
        "command": cmd, "train_set": args.train_set, "n_train": n_train, "n_valid": n_valid,
        **result, "checkpoint_epochs": epochs, "budget_cpu_min": args.cpu_budget})
    print(f"peer: model {args.out / 'peer.model'}; {result}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_cli(main)
