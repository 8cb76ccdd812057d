"""The documentation site builds with ``mkdocs build --strict``; its two small extensions work.

The build itself is slow (mkdocstrings imports and renders the whole public API) and needs the
docs tools (``pip install mkdocs-material "mkdocstrings[python]"``): it is marked slow and skipped
when they are missing.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXT = ROOT / "docs" / "_ext"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_ext_{name}", EXT / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path: Path) -> None:
    for module in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python"):
        pytest.importorskip(module)
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    for page in ("index.html", "api/core/index.html", "tutorials/own_group/index.html"):
        assert (tmp_path / "site" / page).is_file(), page
    api = (tmp_path / "site" / "api" / "nn" / "index.html").read_text(encoding="utf-8")
    assert "SymmetricContraction" in api and "spherical_harmonics" in api


def test_nav_pruning_drops_only_missing_pending_pages() -> None:
    hooks = _load("mkdocs_hooks")
    nav = [{"Home": "index.md"}, {"Models": [{"A": "a.md"}, {"B": "geometry.md"}]},
           {"Only": [{"C": "geometry.md"}]}]
    assert hooks._prune(nav, {"geometry.md"}) == [{"Home": "index.md"}, {"Models": [{"A": "a.md"}]}]
    assert hooks._prune(nav, set()) == nav


def test_docstrings_become_markdown() -> None:
    pytest.importorskip("griffe")
    ext = _load("griffe_doctest")
    text = "See :class:`~lie_nn.SO3` and:\n\n    x = 1::\n\n        indented\n\n>>> f([1])\n['a']\n\nEnd."
    out = ext.markdownify(text)
    assert "`lie_nn.SO3`" in out and ":class:" not in out
    assert "```pycon\n>>> f([1])\n['a']\n```" in out
    assert "```text\n        indented\n    ```" in out
