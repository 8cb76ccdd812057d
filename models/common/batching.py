"""Data sets the trainer can batch: anything with ``len()`` and ``batch(indices) -> batch``.

:class:`TensorData` wraps equally long tensors (a dict of columns) and indexes them; :class:`SampleList`
wraps a list of samples and a ``collate`` function (e.g. graphs into one disjoint-union graph).
:func:`epoch_batches` gives the global batches of one epoch, the same on every rank.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import torch

__all__ = ["Batchable", "SampleList", "TensorData", "epoch_batches", "to_device"]


class Batchable(Protocol):
    def __len__(self) -> int: ...

    def batch(self, indices: Sequence[int]) -> Any: ...


class TensorData:
    """Columns of equal length; ``batch(indices)`` is the dict of the selected rows.

    >>> data = TensorData({"x": torch.arange(6.0).reshape(3, 2), "y": torch.tensor([0, 1, 0])})
    >>> len(data), data.batch([2, 0])["y"].tolist()
    (3, [0, 0])
    """

    def __init__(self, columns: Mapping[str, torch.Tensor]) -> None:
        lengths = {name: len(t) for name, t in columns.items()}
        if not lengths or len(set(lengths.values())) != 1:
            raise ValueError(f"TensorData needs at least one column, all of equal length, got {lengths}")
        self.columns = dict(columns)
        self.n = next(iter(lengths.values()))

    def __len__(self) -> int:
        return self.n

    def batch(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        idx = torch.as_tensor(indices, dtype=torch.long)
        return {name: t[idx] for name, t in self.columns.items()}


class SampleList:
    """A list of samples batched by ``collate(list_of_samples)``.

    >>> SampleList([1, 2, 3], sum).batch([0, 2])
    4
    """

    def __init__(self, samples: Sequence[Any], collate: Callable[[list[Any]], Any]) -> None:
        self.samples, self.collate = samples, collate

    def __len__(self) -> int:
        return len(self.samples)

    def batch(self, indices: Sequence[int]) -> Any:
        return self.collate([self.samples[int(i)] for i in indices])


def epoch_batches(n: int, batch_size: int, seed: int | None, epoch: int, world: int = 1
                  ) -> list[torch.Tensor]:
    """The global batches (index tensors) of epoch ``epoch``: a permutation from a generator seeded
    with ``seed · 100003 + epoch`` (``seed=None``: in order), cut into ``batch_size`` pieces.  A last
    piece with fewer than ``world`` samples is merged into the one before it, so every rank gets one.

    >>> [b.tolist() for b in epoch_batches(5, 2, None, 0)]
    [[0, 1], [2, 3], [4]]
    >>> [b.tolist() for b in epoch_batches(5, 2, None, 0, world=2)]
    [[0, 1], [2, 3, 4]]
    """
    if batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {batch_size}")
    if n < world:
        raise ValueError(f"{n} samples cannot be shared by {world} processes")
    if seed is None:
        order = torch.arange(n)
    else:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
    out = list(order.split(batch_size))
    if len(out) > 1 and len(out[-1]) < world:
        out[-2:] = [torch.cat(out[-2:])]
    return out


def to_device(batch: Any, device: torch.device) -> Any:
    """Move the tensors of a (nested dict/list/tuple) batch, or an object with ``.to``, to ``device``."""
    if device.type == "cpu" and not isinstance(batch, torch.Tensor | Mapping | list | tuple):
        return batch
    if isinstance(batch, Mapping):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, list | tuple):
        return type(batch)(to_device(v, device) for v in batch)
    if hasattr(batch, "to"):
        return batch.to(device)
    return batch
