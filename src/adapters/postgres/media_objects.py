"""``PostgresMediaObjectRepository``: temporary public links to job inputs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from adapters.postgres.pool import Pool, statement
from adapters.postgres.rows import media_object_from_row
from domain.media import MediaObject

ADD = """
INSERT INTO media_object (id, job_id, path, mime, size_bytes, expires_at, created_at)
VALUES (%(id)s, %(job_id)s, %(path)s, %(mime)s, %(size_bytes)s, %(expires_at)s, %(created_at)s)
"""

GET = "SELECT * FROM media_object WHERE id = %(id)s"

FOR_JOB = "SELECT * FROM media_object WHERE job_id = %(job_id)s ORDER BY created_at, id"

TO_PURGE = """
SELECT m.* FROM media_object AS m
JOIN job AS j ON j.id = m.job_id
WHERE m.path IS NOT NULL AND (m.expires_at <= %(now)s OR j.is_finalized)
ORDER BY m.expires_at, m.id
LIMIT %(limit)s
"""

MARK_PURGED = (
    "UPDATE media_object SET path = NULL WHERE id = %(id)s AND path IS NOT NULL RETURNING id"
)

REFERENCED_PATHS = "SELECT DISTINCT path FROM media_object WHERE path = ANY(%(paths)s)"


class PostgresMediaObjectRepository:
    """Implements ``application.ports.MediaObjectRepository``."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def add(self, media: MediaObject) -> None:
        params = {
            "id": media.id,
            "job_id": media.job_id,
            "path": media.path,
            "mime": media.mime,
            "size_bytes": media.size_bytes,
            "expires_at": media.expires_at,
            "created_at": media.created_at,
        }
        async with statement(self._pool) as cur:
            await cur.execute(ADD, params)

    async def get(self, media_id: UUID) -> MediaObject | None:
        async with statement(self._pool) as cur:
            await cur.execute(GET, {"id": media_id})
            row = await cur.fetchone()
        return None if row is None else media_object_from_row(row)

    async def for_job(self, job_id: UUID) -> list[MediaObject]:
        """Every link of the job, purged ones included (their ``path`` is None)."""
        async with statement(self._pool) as cur:
            await cur.execute(FOR_JOB, {"job_id": job_id})
            rows = await cur.fetchall()
        return [media_object_from_row(row) for row in rows]

    async def to_purge(self, *, now: datetime, limit: int) -> list[MediaObject]:
        async with statement(self._pool) as cur:
            await cur.execute(TO_PURGE, {"now": now, "limit": limit})
            rows = await cur.fetchall()
        return [media_object_from_row(row) for row in rows]

    async def mark_purged(self, media_id: UUID) -> bool:
        async with statement(self._pool) as cur:
            await cur.execute(MARK_PURGED, {"id": media_id})
            return await cur.fetchone() is not None

    async def referenced_paths(self, paths: Sequence[str]) -> set[str]:
        if not paths:
            return set()
        async with statement(self._pool) as cur:
            await cur.execute(REFERENCED_PATHS, {"paths": list(paths)})
            return {row["path"] for row in await cur.fetchall()}


if TYPE_CHECKING:  # mypy proves the adapter satisfies its port
    from application.ports import MediaObjectRepository

    _port: type[MediaObjectRepository] = PostgresMediaObjectRepository
