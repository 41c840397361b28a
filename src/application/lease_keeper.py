"""LeaseKeeper: the worker process's heartbeat, one renewal statement for all its jobs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Set
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

from application.ports import Clock, JobRepository
from domain.errors import PhotoChangerError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LeasePolicy:
    """How long a claim lasts without a heartbeat, so a dead worker's job is picked up."""

    seconds: float = 10.0

    @property
    def heartbeat_seconds(self) -> float:
        return self.seconds / 3


@dataclass(slots=True)
class _Held:
    worker_id: str
    lost: asyncio.Event = field(default_factory=asyncio.Event)


class LeaseKeeper:
    """Renews the leases of every job this process holds with ONE statement per worker id
    every ``heartbeat_seconds`` (a job-per-statement heartbeat made 150 transactions/s with
    500 jobs in hand). A job whose lease was not renewed — finalized elsewhere (the API's
    deadline, an operator's cancel, purge) or re-claimed after its lease lapsed — is reported
    through the event ``hold`` yields, so its provider call is hung up on. Nothing runs and
    nothing is asked while no job is held. A worker that dies renews nothing: its leases
    lapse and its jobs are claimed again."""

    def __init__(self, jobs: JobRepository, clock: Clock, policy: LeasePolicy) -> None:
        self._jobs = jobs
        self._clock = clock
        self._policy = policy
        self._held: dict[UUID, _Held] = {}
        self._emptied = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def policy(self) -> LeasePolicy:
        return self._policy

    @property
    def held_ids(self) -> Set[UUID]:
        """The jobs this process holds right now (a live view, not a copy)."""
        return self._held.keys()

    @contextlib.contextmanager
    def hold(self, job_id: UUID, *, worker_id: str) -> Iterator[asyncio.Event]:
        """Keep ``job_id``'s lease renewed while the block runs; the event is set when the
        lease could not be renewed (the job is no longer this worker's to finish)."""
        entry = _Held(worker_id)
        self._held[job_id] = entry
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="lease-keeper")
        try:
            yield entry.lost
        finally:
            if self._held.get(job_id) is entry:
                del self._held[job_id]
            if not self._held:
                self._emptied.set()  # the loop ends now rather than after its next sleep

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while self._held:
            self._emptied.clear()
            if await self._clock.wait_for_event(self._emptied, self._policy.heartbeat_seconds):
                continue  # nothing is held any more (unless a job came in meanwhile)
            await self._renew_all()

    async def _renew_all(self) -> None:
        until = self._clock.now() + timedelta(seconds=self._policy.seconds)
        by_worker: dict[str, list[UUID]] = {}
        for job_id, entry in self._held.items():
            by_worker.setdefault(entry.worker_id, []).append(job_id)
        for worker_id, job_ids in by_worker.items():
            try:
                kept = await self._jobs.renew_leases(
                    job_ids, worker_id=worker_id, lease_until=until
                )
            except PhotoChangerError:  # database trouble: the leases still run; retry next beat
                log.warning("lease renewal of %d job(s) failed; will retry", len(job_ids))
                continue
            except Exception:  # a bug must not stop the heartbeat of every other job
                log.exception("lease renewal of %d job(s) crashed; will retry", len(job_ids))
                continue
            for job_id in job_ids:
                held = self._held.get(job_id)
                if job_id not in kept and held is not None and held.worker_id == worker_id:
                    held.lost.set()
