"""Layer descriptors: torch-free, immutable, cached values that the torch layers (and numpy) execute."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import lie_nn as lnn
import lie_nn.nn as lnn_nn
from lie_nn.nn import ChannelwiseTensorProduct, Linear, SymmetricContraction, TensorProduct

ROOT = Path(__file__).resolve().parents[2]
IN1 = [(3, lnn.O3(0, 1)), (1, lnn.O3(0, -1)), (2, lnn.O3(1, -1)), (1, lnn.O3(2, 1))]
IN2 = [lnn.O3(0, 1), lnn.O3(1, -1), lnn.O3(2, 1)]
OUT = [(2, lnn.O3(0, 1)), (2, lnn.O3(0, -1)), (3, lnn.O3(1, -1)), (1, lnn.O3(1, 1)), (2, lnn.O3(2, 1))]
SC_IN = [(2, lnn.SU2(0)), (2, lnn.SU2("1/2")), (2, lnn.SU2(1))]
SC_OUT = [lnn.SU2(0), lnn.SU2(1)]


def all_descriptors() -> list:
    return [lnn.linear_descriptor(IN1, OUT, bias=True), lnn.tensor_product_descriptor(IN1, IN2, OUT),
            lnn.channelwise_tensor_product_descriptor(IN1, IN2),
            lnn.symmetric_contraction_descriptor(SC_IN, SC_OUT, 3)]


def test_descriptors_build_without_torch() -> None:
    code = textwrap.dedent("""
        import sys
        sys.modules["torch"] = None  # any import of torch now raises ImportError
        import lie_nn as lnn
        d = lnn.symmetric_contraction_descriptor([(4, lnn.SO3(0)), (4, lnn.SO3(1))], [lnn.SO3(0)], 3)
        t = lnn.tensor_product_descriptor([(2, lnn.SU2("1/2"))], [lnn.SU2(1)], [(1, lnn.SU2("1/2"))])
        c = lnn.channelwise_tensor_product_descriptor([(2, lnn.O3(1, -1))], [lnn.O3(1, -1)])
        lin = lnn.linear_descriptor([(2, lnn.SO3(1))], [(3, lnn.SO3(1))])
        assert not any(name == "torch" or name.startswith("torch.") for name, m in sys.modules.items()
                       if m is not None)
        print(d.weight_numel, t.weight_numel, c.weight_numel, lin.weight_numel)
    """)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["5", "2", "6", "6"]


@pytest.mark.parametrize("index", range(4))
def test_descriptors_are_cached_hashable_immutable_values(index: int) -> None:
    d = all_descriptors()[index]
    assert all_descriptors()[index] is d  # cached
    lnn.clear_descriptor_cache()
    rebuilt = all_descriptors()[index]
    assert rebuilt is not d and rebuilt == d and hash(rebuilt) == hash(d)
    assert {d: 1}[rebuilt] == 1
    assert type(d).__name__ in repr(d) and "\n" not in repr(d)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.paths = ()  # type: ignore[misc]
    for block in getattr(d, "coefficients", ()):
        assert block.dtype in (np.float64, np.complex128) and not block.array.flags.writeable
    others = [x for k, x in enumerate(all_descriptors()) if k != index]
    assert all(x != d for x in others)


def test_descriptor_differs_with_its_arguments() -> None:
    a = lnn.symmetric_contraction_descriptor(SC_IN, SC_OUT, 2)
    assert a != lnn.symmetric_contraction_descriptor(SC_IN, SC_OUT, 3)
    assert a != lnn.symmetric_contraction_descriptor(SC_IN, SC_OUT[:1], 2)
    assert lnn.linear_descriptor(IN1, OUT) != lnn.linear_descriptor(IN1, OUT, bias=True)
    blocks = lnn.tensor_product_descriptor(IN1, IN2, OUT).coefficients
    assert len(set(blocks)) == len(blocks)  # every CG copy stored once, referenced by index


def test_coefficient_block_value_semantics() -> None:
    a = lnn.CoefficientBlock(np.arange(6.0).reshape(2, 3))
    assert a == lnn.CoefficientBlock(np.arange(6).reshape(2, 3)) and a.dtype == np.float64
    assert a != lnn.CoefficientBlock(np.arange(6.0).reshape(3, 2))
    assert lnn.CoefficientBlock(np.eye(2) * 1j).is_complex
    with pytest.raises(ValueError, match="finite"):
        lnn.CoefficientBlock(np.array([np.nan]))
    with pytest.raises(TypeError, match="numeric"):
        lnn.CoefficientBlock(np.array(["a"]))


def _same_output(make, call) -> None:
    torch.manual_seed(3)
    a = make(False)
    torch.manual_seed(3)
    b = make(True)
    assert type(a) is type(b) and a.descriptor == b.descriptor
    torch.testing.assert_close(call(a), call(b), rtol=0, atol=0)


def test_from_descriptor_equals_constructor() -> None:
    x1 = torch.randn(5, sum(m * ir.dim for m, ir in IN1), dtype=torch.float64)
    x2 = torch.randn(5, sum(ir.dim for ir in IN2), dtype=torch.float64)
    kw = {"dtype": torch.float64}
    _same_output(lambda f: Linear.from_descriptor(lnn.linear_descriptor(IN1, OUT, bias=True), **kw) if f
                 else Linear(IN1, OUT, bias=True, **kw), lambda m: m(x1))
    _same_output(lambda f: TensorProduct.from_descriptor(lnn.tensor_product_descriptor(IN1, IN2, OUT), **kw)
                 if f else TensorProduct(IN1, IN2, OUT, **kw), lambda m: m(x1, x2))
    cw = lnn.channelwise_tensor_product_descriptor(IN1, IN2)
    _same_output(lambda f: ChannelwiseTensorProduct.from_descriptor(cw, **kw) if f
                 else ChannelwiseTensorProduct(IN1, IN2, **kw), lambda m: m(x1, x2))
    sc = lnn.symmetric_contraction_descriptor(SC_IN, SC_OUT, 3)
    xs = torch.randn(5, 12, dtype=torch.complex128)
    y = torch.tensor([0, 1, 1, 0, 1])
    _same_output(lambda f: SymmetricContraction.from_descriptor(sc, 2, **kw) if f
                 else SymmetricContraction(SC_IN, SC_OUT, 3, 2, **kw), lambda m: m(xs, y))
    with pytest.raises(TypeError, match="SymmetricContractionDescriptor"):
        SymmetricContraction.from_descriptor(cw)


# ---------------------------------------------------------------- a second backend: plain numpy
def _blocks(irreps: lnn.Irreps, x: np.ndarray) -> list[np.ndarray]:
    out, start = [], 0
    for m in irreps:
        out.append(x[:, start : start + m.dim].reshape(len(x), m.mul, m.ir.dim))
        start += m.dim
    return out


def numpy_tensor_product(d: lnn.TensorProductDescriptor, x1, x2, w) -> np.ndarray:
    """The fully connected tensor product evaluated from the descriptor's records alone."""
    a, b = _blocks(d.irreps_in1, x1), _blocks(d.irreps_in2, x2)
    out = [np.zeros((len(x1), m.mul, m.ir.dim), dtype=np.complex128) for m in d.irreps_out]
    for p in d.paths:
        wp = w[p.weight_offset : p.weight_offset + p.weight_numel].reshape(p.weight_shape)
        c = d.coefficients[p.block].array
        out[p.out] += p.normalisation * np.einsum("uvw,abk,zua,zvb->zwk", wp, c, a[p.in1], b[p.in2])
    return np.concatenate([o.reshape(len(x1), -1) for o in out], axis=1)


