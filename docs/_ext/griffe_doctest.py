"""Griffe extension: render lie_nn's reST-flavoured docstrings as clean Markdown in the API pages.

lie_nn's docstrings are written for ``help()`` and doctest: ``>>>`` examples without an
``Examples:`` heading, ``::`` literal blocks and ``:class:`X``` roles.  This extension, loaded by
mkdocstrings (``extensions:`` in mkdocs.yml), rewrites each docstring's text before it is parsed:

* a run of ``>>>`` / ``...`` lines and their expected output becomes a ```` ```pycon ```` block;
* a paragraph ending with ``::`` followed by an indented block becomes a ```` ``` ```` block;
* ``:class:`~a.b.C```, ``:func:`f``` and friends become inline code.

The source files are not touched.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension, Object

_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|obj|exc|math):`~?([^`]+)`")


def _fence_doctests(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not lines[i].lstrip().startswith(">>>"):
            out.append(lines[i])
            i += 1
            continue
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        out.append(f"{indent}```pycon")
        while i < len(lines) and lines[i].strip():
            out.append(lines[i])
            i += 1
        out.append(f"{indent}```")
    return out


def _fence_literal_blocks(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        out.append(line[:-1] if line.rstrip().endswith("::") and line.strip() != "::" else line)
        i += 1
        if not line.rstrip().endswith("::"):
            continue
        base = len(line) - len(line.lstrip())
        j = i
        while j < len(lines) and not lines[j].strip():
            j += 1
        block: list[str] = []
        while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > base):
            block.append(lines[j])
            j += 1
        while block and not block[-1].strip():
            block.pop()
        if block:
            out += ["", " " * base + "```text", *block, " " * base + "```", ""]
            i = j
    return out


def markdownify(text: str) -> str:
    """The Markdown form of one docstring (see the module docstring)."""
    text = _ROLE.sub(r"`\1`", text)
    return "\n".join(_fence_literal_blocks(_fence_doctests(text.split("\n"))))


class RestToMarkdown(Extension):
    """Rewrite every loaded object's docstring with :func:`markdownify`."""

    def on_instance(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = markdownify(obj.docstring.value)
