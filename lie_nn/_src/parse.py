"""Text forms of irreps and reducible representations, parsed through the group registry.

Every irrep class that sets the class attribute ``prefix`` registers itself (in
``Irrep.__init_subclass__``, see :mod:`lie_nn._src.irrep`); this module holds no table of groups.

Grammar::

    irreps  := "" | term ("+" term)*
    term    := [MUL "x"] label
    label   := factor ("x" factor)*          a direct product when there are several factors
    factor  := NAME "(" ... ")"              NAME fully matched by a registered class's ``prefix``
             | "(" label ")"                 nested product
             | bare label                    parsed by the class registered with ``bare_labels``

``+`` and ``x`` separate only outside brackets, so ``"2xSU3(2,1,0)"`` and ``"SO13(1/2,1/2)"`` parse.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lie_nn._src.irrep import Irrep, MulIrrep, registered_groups

__all__ = ["irrep_from_string", "mul_irreps_from_string", "split_top_level"]

_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*\(")
_MUL = re.compile(r"^(\d+)\s*x\s*(\S.*)$", re.DOTALL)


def split_top_level(text: str, sep: str) -> list[str]:
    """Split ``text`` at the character ``sep`` outside any brackets; parts are stripped.

    >>> split_top_level("SU3(2,1,0) x (SO3(1)xSU2(1/2))", "x")
    ['SU3(2,1,0)', '(SO3(1)xSU2(1/2))']
    """
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth < 0:
                raise ValueError(f"unbalanced brackets in {text!r}")
        elif char == sep and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    if depth != 0:
        raise ValueError(f"unbalanced brackets in {text!r}")
    parts.append(text[start:].strip())
    return parts


def _strip_outer_parens(text: str) -> str | None:
    """``"(AxB)"`` -> ``"AxB"`` when the outer brackets enclose everything, else ``None``."""
    if not (text.startswith("(") and text.endswith(")")):
        return None
    depth = 0
    for i, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        if depth == 0 and i < len(text) - 1:
            return None
    return text[1:-1].strip()


def _group_class(name: str) -> type[Irrep] | None:
    """The registered class whose ``prefix`` fully matches ``name``; a literal match wins."""
    matches = [cls for cls in registered_groups() if cls.prefix and re.fullmatch(cls.prefix, name)]
    literal = [cls for cls in matches if cls.prefix == name]
    if literal:
        return literal[-1]
    if len(matches) > 1:
        raise ValueError(f"group name {name!r} is claimed by several irrep classes: "
                         f"{[cls.__name__ for cls in matches]}")
    return matches[0] if matches else None


def _single(text: str) -> Irrep:
    inner = _strip_outer_parens(text)
    if inner is not None:
        return irrep_from_string(inner)
    match = _NAME.match(text)
    cls = _group_class(match.group(1)) if match else None
    if cls is not None:
        return cls.from_string(text)
    bare = [cls for cls in registered_groups() if cls.bare_labels]
    if bare and match is None:
        return bare[-1].from_string(text)
    known = sorted({cls.prefix for cls in registered_groups() if cls.prefix})
    raise ValueError(f"cannot parse irrep {text!r}: expected NAME(...) with NAME one of the registered "
                     f"groups {known}, a bare label such as '1o', or a product 'A x B'")


def irrep_from_string(text: str) -> Irrep:
    """Parse the canonical string of any registered irrep (the inverse of ``str(ir)``).

    >>> str(irrep_from_string("SO3(2)"))
    'SO3(2)'
    >>> str(irrep_from_string("SU3(1,1,0)")), str(irrep_from_string("1o"))
    ('SU3(1,1,0)', 'O3(1o)')
    >>> irrep_from_string("SO3(1) x SU2(1/2)").dim
    6
    """
    if not isinstance(text, str):
        raise TypeError(f"expected a string, got {type(text).__name__}")
    text = text.strip()
    if not text:
        raise ValueError("cannot parse an irrep from an empty string")
    parts = split_top_level(text, "x")
    if len(parts) == 1:
        return _single(text)
    products = [cls for cls in registered_groups() if cls.product]
    if not products:
        raise ValueError(f"cannot parse the product {text!r}: no product group is registered")
    return products[-1].from_factors(tuple(_single(part) for part in parts))


def mul_irreps_from_string(
    text: str, parse_label: Callable[[str], Irrep] | None = None
) -> tuple[MulIrrep, ...]:
    """Parse ``"2x0e + 1o"``, ``"2xSU3(2,1,0) + SU3(0,0,0)"``, ... into ``MulIrrep`` terms.

    Labels are parsed by ``parse_label`` (default :func:`irrep_from_string`, the registry).

    >>> [str(t) for t in mul_irreps_from_string("2x0e + SO3(1)xSU2(1/2)")]
    Traceback (most recent call last):
    ...
    TypeError: Irreps mixes groups: O3(0e) and SO3(1)xSU2(1/2)
    >>> [str(t) for t in mul_irreps_from_string("2xSU3(2,1,0) + SU3(0,0,0)")]
    ['2xSU3(2,1,0)', '1xSU3(0,0,0)']
    """
    if not isinstance(text, str):
        raise TypeError(f"expected a string, got {type(text).__name__}")
    if not text.strip():
        return ()
    terms = []
    for term in split_top_level(text, "+"):
        if not term:
            raise ValueError(f"empty term in irreps {text!r}")
        match = _MUL.match(term)
        mul, label = (int(match.group(1)), match.group(2)) if match else (1, term)
        terms.append(MulIrrep(mul, (parse_label or irrep_from_string)(label)))
    for term in terms[1:]:
        if term.ir.group_id() != terms[0].ir.group_id():
            raise TypeError(f"Irreps mixes groups: {terms[0].ir} and {term.ir}")
    return tuple(terms)
