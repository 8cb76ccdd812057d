"""Every model under models/ has the standard files and imports only public lie_nn names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

MODELS = Path(__file__).resolve().parents[2] / "models"
REQUIRED = ("data.py", "model.py", "train.py", "README.md")


def private_lie_nn_imports(source: str) -> list[str]:
    """``lie_nn`` modules imported by ``source`` whose dotted path has a private (``_``) part.

    >>> private_lie_nn_imports("import lie_nn.nn\\nfrom lie_nn._src.cg import x\\nfrom lie_nn.nn._a import y")
    ['lie_nn._src.cg', 'lie_nn.nn._a']
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "lie_nn" and any(p.startswith("_") for p in parts[1:]):
                found.append(name)
                break
    return found


def test_scanner_catches_private_imports() -> None:
    assert private_lie_nn_imports("from lie_nn import _src") == ["lie_nn._src"]
    assert private_lie_nn_imports("import lie_nn._src.irreps as irreps") == ["lie_nn._src.irreps"]
    assert private_lie_nn_imports("from lie_nn.nn import Linear\nimport numpy._core") == []


def test_models_import_only_public_lie_nn_names() -> None:
    offenders = {}
    for path in sorted(MODELS.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".py":
            bad = private_lie_nn_imports(text)
        else:  # READMEs and other text: code snippets must not point users at private paths either
            bad = ["lie_nn._src"] if "lie_nn._src" in text else []
        if bad:
            offenders[str(path.relative_to(MODELS))] = bad
    assert offenders == {}


@pytest.mark.parametrize("model", sorted(p.name for p in MODELS.iterdir()
                                         if p.is_dir() and p.name not in ("common", "__pycache__")))
def test_model_folder_layout(model: str) -> None:
    missing = [name for name in REQUIRED if not (MODELS / model / name).is_file()]
    assert missing == [], f"models/{model} lacks {missing}"
