"""PurgeArtifacts: the cleanup of SPEC §6, idempotent and safe to run from many processes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from application.job_artifacts import JobArtifacts
from application.ports import Clock, JobRepository, MediaObjectRepository, MediaStorage
from domain.media import MediaArea

log = logging.getLogger(__name__)

BATCH = 500


@dataclass(frozen=True, slots=True)
class PurgePolicy:
    """``orphan_grace``: a file no row references is deleted only when older than this, so a
    write whose row is not yet committed is never taken."""

    orphan_grace_seconds: float = 3600.0


@dataclass(frozen=True, slots=True)
class PurgeReport:
    timed_out: int = 0
    payloads: int = 0
    links: int = 0
    results: int = 0
    orphans: int = 0


class PurgeArtifacts:
    """Time out overdue jobs, then delete payloads, public links, results and orphan files
    whose time has come. Every step is a conditional update or an idempotent delete, so two
    purges racing each other (or the worker) do no harm."""

    def __init__(
        self,
        *,
        jobs: JobRepository,
        media_objects: MediaObjectRepository,
        storage: MediaStorage,
        artifacts: JobArtifacts,
        clock: Clock,
        policy: PurgePolicy,
    ) -> None:
        self._jobs = jobs
        self._media_objects = media_objects
        self._storage = storage
        self._artifacts = artifacts
        self._clock = clock
        self._policy = policy

    async def __call__(self) -> PurgeReport:
        now = self._clock.now()
        timed_out = await self._jobs.finalize_expired(now=now, limit=BATCH)
        for job in timed_out:
            log.info("job %s: deadline passed without a result; finalized timeout", job.id)
        payloads = 0
        for job in await self._jobs.payloads_to_purge(now=now, limit=BATCH):
            payloads += await self._artifacts.remove_payload(job)
        links = 0
        for link in await self._media_objects.to_purge(now=now, limit=BATCH):
            links += await self._artifacts.remove_link(link)
        results = 0
        for job in await self._jobs.results_to_purge(now=now, limit=BATCH):
            if job.result is not None and job.result.file_path is not None:
                await self._storage.delete(job.result.file_path)
            results += await self._jobs.clear_result_file(job.id)
        orphans = await self._remove_orphans(
            now - timedelta(seconds=self._policy.orphan_grace_seconds)
        )
        return PurgeReport(
            timed_out=len(timed_out),
            payloads=payloads,
            links=links,
            results=results,
            orphans=orphans,
        )

    async def _remove_orphans(self, older_than: datetime) -> int:
        removed = 0
        for area in (MediaArea.PAYLOAD, MediaArea.RESULTS, MediaArea.PUBLIC):
            entries = [
                e for e in await self._storage.list_files(area) if e.modified_at < older_than
            ]
            if not entries:
                continue
            paths = [e.path for e in entries]
            referenced = await self._jobs.referenced_paths(paths)
            referenced |= await self._media_objects.referenced_paths(paths)
            for path in paths:
                if path not in referenced and await self._storage.delete(path):
                    log.info("removed orphan file %s", path)
                    removed += 1
        return removed
