"""ClaimAndProcess: take the next job from the queue and process it under a lease."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from application.lease_keeper import LeasePolicy
from application.ports import Clock, JobRepository
from application.process_job import Outcome, ProcessJob


class ClaimAndProcess:
    """One worker step. Returns None when the queue had nothing claimable.

    If the worker is stopped mid-job the job goes back to the queue at once, so another
    worker picks it up without waiting for the lease to lapse.
    """

    def __init__(
        self, *, jobs: JobRepository, process: ProcessJob, clock: Clock, lease: LeasePolicy
    ) -> None:
        self._jobs = jobs
        self._process = process
        self._clock = clock
        self._lease = lease

    async def __call__(
        self, *, worker_id: str, on_claimed: Callable[[], None] | None = None
    ) -> Outcome | None:
        """``on_claimed`` runs as soon as a job is held, before the (long) provider call."""
        now = self._clock.now()
        job = await self._jobs.claim_next(
            worker_id=worker_id, now=now, lease_until=now + timedelta(seconds=self._lease.seconds)
        )
        if job is None:
            return None
        if on_claimed is not None:
            on_claimed()
        try:
            return await self._process(job, worker_id=worker_id)
        except asyncio.CancelledError:
            await asyncio.shield(self._jobs.release(job.id, worker_id=worker_id))
            raise
