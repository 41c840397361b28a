"""ListJobs and GetJob: the operator's view of jobs (SPEC §10 "Jobs")."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from application.ports import Clock, JobRepository
from application.query_ports import JobCursor, JobFilter, JobQueries, JobState
from domain.deadlines import DeadlineInfo, calculate_deadline_info
from domain.errors import InvalidRequest, NotFound
from domain.job import Job

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def encode_cursor(job: Job) -> str:
    """Opaque to clients: the position after ``job`` in the newest-first list."""
    raw = f"{job.created_at.isoformat()}|{job.id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> JobCursor:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, job_id = raw.split("|")
        position = JobCursor(created_at=datetime.fromisoformat(created_at), id=UUID(job_id))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequest(
            "'before' is not a cursor this service gave out", {"field": "before"}
        ) from None
    if position.created_at.utcoffset() is None:
        raise InvalidRequest("'before' is not a cursor this service gave out", {"field": "before"})
    return position


@dataclass(frozen=True, slots=True)
class JobListQuery:
    slot_id: str | None = None
    state: str | None = None
    created_from: datetime | None = None
    created_until: datetime | None = None
    limit: int = DEFAULT_PAGE_SIZE
    before: str | None = None  # the ``next`` of the previous page


@dataclass(frozen=True, slots=True)
class JobPage:
    items: list[Job]
    next: str | None  # None on the last page


class ListJobs:
    """Newest first, keyset-paged: a page never repeats or skips a job while new ones arrive."""

    def __init__(self, *, queries: JobQueries) -> None:
        self._queries = queries

    async def __call__(self, query: JobListQuery) -> JobPage:
        if not 1 <= query.limit <= MAX_PAGE_SIZE:
            raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE_SIZE}", {"field": "limit"})
        where = JobFilter(
            slot_id=query.slot_id,
            state=_state(query.state),
            created_from=query.created_from,
            created_until=query.created_until,
            before=None if query.before is None else decode_cursor(query.before),
        )
        found = await self._queries.newest(where, limit=query.limit + 1)
        items = found[: query.limit]
        more = len(found) > query.limit
        return JobPage(items=items, next=encode_cursor(items[-1]) if more else None)


def _state(value: str | None) -> JobState | None:
    if value is None:
        return None
    try:
        return JobState(value)
    except ValueError:
        known = ", ".join(s.value for s in JobState)
        raise InvalidRequest(
            f"unknown state {value!r} (known: {known})", {"field": "state"}
        ) from None


@dataclass(frozen=True, slots=True)
class JobDetail:
    job: Job
    deadline: DeadlineInfo


class GetJob:
    """One job with where it stands against its deadline (SPEC §3 ``calculate_deadline_info``)."""

    def __init__(self, *, jobs: JobRepository, clock: Clock) -> None:
        self._jobs = jobs
        self._clock = clock

    async def __call__(self, job_id: UUID) -> JobDetail:
        job = await self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"job {job_id} does not exist", {"job_id": str(job_id)})
        return JobDetail(
            job=job, deadline=calculate_deadline_info(job.expires_at, now=self._clock.now())
        )
