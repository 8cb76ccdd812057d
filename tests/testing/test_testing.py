"""Tests of the public testing layer ``lie_nn.testing``: group elements, assertions, strategies."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import find, given, settings
from hypothesis import strategies as st

from lie_nn._src.cg import clebsch_gordan
from lie_nn._src.groups.lorentz import SO13
from lie_nn._src.groups.o3 import O3
from lie_nn._src.groups.so3 import SO3
from lie_nn._src.groups.su2 import SU2
from lie_nn._src.groups.sun import SUN
from lie_nn._src.irrep import MulIrrep
from lie_nn.testing import (
    GroupElement,
    assert_equivariant,
    assert_intertwines,
    example_irreps,
    group_elements,
    intertwining_residual,
    irreps,
    irreps_triples,
    represent,
)

EXAMPLES = example_irreps()
LARGEST = [max(irs, key=lambda ir: ir.dim) for irs in EXAMPLES.values()]


# ------------------------------------------------------------------------------ group elements
@pytest.mark.parametrize(
    "theta, word, error",
    [((0.1, True), (), TypeError), ((0.1, "a"), (), TypeError), ((float("nan"),), (), ValueError),
     ((0.1,), (-1,), ValueError), ((0.1,), (0.5,), TypeError)],
)
def test_group_element_validation(theta: tuple, word: tuple, error: type) -> None:
    with pytest.raises(error):
        GroupElement(theta, word)


def test_represent_validation() -> None:
    with pytest.raises(ValueError, match="3 generators"):
        represent(SU2(1), GroupElement((0.1, 0.2)))
    with pytest.raises(ValueError, match="out of range"):
        represent(O3(1, -1), GroupElement((0, 0, 0), (1,)))
    with pytest.raises(TypeError):
        represent(SU2(1), (0.1, 0.2, 0.3))
    with pytest.raises(TypeError):
        represent(3.5, GroupElement((0, 0, 0)))
    np.testing.assert_array_equal(represent("SU2(1)", GroupElement((0.1, 0.2, 0.3))),
                                  represent(SU2(1), GroupElement((0.1, 0.2, 0.3))))  # strings are Irreps


@pytest.mark.parametrize("ir", LARGEST, ids=str)
def test_represent_is_a_one_parameter_homomorphism(ir) -> None:
    rng = np.random.default_rng(0)
    theta = rng.uniform(-1, 1, size=ir.algebra().shape[0])
    s, t = 0.3, -0.7
    a, b, ab = (represent(ir, GroupElement(tuple(c * theta))) for c in (s, t, s + t))
    assert np.allclose(a @ b, ab, atol=1e-12 * np.abs(ab).max())
    identity = represent(ir, GroupElement.identity(len(theta)))
    assert np.allclose(identity, np.eye(ir.dim), atol=1e-14)
    g = GroupElement(tuple(theta))
    assert np.allclose(represent(ir, g) @ represent(ir, g.inverse_continuous()), np.eye(ir.dim), atol=1e-12)


def test_represent_dtypes_and_discrete_words() -> None:
    g = GroupElement((0.1, 0.2, 0.3), (0, 0, 0))
    r = represent(O3(2, 1), g)
    assert r.dtype == np.float64 and np.allclose(r @ r.T, np.eye(5))
    parity = represent(O3(1, -1), GroupElement((0.0, 0.0, 0.0), (0,)))
    assert np.allclose(parity, -np.eye(3))
    assert represent(SU2("1/2"), g.inverse_continuous()).dtype == np.complex128
    boost = represent(SO13("1/2", 0), GroupElement((0, 0, 0, 0, 0, 1.0)))
    assert not np.allclose(boost @ boost.conj().T, np.eye(2))  # boosts are not unitary


@pytest.mark.parametrize("ir", [SU2("1/2"), SU2(1), SU2("3/2"), SO3(2), O3(3, -1)], ids=str)
def test_represent_has_the_rotation_character(ir) -> None:
    """tr D(rotation by phi) = sin((j + 1/2) phi) / sin(phi / 2) (independent golden values)."""
    theta = np.array([0.3, -0.5, 0.9])
    phi = np.linalg.norm(theta)
    j = (ir.dim - 1) / 2
    trace = np.trace(represent(ir, GroupElement(tuple(theta))))
    assert np.isclose(trace, np.sin((j + 0.5) * phi) / np.sin(phi / 2), atol=1e-12)


def test_represent_mul_irrep_is_block_diagonal() -> None:
    g = GroupElement((0.4, 0.1, -0.2))
    single = represent(SO3(1), g)
    assert np.allclose(represent(MulIrrep(2, SO3(1)), g), np.kron(np.eye(2), single))


# ------------------------------------------------------------------------------ assert_equivariant
def _bilinear(ir1, ir2, ir3):
    c = torch.from_numpy(clebsch_gordan(ir1, ir2, ir3)[0]).to(torch.complex128)

    def fn(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.einsum("ijk,zi,zj->zk", c.to(x.dtype), x, y)

    return fn


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "irs", [(SU2("1/2"), SU2(1), SU2("3/2")), (SO13("1/2", 0), SO13(0, "1/2"), SO13("1/2", "1/2"))], ids=str
)
def test_cg_bilinear_map_is_equivariant(irs, dtype) -> None:
    err = assert_equivariant(_bilinear(*irs), (irs[0], irs[1]), irs[2], dtype=dtype)
    assert err < (1e-4 if dtype == np.float32 else 1e-10)


def test_numpy_function_and_several_outputs() -> None:
    def fn(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = x.astype(np.float64)  # fails on torch tensors: the numpy backend is used
        return 3 * x, np.sum(x**2, axis=-1, keepdims=True)

    assert_equivariant(fn, O3(1, -1), (O3(1, -1), O3(0, 1)))
    assert_equivariant(fn, O3(1, -1), (O3(1, -1), O3(0, 1)), inputs=np.ones((2, 3)), backend="numpy")


def test_torch_module_in_float32() -> None:
    layer = torch.nn.Linear(1, 1, bias=False)  # mixes channels only: equivariant on 2 x SO3(2)

    def fn(x: torch.Tensor) -> torch.Tensor:
        return layer(x.reshape(-1, 1, 5).transpose(1, 2)).transpose(1, 2).reshape(-1, 5)

    with torch.no_grad():
        layer.weight.fill_(0.7)
    layer.float()
    assert_equivariant(fn, SO3(2), SO3(2), dtype=torch.float32)
    layer.double()
    assert_equivariant(fn, SO3(2), SO3(2), dtype="float64")


def test_violations_are_reported() -> None:
    weights = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    with pytest.raises(AssertionError, match=r"not equivariant: output 0 \(1xSO3\(1\)\).*GroupElement"):
        assert_equivariant(lambda x: x * weights, SO3(1), SO3(1))


def test_parity_is_checked() -> None:
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_equivariant(lambda x: x, O3(1, -1), O3(1, 1))  # fine for rotations, wrong for parity
    assert_equivariant(lambda x: x, O3(1, -1), O3(1, 1), group_element=GroupElement((0.1, 0.2, 0.3)))


def test_boosts_are_checked() -> None:
    def euclidean_norm(x: torch.Tensor) -> torch.Tensor:  # rotation invariant, not boost invariant
        return (x.abs() ** 2).sum(-1, keepdim=True).to(x.dtype)

    rotation = GroupElement((0.3, -0.2, 0.5, 0.0, 0.0, 0.0))
    vector = SO13("1/2", "1/2")
    assert_equivariant(euclidean_norm, vector, vector.trivial(), group_element=rotation)
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_equivariant(euclidean_norm, vector, vector.trivial())


def test_tolerances_are_used() -> None:
    def fn(x: torch.Tensor) -> torch.Tensor:
        return 3 * x

    assert_equivariant(fn, SO3(3), SO3(3), dtype=np.float32)
    with pytest.raises(AssertionError, match="float32"):
        assert_equivariant(fn, SO3(3), SO3(3), dtype=np.float32, atol=0, rtol=0)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"irreps_out": SO3(2)}, ValueError, "last axis"),
        ({"irreps_out": (SO3(1), SO3(1))}, ValueError, "tuple of 2"),
        ({"irreps_out": SU2(1)}, ValueError, "different groups"),
        ({"irreps_out": 3.5}, TypeError, "irreps_out"),
        ({"irreps_out": "SO3(7"}, ValueError, "unbalanced"),
        ({"inputs": np.ones((2, 4))}, ValueError, "last axis"),
        ({"inputs": np.ones((2, 3), dtype=int)}, TypeError, "float"),
        ({"dtype": np.int32}, TypeError, "float32 or float64"),
        ({"backend": "jax"}, ValueError, "backend"),
        ({"group_element": GroupElement((0.1,))}, ValueError, "generators"),
    ],
)
def test_bad_arguments(kwargs: dict, error: type, match: str) -> None:
    kwargs = {"irreps_out": SO3(1), **kwargs}
    with pytest.raises(error, match=match):
        assert_equivariant(lambda x: x, SO3(1), **kwargs)


def test_inputs_decide_the_backend() -> None:
    seen = []

    def fn(x):
        seen.append(type(x))
        return x

    assert_equivariant(fn, SU2(1), SU2(1), inputs=torch.ones(3, dtype=torch.complex128))
    assert_equivariant(fn, SU2(1), SU2(1), inputs=np.ones((1, 3)))
    assert seen[0] is torch.Tensor and seen[-1] is np.ndarray


# ------------------------------------------------------------------------------ CG helpers
def test_assert_intertwines() -> None:
    ir = O3(1, -1)
    c = clebsch_gordan(ir, ir, O3(1, 1))
    assert_intertwines(c, ir, ir, O3(1, 1))
    assert intertwining_residual(c, ir, ir, O3(1, 1)) < 1e-14
    with pytest.raises(AssertionError, match="does not intertwine"):
        assert_intertwines(c, ir, ir, O3(1, -1))  # the algebra is fine, parity is not
    noisy = c + 1e-6 * np.random.default_rng(0).standard_normal(c.shape)
    with pytest.raises(AssertionError, match="relative residual"):
        assert_intertwines(noisy, ir, ir, O3(1, 1))
    with pytest.raises(ValueError, match="shape"):
        intertwining_residual(c[0], ir, ir, O3(1, 1))


# ------------------------------------------------------------------------------ strategies
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_irreps_strategy(data: st.DataObject) -> None:
    group = data.draw(st.sampled_from(sorted(EXAMPLES)))
    ir = data.draw(irreps(group, max_dim=6))
    assert ir.dim <= 6 and ir.group_id() == EXAMPLES[group][0].group_id()


@settings(max_examples=25, deadline=None)
@given(triple=irreps_triples(SUN((1, 0, 0)), max_dim=8), g=group_elements(SUN((1, 0, 0)), scale=0.5))
def test_triples_and_elements(triple, g) -> None:
    ir1, ir2, ir3 = triple
    assert any(term.ir == ir3 for term in ir1 * ir2)
    assert len(g.algebra_coefficients) == 8 and max(map(abs, g.algebra_coefficients)) <= 0.5


def test_strategies_reach_words_boosts_and_generic_groups() -> None:
    word = find(group_elements(O3(0, 1)), lambda g: len(g.discrete) >= 2)
    assert set(word.discrete) == {0}
    boost = find(group_elements(SO13(0, 0)), lambda g: abs(g.algebra_coefficients[5]) > 0.5)
    assert len(boost.algebra_coefficients) == 6
    generic = find(irreps_triples("GenericSO3"), lambda t: t[0].dim == 3 and t[1].dim == 3 and t[2].dim == 5)
    assert clebsch_gordan(*generic).shape[0] == 1
    assert find(irreps(SO3), lambda ir: ir.dim == 7) == SO3(3)


def test_strategy_arguments() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        irreps(SUN)
    with pytest.raises(ValueError, match="unknown group"):
        irreps("SO(10)")
    with pytest.raises(ValueError, match="max_dim"):
        irreps(SO3(1), max_dim=0)
    with pytest.raises(TypeError):
        irreps(3)
    with pytest.raises(ValueError, match="scale"):
        group_elements(SO3(1), scale=-1.0)


def test_example_list() -> None:
    import lie_nn.testing as testing

    assert testing.EXAMPLE_IRREPS.keys() == EXAMPLES.keys()
    assert SU2("3/2") in example_irreps("SU2")
    with pytest.raises(ValueError, match="no example irreps"):
        example_irreps("E8")
    with pytest.raises(AttributeError):
        _ = testing.NOT_A_NAME


def test_documented_cross_product_example() -> None:
    def cross(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.linalg.cross(x, y)

    for dtype in (torch.float32, torch.float64):
        assert_equivariant(cross, (O3(1, -1), O3(1, -1)), O3(1, 1), dtype=dtype)
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_equivariant(cross, (O3(1, -1), O3(1, -1)), O3(1, -1))


def test_irreps_representations() -> None:
    from lie_nn._src.irreps import Irreps

    irs = Irreps([(2, O3(1, -1)), (1, O3(0, 1))])
    g = GroupElement((0.3, 0.1, -0.4), (0,))
    expected = np.zeros((7, 7))
    expected[:3, :3] = expected[3:6, 3:6] = represent(O3(1, -1), g)
    expected[6, 6] = 1
    assert np.allclose(represent(irs, g), expected)
    assert_equivariant(lambda x: x[..., [3, 4, 5, 0, 1, 2, 6]], irs, irs)
    with pytest.raises(AssertionError):
        assert_equivariant(lambda x: x[..., [6, 4, 5, 0, 1, 2, 3]], irs, irs)


@pytest.mark.parametrize("dtype, expected", [(np.float32, np.complex64), (np.float64, np.complex128)])
def test_numpy_inputs_have_the_requested_precision(dtype: type, expected: type) -> None:
    seen = []

    def fn(x: np.ndarray) -> np.ndarray:
        seen.append(x.dtype)
        return x

    assert_equivariant(fn, SU2(1), SU2(1), dtype=dtype, backend="numpy")
    assert set(seen) == {np.dtype(expected)}


def test_represent_is_multiplicative_on_tensor_and_direct_products() -> None:
    from lie_nn._src.groups.generic import GenericRep
    from lie_nn._src.groups.product import DirectProduct

    vec, sym2 = (GenericRep(SO3(l).algebra()) for l in (1, 2))
    g = GroupElement((0.7, -0.3, 1.1))
    assert np.allclose(represent(vec.tensor(sym2), g), np.kron(represent(vec, g), represent(sym2, g)))
    h = GroupElement((0.2, 0.5, -0.9, 0.4, -1.2, 0.3))
    product = represent(DirectProduct((SO3(2), SU2("3/2"))), h)
    factors = represent(SO3(2), GroupElement(h.algebra_coefficients[:3])), represent(
        SU2("3/2"), GroupElement(h.algebra_coefficients[3:])
    )
    assert np.allclose(product, np.kron(*factors))
