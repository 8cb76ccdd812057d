"""Command-line entry points that fail with one clear line instead of a traceback.

Usage in a model's module::

    if __name__ == "__main__":
        run_cli(main)

``main(argv)`` parses ``argv`` and returns an exit code (or ``None`` for 0).  Expected failures (bad
arguments or data, missing files or optional packages, Ctrl-C) print ``<prog>: error: <message>`` on
stderr and exit with status 1 (130 for Ctrl-C).  ``--debug`` anywhere on the command line, or the
environment variable ``LIE_NN_DEBUG=1``, shows the full traceback instead.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from models.common.io import DataError

__all__ = ["EXPECTED_ERRORS", "format_error", "run_cli"]

EXPECTED_ERRORS: tuple[type[BaseException], ...] = (
    DataError, ValueError, OSError, ImportError, KeyboardInterrupt,
)


def format_error(err: BaseException) -> str:
    """The error's message on one line (inner newlines and indentation collapsed).

    >>> format_error(ValueError("bad data\\n    regenerate with: make data"))
    'bad data regenerate with: make data'
    >>> format_error(KeyboardInterrupt())
    'interrupted'
    """
    if isinstance(err, KeyboardInterrupt):
        return "interrupted"
    text = " ".join(line.strip() for line in str(err).splitlines() if line.strip())
    if isinstance(err, ImportError) and err.name:
        text = f"{text} (install the optional package {err.name!r})"
    return text or type(err).__name__


def _prog(argv0: str) -> str:
    path = Path(argv0)
    if path.name == "__main__.py" or path.suffix == ".py":
        parts = path.with_suffix("").parts
        if "models" in parts:
            return "python -m " + ".".join(parts[len(parts) - parts[::-1].index("models") - 1 :])
    return path.name or "lie_nn"


def run_cli(main: Callable[[list[str]], int | None], argv: Sequence[str] | None = None) -> None:
    """Run ``main(argv)`` (default ``sys.argv[1:]``) and exit with its status (``SystemExit``).

    Errors in :data:`EXPECTED_ERRORS` become one line on stderr and exit status 1 (130 for Ctrl-C),
    unless ``--debug`` is in ``argv`` (it is removed before ``main`` sees it) or ``LIE_NN_DEBUG=1``.

    >>> def main(argv):
    ...     raise FileNotFoundError(f"no such run: {argv[0]}")
    >>> try:
    ...     run_cli(main, ["runs/x"])
    ... except SystemExit as exit:
    ...     print("status", exit.code)
    status 1
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("LIE_NN_DEBUG", "") not in ("", "0")
    args = [a for a in args if a != "--debug"]
    try:
        code = main(args)
    except EXPECTED_ERRORS as err:
        if debug:
            traceback.print_exc()
        print(f"{_prog(sys.argv[0])}: error: {format_error(err)}", file=sys.stderr, flush=True)
        raise SystemExit(130 if isinstance(err, KeyboardInterrupt) else 1) from None
    raise SystemExit(0 if code is None else int(code))
