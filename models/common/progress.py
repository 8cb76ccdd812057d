"""Progress bars on stderr: tqdm when it is installed, otherwise a small text bar with the same methods.

Bars are shown only when stderr is a terminal (log files stay readable), unless forced with
``disable=False`` or the environment variable ``LIE_NN_PROGRESS=1`` (``0`` switches them off).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

__all__ = ["TextBar", "progress"]


def _enabled(disable: bool | None, stream: TextIO) -> bool:
    if disable is not None:
        return not disable
    env = os.environ.get("LIE_NN_PROGRESS", "").strip()
    if env in ("0", "1"):
        return env == "1"
    return bool(getattr(stream, "isatty", lambda: False)())


def _format_postfix(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())


class TextBar:
    """Minimal tqdm stand-in: iterate, ``update(n)``, ``set_postfix(...)``, ``close()``, context manager.

    On a terminal it redraws one line (``\\r``) at most every 0.2 s; on any other stream it writes a
    line at every tenth of ``total`` (or every 30 s without a total).

    >>> import io
    >>> out = io.StringIO()
    >>> with TextBar(range(3), total=None, desc="demo", unit="it", enabled=True, file=out) as bar:
    ...     for _ in bar:
    ...         bar.set_postfix(loss=0.5)
    >>> out.getvalue().splitlines()[-1].startswith("demo: 3/3 it")
    True
    """

    def __init__(self, iterable: Iterable[Any] | None = None, *, total: int | None, desc: str, unit: str,
                 enabled: bool, file: TextIO | None = None) -> None:
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.n, self.enabled, self.file = 0, enabled, file if file is not None else sys.stderr
        self.postfix = ""
        self.start = self._last = time.perf_counter()
        self._tty = bool(getattr(self.file, "isatty", lambda: False)())
        self._next_line = 0
        self._closed = False

    def __iter__(self) -> Iterator[Any]:
        if self.iterable is None:
            raise TypeError("progress(): nothing to iterate over (pass an iterable)")
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __len__(self) -> int:
        if self.total is None:
            raise TypeError("progress bar without a total has no length")
        return self.total

    def __enter__(self) -> TextBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set_postfix(self, ordered_dict: dict[str, Any] | None = None, refresh: bool = True,
                    **kwargs: Any) -> None:
        """Values shown after the counter, e.g. ``set_postfix(loss=0.31)``."""
        self.postfix = _format_postfix({**(ordered_dict or {}), **kwargs})

    def update(self, n: int = 1) -> None:
        """Advance by ``n`` units and redraw if due."""
        self.n += n
        if self.enabled:
            self._draw(final=False)

    def line(self) -> str:
        elapsed = time.perf_counter() - self.start
        count = f"{self.n}/{self.total}" if self.total is not None else f"{self.n}"
        rate = self.n / elapsed if elapsed > 0 else 0.0
        text = f"{self.desc}: {count} {self.unit} [{elapsed:.0f}s, {rate:.3g} {self.unit}/s"
        if self.total and self.n and self.n < self.total:
            text += f", eta {(self.total - self.n) / max(rate, 1e-12):.0f}s"
        text += "]"
        return f"{text} {self.postfix}" if self.postfix else text

    def _draw(self, final: bool) -> None:
        now = time.perf_counter()
        if self._tty:
            if final or now - self._last >= 0.2:
                self.file.write("\r" + self.line() + ("\n" if final else ""))
                self.file.flush()
                self._last = now
            return
        step = max(1, (self.total or 0) // 10)
        due = self.n >= self._next_line if self.total else now - self._last >= 30
        if final or due:
            self.file.write(self.line() + "\n")
            self.file.flush()
            self._last, self._next_line = now, self.n + step

    def close(self) -> None:
        """Draw the final state (once)."""
        if not self._closed:
            self._closed = True
            if self.enabled:
                self._draw(final=True)


def progress(iterable: Iterable[Any] | None = None, *, total: int | None = None, desc: str = "",
             unit: str = "it", disable: bool | None = None) -> Any:
    """A progress bar over ``iterable`` (or a manual one with ``update(n)``) on stderr.

    ``disable=None`` shows it only when stderr is a terminal (``LIE_NN_PROGRESS=1/0`` overrides);
    ``disable=False`` forces it on, ``True`` off.  Returns a ``tqdm`` bar when tqdm is installed,
    otherwise a :class:`TextBar`; both iterate, ``update(n)``, ``set_postfix(...)``, ``close()`` and
    work as context managers.

    >>> with progress(total=10, desc="jets", disable=True) as bar:
    ...     bar.update(4)
    ...     bar.set_postfix(rate=1.0)
    >>> sum(progress(range(5), disable=True))
    10
    """
    enabled = _enabled(disable, sys.stderr)
    try:
        from tqdm import tqdm
    except ImportError:
        return TextBar(iterable, total=total, desc=desc, unit=unit, enabled=enabled)
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=not enabled, file=sys.stderr,
                dynamic_ncols=True, leave=False)
