r"""Descriptor → cuEquivariance adapter (torch-free): lie_nn descriptors as ``cue.SegmentedPolynomial``.

cuEquivariance (``pip install cuequivariance``, numpy only) evaluates *segmented polynomials*: every
operand is a flat buffer cut into segments, and each path of a segmented tensor product contracts one
segment per operand with a dense coefficient tensor.  Any lie_nn descriptor maps onto one such
polynomial, whatever the group, because the coefficients are just numbers:

* :func:`channelwise_to_cue` — ``ChannelwiseTensorProduct``: subscripts ``u,iu,j,ku+ijk``, one path
  per descriptor path with ``c = C`` (the normalised CG copy);
* :func:`tensor_product_to_cue` — ``TensorProduct``: ``uvw,iu,jv,kw+ijk`` with ``c = α_p C``;
* :func:`symmetric_contraction_to_cue` — ``SymmetricContraction``: for every order ``ν`` one product
  ``u,a₁u,…,a_νu,ku+a₁…a_νk`` whose paths pick a weight copy, ``ν`` input blocks and an output irrep.

Operands are in cuEquivariance's ``ir_mul`` layout (block ``mul × ir`` stored as ``(ir.dim, mul)``),
the layout its CUDA kernels want; :func:`ir_mul_permutation` gives the index map from lie_nn's
``mul_ir`` layout.  Weight operands keep lie_nn's weight layout exactly.  cuEquivariance is real-only:
complex coefficients (e.g. SU(3) in lie_nn's complex basis) raise ``ValueError``.

>>> import lie_nn as lnn
>>> d = lnn.channelwise_tensor_product_descriptor([(4, lnn.SO3(1))], [lnn.SO3(1)], [lnn.SO3(0)])
>>> poly = channelwise_to_cue(d)  # doctest: +SKIP
>>> [op.size for op in poly.inputs], [op.size for op in poly.outputs]  # doctest: +SKIP
([4, 12, 3], [4])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lie_nn._src.descriptors.channelwise import ChannelwiseTensorProductDescriptor
from lie_nn._src.descriptors.coefficients import CoefficientBlock
from lie_nn._src.descriptors.symmetric_contraction import SymmetricContractionDescriptor
from lie_nn._src.descriptors.tensor_product import TensorProductDescriptor
from lie_nn._src.irreps import Irreps

__all__ = ["channelwise_to_cue", "ir_mul_permutation", "symmetric_contraction_to_cue",
           "tensor_product_to_cue",
           "to_cue"]

_LETTERS = "abcdefghijklmnopqrst"  # coefficient modes; "u", "v", "w" are multiplicities


def _cue() -> Any:
    try:
        import cuequivariance
    except ImportError as err:
        raise ImportError("the cuEquivariance adapter needs `pip install cuequivariance` "
                          "(or `pip install lie_nn[gpu]`)") from err
    return cuequivariance


def _real(block: CoefficientBlock, owner: str) -> np.ndarray:
    if np.iscomplexobj(block.array):
        raise ValueError(f"{owner}: cuEquivariance supports real coefficients only; this descriptor has "
                         "complex ones (use a real basis of the group, or lie_nn's own torch layer)")
    return block.array


def ir_mul_permutation(irreps: Irreps) -> np.ndarray:
    """Indices ``perm`` with ``x_ir_mul = x_mul_ir[..., perm]``: every block ``(mul, d)`` transposed.

    >>> from lie_nn import Irreps, SO3
    >>> ir_mul_permutation(Irreps([(2, SO3(1))])).tolist()
    [0, 3, 1, 4, 2, 5]
    """
    parts, start = [], 0
    for m in irreps:
        parts.append(start + np.arange(m.mul * m.ir.dim).reshape(m.mul, m.ir.dim).T.reshape(-1))
        start += m.mul * m.ir.dim
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)


def _segments(stp: Any, operand: int, shapes: list[tuple[int, ...]]) -> None:
    for shape in shapes:
        stp.add_segment(operand, shape)


def channelwise_to_cue(d: ChannelwiseTensorProductDescriptor) -> Any:
    """``cue.SegmentedPolynomial`` with inputs ``(weight, x1, x2)`` and output ``z`` of ``d``.

    :math:`z^{p}_{k u} = w_{p u} \\sum_{ab} C^{p}_{abk} x^{(1)}_{a u} x^{(2)}_{b}` — ``ir_mul`` operands,
    weights in lie_nn's path-major layout.
    """
    cue = _cue()
    if any(m.mul != 1 for m in d.irreps_in2):
        raise ValueError("channelwise_to_cue: irreps_in2 must have multiplicity 1 in every block")
    stp = cue.SegmentedTensorProduct.from_subscripts("u,iu,j,ku+ijk")
    _segments(stp, 1, [(m.ir.dim, m.mul) for m in d.irreps_in1])
    _segments(stp, 2, [(m.ir.dim,) for m in d.irreps_in2])
    for p in d.paths:
        c = _real(d.coefficients[p.block], "channelwise_to_cue")
        stp.add_path(None, p.in1, p.in2, None, c=c, dims={"u": p.weight_numel})
    return cue.SegmentedPolynomial.eval_last_operand(stp)


def tensor_product_to_cue(d: TensorProductDescriptor) -> Any:
    """``cue.SegmentedPolynomial`` with inputs ``(weight, x1, x2)`` and output ``z`` of ``d``.

    :math:`z_{k w} = \\sum_p \\alpha_p \\sum_{uvab} W^p_{uvw} C^p_{abk} x^{(1)}_{a u} x^{(2)}_{b v}`.
    """
    cue = _cue()
    stp = cue.SegmentedTensorProduct.from_subscripts("uvw,iu,jv,kw+ijk")
    _segments(stp, 1, [(m.ir.dim, m.mul) for m in d.irreps_in1])
    _segments(stp, 2, [(m.ir.dim, m.mul) for m in d.irreps_in2])
    _segments(stp, 3, [(m.ir.dim, m.mul) for m in d.irreps_out])
    for p in d.paths:
        c = p.normalisation * _real(d.coefficients[p.block], "tensor_product_to_cue")
        stp.add_path(None, p.in1, p.in2, p.out, c=c)
    _pad_weights(stp, d.weight_numel)
    return cue.SegmentedPolynomial.eval_last_operand(stp)


def _pad_weights(stp: Any, numel: int) -> None:
    if stp.operands[0].size != numel:  # paths come in weight order, so sizes agree by construction
        raise AssertionError(f"weight layout mismatch: {stp.operands[0].size} != {numel}")


def symmetric_contraction_to_cue(d: SymmetricContractionDescriptor) -> Any:
    """``cue.SegmentedPolynomial`` with inputs ``(weight, x)`` and output ``B`` of ``d``.

    ``weight`` is lie_nn's ``(K, mul)`` per element, flattened (``K·mul``); ``x`` and ``B`` are ``ir_mul``.
    Order ``ν`` contributes :math:`B_{k u} \\mathrel{+}= \\sum W_{\\kappa u}\\, c_{a_1 \\ldots a_\\nu k}\\,
    x_{a_1 u} \\cdots x_{a_\\nu u}`, one path per weight copy ``κ``, sorted choice of input blocks and
    output irrep, with ``c`` read from the reduced basis ``Ũ`` on sorted monomials.
    """
    cue = _cue()
    if d.correlation > len(_LETTERS) - 1:
        raise ValueError(f"symmetric_contraction_to_cue: correlation {d.correlation} is too large")
    block_of = [(b, a) for b, ir in enumerate(d.channel_irreps) for a in range(ir.dim)]  # channel -> block
    rows = _monomial_rows(d)
    products = []
    for nu in range(1, d.correlation + 1):
        letters = _LETTERS[:nu]
        subscripts = "u," + ",".join(f"{x}u" for x in letters) + f",{_LETTERS[nu]}u+{letters}{_LETTERS[nu]}"
        stp = cue.SegmentedTensorProduct.from_subscripts(subscripts)
        _segments(stp, 0, [(d.mul,)] * d.weight_numel)
        for op in range(1, nu + 1):
            _segments(stp, op, [(ir.dim, d.mul) for ir in d.channel_irreps])
        _segments(stp, nu + 1, [(m.ir.dim, d.mul) for m in d.irreps_out])
        for p in (p for p in d.paths if p.order == nu):
            u = _real(d.coefficients[p.out], "symmetric_contraction_to_cue")
            col0 = p.weight_offset - min(q.weight_offset for q in d.paths if q.out == p.out)
            _add_order_paths(stp, d, nu, p, u, col0, rows, block_of)
        products.append(stp)
    weight = cue.SegmentedOperand(ndim=1, segments=[(d.mul,)] * d.weight_numel)
    x = cue.SegmentedOperand(ndim=2, segments=[(ir.dim, d.mul) for ir in d.channel_irreps])
    out = cue.SegmentedOperand(ndim=2, segments=[(m.ir.dim, d.mul) for m in d.irreps_out])
    operations = [((0,) + (1,) * nu + (2,), stp) for nu, stp in enumerate(products, start=1) if stp.num_paths]
    return cue.SegmentedPolynomial([weight, x], [out], operations)


def _monomial_rows(d: SymmetricContractionDescriptor) -> dict[tuple[int, ...], int]:
    rows, r = {}, 0
    for level in d.levels:
        for t in level.monomials:
            rows[t] = r
            r += 1
    return rows


def _add_order_paths(stp: Any, d: SymmetricContractionDescriptor, nu: int, p: Any, u: np.ndarray, col0: int,
                     rows: dict[tuple[int, ...], int], block_of: list[tuple[int, int]]) -> None:
    """Paths of order ``nu`` for the ``p.num_copies`` weight copies of path ``p``."""
    dims = [ir.dim for ir in d.channel_irreps]
    d_out = d.irreps_out[p.out].ir.dim
    tensors: dict[tuple[int, ...], np.ndarray] = {}
    for t, row in rows.items():
        if len(t) != nu:
            continue
        blocks = tuple(block_of[a][0] for a in t)
        if blocks not in tensors:
            tensors[blocks] = np.zeros((p.num_copies, *[dims[b] for b in blocks], d_out))
        tensors[blocks][(slice(None), *[block_of[a][1] for a in t])] = u[row, col0 : col0 + p.num_copies]
    for blocks, c in tensors.items():
        for k in range(p.num_copies):
            if np.any(c[k] != 0):
                stp.add_path(p.weight_offset + k, *blocks, p.out, c=c[k])


def to_cue(descriptor: Any) -> Any:
    """Dispatch: the ``cue.SegmentedPolynomial`` of any supported lie_nn descriptor."""
    for kind, fn in ((ChannelwiseTensorProductDescriptor, channelwise_to_cue),
                     (TensorProductDescriptor, tensor_product_to_cue),
                     (SymmetricContractionDescriptor, symmetric_contraction_to_cue)):
        if isinstance(descriptor, kind):
            return fn(descriptor)
    raise TypeError(f"to_cue: no cuEquivariance conversion for {type(descriptor).__name__}")

