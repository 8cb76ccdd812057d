"""lie_nn: certified representation theory and equivariant networks for reductive Lie groups."""

from lie_nn._src.irrep import CONVENTIONS_VERSION, Irrep, MulIrrep

__all__ = ["CONVENTIONS_VERSION", "Irrep", "MulIrrep"]
__version__ = "0.1.0"
