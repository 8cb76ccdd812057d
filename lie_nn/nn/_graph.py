r"""Graphs of point clouds: radius / k-nearest-neighbour graphs, batching and pooling.

Conventions (shared with :class:`~lie_nn.nn.MACEInteraction`): ``edge_index (2, E)`` holds
``(senders, receivers)``; a message flows ``s → r`` and the edge vector points from the sender to
the receiver,

.. math:: \vec r_{sr} = x_r - x_s + n_{sr} \cdot C,

with ``n_{sr}`` the integer-valued periodic shift of the edge (a row vector of cell-vector multiples)
and ``C (3, 3)`` the cell whose *rows* are the lattice vectors.  The neighbour search runs on
detached coordinates (the graph is piecewise constant in the positions); gradients flow through
:func:`edge_vectors`, which recomputes the vectors from ``positions`` (and ``cell``, for stresses).

Radius graphs come from `vesin <https://github.com/Luthaf/vesin>`_ (cell lists, ``O(N)``); several
graphs are described by one ``batch (N,)`` vector giving each node's graph index.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["batch_graphs", "edge_vectors", "knn_graph", "pool", "radius_graph"]


def _check_positions(positions: torch.Tensor, fn: str) -> None:
    if not isinstance(positions, torch.Tensor) or positions.ndim != 2 or positions.shape[1] != 3:
        shape = tuple(positions.shape) if isinstance(positions, torch.Tensor) else type(positions).__name__
        raise ValueError(f"{fn}: positions must be a tensor of shape (N, 3), got {shape}")
    if not positions.is_floating_point():
        raise TypeError(f"{fn}: positions must be a floating-point tensor, got {positions.dtype}")
    if not bool(torch.isfinite(positions).all()):
        raise ValueError(f"{fn}: positions contain NaN or infinite values")


def _check_batch(batch: torch.Tensor | None, num_nodes: int, fn: str) -> tuple[torch.Tensor, int]:
    """``batch`` as an int64 tensor of shape ``(N,)`` and the number of graphs (max index + 1)."""
    if batch is None:
        return torch.zeros(num_nodes, dtype=torch.long), 1 if num_nodes else 0
    if not isinstance(batch, torch.Tensor) or batch.ndim != 1 or batch.shape[0] != num_nodes:
        shape = tuple(batch.shape) if isinstance(batch, torch.Tensor) else type(batch).__name__
        raise ValueError(f"{fn}: batch must be a tensor of shape ({num_nodes},) (one graph index per node), "
                         f"got {shape}")
    if batch.is_floating_point() or batch.is_complex() or batch.dtype == torch.bool:
        raise TypeError(f"{fn}: batch must be an integer tensor, got {batch.dtype}")
    if num_nodes and int(batch.min()) < 0:
        raise ValueError(f"{fn}: batch indices must be non-negative, got {int(batch.min())}")
    return batch.long(), int(batch.max()) + 1 if num_nodes else 0


def _per_graph(value: torch.Tensor | np.ndarray | None, num_graphs: int, tail: tuple[int, ...], name: str,
               fn: str) -> np.ndarray | None:
    """``value`` of shape ``tail`` (shared) or ``(num_graphs, *tail)`` as a per-graph float64 array."""
    if value is None:
        return None
    arr = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
    if arr.shape == tail:
        arr = np.broadcast_to(arr, (num_graphs, *tail))
    if arr.shape != (num_graphs, *tail):
        per_graph = (num_graphs, *tail)
        raise ValueError(f"{fn}: {name} must have shape {tail} or {per_graph}, got {arr.shape}")
    return arr


def _periodicity(cell: torch.Tensor | None, pbc: torch.Tensor | Sequence[bool] | bool | None, num_graphs: int,
                 fn: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-graph cells ``(G, 3, 3)`` (zeros without a cell) and periodic flags ``(G, 3)``."""
    if cell is None:
        if pbc is not None and bool(np.any(np.asarray(pbc))):
            raise ValueError(f"{fn}: pbc is set but no cell was given")
        return np.zeros((num_graphs, 3, 3)), np.zeros((num_graphs, 3), dtype=bool)
    cells = _per_graph(cell, num_graphs, (3, 3), "cell", fn).astype(np.float64)
    if not np.isfinite(cells).all():
        raise ValueError(f"{fn}: cell contains NaN or infinite values")
    flags = np.ones((3,), dtype=bool) if pbc is None else pbc
    if np.ndim(flags) == 0:
        flags = [bool(flags)] * 3
    flags = _per_graph(flags, num_graphs, (3,), "pbc", fn).astype(bool)
    for g in range(num_graphs):
        periodic = cells[g][flags[g]]
        tol = 1e-12 * max(1.0, float(np.abs(periodic).max(initial=0.0)))
        if periodic.shape[0] and np.linalg.matrix_rank(periodic, tol=tol) < periodic.shape[0]:
            raise ValueError(f"{fn}: the periodic cell vectors of graph {g} are linearly dependent")
    return cells, flags


