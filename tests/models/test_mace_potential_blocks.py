"""MACE potential blocks (mace-torch's layer layout, normalised SiLU) and both model layouts' symmetries."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import lie_nn as lnn
from models.mace_potential.blocks import SILU_NORM, ElementLinear, ElementMACELayer, normalised_silu
from models.mace_potential.model import Graph, MACEConfig, MACEPotential

O3 = lnn.O3


def test_normalised_silu_has_unit_second_moment() -> None:
    # independent check of the quadrature constant: trapezoid rule on a fine grid
    x = np.linspace(-12.0, 12.0, 200_001)
    density = np.exp(-x**2 / 2) / math.sqrt(2 * math.pi)
    second = np.trapezoid((x / (1 + np.exp(-x))) ** 2 * density, x)
    assert abs(SILU_NORM - 1 / math.sqrt(second)) < 1e-9
    z = torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float64)
    torch.testing.assert_close(normalised_silu(z), SILU_NORM * z * torch.sigmoid(z))


def test_element_linear_uses_the_weights_of_each_element() -> None:
    torch.manual_seed(0)
    irreps_in, irreps_out = [(3, O3(0, 1)), (2, O3(1, -1))], [(2, O3(0, 1)), (1, O3(1, -1))]
    lin = ElementLinear(irreps_in, irreps_out, num_elements=3, dtype=torch.float64)
    x = torch.randn(6, 9, dtype=torch.float64)
    z = torch.tensor([2, 0, 1, 1, 2, 0])
    out = lin(x, z)
    for i in range(6):
        torch.testing.assert_close(out[i], lin.linears[int(z[i])](x[i : i + 1])[0])
    assert not torch.allclose(lin.linears[0](x), lin.linears[1](x))  # the weights differ per element


def _graph(n: int = 7, seed: int = 0) -> Graph:
    g = torch.Generator().manual_seed(seed)
    pos = 1.3 * torch.randn(n, 3, generator=g, dtype=torch.float64)
    send, recv = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    keep = send != recv
    return Graph(species=torch.randint(0, 3, (n,), generator=g), positions=pos,
                 edge_index=torch.stack([send[keep], recv[keep]]), batch=torch.zeros(n, dtype=torch.long),
                 num_graphs=1)


@pytest.mark.parametrize("element_skip, normalised_act", [(False, False), (False, True), (True, False),
                                                          (True, True)])
def test_both_layouts_are_invariant_and_forces_are_gradients(element_skip: bool,
                                                             normalised_act: bool) -> None:
    torch.manual_seed(1)
    config = MACEConfig(elements=(1, 6, 8), r_max=6.0, channels=4, radial_hidden=(8, 8),
                        avg_num_neighbors=6.0, element_skip=element_skip, normalised_act=normalised_act)
    model = MACEPotential(config, e0=[-1.0, -2.0, -3.0], scale=0.5, dtype=torch.float64)
    assert any(isinstance(layer, ElementMACELayer) for layer in model.layers) == element_skip
    graph = _graph()
    out = model(graph)
    q, _ = torch.linalg.qr(torch.randn(3, 3, dtype=torch.float64))
    q = -q  # with the inversion (det -1 or +1 depending on the QR): O(3), not only SO(3)
    moved = Graph(graph.species, graph.positions @ q.T + 0.3, graph.edge_index, graph.batch, 1)
    out2 = model(moved)
    torch.testing.assert_close(out2["energy"], out["energy"], atol=1e-10, rtol=0)
    torch.testing.assert_close(out2["forces"], out["forces"] @ q.T, atol=1e-10, rtol=0)
    # one force component against a central difference of the energy
    eps = 1e-5
    plus, minus = graph.positions.clone(), graph.positions.clone()
    plus[2, 1] += eps
    minus[2, 1] -= eps
    with torch.no_grad():
        e_plus = model(Graph(graph.species, plus, graph.edge_index, graph.batch, 1), forces=False)["energy"]
        e_minus = model(Graph(graph.species, minus, graph.edge_index, graph.batch, 1), forces=False)["energy"]
    assert abs(float(-(e_plus - e_minus) / (2 * eps)) - float(out["forces"][2, 1])) < 1e-6
    assert float(out["forces"].abs().max()) > 1e-4


def test_element_layout_depends_on_the_element_beyond_the_embedding() -> None:
    """The first layer's messages are mixed per element: swapping the weights of two elements'
    mixing changes the energy (the shared-weight layer has no such parameters)."""
    torch.manual_seed(2)
    config = MACEConfig(elements=(1, 6, 8), channels=4, radial_hidden=(8,), element_skip=True)
    model = MACEPotential(config, dtype=torch.float64)
    graph = _graph(seed=3)
    e = model(graph, forces=False)["energy"]
    mix = model.layers[0].mix.linears
    with torch.no_grad():
        w0 = mix[0].weight.clone()
        mix[0].weight.copy_(mix[1].weight)
        mix[1].weight.copy_(w0)
    assert abs(float(model(graph, forces=False)["energy"] - e)) > 1e-8
