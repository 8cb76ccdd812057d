"""CPU training: keep freed heap memory instead of returning it to the system (glibc ``mallopt``)."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["keep_freed_memory"]


def keep_freed_memory() -> bool:
    """Ask glibc to serve large blocks from the heap and keep freed memory (Linux only).

    Each training step allocates and frees the same large edge tensors (tens of MB); by default
    glibc maps those as fresh pages whose first touch page-faults, which costs 5-25 % of a
    symmetric-contraction or tagger training step on CPU (benchmarks/bench_cpu_allocator.py).
    With ``M_MMAP_MAX = 0`` and a 1 GiB trim threshold the pages are reused.  Returns whether the
    settings were applied.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_top_pad, m_mmap_max = -1, -2, -4
        ok = libc.mallopt(m_mmap_max, 0)
        ok &= libc.mallopt(m_trim_threshold, 2**30) & libc.mallopt(m_top_pad, 2**28)
        return bool(ok)
    except (OSError, AttributeError):
        return False