def radius_graph(positions: torch.Tensor, cutoff: float, *, cell: torch.Tensor | None = None,
                 pbc: torch.Tensor | Sequence[bool] | bool | None = None, batch: torch.Tensor | None = None,
                 self_loops: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    r"""All pairs ``(s, r)`` of one graph with ``|x_r - x_s + n_{sr} C| < cutoff``, both directions.

    ``positions (N, 3)``; ``cell`` ``(3, 3)`` (rows are the lattice vectors) or ``(G, 3, 3)`` per
    graph; ``pbc`` a bool or three bools (default: periodic in all directions when a cell is given);
    ``batch (N,)`` the graph index of every node (edges never join two graphs).  With periodic cells
    a node meets its own images (``s = r``, ``n ≠ 0``); ``self_loops=True`` adds the zero-length edges
    ``(i, i)`` with ``n = 0``.  Returns ``edge_index (2, E)`` int64 = ``(senders, receivers)`` and
    ``shifts (E, 3)`` (integer-valued, in ``positions.dtype``) such that
    ``edge_vectors(positions, edge_index, shifts, cell, batch)`` gives ``x_r - x_s + n C``.

    >>> x = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [3.0, 0.0, 0.0]])
    >>> edge_index, shifts = radius_graph(x, 1.5)
    >>> sorted(map(tuple, edge_index.T.tolist()))
    [(0, 1), (1, 0)]
    >>> edge_index, shifts = radius_graph(x, 1.5, cell=4.0 * torch.eye(3), pbc=[True, False, False])
    >>> sorted(zip(map(tuple, edge_index.T.tolist()), shifts[:, 0].tolist()))
    [((0, 1), 0.0), ((0, 2), -1.0), ((1, 0), 0.0), ((2, 0), 1.0)]
    """
    fn = "radius_graph"
    _check_positions(positions, fn)
    if isinstance(cutoff, bool) or not isinstance(cutoff, (int, float)) or not math.isfinite(cutoff) \
            or cutoff <= 0:
        raise ValueError(f"{fn}: cutoff must be a positive finite number, got {cutoff!r}")
    batch, num_graphs = _check_batch(batch, positions.shape[0], fn)
    cells, flags = _periodicity(cell, pbc, num_graphs, fn)
    try:
        import vesin
    except ImportError as err:
        raise ImportError(f"{fn} needs the neighbour-list library vesin: pip install vesin") from err
    points = positions.detach().cpu().double().numpy()
    nodes_of = _nodes_per_graph(batch, num_graphs)
    search = vesin.NeighborList(cutoff=float(cutoff), full_list=True)
    senders, receivers, shifts = [], [], []
    for g, nodes in enumerate(nodes_of):
        if nodes.size == 0:
            continue
        i, j, s = search.compute(points[nodes], cells[g], flags[g].tolist(), quantities="ijS")
        senders.append(nodes[i.astype(np.int64)])
        receivers.append(nodes[j.astype(np.int64)])
        shifts.append(s.astype(np.float64))
        if self_loops:
            senders.append(nodes)
            receivers.append(nodes)
            shifts.append(np.zeros((nodes.size, 3)))
    edge_index = torch.as_tensor(np.stack([np.concatenate(senders or [np.zeros(0, np.int64)]),
                                           np.concatenate(receivers or [np.zeros(0, np.int64)])]))
    shift = torch.as_tensor(np.concatenate(shifts or [np.zeros((0, 3))]).reshape(-1, 3))
    return edge_index.to(positions.device), shift.to(device=positions.device, dtype=positions.dtype)


def _nodes_per_graph(batch: torch.Tensor, num_graphs: int) -> list[np.ndarray]:
    b = batch.cpu().numpy()
    order = np.argsort(b, kind="stable")
    bounds = np.searchsorted(b[order], np.arange(num_graphs + 1))
    return [order[bounds[g]:bounds[g + 1]] for g in range(num_graphs)]


def knn_graph(positions: torch.Tensor, k: int, *, batch: torch.Tensor | None = None) -> torch.Tensor:
    r"""Edges from each node's ``k`` nearest other nodes of the same graph to that node.

    Every receiver gets exactly ``k`` senders (its nearest neighbours by Euclidean distance,
    excluding itself; ties broken arbitrarily), so ``k`` must be smaller than the number of nodes of
    every graph.  ``positions (N, 3)``, ``batch (N,)``; returns ``edge_index (2, N k)`` int64
    ``= (senders, receivers)``.  Cost ``O(Σ_g n_g²)`` (``torch.cdist`` + ``topk`` per graph).

    >>> x = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [3.0, 0.0, 0.0]])
    >>> knn_graph(x, 1).tolist()
    [[1, 0, 1], [0, 1, 2]]
    """
    fn = "knn_graph"
    _check_positions(positions, fn)
    batch, num_graphs = _check_batch(batch, positions.shape[0], fn)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"{fn}: k must be a positive int, got {k!r}")
    points = positions.detach()
    edges = []
    for g, nodes in enumerate(_nodes_per_graph(batch, num_graphs)):
        if nodes.size == 0:
            continue
        if k >= nodes.size:
            raise ValueError(f"{fn}: k = {k} needs at least {k + 1} nodes per graph, "
                             f"graph {g} has {nodes.size}")
        idx = torch.as_tensor(nodes, device=points.device)
        dist = torch.cdist(points[idx], points[idx])
        dist.fill_diagonal_(math.inf)
        nearest = dist.topk(k, dim=1, largest=False).indices  # (n, k): senders of each receiver
        receivers = torch.arange(nodes.size, device=points.device).repeat_interleave(k)
        edges.append(torch.stack([idx[nearest.reshape(-1)], idx[receivers]]))
    if not edges:
        return torch.zeros((2, 0), dtype=torch.long, device=positions.device)
    return torch.cat(edges, dim=1)


