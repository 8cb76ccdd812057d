"""The Irrep protocol: the one interface every group implements.

An irrep is a small immutable, hashable value object (a frozen dataclass).  Everything else in
lie_nn (Clebsch–Gordan coefficients, change of basis, reduced tensor products, torch layers) is
written once against this protocol.

Conventions (versioned: see ``CONVENTIONS_VERSION`` and docs/conventions.md)
-----------------------------------------------------------------------------
* ``algebra()`` returns ``X`` of shape ``(n_gen, dim, dim)``: the representation of a fixed basis
  of the *real* Lie algebra of the group.  ``n_gen`` is the dimension of the group and is the same
  for every irrep of one group (the trivial irrep returns zeros), so a group element
  ``g = exp(sum_a theta_a T_a)`` acts on every irrep as ``expm(einsum('a,aij->ij', theta, X))``.
* ``discrete_generators()`` returns ``D`` of shape ``(n_disc, dim, dim)`` for the generators of the
  component group (e.g. parity for O(3)); ``n_disc`` is the same for every irrep of one group.
* Clebsch–Gordan coefficients ``C`` of shape ``(mul, d1, d2, d3)`` intertwine in the sense
  ``(X1 ⊗ 1 + 1 ⊗ X2) C = C X3`` for every generator, i.e.
  ``einsum('aik,mkjl->amijl', X1, C) + einsum('ajk,mikl->amijl', X2, C)
  == einsum('mijk,akl->amijl', C, X3)``, and ``(D1 ⊗ D2) C = C D3`` for discrete generators.

Registry
--------
A subclass that sets the class attribute ``prefix`` (a regular expression fully matching the group
name ``NAME`` of its labels ``NAME(...)``), ``bare_labels = True`` (labels without a name, like O(3)'s
``"1o"``) or ``product = True`` (the direct product) registers itself when the class is created,
so the string parser (:mod:`lie_nn._src.parse`) and ``Irreps("...")`` know it: adding a group is one
file.  Group names must not contain ``x`` (the product separator).

Clebsch–Gordan coefficients: a group with a closed form defines ``clebsch_gordan(self, ir2, ir3)``;
:func:`lie_nn.clebsch_gordan` (``cg.py``, the one dispatcher) calls it when present and the numeric
solver otherwise.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

CONVENTIONS_VERSION = 1
"""Bumped whenever a basis, phase or normalisation convention changes (invalidates disk caches)."""

_REGISTRY: dict[str, type[Irrep]] = {}
_UNITARY_TOL = 1e-12


def registered_groups() -> tuple[type[Irrep], ...]:
    """Irrep classes registered for parsing, in registration order (built-ins first).

    >>> import lie_nn
    >>> {"SU2", "SO3", "O3", "SUN", "SO13", "DirectProduct"} <= {c.__name__ for c in registered_groups()}
    True
    """
    return tuple(dict.fromkeys(_REGISTRY.values()))


@dataclass(frozen=True)
class Irrep(ABC):
    """Abstract irreducible representation of a Lie group.

    Subclasses are ``@dataclass(frozen=True)`` value objects whose fields are the irrep's label.
    They validate the label in ``__post_init__`` and raise ``ValueError`` for bad input.
    """

    prefix: ClassVar[str | None] = None
    """Regular expression fully matching ``NAME`` in this group's labels ``NAME(...)``; registers."""
    bare_labels: ClassVar[bool] = False
    """True for the one group whose labels also parse without a name (O(3): ``"1o"``); registers."""
    product: ClassVar[bool] = False
    """True for the direct-product class, built by ``from_factors`` from ``"A x B"``; registers."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__
        roles = [f"prefix:{own['prefix']}" if own.get("prefix") else "",
                 "bare" if own.get("bare_labels") else "", "product" if own.get("product") else ""]
        for key in filter(None, roles):
            old = _REGISTRY.pop(key, None)  # a redefinition (e.g. a reloaded module) replaces the old class
            if old is not None and (old.__module__, old.__qualname__) != (cls.__module__, cls.__qualname__):
                warnings.warn(f"irrep class {cls.__qualname__} takes over the registry entry {key!r} "
                              f"from {old.__module__}.{old.__qualname__}", stacklevel=2)
            _REGISTRY[key] = cls

    # ----------------------------------------------------------------- required
    @property
    @abstractmethod
    def dim(self) -> int:
        """Dimension of the representation space."""

    @abstractmethod
    def algebra(self) -> np.ndarray:
        """Lie-algebra generators, shape ``(n_gen, dim, dim)`` (a fresh array)."""

    @abstractmethod
    def __mul__(self, other: Irrep) -> Any:
        """Selection rule with multiplicities: ``self ⊗ other = ⊕ mul × ir``, sorted by irrep.

        Built-in groups return an ``Irreps``; any iterable of ``MulIrrep`` is accepted (consumers
        normalise with ``Irreps(ir1 * ir2)``).  Raise ``NotImplementedError`` when unknown.
        """

    @abstractmethod
    def trivial(self) -> Irrep:
        """The trivial (one-dimensional, invariant) irrep of the same group."""

    @abstractmethod
    def dual(self) -> Irrep:
        """The irrep carried by the dual (contragredient) representation ``-X^T``."""

    @abstractmethod
    def sort_key(self) -> tuple:
        """Key defining the canonical order of irreps within one group (trivial first)."""

    @classmethod
    @abstractmethod
    def from_string(cls, text: str) -> Irrep:
        """Parse the irrep's own label format; raises ``ValueError`` if it is not one."""

    # ----------------------------------------------------------------- defaults
    def discrete_generators(self) -> np.ndarray:
        """Generators of the component group, shape ``(n_disc, dim, dim)``; none by default."""
        return np.zeros((0, self.dim, self.dim))

    def short_label(self) -> str:
        """The label used inside ``Irreps`` strings; ``str(self)`` unless the group has bare labels.

        >>> from lie_nn import O3, SO3
        >>> O3(1, -1).short_label(), SO3(1).short_label()
        ('1o', 'SO3(1)')
        """
        return str(self)

    def group_id(self) -> Any:
        """Hashable identifier of the group; irreps combine only if their ``group_id`` agree."""
        return type(self)

    @property
    def is_real(self) -> bool:
        """True when the basis is real: generators and discrete generators are real matrices."""
        return bool(np.isrealobj(self.algebra()) and np.isrealobj(self.discrete_generators()))

    def is_unitary(self) -> bool:
        """True when the generators are anti-Hermitian and the discrete generators unitary (to 1e-12).

        >>> from lie_nn import SO13, SU2
        >>> SU2(1).is_unitary(), SO13("1/2", 0).is_unitary()
        (True, False)
        """
        X, D = self.algebra(), self.discrete_generators()
        scale = max(1.0, float(np.abs(X).max(initial=0.0)))
        if np.abs(X + np.conj(np.swapaxes(X, 1, 2))).max(initial=0.0) > _UNITARY_TOL * scale:
            return False
        eye = np.eye(D.shape[-1])
        return bool(np.abs(np.conj(np.swapaxes(D, 1, 2)) @ D - eye).max(initial=0.0) <= _UNITARY_TOL)

    def iterator(self) -> Iterator[Irrep]:
        """Iterate over all irreps of the same group in canonical order (may be infinite)."""
        raise NotImplementedError(f"{type(self).__name__} does not enumerate its irreps")

    # ----------------------------------------------------------------- helpers
    def check_same_group(self, other: object) -> None:
        """Raise ``TypeError`` unless ``other`` is an irrep of the same group."""
        if not isinstance(other, Irrep):
            raise TypeError(f"expected an Irrep, got {type(other).__name__}")
        if self.group_id() != other.group_id():
            raise TypeError(f"irreps of different groups: {self} and {other}")

    def __lt__(self, other: Irrep) -> bool:
        self.check_same_group(other)
        return self.sort_key() < other.sort_key()

    def __le__(self, other: Irrep) -> bool:
        return self == other or self < other

    def __gt__(self, other: Irrep) -> bool:
        self.check_same_group(other)
        return self.sort_key() > other.sort_key()

    def __ge__(self, other: Irrep) -> bool:
        return self == other or self > other


@dataclass(frozen=True)
class MulIrrep:
    """``mul`` copies of an irrep; an entry of a decomposition ``⊕ mul × ir``.

    >>> from lie_nn import SO3
    >>> MulIrrep(2, SO3(1)).dim
    6
    """

    mul: int
    ir: Irrep

    def __post_init__(self) -> None:
        if isinstance(self.mul, bool) or not isinstance(self.mul, (int, np.integer)):
            raise TypeError(f"multiplicity must be an int, got {type(self.mul).__name__}")
        if self.mul < 0:
            raise ValueError(f"multiplicity must be >= 0, got {self.mul}")
        if not isinstance(self.ir, Irrep):
            raise TypeError(f"expected an Irrep, got {type(self.ir).__name__}")
        object.__setattr__(self, "mul", int(self.mul))

    @property
    def dim(self) -> int:
        return self.mul * self.ir.dim

    def __str__(self) -> str:
        return f"{self.mul}x{self.ir}"
