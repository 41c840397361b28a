"""Which request, slot and job the current code works for, so every log line can say so.

Use cases bind the job they handle; entrypoints bind the request id. The values live in one
context variable, so asyncio tasks started inside inherit them and a scope's exit restores
what was there before. Log formatting (an entrypoint concern) reads them with ``current()``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from types import MappingProxyType
from uuid import UUID

KEYS = ("request_id", "slot_id", "job_id")
MAX_VALUE_CHARS = 64  # a value may come from a client (the slot id in the URL)

_EMPTY: Mapping[str, str] = MappingProxyType({})
_context: ContextVar[Mapping[str, str]] = ContextVar("photochanger_log_context", default=_EMPTY)


def current() -> Mapping[str, str]:
    """The values bound here (only the keys that are known)."""
    return _context.get()


def bind(
    *,
    request_id: str | None = None,
    slot_id: str | None = None,
    job_id: UUID | str | None = None,
) -> None:
    """Add values for the rest of the current task (or until the enclosing ``bound`` ends)."""
    given = {"request_id": request_id, "slot_id": slot_id, "job_id": job_id}
    merged = dict(_context.get())
    merged.update({key: _clean(str(value)) for key, value in given.items() if value is not None})
    _context.set(MappingProxyType(merged))


@contextlib.contextmanager
def bound(
    *,
    request_id: str | None = None,
    slot_id: str | None = None,
    job_id: UUID | str | None = None,
) -> Iterator[None]:
    """Values for the duration of the block; whatever was bound inside is dropped at its end."""
    token = _context.set(_context.get())
    try:
        bind(request_id=request_id, slot_id=slot_id, job_id=job_id)
        yield
    finally:
        _context.reset(token)


def _clean(value: str) -> str:
    """Printable and short, so a hostile slot id cannot forge or flood log lines."""
    shown = "".join(ch if ch.isprintable() else "?" for ch in value[:MAX_VALUE_CHARS])
    return shown + "…" if len(value) > MAX_VALUE_CHARS else shown
