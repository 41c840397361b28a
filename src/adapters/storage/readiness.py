"""Is ``MEDIA_ROOT`` fit to take photos? Asked by ``/readyz`` so a balancer or operator learns
of a full or read-only disk before booths do.

Cheap on purpose (it runs on every probe): one ``statvfs`` and, when space suffices, a one-byte
file created and removed in each area folder. Missing area folders are created first, as the
storage itself does on first use (an API-only process may not have touched it yet). A probe
file left by a crash is named like a temp file (``.<hex>.tmp``), so the purge collects it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from pathlib import Path

from domain.media import MediaArea

OK = "ok"
_MIB = 1024 * 1024


async def media_root_status(root: Path, *, min_free_bytes: int) -> str:
    """``"ok"``, or why not: ``"not writable: …"``, ``"free space … below …"``."""
    return await asyncio.to_thread(_check, Path(root), min_free_bytes)


def _check(root: Path, min_free_bytes: int) -> str:
    try:
        for area in MediaArea:
            (root / area.value).mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(root).free
    except OSError as exc:
        return f"not writable: {_why(exc)}"
    if free < min_free_bytes:
        return f"free space {_mib(free)} below {_mib(min_free_bytes)}"
    for area in MediaArea:
        problem = _probe_write(root / area.value)
        if problem is not None:
            return problem
    return OK


def _probe_write(directory: Path) -> str | None:
    probe = directory / f".{uuid.uuid4().hex}.tmp"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"\0")  # an empty file can be created on a full disk; a byte cannot
        finally:
            os.close(fd)
        probe.unlink()
    except OSError as exc:
        with contextlib.suppress(OSError):
            probe.unlink()
        return f"not writable: {_why(exc)}"
    return None


def _why(exc: OSError) -> str:
    """The OS's words for the errno, never the path (the body is public)."""
    return os.strerror(exc.errno).lower() if exc.errno else type(exc).__name__


def _mib(n: int) -> str:
    return f"{n / _MIB:.1f} MiB"
