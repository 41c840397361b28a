"""Ports: what the use cases need from the outside world, named by capability.

Every method is async (except the clock's reads) and takes/returns domain types. Each
docstring states the transactional promise an adapter must keep.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol
from uuid import UUID

from domain.job import FailureReason, Job, JobResult
from domain.media import MediaArea, MediaObject, StoredFile, TemplateMedia
from domain.settings import AppSettings
from domain.slot import Slot


class Clock(Protocol):
    """Wall time and waiting, injectable so tests control both."""

    def now(self) -> datetime:
        """Current timezone-aware UTC time."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Suspend for ``seconds`` (cancellable)."""
        ...

    async def wait_for_event(self, event: asyncio.Event, seconds: float) -> bool:
        """Wait until ``event`` is set or ``seconds`` pass; True if it was set."""
        ...


class JobRepository(Protocol):
    """The ``job`` table: the record of every ingest and the work queue."""

    async def add_if_capacity(self, job: Job, *, max_unfinished: int) -> bool:
        """Insert ``job`` only while fewer than ``max_unfinished`` jobs are unfinalized.

        Returns False (and inserts nothing) when the queue is full.
        """
        ...

    async def get(self, job_id: UUID) -> Job | None:
        """Current row, or None."""
        ...

    async def finalized_among(self, job_ids: Sequence[UUID]) -> list[UUID]:
        """Which of ``job_ids`` are finalized: one query however many ids are asked about."""
        ...

    async def claim_next(
        self, *, worker_id: str, now: datetime, lease_until: datetime
    ) -> Job | None:
        """Claim the oldest claimable job (``FOR UPDATE SKIP LOCKED``) and lease it.

        Claimable: not finalized, ``expires_at > now``, and pending or processing with a lease
        that lapsed before ``now``. The returned job is ``processing`` under ``worker_id``.
        """
        ...

    async def renew_leases(
        self, job_ids: Sequence[UUID], *, worker_id: str, lease_until: datetime
    ) -> set[UUID]:
        """Extend, in one statement, the lease of each of ``job_ids`` that ``worker_id`` still
        holds; return those. An id left out was finalized elsewhere, or re-claimed by another
        worker after its lease lapsed."""
        ...

    async def release(self, job_id: UUID, *, worker_id: str) -> None:
        """Give an unfinished job back to the queue (graceful shutdown)."""
        ...

    async def set_provider_reference(self, job_id: UUID, reference: str) -> None:
        """Store the provider's own job id as soon as it is known."""
        ...

    async def finalize_success(self, job_id: UUID, result: JobResult, *, now: datetime) -> bool:
        """One conditional UPDATE ``… WHERE NOT is_finalized``; True only if this call won.
        The result file is already written; the row records where (no copy of the image)."""
        ...

    async def finalize_failure(
        self, job_id: UUID, reason: FailureReason, *, now: datetime, detail: str | None = None
    ) -> bool:
        """One conditional UPDATE ``… WHERE NOT is_finalized``; True only if this call won.
        ``detail`` (short, never a secret) is kept for the operator's job view."""
        ...

    async def finalize_expired(self, *, now: datetime, limit: int) -> list[Job]:
        """Finalize as ``timeout`` each unfinalized job with ``expires_at <= now``; return them."""
        ...

    async def payloads_to_purge(self, *, now: datetime, limit: int) -> list[Job]:
        """Jobs still holding a payload that is past its expiry or whose job is finalized."""
        ...

    async def clear_payload(self, job_id: UUID) -> bool:
        """Forget the payload path (the file is already deleted); True if this call cleared it."""
        ...

    async def results_to_purge(self, *, now: datetime, limit: int) -> list[Job]:
        """Jobs whose result file is still recorded but ``result_expires_at <= now``."""
        ...

    async def clear_result_file(self, job_id: UUID) -> bool:
        """Forget the result path (metadata stays, so downloads answer 410, not 404); True if
        this call cleared it."""
        ...

    async def referenced_paths(self, paths: Sequence[str]) -> set[str]:
        """Which of ``paths`` some job row (payload or result) still references."""
        ...

    async def count_unfinished(self) -> int: ...


class SlotRepository(Protocol):
    async def get(self, slot_id: str) -> Slot | None: ...

    async def list(self) -> list[Slot]: ...

    async def save(self, slot: Slot, *, expected_updated_at: datetime) -> bool:
        """Write ``slot`` only if the row still has ``expected_updated_at`` (optimistic lock)."""
        ...


@dataclass(frozen=True, slots=True)
class IngestSettings:
    """What an ingest needs from ``app_settings``, read in one round trip."""

    app: AppSettings
    password_hash: str | None = field(default=None, repr=False)


class SettingsRepository(Protocol):
    """The ``app_settings`` key/value table."""

    async def load(self) -> AppSettings:
        """Current values (defaults for keys never set)."""
        ...

    async def load_for_ingest(self) -> IngestSettings:
        """Current values and the password hash, in one query."""
        ...

    async def save(self, settings: AppSettings, *, updated_by: str) -> None: ...

    async def get_password_hash(self) -> str | None: ...

    async def set_password_hash(
        self, encoded: str, *, updated_by: str, only_if_unset: bool
    ) -> bool:
        """Store the hash; with ``only_if_unset`` it is a no-op (False) when one exists."""
        ...


