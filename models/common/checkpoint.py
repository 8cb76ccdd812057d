"""Checkpoints that load with ``torch.load(..., weights_only=True)``: tensors and plain Python values only.

A training checkpoint is a dict with ``format`` (:data:`CHECKPOINT_FORMAT`), the state dicts of model,
optimiser, schedule and EMA, the position in training (epoch, batch, step), the settings it was made
with, the random-number-generator states and the metrics history.  Files are written atomically
(temporary file + ``os.replace``); nothing is pickled, so a checkpoint from elsewhere cannot run code.
"""

from __future__ import annotations

import os
import pickle
import random
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.common.io import atomic_path

__all__ = ["CHECKPOINT_FORMAT", "CheckpointError", "load_checkpoint", "restore_rng_states", "rng_states",
           "save_state", "settings_differences"]

CHECKPOINT_FORMAT = "models.common.checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint file is unreadable, truncated, of another format or from other settings."""


def save_state(path: str | os.PathLike[str], obj: Any) -> Path:
    """``torch.save(obj)`` to ``path`` atomically (``obj``: tensors, numbers, strings, lists, dicts)."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)


def load_checkpoint(path: str | os.PathLike[str], *, expect_format: str | None = CHECKPOINT_FORMAT,
                    map_location: str | torch.device = "cpu") -> Any:
    """Load ``path`` with ``weights_only=True``; :class:`CheckpointError` naming the file if it is
    missing, truncated or corrupt, or (with ``expect_format``) not a training checkpoint of this format.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} not found")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError, zipfile.BadZipFile) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"cannot read checkpoint {path} (truncated or corrupt?): {first}") from err
    if expect_format is not None:
        found = state.get("format") if isinstance(state, dict) else None
        if found != expect_format:
            raise CheckpointError(f"{path} is not a {expect_format} checkpoint (format {found!r}; an older "
                                  "version of the trainer?); start the run afresh with --force")
    return state


def rng_states() -> dict[str, Any]:
    """The states of torch's (CPU and CUDA), numpy's global and Python's random generators."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {"torch": torch.get_rng_state(),
             "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "gauss": float(gauss)},
             "python": random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_states(state: Mapping[str, Any]) -> None:
    """Inverse of :func:`rng_states`.

    >>> saved = rng_states()
    >>> a = (torch.rand(2), np.random.rand(), random.random())
    >>> restore_rng_states(saved)
    >>> b = (torch.rand(2), np.random.rand(), random.random())
    >>> bool(torch.equal(a[0], b[0])) and a[1:] == b[1:]
    True
    """
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["gauss"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


_ABSENT = _Absent()


def _plain(value: Any) -> Any:
    """Tuples compare equal to lists (JSON and checkpoints store tuples as lists)."""
    return [_plain(v) for v in value] if isinstance(value, list | tuple) else value


def settings_differences(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Human-readable ``key: old -> new`` for every (nested) entry that differs.

    >>> settings_differences({"lr": 0.1, "model": {"k": 8}}, {"lr": 0.1, "model": {"k": 4}, "x": 1})
    ['model.k: 8 -> 4', 'x: <absent> -> 1']
    """
    out = []
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key, _ABSENT), new.get(key, _ABSENT)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            out += settings_differences(a, b, f"{prefix}{key}.")
        elif _plain(a) != _plain(b):
            out.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return out
