"""Parse an irrep from its canonical string, e.g. ``"SO3(2)"``, ``"SU3(2,1,0)"``, ``"SO3(1)xSU2(1/2)"``."""

from __future__ import annotations

import re

from lie_nn._src.irrep import Irrep

_SUN_PREFIX = re.compile(r"^SU(\d+)\(")


def _group_class(text: str) -> type[Irrep]:
    from lie_nn._src.groups.lorentz import SO13
    from lie_nn._src.groups.o3 import O3
    from lie_nn._src.groups.so3 import SO3
    from lie_nn._src.groups.su2 import SU2
    from lie_nn._src.groups.sun import SUN

    prefixes: dict[str, type[Irrep]] = {"SU2(": SU2, "SO3(": SO3, "O3(": O3, "SO13(": SO13}
    for prefix, cls in prefixes.items():
        if text.startswith(prefix):
            return cls
    if _SUN_PREFIX.match(text):
        return SUN
    raise ValueError(
        f"cannot parse irrep {text!r}: expected a group prefix such as 'SU2(', 'SO3(', 'O3(', "
        "'SU3(', 'SO13(' or a product 'A x B'"
    )


def _split_product(text: str) -> list[str]:
    """Split ``"SO3(1)xSU2(1/2)"`` at top-level ``x`` separators (outside parentheses)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "x" and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [part.strip() for part in parts]


def irrep_from_string(text: str) -> Irrep:
    """Parse the canonical string of any built-in irrep (the inverse of ``str(ir)``).

    >>> str(irrep_from_string("SO3(2)"))
    'SO3(2)'
    >>> str(irrep_from_string("SU3(1,1,0)"))
    'SU3(1,1,0)'
    >>> irrep_from_string("SO3(1) x SU2(1/2)").dim
    6
    """
    if not isinstance(text, str):
        raise TypeError(f"expected a string, got {type(text).__name__}")
    text = text.strip()
    parts = _split_product(text)
    if len(parts) > 1:
        from lie_nn._src.groups.product import DirectProduct

        return DirectProduct(tuple(irrep_from_string(part) for part in parts))
    return _group_class(text).from_string(text)
