"""Graphs: radius / kNN graphs against brute-force O(N²) references, batching, pooling, gradients."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from lie_nn.nn import batch_graphs, edge_vectors, knn_graph, pool, radius_graph

try:
    import vesin  # noqa: F401
except ImportError:
    vesin = None
needs_vesin = pytest.mark.skipif(vesin is None, reason="radius_graph needs vesin")


def brute_radius(x: np.ndarray, cutoff: float, cell: np.ndarray | None = None, pbc=(False,) * 3,
                 self_loops: bool = False) -> set[tuple[int, int, int, int, int]]:
    """Every ``(s, r, n1, n2, n3)`` with ``|x_r - x_s + n C| < cutoff`` by enumeration of images."""
    cell = np.zeros((3, 3)) if cell is None else cell
    ranges = []
    for d in range(3):
        if pbc[d]:
            # distance between the lattice planes spanned by the two other vectors
            others = cell[[e for e in range(3) if e != d]]
            normal = np.cross(others[0], others[1])
            height = abs(cell[d] @ normal) / np.linalg.norm(normal)
            extent = np.ptp(x @ np.linalg.inv(cell)[:, d]) + 1 if len(x) else 1
            m = math.ceil(cutoff / height + extent) + 1
            ranges.append(range(-m, m + 1))
        else:
            ranges.append(range(1))
    out = set()
    for n in itertools.product(*ranges):
        shift = np.array(n) @ cell
        d = np.linalg.norm(x[None, :, :] - x[:, None, :] + shift, axis=-1)  # d[s, r]
        for s, r in zip(*np.nonzero(d < cutoff), strict=True):
            if s != r or any(n) or self_loops:
                out.add((int(s), int(r), *n))
    return out


def as_set(edge_index: torch.Tensor, shifts: torch.Tensor) -> set[tuple[int, ...]]:
    rows = torch.cat([edge_index.T, shifts.round().long()], dim=1).tolist()
    out = set(map(tuple, rows))
    assert len(out) == len(rows), "duplicate edges"
    return out


@needs_vesin
@pytest.mark.parametrize("seed", range(3))
def test_radius_graph_open_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 3, size=(25, 3))
    edge_index, shifts = radius_graph(torch.tensor(x), 1.2)
    assert edge_index.dtype == torch.long and shifts.dtype == torch.float64
    assert as_set(edge_index, shifts) == brute_radius(x, 1.2)
    loops = as_set(*radius_graph(torch.tensor(x), 1.2, self_loops=True))
    assert loops == brute_radius(x, 1.2, self_loops=True)


@needs_vesin
@pytest.mark.parametrize("pbc", [(True, True, True), (True, False, True), (False, False, True)])
@pytest.mark.parametrize("seed", range(2))
def test_radius_graph_periodic_matches_brute_force(pbc: tuple[bool, ...], seed: int) -> None:
    rng = np.random.default_rng(seed)
    cell = np.diag([2.5, 3.0, 2.0]) + rng.uniform(-0.4, 0.4, size=(3, 3))  # triclinic
    x = rng.uniform(-0.2, 1.1, size=(12, 3)) @ cell  # a few points outside the cell
    cutoff = 2.3  # larger than some cell heights: several images of one pair
    edge_index, shifts = radius_graph(torch.tensor(x), cutoff, cell=torch.tensor(cell), pbc=list(pbc))
    assert as_set(edge_index, shifts) == brute_radius(x, cutoff, cell, pbc)
    vec = edge_vectors(torch.tensor(x), edge_index, shifts, torch.tensor(cell))
    assert bool((vec.norm(dim=1) < cutoff).all())


@needs_vesin
def test_radius_graph_batched_equals_separate() -> None:
    rng = np.random.default_rng(3)
    sizes = [7, 0, 10, 5]
    xs = [rng.uniform(0, 2.5, size=(n, 3)) for n in sizes]
    cells = np.stack([np.eye(3) * (2.5 + g) for g in range(len(sizes))])
    x = torch.tensor(np.concatenate(xs))
    batch = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    edge_index, shifts = radius_graph(x, 1.4, cell=torch.tensor(cells), batch=batch)
    assert bool((batch[edge_index[0]] == batch[edge_index[1]]).all())
    expected, offset = set(), 0
    for g, xg in enumerate(xs):
        edges = brute_radius(xg, 1.4, cells[g], (True,) * 3)
        expected |= {(s + offset, r + offset, *n) for s, r, *n in edges}
        offset += len(xg)
    assert as_set(edge_index, shifts) == expected
    # per-graph cells picked through batch give the same vectors as each graph alone
    vec = edge_vectors(x, edge_index, shifts, torch.tensor(cells), batch)
    assert bool((vec.norm(dim=1) < 1.4).all())


@needs_vesin
def test_radius_graph_permutation_equivariant() -> None:
    rng = np.random.default_rng(4)
    x = torch.tensor(rng.uniform(0, 3, size=(20, 3)))
    cell = torch.eye(3, dtype=torch.float64) * 3.0
    perm = torch.randperm(20, generator=torch.Generator().manual_seed(0))
    e1, s1 = radius_graph(x, 1.3, cell=cell)
    e2, s2 = radius_graph(x[perm], 1.3, cell=cell)
    assert as_set(perm[e2], s2) == as_set(e1, s1)


@needs_vesin
def test_edge_vectors_gradients_match_finite_differences() -> None:
    rng = np.random.default_rng(5)
    x = torch.tensor(rng.uniform(0, 2, size=(8, 3)), requires_grad=True)
    cell = torch.tensor(np.eye(3) * 2.2 + rng.uniform(-0.2, 0.2, (3, 3)), requires_grad=True)
    edge_index, shifts = radius_graph(x, 1.5, cell=cell)

    def energy(pos: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        r = edge_vectors(pos, edge_index, shifts, c).norm(dim=1)
        return torch.exp(-r).sum()

    assert torch.autograd.gradcheck(energy, (x, cell))


def test_knn_graph_matches_brute_force() -> None:
    rng = np.random.default_rng(6)
    sizes, k = [9, 6, 12], 4
    x = rng.normal(size=(sum(sizes), 3))
    batch = torch.repeat_interleave(torch.arange(3), torch.tensor(sizes))
    edge_index = knn_graph(torch.tensor(x), k, batch=batch)
    assert edge_index.shape == (2, sum(sizes) * k)
    expected, offset = set(), 0
    for n in sizes:
        d = np.linalg.norm(x[offset:offset + n, None] - x[None, offset:offset + n], axis=-1)
        np.fill_diagonal(d, np.inf)
        for r in range(n):
            expected |= {(int(s) + offset, r + offset) for s in np.argsort(d[r])[:k]}
        offset += n
    assert set(map(tuple, edge_index.T.tolist())) == expected


def test_batch_graphs_and_pool() -> None:
    g1, g2 = torch.tensor([[0, 1], [1, 0]]), torch.tensor([[0, 2, 1], [1, 1, 0]])
    edge_index, batch = batch_graphs([2, 3], [g1, g2])
    assert edge_index.tolist() == [[0, 1, 2, 4, 3], [1, 0, 3, 3, 2]]
    assert batch.tolist() == [0, 0, 1, 1, 1]
    x = torch.arange(10.0).reshape(5, 2)
    torch.testing.assert_close(pool(x, batch, 2), torch.stack([x[:2].sum(0), x[2:].sum(0)]))
    torch.testing.assert_close(pool(x, batch, 3, reduce="mean"),
                               torch.stack([x[:2].mean(0), x[2:].mean(0), torch.zeros(2)]))
    # pooling is invariant under permutations of the nodes (with their graph labels)
    perm = torch.tensor([3, 0, 4, 2, 1])
    torch.testing.assert_close(pool(x[perm], batch[perm], 2), pool(x, batch, 2))


def test_bad_input_errors() -> None:
    x = torch.rand(5, 3)
    with pytest.raises(ValueError, match="NaN"):
        radius_graph(torch.tensor([[0.0, 0, 0], [float("nan"), 0, 0]]), 1.0)
    with pytest.raises(ValueError, match="cutoff must be a positive"):
        radius_graph(x, -1.0)
    with pytest.raises(ValueError, match=r"positions must be a tensor of shape \(N, 3\)"):
        radius_graph(torch.rand(5, 2), 1.0)
    with pytest.raises(ValueError, match=r"batch must be a tensor of shape \(5,\)"):
        radius_graph(x, 1.0, batch=torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="non-negative"):
        knn_graph(x, 1, batch=torch.tensor([0, 0, -1, 1, 1]))
    with pytest.raises(ValueError, match="pbc is set but no cell"):
        radius_graph(x, 1.0, pbc=True)
    with pytest.raises(ValueError, match="linearly dependent"):
        radius_graph(x, 1.0, cell=torch.tensor([[1.0, 0, 0], [2.0, 0, 0], [0, 0, 1.0]]))
    with pytest.raises(ValueError, match=r"cell must have shape \(3, 3\)"):
        radius_graph(x, 1.0, cell=torch.eye(2))
    with pytest.raises(ValueError, match="k = 3 needs at least 4 nodes per graph, graph 1 has 3"):
        knn_graph(torch.rand(7, 3), 3, batch=torch.tensor([0, 0, 0, 0, 1, 1, 1]))
    with pytest.raises(ValueError, match="entries must lie in"):
        batch_graphs([2], [torch.tensor([[0], [2]])])
    with pytest.raises(ValueError, match="entries must lie in"):
        edge_vectors(x, torch.tensor([[-1], [0]]))
    with pytest.raises(ValueError, match="refers to graph 2 but num_graphs = 2"):
        pool(x, torch.tensor([0, 0, 1, 2, 2]), 2)
    with pytest.raises(ValueError, match="reduce must be"):
        pool(x, torch.zeros(5, dtype=torch.long), 1, reduce="max")
