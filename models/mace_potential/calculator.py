r"""ASE calculator for a trained lie_nn MACE potential: energy, forces and (periodic cells) stress.

>>> from ase.build import molecule                                  # doctest: +SKIP
>>> atoms = molecule("CH3CH2OH")                                      # doctest: +SKIP
>>> atoms.calc = LieMACECalculator("runs/mace_ethanol/model.pt")      # doctest: +SKIP
>>> atoms.get_potential_energy(), atoms.get_forces().shape            # doctest: +SKIP

The model file (``model.pt``, written by :mod:`models.mace_potential.train`) is read with
``torch.load(..., weights_only=True)``: a dict of the format tag, the model configuration and the
weights -- nothing is unpickled.  The stress is returned in ASE's Voigt order
``(xx, yy, zz, yz, xz, xy)`` in eV/Å³.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from ase.calculators.calculator import Calculator, all_changes

from models.common.checkpoint import CheckpointError, load_checkpoint
from models.mace_potential.graphs import atoms_graph
from models.mace_potential.model import MACEConfig, MACEPotential

__all__ = ["LieMACECalculator", "load_model"]

MODEL_FORMAT = "lie_nn.mace_potential/2"
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def load_model(path: str | os.PathLike[str], *, dtype: str | torch.dtype | None = None,
               device: str = "cpu") -> MACEPotential:
    """The :class:`MACEPotential` of a ``model.pt`` (in its training dtype unless ``dtype`` is given).

    Raises :class:`FileNotFoundError` for a missing file and
    :class:`~models.common.checkpoint.CheckpointError` for a file that is not a lie_nn MACE model
    (e.g. a training ``checkpoint.pt`` or a model of another project).
    """
    path = Path(path)
    state = load_checkpoint(path, expect_format=None, map_location="cpu")
    if not isinstance(state, dict) or state.get("format") != MODEL_FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(f"{path} is not a lie_nn MACE potential (format {found!r}, expected "
                              f"{MODEL_FORMAT!r}); pass the model.pt of a models.mace_potential.train run")
    try:
        config = MACEConfig.from_dict(state["config"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: invalid model configuration ({err})") from err
    if isinstance(dtype, str):
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
        dtype = DTYPES[dtype]
    dtype = dtype or DTYPES[state.get("dtype", "float32")]
    model = MACEPotential(config, dtype=dtype)
    try:
        model.load_state_dict(state["state_dict"])
    except (KeyError, RuntimeError) as err:
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(f"{path}: the weights do not fit its configuration ({first})") from err
    return model.to(device=device, dtype=dtype).eval()


class LieMACECalculator(Calculator):
    """ASE calculator of a lie_nn MACE potential (``model_path``: a ``model.pt``).

    ``device`` ``"cpu"`` or ``"cuda"``; ``dtype`` ``"float64"`` (default, for MD and finite-difference
    checks) or ``"float32"``.  Implements ``energy``, ``free_energy``, ``forces`` and, when every
    direction is periodic, ``stress``.
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, model_path: str | os.PathLike[str], device: str = "cpu", dtype: str = "float64",
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.device, self.dtype = torch.device(device), DTYPES.get(dtype)
        if self.dtype is None:
            raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
        self.model = load_model(model_path, dtype=self.dtype, device=device)
        self.model_path = Path(model_path)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        with_stress = "stress" in properties
        if with_stress and not np.all(atoms.pbc):
            raise ValueError("LieMACECalculator: the stress needs a cell periodic in all three directions")
        graph = atoms_graph(atoms, self.model.config).to(self.device, self.dtype)
        out = self.model(graph, stress=with_stress)
        energy = float(out["energy"].sum())
        self.results = {"energy": energy, "free_energy": energy,
                        "forces": out["forces"].detach().cpu().double().numpy()}
        if with_stress:
            s = out["stress"][0].detach().cpu().double().numpy()
            self.results["stress"] = np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])
