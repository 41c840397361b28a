"""Removal of a job's temporary artifacts: its payload file and its public links."""

from __future__ import annotations

import logging

from application.ports import JobRepository, MediaObjectRepository, MediaStorage
from domain.job import Job
from domain.media import MediaObject
from domain.providers import provider_spec

log = logging.getLogger(__name__)


class JobArtifacts:
    """Shared by ProcessJob (right after finalization) and PurgeArtifacts (for the rest)."""

    def __init__(
        self, jobs: JobRepository, media_objects: MediaObjectRepository, storage: MediaStorage
    ) -> None:
        self._jobs = jobs
        self._media_objects = media_objects
        self._storage = storage

    async def remove_payload(self, job: Job) -> bool:
        """Delete the file, then forget it; True if this call was the one that forgot it."""
        if job.payload is None:
            return False
        await self._storage.delete(job.payload.path)
        return await self._jobs.clear_payload(job.id)

    async def remove_link(self, link: MediaObject) -> bool:
        """Delete a public link's file; the row stays so the link answers 410."""
        if link.path is not None:
            await self._storage.delete(link.path)
        return await self._media_objects.mark_purged(link.id)

    async def remove_after_finalization(self, job: Job) -> None:
        """Payload and public links go as soon as the job is final; purge retries failures."""
        try:
            await self.remove_payload(job)
            if not provider_spec(job.provider).needs_public_urls:
                return  # no links were made for this job; spare the query
            for link in await self._media_objects.for_job(job.id):
                if link.path is not None:
                    await self.remove_link(link)
        except Exception:
            log.warning(
                "artifact removal for job %s failed; purge will retry", job.id, exc_info=True
            )
