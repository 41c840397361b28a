"""Read-side ports of the operator's views (jobs list, slot activity, stats, settings history).

Reads only: no rule lives here, and nothing is written. Test runs (``job.is_test``) are left
out of every count and stat; the job list shows them, marked.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.job import Job, JobStatus


class JobState(enum.StrEnum):
    """What an operator calls a job's state: its working status, or how it ended."""

    PENDING = "pending"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    TIMEOUT = "timeout"
    PROVIDER_ERROR = "provider_error"
    CANCELLED = "cancelled"
    STORAGE_ERROR = "storage_error"


def job_state(job: Job) -> JobState:
    if not job.is_finalized:
        return JobState.PENDING if job.status is JobStatus.PENDING else JobState.PROCESSING
    if job.failure_reason is None:
        return JobState.SUCCEEDED
    return JobState(job.failure_reason.value)


@dataclass(frozen=True, slots=True)
class JobCursor:
    """Keyset position in the newest-first job list: strictly older than this job."""

    created_at: datetime
    id: UUID


@dataclass(frozen=True, slots=True)
class JobFilter:
    slot_id: str | None = None
    state: JobState | None = None
    created_from: datetime | None = None  # inclusive
    created_until: datetime | None = None  # exclusive
    before: JobCursor | None = None


class JobQueries(Protocol):
    async def newest(self, where: JobFilter, *, limit: int) -> list[Job]:
        """Up to ``limit`` jobs matching ``where``, newest first (created_at, then id,
        descending). Inline results are never included."""
        ...


@dataclass(frozen=True, slots=True)
class OutcomeCounts:
    """How the jobs of a period ended (unfinished ones are in no column)."""

    succeeded: int = 0
    timeout: int = 0
    provider_error: int = 0
    cancelled: int = 0
    storage_error: int = 0


@dataclass(frozen=True, slots=True)
class RecentResult:
    job_id: UUID
    finished_at: datetime
    expires_at: datetime


class SlotActivity(Protocol):
    async def outcomes_since(self, since: datetime) -> dict[str, OutcomeCounts]:
        """Outcomes of the jobs created at or after ``since``, by slot id (test runs left
        out; slots without jobs are absent)."""
        ...

    async def recent_results(
        self, slot_id: str, *, now: datetime, limit: int
    ) -> list[RecentResult]:
        """The slot's newest results that can still be downloaded, newest first."""
        ...


@dataclass(frozen=True, slots=True)
class Tally:
    """Counts and processing time (created → finalized, in ms, of succeeded jobs) of a set of
    jobs. ``ingests`` counts every job created, finished or not."""

    ingests: int = 0
    outcomes: OutcomeCounts = field(default_factory=OutcomeCounts)
    p50_ms: float | None = None
    p95_ms: float | None = None
    no_image_answers: int = 0  # provider answers without an image (Gemini NO_IMAGE), all jobs
    no_image_jobs: int = 0  # jobs that had at least one


@dataclass(frozen=True, slots=True)
class WindowTallies:
    """One window of jobs (by ``created_at``), tallied four ways in one pass. Buckets are keyed
    by their start, aligned to multiples of the bucket length since the Unix epoch."""

    total: Tally
    by_slot: Mapping[str, Tally]
    by_provider: Mapping[str, Tally]
    by_bucket: Mapping[datetime, Tally]


class StatsQueries(Protocol):
    async def tally(
        self, *, since: datetime, until: datetime, bucket_seconds: int
    ) -> WindowTallies:
        """Jobs created in ``[since, until)``, test runs left out; percentiles are exact
        (``percentile_cont``) over succeeded jobs."""
        ...


@dataclass(frozen=True, slots=True)
class SettingChange:
    """Who last changed one ``app_settings`` key, and when (never its value)."""

    key: str
    updated_at: datetime
    updated_by: str


class SettingsHistory(Protocol):
    async def last_changes(self, keys: Sequence[str]) -> list[SettingChange]:
        """The last change of each of ``keys`` that is stored, in the order given."""
        ...
