"""``JobRepository`` in memory, and a queued job built as SubmitIngest builds one."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from domain.deadlines import (
    PRODUCT_BOUNDS,
    TimeoutBounds,
    calculate_artifact_expiry,
    calculate_job_expires_at,
)
from domain.errors import (
    ServiceUnavailable,
)
from domain.job import FailureReason, Job, JobResult, JobStatus, Payload
from domain.media import StoredFile
from domain.settings import AppSettings
from domain.slot import Slot
from fakes.clock import round_trip


class InMemoryJobRepository:
    """``JobRepository``: conditional finalization, leases and claimability as promised."""

    def __init__(self) -> None:
        self.rows: dict[UUID, Job] = {}
        self.calls: Counter[str] = Counter()
        self.finalized_among_asked: list[list[UUID]] = []
        self.fail_renewals = False  # renew_leases raises ServiceUnavailable while set
        self.renewals_asked: list[list[UUID]] = []  # the ids of each renew_leases call
        self.fail_finalized_among = 0  # the next N finalized_among calls raise

    def insert(self, job: Job) -> Job:
        """Arrange a row directly (test set-up)."""
        self.rows[job.id] = job
        return job

    def _unfinished(self) -> int:
        return sum(1 for job in self.rows.values() if not job.is_finalized)

    async def _enter(self, method: str) -> None:
        self.calls[method] += 1
        await round_trip()

    async def add_if_capacity(self, job: Job, *, max_unfinished: int) -> bool:
        await self._enter("add_if_capacity")
        if self._unfinished() >= max_unfinished:
            return False
        if job.id in self.rows:
            raise ValueError(f"duplicate job id {job.id}")
        self.rows[job.id] = job
        return True

    async def get(self, job_id: UUID) -> Job | None:
        await self._enter("get")
        return self.rows.get(job_id)

    async def finalized_among(self, job_ids: Sequence[UUID]) -> list[UUID]:
        await self._enter("finalized_among")
        self.finalized_among_asked.append(list(job_ids))
        if self.fail_finalized_among:
            self.fail_finalized_among -= 1
            raise ServiceUnavailable("database unavailable")
        return [i for i in job_ids if i in self.rows and self.rows[i].is_finalized]

    async def claim_next(
        self, *, worker_id: str, now: datetime, lease_until: datetime
    ) -> Job | None:
        await self._enter("claim_next")
        claimable = [
            job
            for job in self.rows.values()
            if not job.is_finalized
            and job.expires_at > now
            and (
                job.status is JobStatus.PENDING
                or job.lease_expires_at is None
                or job.lease_expires_at < now
            )
        ]
        if not claimable:
            return None
        oldest = min(claimable, key=lambda job: job.created_at)  # ties: insertion order
        claimed = oldest.start_processing(worker_id=worker_id, lease_until=lease_until, now=now)
        self.rows[claimed.id] = claimed
        return claimed

    async def renew_leases(
        self, job_ids: Sequence[UUID], *, worker_id: str, lease_until: datetime
    ) -> set[UUID]:
        await self._enter("renew_leases")
        self.renewals_asked.append(list(job_ids))
        if self.fail_renewals:
            raise ServiceUnavailable("database unavailable")
        kept: set[UUID] = set()
        for job_id in job_ids:
            job = self.rows.get(job_id)
            if job is None or job.is_finalized or job.lease_owner != worker_id:
                continue
            self.rows[job_id] = replace(job, lease_expires_at=lease_until)
            kept.add(job_id)
        return kept

    async def release(self, job_id: UUID, *, worker_id: str) -> None:
        await self._enter("release")
        job = self.rows.get(job_id)
        if job is None or job.is_finalized or job.lease_owner != worker_id:
            return
        self.rows[job_id] = replace(
            job, status=JobStatus.PENDING, lease_owner=None, lease_expires_at=None
        )

    async def set_provider_reference(self, job_id: UUID, reference: str) -> None:
        await self._enter("set_provider_reference")
        job = self.rows.get(job_id)
        if job is not None:
            self.rows[job_id] = replace(job, provider_job_reference=reference)

    async def finalize_success(self, job_id: UUID, result: JobResult, *, now: datetime) -> bool:
        await self._enter("finalize_success")
        job = self.rows.get(job_id)
        if job is None or job.is_finalized:
            return False
        self.rows[job_id] = job.finalize_success(result, now=now)
        return True

    async def finalize_failure(
        self, job_id: UUID, reason: FailureReason, *, now: datetime, detail: str | None = None
    ) -> bool:
        await self._enter("finalize_failure")
        job = self.rows.get(job_id)
        if job is None or job.is_finalized:
            return False
        self.rows[job_id] = job.finalize_failure(reason, now=now, detail=detail)
        return True

    async def finalize_expired(self, *, now: datetime, limit: int) -> list[Job]:
        await self._enter("finalize_expired")
        overdue = sorted(
            (j for j in self.rows.values() if not j.is_finalized and j.expires_at <= now),
            key=lambda j: j.expires_at,
        )[:limit]
        finalized = [job.finalize_failure(FailureReason.TIMEOUT, now=now) for job in overdue]
        for job in finalized:
            self.rows[job.id] = job
        return finalized

    async def payloads_to_purge(self, *, now: datetime, limit: int) -> list[Job]:
        await self._enter("payloads_to_purge")
        return [
            j
            for j in self.rows.values()
            if j.payload is not None and (j.is_finalized or j.payload.expires_at <= now)
        ][:limit]

    async def clear_payload(self, job_id: UUID) -> bool:
        await self._enter("clear_payload")
        job = self.rows.get(job_id)
        if job is None or job.payload is None:
            return False
        self.rows[job_id] = replace(job, payload=None)
        return True

    async def results_to_purge(self, *, now: datetime, limit: int) -> list[Job]:
        await self._enter("results_to_purge")
        return [
            j
            for j in self.rows.values()
            if j.result is not None
            and j.result.file_path is not None
            and j.result.expires_at <= now
        ][:limit]

    async def clear_result_file(self, job_id: UUID) -> bool:
        await self._enter("clear_result_file")
        job = self.rows.get(job_id)
        if job is None or job.result is None or job.result.file_path is None:
            return False
        self.rows[job_id] = replace(job, result=replace(job.result, file_path=None))
        return True

    async def referenced_paths(self, paths: Sequence[str]) -> set[str]:
        await self._enter("referenced_paths")
        held: set[str] = set()
        for job in self.rows.values():
            if job.payload is not None:
                held.add(job.payload.path)
            if job.result is not None and job.result.file_path is not None:
                held.add(job.result.file_path)
        return held.intersection(paths)

    async def count_unfinished(self) -> int:
        await self._enter("count_unfinished")
        return self._unfinished()


def new_job(
    slot: Slot,
    stored: StoredFile,
    *,
    now: datetime,
    app: AppSettings | None = None,
    bounds: TimeoutBounds = PRODUCT_BOUNDS,
    payload_expires_at: datetime | None = None,
) -> Job:
    """A queued job as SubmitIngest creates it, with the domain's deadline functions."""
    app = app or AppSettings()
    expires_at = calculate_job_expires_at(now, app.sync_timeout_sec, app.public_link_ttl(bounds))
    payload = Payload(
        path=stored.path,
        mime=stored.mime,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
        expires_at=payload_expires_at
        or calculate_artifact_expiry(now, expires_at, app.ingest_ttl(bounds)),
    )
    return Job(
        id=uuid.uuid4(),
        slot_id=slot.id,
        provider=slot.provider,
        operation=slot.operation,
        settings=dict(slot.settings),
        expires_at=expires_at,
        created_at=now,
        updated_at=now,
        payload=payload,
        result_retention_sec=app.result_retention_sec,
    )
