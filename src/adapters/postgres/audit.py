"""``PostgresAuditLog``: the append-only ``audit_log`` table, paged newest first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from psycopg.types.json import Jsonb

from adapters.postgres.pool import Pool, execute, fetch_all
from adapters.postgres.rows import Row, utc
from domain.audit import AuditEntry

RECORD = """
INSERT INTO audit_log (at, actor, action, target, before, after)
VALUES (%(at)s, %(actor)s, %(action)s, %(target)s, %(before)s, %(after)s)
"""

NEWEST = """
SELECT * FROM audit_log
ORDER BY at DESC, id DESC
LIMIT %(limit)s
"""

# Keyset paging on the (at DESC, id DESC) index; an unknown cursor yields an empty page.
OLDER_THAN = """
SELECT * FROM audit_log
WHERE (at, id) < (SELECT at, id FROM audit_log WHERE id = %(before)s)
ORDER BY at DESC, id DESC
LIMIT %(limit)s
"""


def _entry_from_row(row: Row) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        at=utc(row["at"]),
        actor=row["actor"],
        action=row["action"],
        target=row["target"],
        before=row["before"],
        after=row["after"],
    )


class PostgresAuditLog:
    """Implements ``application.operator_ports.AuditLog``."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def record(self, entry: AuditEntry) -> None:
        params = {
            "at": entry.at,
            "actor": entry.actor,
            "action": entry.action,
            "target": entry.target,
            "before": None if entry.before is None else Jsonb(dict(entry.before)),
            "after": None if entry.after is None else Jsonb(dict(entry.after)),
        }
        await execute(self._pool, RECORD, params)

    async def page(self, limit: int, before: int | None = None) -> list[AuditEntry]:
        if before is None:
            rows = await fetch_all(self._pool, NEWEST, {"limit": limit})
        else:
            rows = await fetch_all(self._pool, OLDER_THAN, {"limit": limit, "before": before})
        return [_entry_from_row(row) for row in rows]


if TYPE_CHECKING:  # mypy proves the adapter satisfies its port
    from application.operator_ports import AuditLog

    _port: type[AuditLog] = PostgresAuditLog