def edge_vectors(positions: torch.Tensor, edge_index: torch.Tensor, shifts: torch.Tensor | None = None,
                 cell: torch.Tensor | None = None, batch: torch.Tensor | None = None) -> torch.Tensor:
    r"""Differentiable edge vectors ``x_r - x_s + n_{sr} C`` (``(E, 3)``), sender → receiver.

    ``cell`` is ``(3, 3)`` or ``(G, 3, 3)`` with ``batch (N,)`` (the sender's graph picks the cell).
    Gradients reach ``positions`` and ``cell`` (forces and stresses).

    >>> x = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]], requires_grad=True)
    >>> edge_vectors(x, torch.tensor([[0], [1]])).tolist()
    [[1.0, 0.0, 0.0]]
    """
    fn = "edge_vectors"
    _check_positions(positions, fn)
    n = positions.shape[0]
    if not isinstance(edge_index, torch.Tensor) or edge_index.ndim != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"{fn}: edge_index must be a tensor of shape (2, E)")
    if edge_index.is_floating_point() or edge_index.dtype == torch.bool:
        raise TypeError(f"{fn}: edge_index must be an integer tensor, got {edge_index.dtype}")
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= n):
        raise ValueError(f"{fn}: edge_index entries must lie in [0, {n}), got range "
                         f"[{int(edge_index.min())}, {int(edge_index.max())}]")
    senders, receivers = edge_index[0].long(), edge_index[1].long()
    vectors = positions[receivers] - positions[senders]
    if shifts is None:
        if cell is not None:
            raise ValueError(f"{fn}: a cell was given without shifts")
        return vectors
    if cell is None:
        raise ValueError(f"{fn}: shifts were given without a cell")
    if shifts.shape != (edge_index.shape[1], 3):
        raise ValueError(f"{fn}: shifts must have shape ({edge_index.shape[1]}, 3), "
                         f"got {tuple(shifts.shape)}")
    cell = cell.to(positions.dtype)
    if cell.shape == (3, 3):
        return vectors + shifts.to(positions.dtype) @ cell
    batch, num_graphs = _check_batch(batch, n, fn)
    if cell.ndim != 3 or cell.shape[1:] != (3, 3) or cell.shape[0] < num_graphs:
        raise ValueError(f"{fn}: cell must have shape (3, 3) or ({num_graphs}, 3, 3), "
                         f"got {tuple(cell.shape)}")
    per_edge = cell[batch.to(positions.device)[senders]]
    return vectors + torch.einsum("ei,eij->ej", shifts.to(positions.dtype), per_edge)


