"""Message aggregation variants of the LorentzTagger layer on one CPU thread (docs/top_tagging.md).

One layer's messages at the tuned tagger's size (batch 64 x 32 nodes, k = 8 neighbours, 16 channels
of ``(0,0) + 4-vector``: 160 real components per node, 64 weights per edge): gather the sender's
node products, multiply by the per-edge weights (one per channel, repeated over the channel's
components) and sum onto the receiver.  Prints the median forward and forward+backward CPU time of

* ``edge-list``: ``index_select`` expansion of the weights, ``index_add_`` onto receivers (the default);
* ``dense expand``: the same expansion, product viewed as ``(nodes, k, 160)``, sum over ``k``;
* ``dense split``: per-irrep blocks, weights broadcast over a vector's 4 components, sum over ``k``;
* ``dense repeat``: weights expanded with ``repeat_interleave`` per block, sum over ``k``;
* ``dense einsum``: per-block ``einsum("nkm,nkmd->nmd")``;
* ``rank one``: an untried idea, timed here only: the ``(0,0) ⊗ (1/2,1/2)`` block is ``h_j ⊗ p̂_j``, so
  it is summed as a batched matrix product of ``w_ij h_j`` with the gathered ``p̂_j`` (4 numbers per
  edge instead of 64).

    .venv/bin/python benchmarks/bench_top_messages.py
"""

from __future__ import annotations

import statistics
import time

import torch

from models.common.memory import keep_freed_memory

NODES, K = 64 * 32, 8
BLOCKS = [(16, 1), (16, 4), (16, 1), (16, 4)]  # (channels, components) of each output irrep
SIZES = [m * d for m, d in BLOCKS]
WEIGHTS = sum(m for m, _ in BLOCKS)
CHANNELS = [b for b in BLOCKS for _ in range(b[0])]  # one entry per weight
EXPAND = torch.tensor([w for w, (_, d) in enumerate(CHANNELS) for _ in range(d)])  # component -> weight


def edge_list(x, w, sender, receiver):
    msg = x.index_select(0, sender) * w.reshape(NODES * K, -1).index_select(1, EXPAND)
    return torch.zeros(NODES, x.shape[1]).index_add_(0, receiver, msg)


def dense_expand(x, w, sender, receiver):
    wide = w.reshape(NODES * K, -1).index_select(1, EXPAND).view(NODES, K, -1)
    return (x.index_select(0, sender).view(NODES, K, -1) * wide).sum(1)


def dense_split(x, w, sender, receiver):
    xs = x.index_select(0, sender).view(NODES, K, -1).split(SIZES, -1)
    ws = w.split([m for m, _ in BLOCKS], -1)
    return torch.cat([(xb.unflatten(-1, (m, d)) * wb[..., None]).sum(1).flatten(1)
                      for xb, wb, (m, d) in zip(xs, ws, BLOCKS, strict=True)], -1)


def dense_repeat(x, w, sender, receiver):
    wide = torch.cat([wb.repeat_interleave(d, dim=-1) for wb, (_, d) in
                      zip(w.split([m for m, _ in BLOCKS], -1), BLOCKS, strict=True)], -1)
    return (x.index_select(0, sender).view(NODES, K, -1) * wide).sum(1)


def dense_einsum(x, w, sender, receiver):
    ws = w.split([m for m, _ in BLOCKS], -1)
    return torch.cat([torch.einsum("nkm,nkmd->nmd", wb, xb.index_select(0, sender).view(NODES, K, m, d))
                      .flatten(1) for xb, wb, (m, d) in zip(x.split(SIZES, -1), ws, BLOCKS, strict=True)], -1)


def rank_one(x, w, sender, receiver, p):
    hs, _, s3, hv = x.split(SIZES, -1)
    w1, w2, w3, w4 = w.split([m for m, _ in BLOCKS], -1)
    scal = torch.cat([hs, s3], -1).index_select(0, sender).view(NODES, K, -1)
    agg13 = (scal * torch.cat([w1, w3], -1)).sum(1)
    u = w2 * scal[..., :16]  # w_ij h_j, (nodes, k, 16)
    agg2 = torch.bmm(u.transpose(1, 2), p.index_select(0, sender).view(NODES, K, 4)).flatten(1)
    w4 = w4.reshape(NODES * K, -1).index_select(1, EXPAND[-64:] - 48).view(NODES, K, -1)
    agg4 = (hv.index_select(0, sender).view(NODES, K, -1) * w4).sum(1)
    return torch.cat([agg13[:, :16], agg2, agg13[:, 16:], agg4], -1)


def main(reps: int = 11) -> None:
    torch.set_num_threads(1)
    keep_freed_memory()
    gen = torch.Generator().manual_seed(0)
    hs, p, s3, hv = (torch.randn(NODES, n, generator=gen) for n in (16, 4, 16, 64))
    x0 = torch.cat([hs, (hs[:, :, None] * p[:, None, :]).flatten(1), s3, hv], -1)  # block 2 = h ⊗ p̂
    w0 = torch.randn(NODES, K, WEIGHTS, generator=gen)
    sender = torch.randint(0, NODES, (NODES * K,), generator=gen)
    receiver = torch.arange(NODES).repeat_interleave(K)
    reference = edge_list(x0, w0, sender, receiver)
    variants = (edge_list, dense_expand, dense_split, dense_repeat, dense_einsum, rank_one, edge_list)
    for f in variants:
        x, w = x0.clone().requires_grad_(), w0.clone().requires_grad_()
        extra = (p,) if f is rank_one else ()
        torch.testing.assert_close(f(x, w, sender, receiver, *extra), reference, rtol=1e-4, atol=1e-4)
        fwd, both = [], []
        for _ in range(reps):
            t = time.process_time()
            out = f(x, w, sender, receiver, *extra)
            fwd.append(time.process_time() - t)
            out.backward(torch.ones_like(out))
            both.append(time.process_time() - t)
        print(f"{f.__name__:14s} forward {1e3 * statistics.median(fwd):5.2f} ms   "
              f"forward+backward {1e3 * statistics.median(both):5.2f} ms")


if __name__ == "__main__":
    main()
