"""The examples of docs/nn.md run (public names only) and give the printed results."""

from __future__ import annotations

import doctest
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "nn.md"


def test_nn_doc_examples() -> None:
    text = DOC.read_text()
    examples = [line for line in text.splitlines() if line.startswith((">>>", "..."))]
    assert examples and not any("lie_nn._src" in line for line in examples)
    result = doctest.testfile(str(DOC), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 5 and result.failed == 0
