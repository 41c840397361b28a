"""Public downloads (SPEC §7): results for people, temporary inputs for URL-based providers."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.ports import Clock, JobRepository, MediaObjectRepository, MediaStorage
from domain.errors import Gone, NotFound
from domain.media import extension_for_mime


@dataclass(frozen=True, slots=True)
class Download:
    """A file to stream out; ``filename`` set when it should be saved as an attachment."""

    file: str
    mime: str
    filename: str | None = None


class GetResult:
    """200 until ``result_expires_at``, 410 after (or once purged), 404 when there never was
    a result."""

    def __init__(self, *, jobs: JobRepository, storage: MediaStorage, clock: Clock) -> None:
        self._jobs = jobs
        self._storage = storage
        self._clock = clock

    async def __call__(self, job_id: UUID) -> Download:
        job = await self._jobs.get(job_id)
        if job is None or job.result is None:
            raise NotFound("no result for this job", {"job_id": str(job_id)})
        if job.result.file_path is None or self._clock.now() >= job.result.expires_at:
            raise Gone("this result has expired", {"job_id": str(job_id)})
        extension = extension_for_mime(job.result.mime)
        return Download(
            file=self._storage.absolute_path(job.result.file_path),
            mime=job.result.mime,
            filename=f"photochanger-{job.id}{extension}",
        )


class GetPublicMedia:
    """A temporary input link: served until ``expires_at`` and never extended."""

    def __init__(
        self, *, media_objects: MediaObjectRepository, storage: MediaStorage, clock: Clock
    ) -> None:
        self._media_objects = media_objects
        self._storage = storage
        self._clock = clock

    async def __call__(self, media_id: UUID) -> Download:
        media = await self._media_objects.get(media_id)
        if media is None:
            raise NotFound("unknown media link", {"media_id": str(media_id)})
        if not media.is_available(now=self._clock.now()) or media.path is None:
            raise Gone("this link has expired", {"media_id": str(media_id)})
        return Download(file=self._storage.absolute_path(media.path), mime=media.mime)
