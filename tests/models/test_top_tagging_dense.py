"""The LorentzTagger's dense ``(nodes, k)`` neighbour path computes the same function as the edge-list path.

The default message path builds edge lists and scatters with ``index_add_``; the dense path
(``model.dense_messages = True``) gathers the ``k`` neighbours of every node into one block and sums
over them.  Only the order of floating-point additions differs, so in float64 the logits and every
parameter gradient agree to 1e-12 (relative), in both bases, for the kNN and the complete graph, with
padding, jets with fewer than ``k + 1`` constituents, input norm in training mode and edge scalars.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_top_tagging_model import fake_jets, lorentz_matrix, small_lorentz  # noqa: E402


def _run(model, p, mask, dense: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
    model.dense_messages = dense
    model.zero_grad()
    out = model(p, mask)
    (out * torch.linspace(-1.0, 1.0, len(out), dtype=out.dtype)).sum().backward()
    return out.detach(), [q.grad.clone() for q in model.parameters()]


@pytest.mark.parametrize("basis", ["real", "complex"])
@pytest.mark.parametrize("kw", [{}, {"k": None}, {"k": 40}, {"k": 2}, {"input_norm": True},
                                {"edge_scalars": True, "input_norm": True}, {"massless": True}])
def test_dense_messages_equal_edge_list_scatter(basis, kw) -> None:
    x = fake_jets(5, 12, seed=3)  # 4..12 constituents: k=5 leaves some nodes with fewer neighbours
    p, mask = torch.tensor(x["p"]), torch.tensor(x["mask"])
    p[~mask] = float("nan")  # padded slots are never read
    model = small_lorentz(basis=basis, **kw).train()  # training mode: input norm uses batch statistics
    out_edges, grad_edges = _run(model, p, mask, dense=False)
    out_dense, grad_dense = _run(model, p, mask, dense=True)
    assert torch.isfinite(out_dense).all()
    torch.testing.assert_close(out_dense, out_edges, rtol=1e-12, atol=1e-12)
    for a, b in zip(grad_dense, grad_edges, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12 * (1 + float(b.abs().max())))
    assert any(float(g.abs().max()) > 0 for g in grad_dense)


def test_dense_neighbours_match_edge_list() -> None:
    """``_neighbours`` and ``_edges`` describe the same graph: every real pair but self, or the k nearest."""
    x = fake_jets(3, 10, seed=5)
    p, mask = torch.tensor(x["p"]), torch.tensor(x["mask"])
    for k in (None, 3):
        model = small_lorentz(k=k)
        dij = model._geometry(p, mask)[-1]
        idx, ok = model._neighbours(mask, dij)
        bi, i, j = model._edges(mask, dij)
        dense = {(b, r, int(idx[b, r, m])) for b, r, m in ok.nonzero().tolist()}
        assert dense == set(zip(bi.tolist(), i.tolist(), j.tolist(), strict=True))
        assert all(r != s and mask[b, r] and mask[b, s] for b, r, s in dense)
        counts = mask.sum(1)
        per_node = ok.sum(-1)[mask]
        expect = (counts[:, None].expand_as(mask)[mask] - 1).clamp_max(k or 99)
        assert torch.equal(per_node, expect)


@pytest.mark.parametrize("basis", ["real", "complex"])
def test_dense_path_lorentz_invariance(basis) -> None:
    """float64: the dense path's logit is fixed under a random boost + rotation of every constituent."""
    x = fake_jets(4, 16, seed=7)
    p, mask = torch.tensor(x["p"]), torch.tensor(x["mask"])
    model = small_lorentz(basis=basis, input_norm=True, edge_scalars=True)
    model.dense_messages = True
    lam = torch.tensor(lorentz_matrix(np.random.default_rng(4)))
    with torch.no_grad():
        out, moved = model(p, mask), model(p @ lam.T, mask)
    torch.testing.assert_close(moved, out, rtol=1e-9, atol=1e-9)
