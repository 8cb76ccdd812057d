"""Lorentz-equivariant top tagging example: Monte Carlo top / QCD jet data (see README.md).

Only numpy is needed to load a generated data set; generating one needs the optional ``pythia8mc``
and ``fastjet`` packages.  The command-line interface is ``python -m models.top_tagging.data``.
"""

from models.top_tagging.dataset import (
    DEFAULT_DATA_DIR,
    DatasetCorruptError,
    DatasetMissingError,
    load_jets,
    load_manifest,
    verify,
)
from models.top_tagging.generate import GenerationConfig

__all__ = [
    "DEFAULT_DATA_DIR",
    "DatasetCorruptError",
    "DatasetMissingError",
    "GenerationConfig",
    "load_jets",
    "load_manifest",
    "verify",
]
