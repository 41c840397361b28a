"""ReadAuditLog: the audit trail, newest first, a page at a time (SPEC §10 "Audit")."""

from __future__ import annotations

from dataclasses import dataclass

from application.operator_ports import AuditLog
from domain.audit import AuditEntry
from domain.errors import InvalidRequest

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True, slots=True)
class AuditPage:
    items: list[AuditEntry]
    next: int | None  # pass as ``before`` for the next (older) page; None on the last one


class ReadAuditLog:
    def __init__(self, *, audit: AuditLog) -> None:
        self._audit = audit

    async def __call__(
        self, *, limit: int = DEFAULT_PAGE_SIZE, before: int | None = None
    ) -> AuditPage:
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE_SIZE}", {"field": "limit"})
        found = await self._audit.page(limit + 1, before)
        items = found[:limit]
        more = len(found) > limit and items[-1].id is not None
        return AuditPage(items=items, next=items[-1].id if more else None)
