"""``MediaObjectRepository`` (temporary public links) and ``TemplateRepository`` in memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from domain.media import MediaObject, TemplateMedia
from fakes.clock import round_trip
from fakes.jobs import InMemoryJobRepository


class InMemoryMediaObjectRepository:
    """``MediaObjectRepository``; reads the job rows to know which jobs are finalized."""

    def __init__(self, jobs: InMemoryJobRepository) -> None:
        self.rows: dict[UUID, MediaObject] = {}
        self._jobs = jobs

    async def add(self, media: MediaObject) -> None:
        await round_trip()
        self.rows[media.id] = media

    async def get(self, media_id: UUID) -> MediaObject | None:
        await round_trip()
        return self.rows.get(media_id)

    async def for_job(self, job_id: UUID) -> list[MediaObject]:
        await round_trip()
        return [m for m in self.rows.values() if m.job_id == job_id]

    async def to_purge(self, *, now: datetime, limit: int) -> list[MediaObject]:
        await round_trip()

        def job_finalized(media: MediaObject) -> bool:
            job = self._jobs.rows.get(media.job_id)
            return job is not None and job.is_finalized

        return [
            m
            for m in self.rows.values()
            if m.path is not None and (m.expires_at <= now or job_finalized(m))
        ][:limit]

    async def mark_purged(self, media_id: UUID) -> bool:
        await round_trip()
        media = self.rows.get(media_id)
        if media is None or media.path is None:
            return False
        self.rows[media_id] = replace(media, path=None)
        return True

    async def referenced_paths(self, paths: Sequence[str]) -> set[str]:
        await round_trip()
        return {m.path for m in self.rows.values() if m.path is not None}.intersection(paths)


class InMemoryTemplateRepository:
    def __init__(self) -> None:
        self.rows: dict[UUID, TemplateMedia] = {}

    async def add(self, template: TemplateMedia) -> None:
        await round_trip()
        self.rows[template.id] = template

    async def get(self, template_id: UUID) -> TemplateMedia | None:
        await round_trip()
        return self.rows.get(template_id)

    async def list(self) -> list[TemplateMedia]:
        await round_trip()
        return list(self.rows.values())

    async def remove(self, template_id: UUID) -> bool:
        await round_trip()
        return self.rows.pop(template_id, None) is not None
