"""``/api/audit``: who changed what, when — newest first, a page at a time."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter

from application.audit_queries import DEFAULT_PAGE_SIZE, ReadAuditLog
from entrypoints.http.admin.guards import any_operator
from entrypoints.http.admin.resources_schemas import AuditEntryOut, AuditPageOut
from entrypoints.http.admin.responses import error_responses


class AuditController(Controller):
    path = "/api/audit"
    tags = ["audit"]

    @get(
        "/",
        guards=[any_operator],
        summary="The audit trail, newest first (never a secret)",
        description="`next` is the `before=` of the following (older) page; null on the last.",
        responses=error_responses(400, 401),
    )
    async def audit(
        self,
        read_audit_log: NamedDependency[ReadAuditLog],
        limit: Annotated[int, QueryParameter(description="1..200")] = DEFAULT_PAGE_SIZE,
        before: FromQuery[int | None] = None,
    ) -> AuditPageOut:
        page = await read_audit_log(limit=limit, before=before)
        return AuditPageOut(
            items=[
                AuditEntryOut(
                    id=entry.id or 0,
                    at=entry.at,
                    actor=entry.actor,
                    action=entry.action,
                    target=entry.target,
                    before=None if entry.before is None else dict(entry.before),
                    after=None if entry.after is None else dict(entry.after),
                )
                for entry in page.items
            ],
            next=page.next,
        )
