"""``PostgresJobRepository``: the ``job`` table as the record of every ingest and the queue.

Each method is one short transaction. Finalization is a single conditional UPDATE, so exactly
one caller wins however many race (SPEC §2 "exactly one final state"). Times come from the
caller's clock, never from SQL ``now()``, so tests control them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from adapters.postgres.pool import Pool, execute, fetch_all, fetch_one
from adapters.postgres.rows import job_from_row, job_params, result_params
from domain.job import FailureReason, Job, JobResult, failure_detail

ADD_IF_CAPACITY = """
INSERT INTO job (
    id, slot_id, provider, operation, settings, status, is_finalized, failure_reason,
    finalized_at, expires_at, payload_path, payload_mime, payload_size_bytes, payload_sha256,
    payload_expires_at, metadata, provider_job_reference, result_file_path, result_mime_type,
    result_size_bytes, result_checksum, result_expires_at, lease_owner, lease_expires_at,
    attempts, result_retention_sec, created_at, updated_at, is_test
)
SELECT %(id)s, %(slot_id)s, %(provider)s, %(operation)s, %(settings)s, %(status)s,
       %(is_finalized)s, %(failure_reason)s, %(finalized_at)s, %(expires_at)s,
       %(payload_path)s, %(payload_mime)s, %(payload_size_bytes)s, %(payload_sha256)s,
       %(payload_expires_at)s, %(metadata)s, %(provider_job_reference)s,
       %(result_file_path)s, %(result_mime_type)s, %(result_size_bytes)s,
       %(result_checksum)s, %(result_expires_at)s, %(lease_owner)s, %(lease_expires_at)s,
       %(attempts)s, %(result_retention_sec)s,
       %(created_at)s, %(updated_at)s, %(is_test)s
WHERE photochanger_admit_job(%(max_unfinished)s)  -- exact limit, one round trip (0003)
"""

GET = "SELECT * FROM job WHERE id = %(id)s"

# The ids come as one uuid[] literal, encoded once per set of waiters (see _IdArray).
FINALIZED_AMONG = "SELECT id FROM job WHERE id = ANY(%(ids)s::uuid[]) AND is_finalized"

CLAIM_NEXT = """
UPDATE job
SET status = 'processing', lease_owner = %(worker_id)s, lease_expires_at = %(lease_until)s,
    attempts = attempts + 1, updated_at = %(now)s
