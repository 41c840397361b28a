"""``PostgresMediaObjectRepository``: temporary public links to job inputs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from adapters.postgres.pool import Pool, execute, fetch_all, fetch_one
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
        await execute(self._pool, ADD, params)

    async def get(self, media_id: UUID) -> MediaObject | None:
        row = await fetch_one(self._pool, GET, {"id": media_id})
        return None if row is None else media_object_from_row(row)

    async def for_job(self, job_id: UUID) -> list[MediaObject]:
        """Every link of the job, purged ones included (their ``path`` is None)."""
        rows = await fetch_all(self._pool, FOR_JOB, {"job_id": job_id})
        return [media_object_from_row(row) for row in rows]

    async def to_purge(self, *, now: datetime, limit: int) -> list[MediaObject]:
        rows = await fetch_all(self._pool, TO_PURGE, {"now": now, "limit": limit})
        return [media_object_from_row(row) for row in rows]

    async def mark_purged(self, media_id: UUID) -> bool:
        return await fetch_one(self._pool, MARK_PURGED, {"id": media_id}) is not None

    async def referenced_paths(self, paths: Sequence[str]) -> set[str]:
        if not paths:
            return set()
        return {
            row["path"]
            for row in await fetch_all(self._pool, REFERENCED_PATHS, {"paths": list(paths)})
        }


if TYPE_CHECKING:  # mypy proves the adapter satisfies its port
    from application.ports import MediaObjectRepository

    _port: type[MediaObjectRepository] = PostgresMediaObjectRepository
