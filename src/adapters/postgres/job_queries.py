"""Operator reads of the ``job`` table: the newest-first job list and each slot's activity.

Every query is one index range (migration 0006): ``job_created_idx`` for the list and today's
counts, ``job_slot_created_idx`` for a slot's jobs, ``job_slot_results_idx`` for its results.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from psycopg import sql

from adapters.postgres.job_outcomes import OUTCOME_COUNTS, STATE_CONDITIONS, outcome_counts
from adapters.postgres.pool import Pool, fetch_all, statement
from adapters.postgres.rows import job_from_row, utc
from application.query_ports import (
    JobFilter,
    OutcomeCounts,
    RecentResult,
)
from domain.job import Job

# Every column of the row.
JOB_COLUMNS = """
id, slot_id, provider, operation, settings, status, is_finalized, failure_reason,
failure_detail, finalized_at, expires_at, payload_path, payload_mime, payload_size_bytes,
payload_sha256, payload_expires_at, metadata, provider_job_reference, result_file_path,
result_mime_type, result_size_bytes, result_checksum, result_expires_at,
lease_owner, lease_expires_at, attempts,
result_retention_sec, created_at, updated_at, is_test
"""

NEWEST = """
SELECT {columns} FROM job WHERE {conditions}
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s
"""

OUTCOMES_SINCE = f"""
SELECT slot_id,
{OUTCOME_COUNTS}
FROM job
WHERE created_at >= %(since)s AND NOT is_test
GROUP BY slot_id
"""  # noqa: S608 - composed of constants only

RECENT_RESULTS = """
SELECT id, finalized_at, result_expires_at
FROM job
WHERE slot_id = %(slot_id)s AND result_file_path IS NOT NULL AND NOT is_test
  AND result_expires_at > %(now)s
ORDER BY finalized_at DESC
LIMIT %(limit)s
"""


class PostgresJobQueries:
    """Implements ``application.query_ports.JobQueries`` and ``SlotActivity``."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def newest(self, where: JobFilter, *, limit: int) -> list[Job]:
        conditions: list[sql.Composable] = [sql.SQL("true")]
        params: dict[str, Any] = {"limit": limit}
        if where.slot_id is not None:
            conditions.append(sql.SQL("slot_id = %(slot_id)s"))
            params["slot_id"] = where.slot_id
        if where.state is not None:
            conditions.append(sql.SQL(STATE_CONDITIONS[where.state]))
        if where.created_from is not None:
            conditions.append(sql.SQL("created_at >= %(created_from)s"))
            params["created_from"] = where.created_from
        if where.created_until is not None:
            conditions.append(sql.SQL("created_at < %(created_until)s"))
            params["created_until"] = where.created_until
        if where.before is not None:
            conditions.append(sql.SQL("(created_at, id) < (%(before_at)s, %(before_id)s)"))
            params["before_at"] = where.before.created_at
            params["before_id"] = where.before.id
        query = sql.SQL(NEWEST).format(
            columns=sql.SQL(JOB_COLUMNS), conditions=sql.SQL(" AND ").join(conditions)
        )
        async with statement(self._pool) as cur:
            await cur.execute(query, params)
            rows = await cur.fetchall()
        return [job_from_row(row) for row in rows]

    async def outcomes_since(self, since: datetime) -> dict[str, OutcomeCounts]:
        rows = await fetch_all(self._pool, OUTCOMES_SINCE, {"since": since})
        return {row["slot_id"]: outcome_counts(row) for row in rows}

    async def recent_results(
        self, slot_id: str, *, now: datetime, limit: int
    ) -> list[RecentResult]:
        params = {"slot_id": slot_id, "now": now, "limit": limit}
        rows = await fetch_all(self._pool, RECENT_RESULTS, params)
        return [
            RecentResult(
                job_id=row["id"],
                finished_at=utc(row["finalized_at"]),
                expires_at=utc(row["result_expires_at"]),
            )
            for row in rows
        ]


if TYPE_CHECKING:  # mypy proves the adapter satisfies its ports
    from application.query_ports import JobQueries, SlotActivity

    _jobs: type[JobQueries] = PostgresJobQueries
    _activity: type[SlotActivity] = PostgresJobQueries