WHERE id = (
    SELECT id FROM job
    WHERE NOT is_finalized AND expires_at > %(now)s
      AND (status = 'pending' OR lease_expires_at < %(now)s)
    ORDER BY created_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING *
"""

# Every job a worker holds, in one statement per heartbeat (not one per job).
RENEW_LEASES = """
UPDATE job SET lease_expires_at = %(lease_until)s
WHERE id = ANY(%(ids)s) AND lease_owner = %(worker_id)s AND NOT is_finalized
RETURNING id
"""

RELEASE = """
UPDATE job SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL
WHERE id = %(id)s AND lease_owner = %(worker_id)s AND NOT is_finalized
"""

SET_PROVIDER_REFERENCE = "UPDATE job SET provider_job_reference = %(reference)s WHERE id = %(id)s"

FINALIZE_SUCCESS = """
UPDATE job
SET is_finalized = true, failure_reason = NULL, finalized_at = %(now)s, updated_at = %(now)s,
    result_file_path = %(result_file_path)s, result_mime_type = %(result_mime_type)s,
    result_size_bytes = %(result_size_bytes)s, result_checksum = %(result_checksum)s,
    result_expires_at = %(result_expires_at)s, lease_owner = NULL, lease_expires_at = NULL
WHERE id = %(id)s AND NOT is_finalized
RETURNING id
"""

FINALIZE_FAILURE = """
UPDATE job
SET is_finalized = true, failure_reason = %(reason)s, failure_detail = %(detail)s,
    finalized_at = %(now)s, updated_at = %(now)s, lease_owner = NULL, lease_expires_at = NULL
WHERE id = %(id)s AND NOT is_finalized
RETURNING id
"""

FINALIZE_EXPIRED = """
UPDATE job
SET is_finalized = true, failure_reason = 'timeout', finalized_at = %(now)s,
    updated_at = %(now)s, lease_owner = NULL, lease_expires_at = NULL
WHERE NOT is_finalized AND id IN (
    SELECT id FROM job
    WHERE NOT is_finalized AND expires_at <= %(now)s
    ORDER BY expires_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
RETURNING *
"""

PAYLOADS_TO_PURGE = """
SELECT * FROM job
WHERE payload_path IS NOT NULL AND (is_finalized OR payload_expires_at <= %(now)s)
ORDER BY created_at, id
LIMIT %(limit)s
"""

CLEAR_PAYLOAD = """
UPDATE job SET payload_path = NULL WHERE id = %(id)s AND payload_path IS NOT NULL RETURNING id
"""

RESULTS_TO_PURGE = """
SELECT * FROM job
WHERE result_file_path IS NOT NULL AND result_expires_at <= %(now)s
ORDER BY result_expires_at, id
LIMIT %(limit)s
"""

CLEAR_RESULT_FILE = """
UPDATE job SET result_file_path = NULL
WHERE id = %(id)s AND result_file_path IS NOT NULL
RETURNING id
"""

REFERENCED_PATHS = """
SELECT payload_path AS path FROM job WHERE payload_path = ANY(%(paths)s)
UNION
SELECT result_file_path AS path FROM job WHERE result_file_path = ANY(%(paths)s)
"""

COUNT_UNFINISHED = "SELECT count(*) AS n FROM job WHERE NOT is_finalized"


class _EncodedIds:
    """The ``uuid[]`` literal of the ids last asked about, rebuilt only when they change.

    The completion poller asks about the same waiting requests tick after tick and passes the
    same tuple while that set is unchanged, so a tick encodes nothing that grows with the
    number of waiters: psycopg sends the cached string as it is."""

    def __init__(self) -> None:
        self._ids: Sequence[UUID] = ()
        self._literal = "{}"

    def encoded(self, ids: Sequence[UUID]) -> str:
        if not (isinstance(ids, tuple) and ids is self._ids):  # a list may change in place
            self._ids = ids
            self._literal = "{" + ",".join(map(str, ids)) + "}"
        return self._literal


class PostgresJobRepository:
    """Implements ``application.ports.JobRepository``."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._asked = _EncodedIds()

    async def add_if_capacity(self, job: Job, *, max_unfinished: int) -> bool:
        params = {**job_params(job), "max_unfinished": max_unfinished}
        return await execute(self._pool, ADD_IF_CAPACITY, params) == 1

    async def get(self, job_id: UUID) -> Job | None:
        row = await fetch_one(self._pool, GET, {"id": job_id})
        return None if row is None else job_from_row(row)

    async def finalized_among(self, job_ids: Sequence[UUID]) -> list[UUID]:
        if not job_ids:
            return []
        ids = self._asked.encoded(job_ids)
        rows = await fetch_all(self._pool, FINALIZED_AMONG, {"ids": ids}, prepare=True)
        return [row["id"] for row in rows]

    async def claim_next(
        self, *, worker_id: str, now: datetime, lease_until: datetime
    ) -> Job | None:
        params = {"worker_id": worker_id, "now": now, "lease_until": lease_until}
        row = await fetch_one(self._pool, CLAIM_NEXT, params, prepare=True)  # the idle poll
        return None if row is None else job_from_row(row)

    async def renew_leases(
        self, job_ids: Sequence[UUID], *, worker_id: str, lease_until: datetime
    ) -> set[UUID]:
        if not job_ids:
            return set()
        params = {"ids": list(job_ids), "worker_id": worker_id, "lease_until": lease_until}
        return {row["id"] for row in await fetch_all(self._pool, RENEW_LEASES, params)}

    async def release(self, job_id: UUID, *, worker_id: str) -> None:
        await execute(self._pool, RELEASE, {"id": job_id, "worker_id": worker_id})

    async def set_provider_reference(self, job_id: UUID, reference: str) -> None:
        await execute(self._pool, SET_PROVIDER_REFERENCE, {"id": job_id, "reference": reference})

    async def finalize_success(self, job_id: UUID, result: JobResult, *, now: datetime) -> bool:
        params = {"id": job_id, "now": now, **result_params(result)}
        return await fetch_one(self._pool, FINALIZE_SUCCESS, params) is not None

    async def finalize_failure(
        self, job_id: UUID, reason: FailureReason, *, now: datetime, detail: str | None = None
    ) -> bool:
        params = {
            "id": job_id,
            "now": now,
            "reason": reason.value,
            "detail": failure_detail(detail),
        }
        return await fetch_one(self._pool, FINALIZE_FAILURE, params) is not None

    async def finalize_expired(self, *, now: datetime, limit: int) -> list[Job]:
        rows = await fetch_all(self._pool, FINALIZE_EXPIRED, {"now": now, "limit": limit})
        return [job_from_row(row) for row in rows]

    async def payloads_to_purge(self, *, now: datetime, limit: int) -> list[Job]:
        rows = await fetch_all(self._pool, PAYLOADS_TO_PURGE, {"now": now, "limit": limit})
        return [job_from_row(row) for row in rows]

    async def clear_payload(self, job_id: UUID) -> bool:
        return await fetch_one(self._pool, CLEAR_PAYLOAD, {"id": job_id}) is not None

    async def results_to_purge(self, *, now: datetime, limit: int) -> list[Job]:
        rows = await fetch_all(self._pool, RESULTS_TO_PURGE, {"now": now, "limit": limit})
        return [job_from_row(row) for row in rows]

    async def clear_result_file(self, job_id: UUID) -> bool:
        return await fetch_one(self._pool, CLEAR_RESULT_FILE, {"id": job_id}) is not None

    async def referenced_paths(self, paths: Sequence[str]) -> set[str]:
        if not paths:
            return set()
        return {
            row["path"]
            for row in await fetch_all(self._pool, REFERENCED_PATHS, {"paths": list(paths)})
        }

    async def count_unfinished(self) -> int:
        row = await fetch_one(self._pool, COUNT_UNFINISHED)
        return 0 if row is None else int(row["n"])


if TYPE_CHECKING:  # mypy proves the adapter satisfies its port
    from application.ports import JobRepository

    _port: type[JobRepository] = PostgresJobRepository
