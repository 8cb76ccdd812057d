r"""Framework-free layer descriptors: what an equivariant layer computes, as immutable values.

A descriptor lists the irreps of a layer's operands, typed path records (which input blocks feed
which output block, with which weights, normalisation and coefficient block) and the coefficient
blocks themselves (float64 / complex128 numpy arrays, built from the certified Clebsch–Gordan
coefficients and reduced tensor products).  Descriptors import no deep-learning framework: the
torch layers of :mod:`lie_nn.nn` consume them (``SymmetricContraction.from_descriptor(d)``), and any
other backend (a GPU kernel library, JAX, a voxel convolution) can consume the same value.

Every builder is cached on its (hashable) arguments, so building a layer twice reuses the
descriptor.  Features use lie_nn's mul-major layout: block ``mul × ir`` is a row-major
``(mul, ir.dim)`` matrix.

>>> import lie_nn as lnn
>>> irreps_in = [(8, lnn.SO3(0)), (8, lnn.SO3(1))]
>>> d = lnn.symmetric_contraction_descriptor(irreps_in, [lnn.SO3(0)], 2)
>>> d.correlation, d.weight_numel, [(p.order, p.num_copies) for p in d.paths]
(2, 3, [(1, 1), (2, 2)])
>>> d == lnn.symmetric_contraction_descriptor(irreps_in, [lnn.SO3(0)], 2), hash(d) == hash(d)
(True, True)
"""

from lie_nn._src.cache import on_clear_memory
from lie_nn._src.descriptors.channelwise import (
    ChannelwisePath,
    ChannelwiseTensorProductDescriptor,
    _channelwise_descriptor,
    channelwise_tensor_product_descriptor,
)
from lie_nn._src.descriptors.coefficients import CoefficientBlock, _normalised_cg, normalised_cg
from lie_nn._src.descriptors.cuequivariance import to_cue
from lie_nn._src.descriptors.linear import (
    BiasSlot,
    LinearDescriptor,
    LinearPath,
    _linear_descriptor,
    linear_descriptor,
)
from lie_nn._src.descriptors.symmetric_contraction import (
    MonomialLevel,
    SymmetricContractionDescriptor,
    SymmetricContractionPath,
    _symmetric_contraction_descriptor,
    symmetric_contraction_descriptor,
)
from lie_nn._src.descriptors.tensor_product import (
    TensorProductDescriptor,
    TensorProductPath,
    _tensor_product_descriptor,
    tensor_product_descriptor,
)

__all__ = [
    "BiasSlot",
    "ChannelwisePath",
    "ChannelwiseTensorProductDescriptor",
    "CoefficientBlock",
    "LinearDescriptor",
    "LinearPath",
    "MonomialLevel",
    "SymmetricContractionDescriptor",
    "SymmetricContractionPath",
    "TensorProductDescriptor",
    "TensorProductPath",
    "channelwise_tensor_product_descriptor",
    "clear_descriptor_cache",
    "linear_descriptor",
    "normalised_cg",
    "symmetric_contraction_descriptor",
    "tensor_product_descriptor",
    "to_cue",
]


@on_clear_memory
def clear_descriptor_cache() -> None:
    """Forget every cached descriptor; ``lie_nn.clear_cache()`` calls this too."""
    for fn in (_channelwise_descriptor, _normalised_cg, _linear_descriptor, _symmetric_contraction_descriptor,
               _tensor_product_descriptor):
        fn.cache_clear()
