"""What the ingest and worker tests share: a scripted worker standing in for the worker
process, the scenario's constants, fixture types and the booth's ingest command."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Protocol

from application.lease_keeper import LeasePolicy
from application.purge_artifacts import PurgePolicy
from application.submit_ingest import IngestCommand, IngestLimits, SubmitIngest
from application.waiting import CompletionWaiter
from domain.job import FailureReason, Job, JobResult
from domain.media import MediaArea
from fakes.clock import FakeClock
from fakes.images import JPEG, RESULT_PNG
from fakes.jobs import InMemoryJobRepository
from fakes.signals import CountingSignal
from fakes.storage import InMemoryMediaStorage, chunks_of

PASSWORD = "booth-secret-1"
TICK_SECONDS = 0.5
POKE_PAUSE_SECONDS = TICK_SECONDS / 10
LEASE = LeasePolicy(seconds=9.0)  # heartbeat every 3 s
PURGE_POLICY = PurgePolicy(orphan_grace_seconds=3600.0)

QueueJob = Callable[..., Awaitable[Job]]
"""``await queue_job(slot_id, **options)``: a job queued as SubmitIngest would."""

QueueAndClaim = Callable[..., Awaitable[Job]]
"""``await queued_and_claimed(slot_id, **options)``: a queued job claimed by worker-1."""


class SubmitIngestFactory(Protocol):
    def __call__(
        self, *, waiter: CompletionWaiter | None = None, limits: IngestLimits | None = None
    ) -> SubmitIngest: ...


def ingest_command(
    slot_id: str = "slot-001",
    *,
    password: str = PASSWORD,
    photo: bytes = JPEG,
    client: str = "10.0.0.7",
    metadata: Mapping[str, str] | None = None,
    declared_hash: str | None = None,
) -> IngestCommand:
    return IngestCommand(
        slot_id=slot_id,
        password=password,
        photo=chunks_of(photo),
        client=client,
        declared_hash=declared_hash,
        metadata=dict(metadata or {}),
    )


class ScriptedWorker:
    """Stands in for the worker process next to SubmitIngest: claims the queued job and
    finalizes it through the repository, then pokes the waiter as ProcessJob's
    ``job_finalized`` signal does."""

    worker_id = "scripted-worker"

    def __init__(
        self,
        *,
        jobs: InMemoryJobRepository,
        clock: FakeClock,
        job_added: CountingSignal,
        waiter: CompletionWaiter,
        storage: InMemoryMediaStorage,
    ) -> None:
        self._jobs = jobs
        self._clock = clock
        self._job_added = job_added
        self._waiter = waiter
        self._storage = storage

    async def claim(self) -> Job:
        """Wait for SubmitIngest to announce a job, then claim it."""
        await self._job_added.event.wait()
        self._job_added.event.clear()
        now = self._clock.now()
        job = await self._jobs.claim_next(
            worker_id=self.worker_id, now=now, lease_until=now + timedelta(seconds=10)
        )
        assert job is not None, "nothing to claim"
        return job

    async def succeed(self, job: Job, image: bytes = RESULT_PNG, *, poke: bool = True) -> bool:
        """Write the result file, then finalize (the file is what the waiting request reads)."""
        now = self._clock.now()
        stored = self._storage.store(MediaArea.RESULTS, image, "image/png")
        result = JobResult(
            file_path=stored.path,
            mime=stored.mime,
            size_bytes=stored.size_bytes,
            checksum=stored.sha256,
            expires_at=now + timedelta(hours=72),
        )
        won = await self._jobs.finalize_success(job.id, result, now=now)
        if poke:
            await self._poke()
        return won

    async def fail(self, job: Job, reason: FailureReason, *, poke: bool = True) -> bool:
        won = await self._jobs.finalize_failure(job.id, reason, now=self._clock.now())
        if poke:
            await self._poke()
        return won

    async def _poke(self) -> None:
        """Poke, then let the poller's coalescing pause (a tenth of a tick) pass."""
        self._waiter.poke()
        await self._clock.advance(POKE_PAUSE_SECONDS)
