"""Torch equivariant layers for any group implementing the Irrep protocol.

Features are tensors ``(..., dim)`` in the mul-major layout described in :mod:`lie_nn.nn._layout`
and docs/nn.md.  Every layer is written once against the certified Clebsch–Gordan coefficients, so
SO(3), O(3), SU(2), SU(N) and the Lorentz group share one code path.
"""

from lie_nn.nn._cuequivariance import to_cuequivariance
from lie_nn.nn._graph import batch_graphs, edge_vectors, knn_graph, pool, radius_graph
from lie_nn.nn._interaction import MACEInteraction, MACELayer
from lie_nn.nn._layout import block_view, irreps_to_tensor_shape
from lie_nn.nn._linear import Linear
from lie_nn.nn._nonlinearity import Gate, NormActivation
from lie_nn.nn._radial import BesselBasis, PolynomialCutoff, RadialMLP
from lie_nn.nn._scatter import scatter_sum
from lie_nn.nn._spherical_harmonics import spherical_harmonics
from lie_nn.nn._symmetric_contraction import SymmetricContraction
from lie_nn.nn._tensor_product import ChannelwiseTensorProduct, TensorProduct

# voxel fields (batch, dim, D, H, W): steerable 3D convolution, pointwise layers, rotations
from lie_nn.nn._voxel_convolution import VoxelConvolution
from lie_nn.nn._voxel_layers import VoxelBatchNorm, VoxelGate, VoxelPool
from lie_nn.nn._voxel_rotation import field_rotation_matrix, rotate_field

__all__ = [
    "BesselBasis",
    "ChannelwiseTensorProduct",
    "Gate",
    "Linear",
    "MACEInteraction",
    "MACELayer",
    "NormActivation",
    "PolynomialCutoff",
    "RadialMLP",
    "SymmetricContraction",
    "TensorProduct",
    "VoxelBatchNorm",
    "VoxelConvolution",
    "VoxelGate",
    "VoxelPool",
    "batch_graphs",
    "block_view",
    "edge_vectors",
    "field_rotation_matrix",
    "irreps_to_tensor_shape",
    "knn_graph",
    "pool",
    "radius_graph",
    "rotate_field",
    "scatter_sum",
    "spherical_harmonics",
    "to_cuequivariance",
]
