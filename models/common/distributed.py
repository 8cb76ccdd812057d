"""Data-parallel training with ``torch.distributed``: process group set-up, per-rank batch slices and
reductions.  One process per device, started by ``torchrun``::

    torchrun --standalone --nproc-per-node 2 -m models.<name>.train ...

Every rank holds the whole data set and the same global batch (the same shuffled indices); rank ``r``
of ``W`` takes the indices ``batch[r::W]``.  Gradients are averaged by
:class:`torch.nn.parallel.DistributedDataParallel` (gloo on CPU, nccl on GPU), and the trainer scales
each rank's mean loss by ``n_r W / n`` so that the average is the mean over the global batch: the
result equals single-process training with the same batch size, up to the order of floating-point sums.
Only rank 0 writes files.
"""

from __future__ import annotations

import atexit
import datetime
import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["Context", "all_reduce_sum", "broadcast_object", "init", "rank_slice"]


@dataclass(frozen=True)
class Context:
    """Where this process stands: ``rank`` of ``world`` processes, on ``device``."""

    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        """True on the rank that writes files and prints (rank 0)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def init(device: str = "cpu") -> Context:
    """Join the process group described by torchrun's environment (``WORLD_SIZE``, ``RANK``, ...).

    Without those variables (a plain ``python -m ...``) this is a single process.  ``device="cuda"``
    uses GPU ``LOCAL_RANK`` and the nccl backend; ``"cpu"`` uses gloo.

    >>> init().world
    1
    """
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but torch sees no GPU")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    dev = torch.device("cuda", local) if device == "cuda" else torch.device("cpu")
    if device == "cuda":
        torch.cuda.set_device(dev)
    if world == 1:
        return Context(0, 1, dev)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device == "cuda" else "gloo",
                                timeout=datetime.timedelta(minutes=60))
        atexit.register(_shutdown)
    return Context(dist.get_rank(), dist.get_world_size(), dev)


def _shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def rank_slice(indices: Sequence[int] | torch.Tensor, ctx: Context) -> Sequence[int] | torch.Tensor:
    """This rank's share ``indices[rank::world]`` of a global batch.

    >>> rank_slice(list(range(7)), Context(rank=1, world=3))
    [1, 4]
    """
    return indices[ctx.rank :: ctx.world]


def all_reduce_sum(values: torch.Tensor, ctx: Context) -> torch.Tensor:
    """Sum of ``values`` over all ranks (a copy; ``values`` itself on one process)."""
    if not ctx.distributed:
        return values
    out = values.detach().clone().to(ctx.device)
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out.to(values.device)


def broadcast_object(obj: object, ctx: Context) -> object:
    """Rank 0's ``obj`` on every rank (picklable objects between our own processes only)."""
    if not ctx.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0, device=ctx.device if ctx.device.type == "cuda" else None)
    return box[0]