def numpy_symmetric_contraction(d: lnn.SymmetricContractionDescriptor, x, w) -> np.ndarray:
    """Shared-weight symmetric contraction from the descriptor: monomials, then ``Ũ`` and ``W``."""
    xc = np.concatenate(_blocks(d.irreps_in, x), axis=-1)  # (batch, mul, D)
    monomials = [np.prod([xc[..., a] for a in t], axis=0) for level in d.levels for t in level.monomials]
    m = np.stack(monomials, axis=-1)  # (batch, mul, M)
    outs = []
    for j, block in enumerate(d.coefficients):
        cols = [p.weight_offset + k for p in d.paths if p.out == j for k in range(p.num_copies)]
        outs.append(np.einsum("zcm,mkd,kc->zcd", m, block.array, w[cols]).reshape(len(x), -1))
    return np.concatenate(outs, axis=1)


def test_numpy_backend_matches_torch_layers() -> None:
    torch.manual_seed(0)
    tp = TensorProduct(IN1, IN2, OUT, dtype=torch.float64)
    x1 = torch.randn(4, tp.dim_in1, dtype=torch.float64)
    x2 = torch.randn(4, tp.dim_in2, dtype=torch.float64)
    ref = numpy_tensor_product(tp.descriptor, x1.numpy(), x2.numpy(), tp.weight.detach().numpy())
    np.testing.assert_allclose(tp(x1, x2).detach().numpy(), ref.real, atol=1e-12)
    sc = SymmetricContraction(SC_IN, SC_OUT, 3, dtype=torch.float64)
    x = torch.randn(4, sc.dim_in, dtype=torch.complex128)
    ref = numpy_symmetric_contraction(sc.descriptor, x.numpy(), sc.weight.detach().numpy()[0])
    np.testing.assert_allclose(sc(x).detach().numpy(), ref, atol=1e-12)


