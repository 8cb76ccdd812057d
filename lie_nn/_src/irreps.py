"""``Irreps``: a reducible representation ``⊕ mul × ir`` of one group, as an immutable value object.

The basis of the direct sum is the concatenation of the blocks in order; within a block
``mul × ir`` the ``mul`` copies are adjacent (copy-major), so ``algebra()`` is block diagonal with
``mul`` copies of ``ir.algebra()`` per entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, overload

import numpy as np

from lie_nn._src.irrep import Irrep, MulIrrep


def _as_mul_irrep(item: Any) -> MulIrrep:
    if isinstance(item, MulIrrep):
        return item
    if isinstance(item, Irrep):
        return MulIrrep(1, item)
    if isinstance(item, tuple) and len(item) == 2:
        return MulIrrep(*item)
    raise TypeError(f"cannot interpret {item!r} as a (mul, irrep) entry")


def _split_top_level(text: str, sep: str) -> list[str]:
    """Split ``text`` on ``sep`` outside of any brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


@dataclass(frozen=True)
class Irreps:
    """Direct sum ``⊕ mul × ir`` of irreps of one group, stored as ``mul_irreps: tuple[MulIrrep, ...]``.

    ``str`` joins ``f"{mul}x{ir}"`` with ``+``; :meth:`from_string` parses it back.

    Built from an iterable of :class:`MulIrrep`, ``(mul, ir)`` pairs or bare irreps (``mul = 1``).

    >>> from lie_nn._src.groups.o3 import O3
    >>> irreps = Irreps([(2, O3(0, 1)), O3(1, -1)])
    >>> str(irreps), irreps.dim, irreps.num_irreps
    ('2xO3(0e)+1xO3(1o)', 5, 3)
    >>> irreps.algebra().shape
    (3, 5, 5)
    """

    mul_irreps: tuple[MulIrrep, ...] = ()

    def __init__(self, items: Iterable[Any] = ()) -> None:
        if isinstance(items, Irreps):
            entries = items.mul_irreps
        elif isinstance(items, (MulIrrep, Irrep)):
            entries = (_as_mul_irrep(items),)
        elif isinstance(items, str):
            raise TypeError("use Irreps.from_string(text, parse_ir) to parse a string")
        else:
            try:
                entries = tuple(_as_mul_irrep(item) for item in items)
            except TypeError as err:
                raise TypeError(f"cannot build Irreps from {items!r}: {err}") from err
        for entry in entries[1:]:
            if entry.ir.group_id() != entries[0].ir.group_id():
                raise TypeError(f"Irreps mixes groups: {entries[0].ir} and {entry.ir}")
        object.__setattr__(self, "mul_irreps", entries)

    @classmethod
    def from_string(cls, text: str, parse_ir: Callable[[str], Irrep]) -> Irreps:
        """Parse ``"2x0e + 1x1o"``-like text; each irrep label is parsed by ``parse_ir``.

        Terms are separated by ``+`` (outside brackets); a term is ``MULxLABEL`` or ``LABEL``.

        >>> from lie_nn._src.groups.o3 import O3
        >>> str(Irreps.from_string("2x0e + 1o", O3.from_string))
        '2xO3(0e)+1xO3(1o)'
        """
        if not isinstance(text, str):
            raise TypeError(f"expected a string, got {type(text).__name__}")
        if not text.strip():
            return cls()
        entries = []
        for term in _split_top_level(text, "+"):
            term = term.strip()
            head, sep, tail = term.partition("x")
            if sep and head.strip().isdigit():
                mul, label = int(head), tail.strip()
            else:
                mul, label = 1, term
            if not label:
                raise ValueError(f"empty irrep label in {text!r}")
            entries.append(MulIrrep(mul, parse_ir(label)))
        return cls(entries)

    # ----------------------------------------------------------------- container protocol
    def __len__(self) -> int:
        return len(self.mul_irreps)

    def __iter__(self) -> Iterator[MulIrrep]:
        return iter(self.mul_irreps)

    @overload
    def __getitem__(self, index: int) -> MulIrrep: ...
    @overload
    def __getitem__(self, index: slice) -> Irreps: ...
    def __getitem__(self, index: int | slice) -> MulIrrep | Irreps:
        if isinstance(index, slice):
            return Irreps(self.mul_irreps[index])
        return self.mul_irreps[index]

    def __add__(self, other: Any) -> Irreps:
        return Irreps(self.mul_irreps + Irreps(other).mul_irreps)

    def __radd__(self, other: Any) -> Irreps:
        return Irreps(Irreps(other).mul_irreps + self.mul_irreps)

    def __str__(self) -> str:
        return "+".join(str(entry) for entry in self.mul_irreps)

    def __repr__(self) -> str:
        return f"Irreps('{self}')"

    # ----------------------------------------------------------------- sizes
    @property
    def dim(self) -> int:
        return sum(entry.dim for entry in self.mul_irreps)

    @property
    def num_irreps(self) -> int:
        """Total number of irreducible copies ``Σ mul``."""
        return sum(entry.mul for entry in self.mul_irreps)

    def slices(self) -> list[slice]:
        """The slice of the basis occupied by each entry."""
        out, start = [], 0
        for entry in self.mul_irreps:
            out.append(slice(start, start + entry.dim))
            start += entry.dim
        return out

    # ----------------------------------------------------------------- representation
    def _blocks(self, method: str) -> np.ndarray:
        if not self.mul_irreps:
            raise ValueError("an empty Irreps has no group, hence no generators")
        mats = [getattr(entry.ir, method)() for entry in self.mul_irreps]
        counts = {m.shape[0] for m in mats}
        if len(counts) != 1:
            raise ValueError(f"irreps disagree on the number of generators ({sorted(counts)})")
        dtype = np.result_type(*mats, np.float64)
        out = np.zeros((counts.pop(), self.dim, self.dim), dtype=dtype)
        start = 0
        for entry, m in zip(self.mul_irreps, mats, strict=True):
            d = entry.ir.dim
            for _ in range(entry.mul):
                out[:, start : start + d, start : start + d] = m
                start += d
        return out

    def algebra(self) -> np.ndarray:
        """Block-diagonal Lie-algebra generators, shape ``(n_gen, dim, dim)``."""
        return self._blocks("algebra")

    def discrete_generators(self) -> np.ndarray:
        """Block-diagonal discrete generators, shape ``(n_disc, dim, dim)``."""
        return self._blocks("discrete_generators")

    @property
    def is_real(self) -> bool:
        return all(entry.ir.is_real for entry in self.mul_irreps)

    # ----------------------------------------------------------------- normal forms
    def simplify(self) -> Irreps:
        """Merge consecutive entries with the same irrep and drop zero multiplicities.

        >>> from lie_nn._src.groups.o3 import O3
        >>> str(Irreps([(1, O3(0, 1)), (0, O3(1, 1)), (2, O3(0, 1))]).simplify())
        '3xO3(0e)'
        """
        out: list[MulIrrep] = []
        for entry in self.mul_irreps:
            if entry.mul == 0:
                continue
            if out and out[-1].ir == entry.ir:
                out[-1] = MulIrrep(out[-1].mul + entry.mul, entry.ir)
            else:
                out.append(entry)
        return Irreps(out)

    def sort(self) -> tuple[Irreps, tuple[int, ...]]:
        """Stable sort of the entries by ``ir.sort_key()``.

        Returns ``(sorted_irreps, perm)`` with ``sorted_irreps[k] == self[perm[k]]``.

        >>> from lie_nn._src.groups.o3 import O3
        >>> irreps, perm = Irreps([O3(1, -1), O3(0, 1)]).sort()
        >>> str(irreps), perm
        ('1xO3(0e)+1xO3(1o)', (1, 0))
        """
        perm = tuple(sorted(range(len(self)), key=lambda i: self.mul_irreps[i].ir.sort_key()))
        return Irreps([self.mul_irreps[i] for i in perm]), perm
