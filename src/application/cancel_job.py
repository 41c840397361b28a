"""CancelJob: an administrator ends a job that is not final yet (SPEC §10 "Jobs")."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.operator_ports import AuditLog
from application.ports import Clock, JobRepository, Signal
from application.query_ports import job_state
from domain.audit import AuditEntry
from domain.errors import ConcurrentModification, NotFound
from domain.job import FailureReason, Job


@dataclass(frozen=True, slots=True)
class CancelJobCommand:
    job_id: UUID
    actor: str


class CancelJob:
    """Finalize ``cancelled`` with the same conditional update as every other final state, so
    a job that finished meanwhile keeps its outcome (and the caller hears ``conflict``). The
    booth waiting on the job hears ``cancelled`` at once; the worker, at its next heartbeat,
    hangs up on the provider and discards anything that still arrives."""

    def __init__(
        self, *, jobs: JobRepository, audit: AuditLog, clock: Clock, job_finalized: Signal
    ) -> None:
        self._jobs = jobs
        self._audit = audit
        self._clock = clock
        self._job_finalized = job_finalized

    async def __call__(self, cmd: CancelJobCommand) -> Job:
        job = await self._jobs.get(cmd.job_id)
        if job is None:
            raise NotFound(f"job {cmd.job_id} does not exist", {"job_id": str(cmd.job_id)})
        now = self._clock.now()
        won = not job.is_finalized and await self._jobs.finalize_failure(
            job.id, FailureReason.CANCELLED, now=now, detail=f"cancelled by {cmd.actor}"
        )
        if not won:
            final = await self._jobs.get(job.id) or job
            raise ConcurrentModification(
                f"job {job.id} is already final ({job_state(final).value}); nothing to cancel",
                {"job_id": str(job.id), "state": job_state(final).value},
            )
        self._job_finalized.notify()  # the waiting request in this process looks now
        await self._audit.record(
            AuditEntry(
                actor=cmd.actor,
                action="job.cancel",
                target=f"job:{job.id}",
                at=now,
                before={"state": job_state(job).value, "slot_id": job.slot_id},
                after={"state": "cancelled"},
            )
        )
        cancelled = await self._jobs.get(job.id)
        if cancelled is None:  # rows are never deleted; keep the promise to return the job
            raise NotFound(f"job {job.id} does not exist", {"job_id": str(job.id)})
        return cancelled
