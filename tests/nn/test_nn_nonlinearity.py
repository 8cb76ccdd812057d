"""Gate and NormActivation: equivariance, validation of activations and irreps."""

from __future__ import annotations

import pytest
import torch
from nn_helpers import GROUPS, layer_case

from lie_nn._src.groups.lorentz import SO13
from lie_nn._src.groups.o3 import O3
from lie_nn._src.groups.so3 import SO3
from lie_nn._src.groups.su2 import SU2
from lie_nn._src.groups.sun import SUN
from lie_nn._src.irreps import Irreps
from lie_nn.nn._nonlinearity import Gate, NormActivation
from lie_nn.testing import assert_equivariant

F = SUN((2, 1, 0))


def gate_irreps(group: str) -> tuple[list, list, list]:
    """(scalars, gates, gated) from the group's examples: trivial scalars and gates, the rest gated."""
    case = layer_case(group)
    trivial = case.outputs[0].trivial()
    gated = [(m.mul, m.ir) for m in case.in1 if m.ir != trivial]
    return [(2, trivial)], [(sum(m for m, _ in gated), trivial)], gated


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("group", GROUPS)
def test_gate_equivariant(group: str, dtype: torch.dtype) -> None:
    scalars, gates, gated = gate_irreps(group)
    gate = Gate(scalars, torch.tanh, gates, torch.tanh, gated)
    assert_equivariant(gate, gate.irreps_in, gate.irreps_out, dtype=dtype)


def test_gate_with_pseudoscalars() -> None:
    gate = Gate([(2, O3(0, 1)), (1, O3(0, -1))], torch.tanh, [(2, O3(0, 1)), (1, O3(0, -1))], torch.tanh,
                [(2, O3(1, -1)), (1, O3(2, 1))])
    assert_equivariant(gate, gate.irreps_in, gate.irreps_out)
    assert_equivariant(gate, gate.irreps_in, gate.irreps_out, dtype=torch.float32)


def test_gate_odd_gate_flips_parity() -> None:
    gate = Gate([(1, O3(0, 1))], torch.relu, [(1, O3(0, 1)), (2, O3(0, -1))], [torch.sigmoid, torch.tanh],
                [(3, O3(1, -1))])
    assert [str(m) for m in gate.irreps_out] == ["1xO3(0e)", "1xO3(1o)", "2xO3(1e)"]
    assert_equivariant(gate, gate.irreps_in, gate.irreps_out)


def test_gate_values() -> None:
    gate = Gate([(1, SO3(0))], torch.relu, [(2, SO3(0))], torch.sigmoid, [(1, SO3(0)), (1, SO3(1))])
    x = torch.tensor([[-1.0, 0.5, -2.0, 3.0, 1.0, 2.0, 3.0]])
    s, g = torch.sigmoid(torch.tensor(0.5)), torch.sigmoid(torch.tensor(-2.0))
    expected = torch.tensor([[0.0, 3.0 * s, g, 2 * g, 3 * g]])
    torch.testing.assert_close(gate(x), expected)


def test_gate_validation() -> None:
    with pytest.raises(ValueError, match="must be odd"):
        Gate([(1, O3(0, -1))], torch.relu, [], torch.sigmoid, [])
    with pytest.raises(ValueError, match="must be odd"):
        Gate([], torch.relu, [(1, O3(0, -1))], torch.sigmoid, [(1, O3(1, -1))])
    with pytest.raises(ValueError, match="one-dimensional"):
        Gate([(1, SO3(1))], torch.tanh, [], torch.sigmoid, [])
    with pytest.raises(ValueError, match="one-dimensional"):
        Gate([], torch.tanh, [(1, SO13("1/2", 0))], torch.tanh, [(1, SO13(0, 0))])
    with pytest.raises(ValueError, match="2 gate channels .* 3 gated"):
        Gate([], torch.tanh, [(2, SO3(0))], torch.sigmoid, [(3, SO3(1))])
    with pytest.raises(ValueError, match="2 activations for 1 blocks"):
        Gate([(1, SO3(0))], [torch.tanh, torch.relu], [], torch.sigmoid, [])
    gate = Gate([(1, SO3(0))], torch.tanh, [], torch.sigmoid, [])
    with pytest.raises(ValueError, match=r"Gate: x must have shape \(\.\.\., 1\)"):
        gate(torch.randn(2, 3))


@pytest.mark.parametrize("group", GROUPS)
def test_norm_activation_equivariant(group: str) -> None:
    irreps = Irreps([m for m in layer_case(group).in1 if m.ir.is_unitary()])
    if not irreps:
        pytest.skip(f"{group}: no unitary example irreps")
    na = NormActivation(irreps, torch.nn.functional.softplus)
    assert_equivariant(na, irreps, irreps)
    na32 = NormActivation(irreps, torch.sigmoid, normalize=False)
    assert_equivariant(na32, irreps, irreps, dtype=torch.float32)


@pytest.mark.parametrize("irreps", [
    [(2, SO3(0)), (3, SO3(1)), (1, SO3(3))],
    [(2, O3(0, -1)), (2, O3(1, 1))],
    [(1, SU2(0)), (2, SU2("1/2")), (1, SU2("3/2"))],
    [(2, F), (1, SUN((1, 0, 0)))],
])
def test_norm_activation_fixed_examples(irreps: list) -> None:
    na = NormActivation(irreps, torch.nn.functional.softplus)
    assert_equivariant(na, Irreps(irreps), Irreps(irreps))


def test_norm_activation_values_and_errors() -> None:
    na = NormActivation([(1, SO3(1))], lambda n: 2 * n, epsilon=0.0)
    x = torch.tensor([[3.0, 0.0, 4.0]])
    torch.testing.assert_close(na(x), 2 * x)
    with pytest.raises(ValueError, match="not unitary"):
        NormActivation([(1, SO13("1/2", "1/2"))], torch.sigmoid)
    NormActivation([(1, SO13(0, 0))], torch.sigmoid)  # the trivial Lorentz irrep is fine
    with pytest.raises(ValueError, match="NormActivation"):
        na(torch.randn(2, 4))
