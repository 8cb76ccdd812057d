"""The code in the documentation runs: every ```python block of the tutorials, guide pages and README.

Blocks of one page run in order in one namespace (a page is one script).  A block whose first line
is ``# docs-test: skip (reason)`` is not run; a block whose first line is
``# docs-test: requires MODULE`` makes the whole page skip when ``MODULE`` is not installed.  Use
either only for code that needs optional packages.
Every page must also import public names only (``lie_nn``, ``lie_nn.nn``, ``lie_nn.testing``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXECUTED = sorted(
    [
        *DOCS.glob("tutorials/*.md"),
        *DOCS.glob("groups/*.md"),
        DOCS / "getting_started.md",
        DOCS / "irreps.md",
        DOCS / "generic_rep.md",
        DOCS / "decomposition.md",
        DOCS / "index.md",
        DOCS / "geometry.md",
        DOCS / "reduced_tensor_products.md",
        ROOT / "README.md",
    ]
)
SKIP = "# docs-test: skip"
_REQUIRES = re.compile(r"^# docs-test: requires ([\w.]+)", re.MULTILINE)
_PRIVATE_IMPORT = re.compile(r"^[ \t]*(?:from|import)[ \t]+lie_nn(?:\.\w+)*\._\w+.*$", re.MULTILINE)


def python_blocks(page: Path) -> list[str]:
    """The ```python blocks of a Markdown page, in order (indented blocks in lists included)."""
    text = page.read_text(encoding="utf-8")
    blocks = []
    for match in re.finditer(r"^(?P<indent>[ \t]*)```python[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
                             text, re.MULTILINE | re.DOTALL):
        indent = match.group("indent")
        lines = [line[len(indent):] if line.startswith(indent) else line
                 for line in match.group("body").splitlines()]
        blocks.append("\n".join(lines) + "\n")
    return blocks


def _id(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def test_pages_exist_and_have_code() -> None:
    missing = [_id(p) for p in EXECUTED if not p.is_file()]
    assert not missing, f"documentation pages missing: {missing}"
    empty = [_id(p) for p in EXECUTED if p.is_file() and not python_blocks(p)]
    assert not empty, f"pages without a ```python block: {empty}"


@pytest.mark.parametrize("page", EXECUTED, ids=_id)
def test_page_code_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)  # pages that write files write them here
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: threads only add overhead (and oversubscribe CI)
    torch.manual_seed(0)
    try:
        _run_page(page)
    finally:
        torch.set_num_threads(threads)


def _run_page(page: Path) -> None:
    for module in _REQUIRES.findall("".join(python_blocks(page))):
        pytest.importorskip(module, reason=f"{_id(page)} needs {module}")
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for number, code in enumerate(python_blocks(page), start=1):
        if code.lstrip().startswith(SKIP):
            continue
        try:
            exec(compile(code, f"{_id(page)} block {number}", "exec"), namespace)
        except Exception as err:
            raise AssertionError(f"{_id(page)}, python block {number} failed: {err!r}\n{code}") from err


@pytest.mark.parametrize("page", sorted(DOCS.rglob("*.md")), ids=_id)
def test_page_imports_public_names_only(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    found = [line.strip() for line in _PRIVATE_IMPORT.findall(text)]
    assert not found, f"{_id(page)} imports private lie_nn modules: {found}"


def test_block_extraction_and_private_import_scan(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("text\n```python\na = 1\n```\n- item\n\n    ```python\n    b = a + 1\n    ```\n"
                    "```bash\nls\n```\n", encoding="utf-8")
    assert python_blocks(page) == ["a = 1\n", "b = a + 1\n"]
    private = "from lie_nn._src.groups.o3 import O3\nimport lie_nn.nn._radial\n"
    public = "from lie_nn import O3\nimport lie_nn.nn as lnn\n# lie_nn._src is private\n"
    assert len(_PRIVATE_IMPORT.findall(private)) == 2
    assert not _PRIVATE_IMPORT.findall(public)
