"""Every layer on every available device matches the float64 CPU result (CUDA runs when present).

On a CPU-only machine the CUDA cases are skipped; the CPU case still checks that ``.to(device)``
round-trips the parameters and that a float32 copy agrees with float64.
"""

from __future__ import annotations

import pytest
import torch
from nn_helpers import GROUPS, features, is_complex, layer_case

import lie_nn.nn as lnn
from lie_nn._src.groups.o3 import O3

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                                    reason="no CUDA device"))]


def layers(name: str) -> list[tuple[str, torch.nn.Module, list]]:
    """(label, float64 module, input irreps) per layer for one group."""
    torch.manual_seed(0)
    case = layer_case(name)
    in1, in2, out, d = case.in1, case.in2, case.out, torch.float64
    keep = None if case.has_selection_rule else case.outputs
    result = [("Linear", lnn.Linear(in1, out, dtype=d), [in1]),
              ("ChannelwiseTensorProduct", lnn.ChannelwiseTensorProduct(in1, in2, keep, dtype=d), [in1, in2]),
              ("TensorProduct", lnn.TensorProduct(in1, in2, out, dtype=d), [in1, in2])]
    if case.has_selection_rule:
        channel = [(2, ir) for ir in case.channel]
        sc = lnn.SymmetricContraction(channel, case.channel[:1], 2, dtype=d)
        result.append(("SymmetricContraction", sc, [channel]))
    return result


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", GROUPS)
def test_layers_agree_across_devices_and_precisions(name: str, device: str) -> None:
    for label, module, reps in layers(name):
        complex_ = is_complex(*reps, module.irreps_out)
        xs = [features(rep, 7, torch.float64, seed=i, complex_=complex_) for i, rep in enumerate(reps)]
        with torch.no_grad():
            ref = module(*xs)
            moved = module.to(device)
            on_device = moved(*(x.to(device) for x in xs)).cpu()
            single = moved.float()(*(x.to(device).to(torch.complex64 if x.is_complex() else torch.float32)
                                     for x in xs)).cpu()
        torch.testing.assert_close(on_device, ref, rtol=1e-10, atol=1e-10, msg=f"{label} on {device}")
        scale = ref.abs().max().item()
        err = (single.to(ref.dtype) - ref).abs().max().item() / scale
        assert err < 2e-5, f"{label} float32 on {device}: relative error {err:.1e}"


@pytest.mark.parametrize("device", DEVICES)
def test_mace_layer_on_device_with_gradients(device: str) -> None:
    torch.manual_seed(0)
    sh = [O3(ell, (-1) ** ell) for ell in (0, 1, 2)]
    node = [(4, O3(0, 1)), (2, O3(1, -1))]
    hidden = [(3, O3(0, 1)), (3, O3(1, -1)), (3, O3(2, 1))]
    layer = lnn.MACELayer(node, sh, hidden, [(2, O3(0, 1))], correlation=3, num_elements=2, num_radial=4,
                          radial_hidden=(8,), dtype=torch.float64)
    pos = torch.randn(5, 3, dtype=torch.float64)
    send, recv = torch.meshgrid(torch.arange(5), torch.arange(5), indexing="ij")
    keep = send != recv
    edge_index = torch.stack([send[keep], recv[keep]])
    vec = pos[edge_index[1]] - pos[edge_index[0]]
    inputs = (torch.randn(5, 10, dtype=torch.float64), torch.tensor([0, 1, 1, 0, 1]),
              lnn.spherical_harmonics([0, 1, 2], vec), lnn.BesselBasis(5.0, 4)(vec.norm(dim=-1)), edge_index)
    ref = layer(*inputs)
    ref.square().sum().backward()
    grads = [p.grad.clone() for p in layer.parameters()]
    layer.zero_grad()
    moved = layer.to(device)
    out = moved(*(t.to(device) for t in inputs))
    out.square().sum().backward()
    torch.testing.assert_close(out.cpu(), ref.detach(), rtol=1e-10, atol=1e-10)
    for g, p in zip(grads, moved.parameters(), strict=True):
        torch.testing.assert_close(p.grad.cpu(), g, rtol=1e-9, atol=1e-10)