class MediaObjectRepository(Protocol):
    """Temporary public links to job inputs."""

    async def add(self, media: MediaObject) -> None: ...

    async def get(self, media_id: UUID) -> MediaObject | None: ...

    async def for_job(self, job_id: UUID) -> list[MediaObject]: ...

    async def to_purge(self, *, now: datetime, limit: int) -> list[MediaObject]:
        """Links past ``expires_at`` or whose job is finalized, whose file is still recorded."""
        ...

    async def mark_purged(self, media_id: UUID) -> bool:
        """Forget the file path (the row stays, so the link answers 410); True if this call
        cleared it."""
        ...

    async def referenced_paths(self, paths: Sequence[str]) -> set[str]: ...


class TemplateRepository(Protocol):
    async def add(self, template: TemplateMedia) -> None: ...

    async def get(self, template_id: UUID) -> TemplateMedia | None: ...

    async def list(self) -> list[TemplateMedia]: ...

    async def remove(self, template_id: UUID) -> bool: ...


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: str
    modified_at: datetime


class MediaStorage(Protocol):
    """Files under the media root. Names are generated here only; writes are atomic."""

    async def save_stream(
        self, area: MediaArea, chunks: AsyncIterator[bytes], *, max_bytes: int
    ) -> StoredFile:
        """Stream to a new file (temp + rename), hashing on the way; the MIME is sniffed from
        the bytes. Raises ``PayloadTooLarge`` past ``max_bytes`` (nothing is left behind)."""
        ...

    async def save_bytes(self, area: MediaArea, data: bytes, *, mime: str) -> StoredFile:
        """Write ``data`` atomically to a new file in ``area``."""
        ...

    async def read(self, path: str) -> bytes:
        """Whole file; raises ``NotFound`` if it is gone."""
        ...

    def absolute_path(self, path: str) -> str:
        """Filesystem path for streaming a file out."""
        ...

    async def delete(self, path: str) -> bool:
        """Remove if present; True if something was removed. Idempotent."""
        ...

    async def list_files(self, area: MediaArea) -> list[FileEntry]: ...


@dataclass(frozen=True, slots=True)
class InputImage:
    """One input of a provider call. Providers that take inline data read ``data``; providers
    that download their inputs (``needs_public_urls``) get ``url``, a temporary public link,
    and ``data`` is left empty so the photo is not read for nothing."""

    mime: str
    data: bytes = b""
    url: str | None = None


async def _ignore_reference(reference: str) -> None:
    return None


def _ignore_no_image() -> None:
    return None


@dataclass(frozen=True, slots=True)
class ProviderInput:
    """What a provider needs to run one job.

    ``templates`` maps the operation's template fields (``style_template_id``, …) to images.
    ``record_reference`` stores the provider's own job id (``provider_job_reference``) as soon
    as an asynchronous provider knows it; ``reference`` is that id when an earlier attempt (a
    worker that died mid-job) already submitted the job, so the provider resumes it instead of
    submitting (and billing) it twice. ``deadline`` bounds every request and poll."""

    job_id: UUID
    operation: str
    settings: Mapping[str, Any]
    photo: InputImage
    templates: Mapping[str, InputImage]
    deadline: datetime
    record_reference: Callable[[str], Awaitable[None]] = _ignore_reference
    reference: str | None = None
    slot_id: str | None = None  # for operators' metrics only (NO_IMAGE rate per slot)
    # Called once per answer without an image (Gemini's NO_IMAGE); the job records the count.
    no_image_seen: Callable[[], None] = _ignore_no_image


@dataclass(frozen=True, slots=True)
class ProviderOutput:
    image: bytes
    mime: str


class ProviderAdapter(Protocol):
    """One AI provider. Raises ``ProviderFailed``; is cancelled at the deadline."""

    async def transform(self, request: ProviderInput) -> ProviderOutput: ...


class ProviderRegistry(Protocol):
    def get(self, provider: str) -> ProviderAdapter:
        """The adapter for ``slot.provider``; raises ``ProviderFailed`` if none is configured."""
        ...


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str:
        """Salted slow hash, encoded with its parameters."""
        ...

    async def verify(self, password: str, encoded: str) -> bool:
        """Constant-time check."""
        ...


class Signal(Protocol):
    """An in-process hint ("a job was added", "a job was finalized") so a local worker or
    poller looks at the database now instead of at its next tick. The database stays the
    source of truth; a no-op implementation is always valid."""

    def notify(self) -> None: ...


ProviderCallOutcome = Literal["ok", "no_image", "error", "timeout", "cancelled"]


class ProviderCallObserver(Protocol):
    """Counts provider calls for operators (metrics). Synchronous and cheap, and it never
    raises: watching a job must not be able to fail it."""

    def provider_call(
        self,
        provider: str,
        outcome: ProviderCallOutcome,
        seconds: float | None = None,
        *,
        slot_id: str | None = None,
    ) -> None:
        """A call to ``provider`` ended with ``outcome`` after ``seconds``; ``seconds`` is None
        for an attempt inside a call that goes on (a ``no_image`` answer that is retried)."""
        ...


class NoImageLog(Protocol):
    async def add(self, job_id: UUID, answers: int) -> None:
        """Add ``answers`` to the job's count of answers without an image (``no_image_count``),
        whatever the job's state: the provider gave them either way."""
        ...


class NoMetrics:
    """Observer that records nothing: the default where no metrics are wired (CLI, tests)."""

    def provider_call(
        self,
        provider: str,
        outcome: ProviderCallOutcome,
        seconds: float | None = None,
        *,
        slot_id: str | None = None,
    ) -> None:
        return None