def test_channelwise_user_group_with_explicit_outputs() -> None:
    vec = lnn.GenericRep(lnn.SO3(1).algebra(), label="vec")
    everything = lnn.channelwise_tensor_product_descriptor([(2, vec)], [vec])  # numeric selection rule
    assert [m.ir.dim for m in everything.irreps_out] == [1, 3, 5] and everything.irreps_out[1].ir == vec
    d = lnn.channelwise_tensor_product_descriptor([(2, vec)], [vec], [vec.trivial(), vec])
    assert [m.ir for m in d.irreps_out] == [vec.trivial(), vec]
    from lie_nn.testing import assert_equivariant

    tp = ChannelwiseTensorProduct.from_descriptor(d, dtype=torch.float64)
    assert_equivariant(lambda a, b: tp(a, b), (d.irreps_in1, d.irreps_in2), d.irreps_out)


def test_layers_accept_everything_irreps_accepts() -> None:
    """Strings (e3nn labels), (mul, ir) pairs and Irreps give the same layer."""
    as_pairs = [(4, lnn.O3(0, 1)), (2, lnn.O3(1, -1))]
    for form in ("4x0e + 2x1o", as_pairs, lnn.Irreps(as_pairs)):
        assert Linear(form, "3x1o").descriptor == Linear(as_pairs, [(3, lnn.O3(1, -1))]).descriptor
        assert TensorProduct(form, "1o", "2x1e").descriptor.irreps_in1 == lnn.Irreps(as_pairs)
        cw = ChannelwiseTensorProduct(form, "0e + 1o", filter_ir_out="0e + 1o")
        assert cw.irreps_in1 == lnn.Irreps(as_pairs) and {m.ir for m in cw.irreps_out} == {
            lnn.O3(0, 1), lnn.O3(1, -1)}
    sc = SymmetricContraction("2x0e + 2x1o", "0e + 1o", 2)
    assert sc.descriptor == lnn.symmetric_contraction_descriptor([(2, lnn.O3(0, 1)), (2, lnn.O3(1, -1))],
                                                                 [lnn.O3(0, 1), lnn.O3(1, -1)], 2)
    gate = lnn_nn.Gate("2x0e", torch.tanh, "1x0e", torch.sigmoid, "1x1o")
    assert gate.dim_in == 6


def test_clear_cache_also_forgets_descriptors() -> None:
    """``lnn.clear_cache()`` also clears the descriptor caches: a rebuilt descriptor is a new object."""
    first = lnn.linear_descriptor(lnn.Irreps("2x0e + 1x1o"), lnn.Irreps("1x0e + 2x1o"))
    assert lnn.linear_descriptor(lnn.Irreps("2x0e + 1x1o"), lnn.Irreps("1x0e + 2x1o")) is first
    lnn.clear_cache()
    again = lnn.linear_descriptor(lnn.Irreps("2x0e + 1x1o"), lnn.Irreps("1x0e + 2x1o"))
    assert again is not first and again == first