def batch_graphs(num_nodes: Sequence[int], edge_indices: Sequence[torch.Tensor]) -> tuple[torch.Tensor,
                                                                                           torch.Tensor]:
    r"""Concatenate graphs: offset each ``edge_index`` by the nodes before it and build ``batch``.

    Graph ``g`` has ``num_nodes[g]`` nodes and edges ``edge_indices[g] (2, E_g)``; its nodes become
    ``o_g .. o_g + num_nodes[g] - 1`` with ``o_g = Σ_{h<g} num_nodes[h]``.  Returns
    ``edge_index (2, Σ E_g)`` and ``batch (Σ n_g,)`` (``batch[i] = g``).  Node tensors, edge tensors
    (shifts) and per-graph tensors (cells) are concatenated with ``torch.cat`` / ``torch.stack``.

    >>> e, b = batch_graphs([2, 3], [torch.tensor([[0], [1]]), torch.tensor([[2, 0], [1, 2]])])
    >>> e.tolist(), b.tolist()
    ([[0, 4, 2], [1, 3, 4]], [0, 0, 1, 1, 1])
    """
    fn = "batch_graphs"
    if len(num_nodes) != len(edge_indices):
        raise ValueError(f"{fn}: got {len(num_nodes)} node counts but {len(edge_indices)} edge_index tensors")
    out, offset = [], 0
    for g, (n, e) in enumerate(zip(num_nodes, edge_indices, strict=True)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"{fn}: num_nodes[{g}] must be a non-negative int, got {n!r}")
        if not isinstance(e, torch.Tensor) or e.ndim != 2 or e.shape[0] != 2:
            raise ValueError(f"{fn}: edge_indices[{g}] must be a tensor of shape (2, E)")
        if e.is_floating_point() or e.dtype == torch.bool:
            raise TypeError(f"{fn}: edge_indices[{g}] must be an integer tensor, got {e.dtype}")
        if e.numel() and (int(e.min()) < 0 or int(e.max()) >= n):
            raise ValueError(f"{fn}: edge_indices[{g}] entries must lie in [0, {n}), got range "
                             f"[{int(e.min())}, {int(e.max())}]")
        out.append(e.long() + offset)
        offset += n
    device = edge_indices[0].device if edge_indices else None
    edge_index = torch.cat(out, dim=1) if out else torch.zeros((2, 0), dtype=torch.long)
    counts = torch.tensor(list(num_nodes), dtype=torch.long)
    batch = torch.repeat_interleave(torch.arange(len(num_nodes)), counts)
    return edge_index, batch.to(device if device is not None else batch.device)


def pool(x: torch.Tensor, batch: torch.Tensor, num_graphs: int, reduce: str = "sum") -> torch.Tensor:
    r"""Per-graph readout ``out[g] = Σ_{i : batch_i = g} x_i`` (``reduce="sum"``) or its mean.

    ``x (N, ...)``, ``batch (N,)`` with entries in ``[0, num_graphs)``; returns ``(num_graphs, ...)``.
    The mean of a graph without nodes is 0.  Both are equivariant for any group acting on the
    feature axis (they are linear in ``x`` and act node-wise).

    >>> pool(torch.tensor([[1.0], [2.0], [4.0]]), torch.tensor([0, 0, 1]), 2, reduce="mean").flatten()
    tensor([1.5000, 4.0000])
    """
    fn = "pool"
    if reduce not in ("sum", "mean"):
        raise ValueError(f"{fn}: reduce must be 'sum' or 'mean', got {reduce!r}")
    if not isinstance(x, torch.Tensor) or x.ndim == 0:
        raise ValueError(f"{fn}: x must be a tensor of shape (N, ...)")
    if isinstance(num_graphs, bool) or not isinstance(num_graphs, int) or num_graphs < 0:
        raise ValueError(f"{fn}: num_graphs must be a non-negative int, got {num_graphs!r}")
    batch, needed = _check_batch(batch, x.shape[0], fn)
    if needed > num_graphs:
        raise ValueError(f"{fn}: batch refers to graph {needed - 1} but num_graphs = {num_graphs}")
    batch = batch.to(x.device)
    out = x.new_zeros(num_graphs, *x.shape[1:]).index_add(0, batch, x)
    if reduce == "mean":
        counts = torch.bincount(batch, minlength=num_graphs).clamp_min(1).to(x.dtype)
        out = out / counts.reshape(-1, *([1] * (x.ndim - 1)))
    return out
