"""Hand the photos' memory back to the OS as soon as it is freed (glibc malloc).

Every ingest allocates a few buffers of about a megabyte (the photo, Gemini's JSON request
and answer, the result). glibc serves a freed large block's successors from its heap instead
of ``mmap`` (its threshold rises to the largest block freed so far), and a heap with small
live objects between the freed megabytes cannot shrink: the service's RSS grew from 81 to
~210 MiB over 1,000 ingests of a 1 MB photo and stayed there. A fixed threshold of 1 MiB
keeps blocks of that size and more in their own mappings, returned to the OS when freed
(~140 MiB after the same 1,000 ingests), for ~1.5 ms more system CPU per ingest (page
faults of fresh mappings). The worker threads that write and read media files each had their
own arena (6–10 MiB kept each); two arenas for the whole process bring it to ~125 MiB.
These are glibc's ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_ARENA_MAX`` environment variables
set from inside, once per process; an operator's own variable wins, and elsewhere than glibc
this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

log = logging.getLogger(__name__)

MMAP_THRESHOLD_BYTES = 1024 * 1024
ARENAS = 2
# glibc's mallopt parameter numbers, and the environment variables that set them at start
_SETTINGS = (
    (-3, "MALLOC_MMAP_THRESHOLD_"),  # M_MMAP_THRESHOLD (also stops its dynamic rise)
    (-8, "MALLOC_ARENA_MAX"),  # M_ARENA_MAX
)


def limit_retained_memory(
    mmap_threshold: int = MMAP_THRESHOLD_BYTES, arenas: int = ARENAS
) -> list[str]:
    """Fix glibc's mmap threshold and arena count, each unless the operator set its
    environment variable; returns the variables set here (none elsewhere than glibc)."""
    if not sys.platform.startswith("linux"):
        return []
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return []
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    applied = []
    for (parameter, variable), value in zip(_SETTINGS, (mmap_threshold, arenas), strict=True):
        if variable in os.environ:
            continue
        if mallopt(parameter, value) == 1:
            applied.append(variable)
        else:
            log.debug("mallopt refused %s=%d; the allocator keeps its default", variable, value)
    return applied
