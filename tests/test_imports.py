"""Import structure: no cycles between lie_nn modules, no lie_nn imports hidden inside functions,
every module importable in a fresh interpreter, and the core plus ``lie_nn.testing`` free of torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import lie_nn

ROOT = Path(lie_nn.__file__).parent
MODULES = sorted(
    ".".join(("lie_nn", *path.relative_to(ROOT).with_suffix("").parts)).removesuffix(".__init__")
    for path in ROOT.rglob("*.py")
)


def _path(module: str) -> Path:
    parts = module.split(".")[1:]
    file = ROOT.joinpath(*parts).with_suffix(".py")
    return file if file.exists() else ROOT.joinpath(*parts, "__init__.py")


def _lie_nn_imports(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.startswith("lie_nn")]
    if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lie_nn"):
        found = [node.module]
        found += [name for alias in node.names if (name := f"{node.module}.{alias.name}") in MODULES]
        return found
    return []


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _top_level_imports(module: str) -> set[str]:
    """lie_nn modules imported when ``module`` runs (top level, not under ``if TYPE_CHECKING``)."""
    tree = ast.parse(_path(module).read_text())
    found: set[str] = set()
    for node in tree.body:
        if not _is_type_checking(node):
            found.update(name for name in _lie_nn_imports(node) if name in MODULES)
    return found - {module}


def _function_imports(module: str) -> list[str]:
    """lie_nn modules imported inside functions that the module does not already import at top level
    (re-importing an already imported module cannot be dodging a cycle)."""
    tree = ast.parse(_path(module).read_text())
    harmless = _top_level_imports(module) | {module}
    out = []
    for func in ast.walk(tree):
        if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names = [n for node in ast.walk(func) for n in _lie_nn_imports(node)]
            out += [f"{module}:{func.name} imports {n}" for n in names if n not in harmless]
    return out


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for child in sorted(graph.get(node, ())):
            if state.get(child) == 1:
                return stack[stack.index(child):] + [child]
            if child not in state and (found := visit(child)):
                return found
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_module_list_is_complete() -> None:
    assert {"lie_nn._src.cg", "lie_nn._src.parse", "lie_nn._src.irrep", "lie_nn.testing"} <= set(MODULES)


def test_no_import_cycles() -> None:
    """Edges from a package's ``__init__`` to its own modules are ignored: they are its re-exports."""
    graph = {m: {d for d in _top_level_imports(m) if not d.startswith(m + ".")} for m in MODULES}
    graph = {m: {d for d in deps if d not in ("lie_nn",)} for m, deps in graph.items()}
    assert _cycle(graph) is None, f"import cycle: {' -> '.join(_cycle(graph) or [])}"


def test_cycle_detector_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


# deliberate lazy imports of optional dependencies, not cycle dodges: the hypothesis strategies
ALLOWED_FUNCTION_IMPORTS = {"lie_nn.testing:__getattr__"}


def test_no_lie_nn_imports_inside_functions() -> None:
    core = [m for m in MODULES if m.startswith(("lie_nn._src", "lie_nn.testing")) or m == "lie_nn"]
    hidden = [line for m in core for line in _function_imports(m)
              if line.split(" imports ")[0] not in ALLOWED_FUNCTION_IMPORTS]
    assert hidden == [], "imports inside functions (they hide cycles): " + "; ".join(hidden)


_FRESH_IMPORTS = (
    "import subprocess, sys\n"
    "bad = []\n"
    "for m in sys.argv[1:]:\n"
    "    r = subprocess.run([sys.executable, '-c', f'import {m}'], capture_output=True, text=True)\n"
    "    if r.returncode: bad.append(m + ': ' + r.stderr.strip().splitlines()[-1])\n"
    "print('\\n'.join(bad))\n"
)


def _import_each_first(modules: list[str]) -> None:
    """Each module is the first thing imported by its own interpreter (a partial-import error would show)."""
    result = subprocess.run([sys.executable, "-c", _FRESH_IMPORTS, *modules], capture_output=True,
                            text=True, timeout=1200)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


def test_every_core_module_imports_first_in_a_fresh_interpreter() -> None:
    _import_each_first([m for m in MODULES if not m.startswith("lie_nn.nn")])


@pytest.mark.slow
def test_every_nn_module_imports_first_in_a_fresh_interpreter() -> None:
    """The torch layers too (slow: torch is imported once per module)."""
    _import_each_first([m for m in MODULES if m.startswith("lie_nn.nn")])


TORCH_BLOCKED = """
import sys
sys.modules["torch"] = None  # any 'import torch' now raises ImportError
import numpy as np
import lie_nn
import lie_nn.testing as lt
assert lt.assert_equivariant(lambda x: 3 * x, "2x0e + 1o", "2x0e + 1o") < 1e-12
def cross(x, y):
    return np.cross(x[..., [2, 0, 1]], y[..., [2, 0, 1]])[..., [1, 2, 0]]  # (y, z, x) real basis of 1o
lt.assert_equivariant(cross, ("1o", "1o"), "1e")
try:
    lt.assert_equivariant(cross, ("1o", "1o"), "1o")
except AssertionError:
    pass
else:
    raise SystemExit("a parity violation went unnoticed")
lt.check_irreps([lie_nn.SO3(0), lie_nn.SO3(1)])
print("ok")
"""


def test_core_and_testing_work_without_torch() -> None:
    result = subprocess.run([sys.executable, "-c", TORCH_BLOCKED], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stdout + result.stderr


def test_importing_the_core_does_not_import_torch() -> None:
    code = "import sys, lie_nn, lie_nn.testing; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.stdout.strip() == "False", result.stdout + result.stderr
