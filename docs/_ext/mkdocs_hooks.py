"""MkDocs hooks for the lie_nn site (loaded through ``hooks:`` in mkdocs.yml; not a docs page).

* Pages that other work streams are still writing (``PENDING``) may be absent: their nav entries are
  dropped and links to them become plain text, with an INFO line.  Every other missing page or
  broken link still fails ``mkdocs build --strict``.
* Links from a page to a repository file outside ``docs/`` (``../models/top_tagging/model.py``)
  are checked to exist and rendered as the repository path in code (or as a link to
  ``repo_url/blob/main/...`` when ``repo_url`` is configured); a missing target is a WARNING.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path, PurePosixPath

log = logging.getLogger("mkdocs.hooks.lie_nn")

PENDING = frozenset(
    {"geometry.md", "mace_potential.md", "shape_recognition.md", "benchmarks_spherical_harmonics.md"}
)

_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]+)\]\((?P<target>[^)\s]+)\)")
_FENCE = re.compile(r"^(```|~~~)")


def _missing_pending(docs_dir: Path) -> set[str]:
    return {name for name in PENDING if not (docs_dir / name).is_file()}


def _prune(nav: list, missing: set[str]) -> list:
    out = []
    for item in nav:
        if isinstance(item, dict):
            (title, value), = item.items()
            if isinstance(value, list):
                value = _prune(value, missing)
                if value:
                    out.append({title: value})
            elif value not in missing:
                out.append(item)
        elif item not in missing:
            out.append(item)
    return out


def on_config(config):
    missing = _missing_pending(Path(config.docs_dir))
    if missing and config.nav:
        log.info("pages not written yet, left out of the nav: %s", ", ".join(sorted(missing)))
        config.nav = _prune(config.nav, missing)
    return config


def _rewrite(match: re.Match, page_dir: PurePosixPath, docs_dir: Path, repo_root: Path, config) -> str:
    text, target = match.group("text"), match.group("target")
    if "://" in target or target.startswith(("#", "mailto:")):
        return match.group(0)
    path, _, anchor = target.partition("#")
    resolved = (docs_dir / page_dir / path).resolve()
    if resolved.is_relative_to(docs_dir.resolve()):
        relative = resolved.relative_to(docs_dir.resolve()).as_posix()
        if relative in PENDING and not resolved.exists():
            return f"{text} (page coming)"
        return match.group(0)
    if not resolved.exists():
        log.warning("link to %s points outside docs/ to a file that does not exist", target)
        return match.group(0)
    repo_path = resolved.relative_to(repo_root).as_posix()
    if config.repo_url:
        return f"[{text}]({config.repo_url.rstrip('/')}/blob/main/{repo_path})"
    return text if text.strip("`") == repo_path else f"{text} (`{repo_path}`)"


def on_page_markdown(markdown, page, config, files):
    docs_dir = Path(config.docs_dir)
    repo_root = Path(config.config_file_path).parent.resolve()
    page_dir = PurePosixPath(page.file.src_uri).parent
    lines, in_fence = [], False
    for line in markdown.split("\n"):
        if _FENCE.match(line.lstrip()):
            in_fence = not in_fence
        if not in_fence:
            line = _LINK.sub(lambda m: _rewrite(m, page_dir, docs_dir, repo_root, config), line)
        lines.append(line)
    return "\n".join(lines)
