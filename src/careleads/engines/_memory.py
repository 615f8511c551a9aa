"""Memory settings for a process that exists for a batch run: freed memory is kept for the next chunk.

A batch run allocates and frees about the same few hundred megabytes for every chunk. By default Arrow
allocates with mimalloc, which hands freed memory back to the OS after a short delay, and the C library's
malloc maps large blocks (NumPy arrays) afresh and unmaps them when they are freed. Each time such memory
is used again, the kernel zeroes it (2 MB at a time where Arrow or NumPy asked for huge pages): on the
1M-lead benchmark that took about a tenth of the CPU of the pool workers, and the main process spent about
as much time in the kernel as in user code.

:func:`keep_freed_memory` makes Arrow allocate with the C library's malloc and tells glibc to keep what is
freed (no trimming; blocks up to 32 MB from the heap rather than from their own mappings), so the next chunk
reuses it. The process returns that memory only when it ends, which is why only processes that exist for
the run call it: the ``careleads score`` command, the pool workers and the benchmark. A script that calls
:func:`careleads.engines.score_file` may call it first, for the same effect.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
from collections.abc import Callable

import pyarrow as pa

logger = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
_M_MMAP_THRESHOLD = -3
_NO_TRIM = -1  # "disables trimming completely" (mallopt(3))
_LARGEST_HEAP_BLOCK = 32 << 20  # the largest M_MMAP_THRESHOLD glibc accepts on 64-bit systems
_kept = False


def keep_freed_memory() -> bool:
    """Keep freed memory in this process for reuse (see the module's notes); idempotent.

    Returns
    -------
    bool
        Whether the C library took the settings (glibc on Linux). Arrow's allocator is switched either way.
    """
    global _kept
    if _kept:
        return True
    pa.set_memory_pool(pa.system_memory_pool())
    mallopt = _mallopt()
    if mallopt is None:
        return False
    # both or neither: the mapping threshold alone would move large blocks to a heap that is still trimmed
    _kept = mallopt(_M_MMAP_THRESHOLD, _LARGEST_HEAP_BLOCK) == 1 and mallopt(_M_TRIM_THRESHOLD, _NO_TRIM) == 1
    if not _kept:
        logger.debug("the C library did not take the malloc settings; freed memory goes back to the OS")
    return _kept


def _mallopt() -> Callable[[int, int], int] | None:
    """glibc's ``mallopt``, or None where there is none (another OS, or a C library without it)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    function = getattr(libc, "mallopt", None)
    if function is None:
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int]
    function.restype = ctypes.c_int
    return function  # type: ignore[no-any-return]
