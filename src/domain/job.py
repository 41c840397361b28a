"""Job: one ingest, its state machine and the single-final-state rule (SPEC §2)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.errors import JobAlreadyFinalized
from domain.settings import DEFAULT_RESULT_RETENTION_SEC


class JobStatus(enum.StrEnum):
    """Working state before finalization."""

    PENDING = "pending"
    PROCESSING = "processing"


class FailureReason(enum.StrEnum):
    """Why a finalized job has no result; ``None`` on the job means success."""

    TIMEOUT = "timeout"
    PROVIDER_ERROR = "provider_error"
    CANCELLED = "cancelled"
    STORAGE_ERROR = "storage_error"  # the result could not be written (storage full/read-only)


@dataclass(frozen=True, slots=True)
class Payload:
    """The uploaded photo as stored on disk (path relative to the media root)."""

    path: str
    mime: str
    size_bytes: int
    sha256: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class JobResult:
    """The transformed image: file metadata and how long it stays downloadable."""

    file_path: str | None
    mime: str
    size_bytes: int
    checksum: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Job:
    """One ingest. Provider, operation and settings are a snapshot of the slot at creation;
    ``result_retention_sec`` a snapshot of the setting (new jobs use the current value)."""

    id: UUID
    slot_id: str
    provider: str
    operation: str
    settings: Mapping[str, Any]
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
    status: JobStatus = JobStatus.PENDING
    is_finalized: bool = False
    failure_reason: FailureReason | None = None
    finalized_at: datetime | None = None
    payload: Payload | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    provider_job_reference: str | None = None
    result: JobResult | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    attempts: int = 0
    result_retention_sec: float = DEFAULT_RESULT_RETENTION_SEC
    is_test: bool = False  # an operator's test run: kept out of counts and stats
    failure_detail: str | None = None  # what the provider said, short (see failure_detail())

    @property
    def succeeded(self) -> bool:
        return self.is_finalized and self.failure_reason is None

    def start_processing(self, *, worker_id: str, lease_until: datetime, now: datetime) -> Job:
        """``pending → processing`` (or a re-claim of a processing job whose lease lapsed)."""
        self._require_active()
        return replace(
            self,
            status=JobStatus.PROCESSING,
            lease_owner=worker_id,
            lease_expires_at=lease_until,
            attempts=self.attempts + 1,
            updated_at=now,
        )

    def finalize_success(self, result: JobResult, *, now: datetime) -> Job:
        """Record the result (its file is already written); only an active job can succeed."""
        self._require_active()
        return replace(
            self,
            is_finalized=True,
            failure_reason=None,
            finalized_at=now,
            result=result,
            lease_owner=None,
            lease_expires_at=None,
            updated_at=now,
        )

    def finalize_failure(
        self, reason: FailureReason, *, now: datetime, detail: str | None = None
    ) -> Job:
        """Record the one final failure state; a finalized job never changes again."""
        self._require_active()
        return replace(
            self,
            is_finalized=True,
            failure_reason=reason,
            failure_detail=failure_detail(detail),
            finalized_at=now,
            lease_owner=None,
            lease_expires_at=None,
            updated_at=now,
        )

    def _require_active(self) -> None:
        if self.is_finalized:
            raise JobAlreadyFinalized(f"job {self.id} is already finalized")


MAX_FAILURE_DETAIL_CHARS = 300


def failure_detail(message: str | None) -> str | None:
    """The short failure detail an operator sees on a job: one line, capped. It comes from
    messages written for operators (``ProviderFailed``), which never carry a key or image."""
    if message is None:
        return None
    line = " ".join(message.split())
    if len(line) > MAX_FAILURE_DETAIL_CHARS:
        line = line[: MAX_FAILURE_DETAIL_CHARS - 1] + "…"
    return line or None
