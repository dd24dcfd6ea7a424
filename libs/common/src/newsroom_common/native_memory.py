"""glibc's allocator settings, for memory a Python process would otherwise keep resident."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util

# glibc's mallopt parameters (malloc.h).
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8


def mallopt(parameter: int, value: int) -> bool:
    """Set one glibc malloc parameter; False where the C library is not glibc (musl, macOS)."""
    libc = ctypes.util.find_library("c")
    if libc is None:
        return False
    with contextlib.suppress(OSError, AttributeError):
        return bool(ctypes.CDLL(libc).mallopt(parameter, value))
    return False


def cap_malloc_arenas(arenas: int = 2) -> bool:
    """Let at most `arenas` malloc arenas serve this process's threads (call before they start).

    glibc gives each thread that contends for the heap an arena of its own (up to 8 per
    core), and each keeps the memory its thread freed: with gunicorn's request threads that
    is several MB per worker of freed, resident memory (issue 20: RSS per API worker). Python
    holds the GIL around most allocations, so threads rarely contend and two suffice.
    """
    return mallopt(M_ARENA_MAX, arenas)
