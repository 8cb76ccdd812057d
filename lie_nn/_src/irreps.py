"""``Irreps``: a reducible representation ``⊕ mul × ir`` of one group, the one such type of lie_nn.

An ``Irreps`` is an immutable, hashable tuple of :class:`~lie_nn._src.irrep.MulIrrep` (so it compares
equal to the plain tuple of its terms).  The basis of the direct sum is the concatenation of the
blocks in order; within a block ``mul × ir`` the ``mul`` copies are adjacent (copy-major), so
``algebra()`` is block diagonal with ``mul`` copies of ``ir.algebra()`` per term.

The constructor is liberal; every core API that takes a representation accepts what it accepts:
``"8x0e + 4x1o"`` (O(3) labels as in e3nn), group-qualified strings (``"2xSU3(2,1,0) + SU3(0,0,0)"``,
``"SO13(1/2,1/2)"``, ``"2xO3(1o)"``, products ``"SO3(1)xSU2(1/2)"``), an irrep, a ``MulIrrep``, a
``(mul, ir)`` pair, an iterable of those (irreps may be given as label strings), or an ``Irreps``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, SupportsIndex, overload

import numpy as np

from lie_nn._src.irrep import Irrep, MulIrrep
from lie_nn._src.parse import irrep_from_string, mul_irreps_from_string

__all__ = ["Irreps"]


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _as_ir(value: object) -> Irrep:
    if isinstance(value, Irrep):
        return value
    if isinstance(value, str):
        return irrep_from_string(value)
    raise TypeError(f"expected an Irrep or an irrep label, got {value!r}")


def _is_pair(value: object) -> bool:
    return (isinstance(value, tuple) and not isinstance(value, Irreps) and len(value) == 2
            and _is_int(value[0]) and isinstance(value[1], (Irrep, str)))


def _terms(value: object) -> tuple[MulIrrep, ...]:
    """The ``MulIrrep`` terms of anything the ``Irreps`` constructor accepts."""
    if isinstance(value, Irreps):
        return tuple(value)
    if isinstance(value, str):
        return mul_irreps_from_string(value)
    if isinstance(value, MulIrrep):
        return (value,)
    if isinstance(value, Irrep):
        return (MulIrrep(1, value),)
    if _is_pair(value):
        return (MulIrrep(value[0], _as_ir(value[1])),)  # type: ignore[index]
    if isinstance(value, (bytes, dict)) or not isinstance(value, Iterable):
        raise TypeError(f"cannot build Irreps from {value!r}: expected a string such as '2x0e + 1x1o', an "
                        "Irrep, a MulIrrep, a (mul, ir) pair or a sequence of those")
    out: list[MulIrrep] = []
    for item in value:
        if isinstance(item, (Irreps, str, MulIrrep, Irrep)) or _is_pair(item):
            out.extend(_terms(item))
        else:
            raise TypeError(f"cannot interpret {item!r} as a (mul, irrep) term of Irreps")
    return tuple(out)


class Irreps(tuple):
    """Direct sum ``⊕ mul × ir`` of irreps of one group: an immutable tuple of ``MulIrrep``.

    ``str`` joins ``f"{mul}x{label}"`` with ``+`` (O(3) irreps use their bare labels, as in e3nn);
    ``Irreps(str(irreps)) == irreps`` for every registered group.  ``irreps1 + irreps2`` is the direct
    sum (concatenation), ``n * irreps`` the direct sum of ``n`` copies (``2 * x == x + x``), and
    ``irreps1 * irreps2`` the tensor product decomposed into irreps (sorted, merged).

    >>> from lie_nn import O3
    >>> irreps = Irreps("2x0e + 1o")
    >>> irreps, irreps.dim, irreps.num_irreps, irreps == Irreps([(2, O3(0, 1)), O3(1, -1)])
    (Irreps('2x0e+1x1o'), 5, 3, True)
    >>> print(O3(1, -1) * O3(1, -1))
    1x0e+1x1e+1x2e
    """

    __slots__ = ()

    def __new__(cls, value: Any = ()) -> Irreps:
        terms = _terms(value)
        for term in terms[1:]:
            if term.ir.group_id() != terms[0].ir.group_id():
                raise TypeError(f"Irreps mixes groups: {terms[0].ir} and {term.ir}")
        return super().__new__(cls, terms)

    def __getnewargs__(self) -> tuple[tuple[MulIrrep, ...]]:
        return (tuple(self),)

    @classmethod
    def from_string(cls, text: str, parse_ir: Callable[[str], Irrep] | None = None) -> Irreps:
        """Parse ``"2x0e + 1x1o"``-like text; labels by ``parse_ir`` (default: the group registry).

        Terms are separated by ``+`` (outside brackets); a term is ``MULxLABEL`` or ``LABEL``.

        >>> from lie_nn import SU2
        >>> Irreps.from_string("2x1/2 + 1", SU2.from_string)
        Irreps('2xSU2(1/2)+1xSU2(1)')
        """
        if not isinstance(text, str):
            raise TypeError(f"expected a string, got {type(text).__name__}")
        return cls(mul_irreps_from_string(text, parse_ir))

    # ----------------------------------------------------------------- container protocol
    @property
    def mul_irreps(self) -> tuple[MulIrrep, ...]:
        """The terms as a plain tuple.

        >>> [str(term) for term in Irreps("2x0e + 1o").mul_irreps]
        ['2xO3(0e)', '1xO3(1o)']
        """
        return tuple(self)

    @overload
    def __getitem__(self, index: SupportsIndex) -> MulIrrep: ...
    @overload
    def __getitem__(self, index: slice) -> Irreps: ...
    def __getitem__(self, index: SupportsIndex | slice) -> MulIrrep | Irreps:
        if isinstance(index, slice):
            return Irreps(tuple.__getitem__(self, index))
        return tuple.__getitem__(self, index)

    def __contains__(self, item: object) -> bool:
        """``ir in irreps`` for an irrep (or label string) or a ``MulIrrep`` term.

        >>> "1o" in Irreps("2x0e + 1o"), "1e" in Irreps("2x0e + 1o")
        (True, False)
        """
        if isinstance(item, str):
            item = irrep_from_string(item)
        if isinstance(item, Irrep):
            return any(term.ir == item and term.mul > 0 for term in self)
        return tuple.__contains__(self, item)

    def count(self, ir: object) -> int:  # type: ignore[override]
        """Total multiplicity of ``ir`` (an irrep or its label).

        >>> Irreps("2x0e + 1o + 3x0e").count("0e")
        5
        """
        ir = _as_ir(ir)
        return sum(term.mul for term in self if term.ir == ir)

    # ----------------------------------------------------------------- arithmetic
    def __add__(self, other: Any) -> Irreps:  # type: ignore[override]
        return Irreps(tuple(self) + _terms(other))

    def __radd__(self, other: Any) -> Irreps:
        return Irreps(_terms(other) + tuple(self))

    def __mul__(self, other: Any) -> Irreps:  # type: ignore[override]
        """``n * irreps`` repeats; ``irreps1 * irreps2`` is the decomposed tensor product.

        >>> Irreps("1o") * Irreps("1o + 0e"), 2 * Irreps("1o")
        (Irreps('1x0e+1x1e+1x1o+1x2e'), Irreps('1x1o+1x1o'))
        """
        if _is_int(other):
            if other < 0:
                raise ValueError(f"cannot repeat Irreps a negative number of times ({other})")
            return Irreps(tuple(self) * int(other))
        other = Irreps(other)
        terms = []
        for a in self:
            for b in other:
                product = Irreps(a.ir * b.ir)
                terms.extend(MulIrrep(a.mul * b.mul * t.mul, t.ir) for t in product)
        return Irreps(terms).regroup()

    def __rmul__(self, other: Any) -> Irreps:  # type: ignore[override]
        if _is_int(other):
            return self * other
        return Irreps(other) * self

    def __str__(self) -> str:
        return "+".join(f"{term.mul}x{term.ir.short_label()}" for term in self)

    def __repr__(self) -> str:
        return f"Irreps('{self}')"

    # ----------------------------------------------------------------- sizes
    @property
    def dim(self) -> int:
        """Total dimension ``Σ mul · dim(ir)``.

        >>> Irreps("2x0e + 1o").dim
        5
        """
        return sum(term.dim for term in self)

    @property
    def num_irreps(self) -> int:
        """Total number of irreducible copies ``Σ mul``.

        >>> Irreps("2x0e + 1o").num_irreps
        3
        """
        return sum(term.mul for term in self)

    def slices(self) -> list[slice]:
        """The slice of the basis occupied by each ``(mul, ir)`` term.

        >>> Irreps("2x0e + 3x1o").slices()
        [slice(0, 2, None), slice(2, 11, None)]
        """
        out, start = [], 0
        for term in self:
            out.append(slice(start, start + term.dim))
            start += term.dim
        return out

    # ----------------------------------------------------------------- representation
    def _blocks(self, method: str) -> np.ndarray:
        if not self:
            raise ValueError("an empty Irreps has no group, hence no generators")
        mats = [getattr(term.ir, method)() for term in self]
        counts = {m.shape[0] for m in mats}
        if len(counts) != 1:
            raise ValueError(f"irreps disagree on the number of generators ({sorted(counts)})")
        dtype = np.result_type(*mats, np.float64)
        out = np.zeros((counts.pop(), self.dim, self.dim), dtype=dtype)
        start = 0
        for term, m in zip(self, mats, strict=True):
            d = term.ir.dim
            for _ in range(term.mul):
                out[:, start : start + d, start : start + d] = m
                start += d
        return out

    def algebra(self) -> np.ndarray:
        """Block-diagonal Lie-algebra generators, shape ``(n_gen, dim, dim)``.

        >>> Irreps("2x1o").algebra().shape
        (3, 6, 6)
        """
        return self._blocks("algebra")

    def discrete_generators(self) -> np.ndarray:
        """Block-diagonal discrete generators, shape ``(n_disc, dim, dim)``.

        >>> Irreps("0e + 0o").discrete_generators()[0]
        array([[ 1.,  0.],
               [ 0., -1.]])
        """
        return self._blocks("discrete_generators")

    @property
    def is_real(self) -> bool:
        """True when every irrep has a real basis.

        >>> Irreps("2x0e + 1o").is_real, Irreps("SU2(1/2)").is_real
        (True, False)
        """
        return all(term.ir.is_real for term in self)

    def is_unitary(self) -> bool:
        """True when every irrep is unitary in its basis (see ``Irrep.is_unitary``).

        >>> Irreps("2x0e + 1o").is_unitary(), Irreps("SO13(1/2,1/2)").is_unitary()
        (True, False)
        """
        return all(ir.is_unitary() for ir in {term.ir for term in self})

    # ----------------------------------------------------------------- normal forms
    def simplify(self) -> Irreps:
        """Merge consecutive terms with the same irrep and drop zero multiplicities.

        >>> Irreps("1x0e + 0x1e + 2x0e + 1o").simplify()
        Irreps('3x0e+1x1o')
        """
        out: list[MulIrrep] = []
        for term in self:
            if term.mul == 0:
                continue
            if out and out[-1].ir == term.ir:
                out[-1] = MulIrrep(out[-1].mul + term.mul, term.ir)
            else:
                out.append(term)
        return Irreps(out)

    def remove_zero_multiplicities(self) -> Irreps:
        """The same terms without those of multiplicity 0 (blocks otherwise kept as they are).

        >>> Irreps("0x0e + 1o + 1o").remove_zero_multiplicities()
        Irreps('1x1o+1x1o')
        """
        return Irreps([term for term in self if term.mul > 0])

    def sort(self) -> tuple[Irreps, tuple[int, ...]]:
        """Stable sort of the terms by ``ir.sort_key()``.

        Returns ``(sorted_irreps, perm)`` with ``sorted_irreps[k] == self[perm[k]]``.

        >>> Irreps("1o + 0e").sort()
        (Irreps('1x0e+1x1o'), (1, 0))
        """
        perm = tuple(sorted(range(len(self)), key=lambda i: self[i].ir.sort_key()))
        return Irreps([self[i] for i in perm]), perm

    def regroup(self) -> Irreps:
        """Sorted and simplified: one term per irrep, in canonical order.

        >>> Irreps("1o + 0e + 1o").regroup()
        Irreps('1x0e+2x1o')
        """
        return self.sort()[0].simplify()
