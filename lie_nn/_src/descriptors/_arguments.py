"""Argument checks shared by the descriptor builders (torch-free)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lie_nn._src.irrep import Irrep
from lie_nn._src.irreps import Irreps

__all__ = ["as_irreps", "check_int", "check_same_group"]


def as_irreps(value: Any, name: str, owner: str) -> Irreps:
    """``Irreps(value)`` with errors naming the layer ``owner`` and the argument ``name``."""
    if isinstance(value, Irreps):
        return value
    try:
        return Irreps(value)
    except TypeError as err:
        raise TypeError(f"{owner}: {name}: {err}") from None
    except ValueError as err:
        raise ValueError(f"{owner}: {name}: {err}") from None


def check_int(value: Any, name: str, minimum: int, owner: str) -> int:
    """``int(value)`` if ``value`` is an integer ``>= minimum`` (not a bool), else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def check_same_group(irreps: list[Irrep], owner: str) -> None:
    """``TypeError`` naming ``owner`` unless every irrep belongs to the group of the first."""
    for ir in irreps[1:]:
        try:
            irreps[0].check_same_group(ir)
        except TypeError as err:
            raise TypeError(f"{owner}: {err}") from None
