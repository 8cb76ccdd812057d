"""lie_nn: certified representation theory and equivariant networks for reductive Lie groups.

The public namespace re-exports the algebra core:

* irreps: :class:`SU2`, :class:`SO3`, :class:`O3`, :class:`SUN`, :class:`SO13` (Lorentz; its real
  4-vector form from :func:`four_vector_generators`),
  :class:`DirectProduct`, :class:`GenericRep`; reducible representations :class:`Irreps`, built
  from anything liberal (``Irreps("8x0e + 4x1o")``, ``Irreps("2xSU3(2,1,0) + SU3(0,0,0)")``,
  pairs, irreps) and accepted by every API; ``ir1 * ir2`` is an ``Irreps``;
* :func:`clebsch_gordan` (float64, cached, certified) and :func:`clebsch_gordan_exact` (sympy);
* :func:`change_of_basis`, :func:`decompose`, :func:`intertwiners`; :func:`decompose_generators`
  (irreducible components of a representation given only by generators, certified);
* reduced tensor products :func:`reduced_tensor_product`,
  :func:`reduced_symmetric_tensor_product`, :func:`reduced_antisymmetric_tensor_product`;
* cache control :func:`clear_cache`, :func:`cache_info`, :func:`cache_dir`;
* rotations: :func:`random_rotation`, conversions between matrices, quaternions, axis-angle and ZYZ
  Euler angles, :func:`wigner_D` for SO3 / O3 / SU2 irreps, :func:`xyz_to_l1_basis`.

>>> import lie_nn as lnn
>>> [str(term) for term in lnn.SO3(1) * lnn.SO3(1)]
['1xSO3(0)', '1xSO3(1)', '1xSO3(2)']
>>> lnn.O3(1, -1) * lnn.O3(1, -1), lnn.Irreps("2x0e + 1o").dim
(Irreps('1x0e+1x1e+1x2e'), 5)
>>> lnn.clebsch_gordan(lnn.SUN((2, 1, 0)), lnn.SUN((2, 1, 0)), lnn.SUN((2, 1, 0))).shape
(2, 8, 8, 8)
"""

from lie_nn._src.cache import cache_dir, cache_info, clear_cache
from lie_nn._src.cg import certify_clebsch_gordan, clebsch_gordan, clebsch_gordan_exact
from lie_nn._src.change_basis import change_of_basis, decompose
from lie_nn._src.decomposition import DecompositionError, decompose_generators
from lie_nn._src.descriptors import *  # noqa: F403  (layer descriptors; names in descriptors.__all__)
from lie_nn._src.descriptors import __all__ as _descriptor_names
from lie_nn._src.groups.generic import GenericRep
from lie_nn._src.groups.lorentz import SO13, four_vector_generators
from lie_nn._src.groups.o3 import O3
from lie_nn._src.groups.product import DirectProduct
from lie_nn._src.groups.so3 import SO3
from lie_nn._src.groups.su2 import SU2
from lie_nn._src.groups.sun import SUN
from lie_nn._src.intertwiner import intertwiners
from lie_nn._src.irrep import CONVENTIONS_VERSION, Irrep, MulIrrep
from lie_nn._src.irreps import Irreps
from lie_nn._src.parse import irrep_from_string
from lie_nn._src.reduced_tensor_product import (
    ReducedTensorProduct,
    reduced_antisymmetric_tensor_product,
    reduced_symmetric_tensor_product,
    reduced_tensor_product,
)
from lie_nn._src.rotations import (
    axis_angle_to_matrix,
    euler_to_matrix,
    matrix_to_axis_angle,
    matrix_to_euler,
    matrix_to_quaternion,
    quaternion_to_matrix,
    random_quaternion,
    random_rotation,
    wigner_D,
    xyz_to_l1_basis,
)

__all__ = [
    "CONVENTIONS_VERSION",
    "DecompositionError",
    "DirectProduct",
    "GenericRep",
    "Irrep",
    "Irreps",
    "MulIrrep",
    "O3",
    "ReducedTensorProduct",
    "SO13",
    "SO3",
    "SU2",
    "SUN",
    "axis_angle_to_matrix",
    "cache_dir",
    "cache_info",
    "certify_clebsch_gordan",
    "change_of_basis",
    "clear_cache",
    "clebsch_gordan",
    "clebsch_gordan_exact",
    "decompose",
    "decompose_generators",
    "euler_to_matrix",
    "four_vector_generators",
    "intertwiners",
    "irrep_from_string",
    "matrix_to_axis_angle",
    "matrix_to_euler",
    "matrix_to_quaternion",
    "quaternion_to_matrix",
    "random_quaternion",
    "random_rotation",
    "reduced_antisymmetric_tensor_product",
    "reduced_symmetric_tensor_product",
    "reduced_tensor_product",
    "wigner_D",
    "xyz_to_l1_basis",
    *_descriptor_names,
]
__version__ = "0.1.0"
