"""In-memory fakes of the application ports (cosmicpython style) and a virtual clock.

Each fake is a small working implementation that keeps the promise its port's docstring
makes (conditional finalization, claimability rules, capacity, size caps, MIME sniffing), so
tests can assert on resulting state instead of on calls. Every repository method suspends
once, like a database round trip, so concurrent use cases really interleave.

Time is virtual: ``FakeClock.sleep`` and ``wait_for_event`` park on timers that only fire when
a test calls ``advance``; nothing here waits on real time.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import hmac
import itertools
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar
from uuid import UUID

from application.lease_keeper import LeasePolicy
from application.ports import (
    FileEntry,
    IngestSettings,
    ProviderAdapter,
    ProviderInput,
    ProviderOutput,
)
from application.purge_artifacts import PurgePolicy
from application.submit_ingest import IngestCommand, IngestLimits, SubmitIngest
from application.waiting import CompletionWaiter
from domain.deadlines import (
    PRODUCT_BOUNDS,
    TimeoutBounds,
    calculate_artifact_expiry,
    calculate_job_expires_at,
)
from domain.errors import (
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    ProviderFailed,
    ServiceUnavailable,
    StorageUnavailable,
    UnsupportedMediaType,
)
from domain.job import FailureReason, Job, JobResult, JobStatus, Payload
from domain.media import MediaArea, MediaObject, StoredFile, TemplateMedia
from domain.settings import AppSettings
from domain.slot import Slot

START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"booth-photo" * 8
PNG = b"\x89PNG\r\n\x1a\n" + b"png-image" * 8
GIF = b"GIF89a" + b"gif-image" * 8
RESULT_PNG = b"\x89PNG\r\n\x1a\n" + b"provider-result" * 8

_T = TypeVar("_T")


async def settle(max_rounds: int = 1000) -> None:
    """Yield to the event loop until no other task is ready to run (ordering, not time).

    Reads the loop's ready queue (CPython's ``_ready``) to stop as soon as everything that
    can run has run; without it, a fixed number of rounds.
    """
    loop = asyncio.get_running_loop()
    ready = getattr(loop, "_ready", None)
    if ready is None:
        for _ in range(100):
            await asyncio.sleep(0)
        return
    for _ in range(max_rounds):
        await asyncio.sleep(0)
        if not ready:
            return


async def finished(task: asyncio.Task[_T]) -> _T:
    """The task's result once everything runnable has run; fails fast instead of hanging
    when the task still waits (typically on virtual time nobody advanced)."""
    await settle()
    assert task.done(), "the task is still waiting"
    return task.result()


async def _round_trip() -> None:
    """A real adapter suspends on every database round trip; so do the fakes."""
    await asyncio.sleep(0)


# --- time -------------------------------------------------------------------------------


class FakeClock:
    """``Clock`` on virtual time: sleepers and timed waits wake only when a test advances it."""

    def __init__(self, start: datetime = START) -> None:
        self._now = start
        self._timers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        timer = self._timer(seconds)
        try:
            await timer
        finally:
            timer.cancel()  # no-op once fired; a cancelled sleeper's timer is skipped

    async def wait_for_event(self, event: asyncio.Event, seconds: float) -> bool:
        if event.is_set():
            return True
        if seconds <= 0:
            await asyncio.sleep(0)
            return event.is_set()
        timer = self._timer(seconds)
        waiter = asyncio.ensure_future(event.wait())
        try:
            await asyncio.wait((timer, waiter), return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            waiter.cancel()
        return event.is_set()

    @property
    def pending_timers(self) -> int:
        """How many sleeps/timed waits are parked on virtual time right now."""
        return sum(1 for *_, timer in self._timers if not timer.done())

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, firing due timers in order; after each, every
        woken task runs (and may park on a new timer) before time moves on."""
        await self.advance_to(self._now + timedelta(seconds=seconds))

    async def advance_to(self, target: datetime) -> None:
        await settle()
        while self._timers and self._timers[0][0] <= target:
            when, _, timer = heapq.heappop(self._timers)
            if timer.done():
                continue
            self._now = max(self._now, when)
            timer.set_result(None)
            await settle()
        self._now = max(self._now, target)
        await settle()

    def _timer(self, seconds: float) -> asyncio.Future[None]:
        timer: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        when = self._now + timedelta(seconds=seconds)
        heapq.heappush(self._timers, (when, next(self._order), timer))
        return timer


# --- signals and hashing ----------------------------------------------------------------


class CountingSignal:
    """``Signal`` that counts notifications, sets an event tests can await, and optionally
    forwards (e.g. ``job_finalized`` → ``poller.poke``)."""

    def __init__(self, forward: Callable[[], None] | None = None) -> None:
        self.count = 0
        self.event = asyncio.Event()
        self._forward = forward

    def notify(self) -> None:
        self.count += 1
        self.event.set()
        if self._forward is not None:
            self._forward()


class PlainPasswordHasher:
    """``PasswordHasher`` with a visible salt and no KDF; suspends like a real slow hash."""

    def __init__(self) -> None:
        self._salts = itertools.count(1)

    def encode(self, password: str) -> str:
        return f"plain${next(self._salts)}${password}"

    async def hash(self, password: str) -> str:
        await asyncio.sleep(0)
        return self.encode(password)

    async def verify(self, password: str, encoded: str) -> bool:
        await asyncio.sleep(0)
        scheme, _, rest = encoded.partition("$")
        _, _, stored = rest.partition("$")
        return scheme == "plain" and hmac.compare_digest(stored.encode(), password.encode())


# --- repositories -----------------------------------------------------------------------


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
        await _round_trip()

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


class InMemorySlotRepository:
    """``SlotRepository`` with the optimistic lock on ``updated_at``."""

    def __init__(self, slots: Iterable[Slot] = ()) -> None:
        self.rows: dict[str, Slot] = {slot.id: slot for slot in slots}

    async def get(self, slot_id: str) -> Slot | None:
        await _round_trip()
        return self.rows.get(slot_id)

    async def list(self) -> list[Slot]:
        await _round_trip()
        return [self.rows[key] for key in sorted(self.rows)]

    async def save(self, slot: Slot, *, expected_updated_at: datetime) -> bool:
        await _round_trip()
        current = self.rows.get(slot.id)
        if current is None or current.updated_at != expected_updated_at:
            return False
        self.rows[slot.id] = slot
        return True


class InMemorySettingsRepository:
    """``SettingsRepository``: one ``AppSettings`` value and the password hash."""

    def __init__(
        self, settings: AppSettings | None = None, *, password_hash: str | None = None
    ) -> None:
        self.settings = settings or AppSettings()
        self.password_hash = password_hash
        self.settings_updated_by: str | None = None
        self.password_updated_by: str | None = None
        self.saves = 0

    async def load(self) -> AppSettings:
        await _round_trip()
        return self.settings

    async def load_for_ingest(self) -> IngestSettings:
        await _round_trip()
        return IngestSettings(app=self.settings, password_hash=self.password_hash)

    async def save(self, settings: AppSettings, *, updated_by: str) -> None:
        await _round_trip()
        self.settings = settings
        self.settings_updated_by = updated_by
        self.saves += 1

    async def get_password_hash(self) -> str | None:
        await _round_trip()
        return self.password_hash

    async def set_password_hash(
        self, encoded: str, *, updated_by: str, only_if_unset: bool
    ) -> bool:
        await _round_trip()
        if only_if_unset and self.password_hash is not None:
            return False
        self.password_hash = encoded
        self.password_updated_by = updated_by
        return True


class InMemoryMediaObjectRepository:
    """``MediaObjectRepository``; reads the job rows to know which jobs are finalized."""

    def __init__(self, jobs: InMemoryJobRepository) -> None:
        self.rows: dict[UUID, MediaObject] = {}
        self._jobs = jobs

    async def add(self, media: MediaObject) -> None:
        await _round_trip()
        self.rows[media.id] = media

    async def get(self, media_id: UUID) -> MediaObject | None:
        await _round_trip()
        return self.rows.get(media_id)

    async def for_job(self, job_id: UUID) -> list[MediaObject]:
        await _round_trip()
        return [m for m in self.rows.values() if m.job_id == job_id]

    async def to_purge(self, *, now: datetime, limit: int) -> list[MediaObject]:
        await _round_trip()

        def job_finalized(media: MediaObject) -> bool:
            job = self._jobs.rows.get(media.job_id)
            return job is not None and job.is_finalized

        return [
            m
            for m in self.rows.values()
            if m.path is not None and (m.expires_at <= now or job_finalized(m))
        ][:limit]

    async def mark_purged(self, media_id: UUID) -> bool:
        await _round_trip()
        media = self.rows.get(media_id)
        if media is None or media.path is None:
            return False
        self.rows[media_id] = replace(media, path=None)
        return True

    async def referenced_paths(self, paths: Sequence[str]) -> set[str]:
        await _round_trip()
        return {m.path for m in self.rows.values() if m.path is not None}.intersection(paths)


class InMemoryTemplateRepository:
    def __init__(self) -> None:
        self.rows: dict[UUID, TemplateMedia] = {}

    async def add(self, template: TemplateMedia) -> None:
        await _round_trip()
        self.rows[template.id] = template

    async def get(self, template_id: UUID) -> TemplateMedia | None:
        await _round_trip()
        return self.rows.get(template_id)

    async def list(self) -> list[TemplateMedia]:
        await _round_trip()
        return list(self.rows.values())

    async def remove(self, template_id: UUID) -> bool:
        await _round_trip()
        return self.rows.pop(template_id, None) is not None


# --- storage ----------------------------------------------------------------------------

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG", "image/png"),
    (b"GIF8", "image/gif"),
)
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif"}


def sniff_mime(data: bytes) -> str | None:
    """The image type from magic bytes; GIF is recognised so a test can send an image type
    that no provider accepts."""
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    return None


@dataclass(frozen=True, slots=True)
class Blob:
    data: bytes
    mime: str
    modified_at: datetime


class InMemoryMediaStorage:
    """``MediaStorage`` in a dict of ``<area>/<name>`` → bytes; files are stamped with the
    clock's time so orphan grace periods can be tested."""

    def __init__(self, clock: FakeClock) -> None:
        self.files: dict[str, Blob] = {}
        self._clock = clock

    def paths(self, area: MediaArea) -> set[str]:
        return {p for p in self.files if p.startswith(f"{area.value}/")}

    def plant(
        self, area: MediaArea, data: bytes, *, mime: str, modified_at: datetime | None = None
    ) -> str:
        """Put a file directly (test set-up), e.g. an orphan left by a crash."""
        return self.store(area, data, mime, modified_at).path

    def touch(self, path: str, modified_at: datetime) -> None:
        """Backdate a file (test set-up)."""
        self.files[path] = replace(self.files[path], modified_at=modified_at)

    def store(
        self, area: MediaArea, data: bytes, mime: str, modified_at: datetime | None = None
    ) -> StoredFile:
        path = f"{area.value}/{uuid.uuid4().hex}{_EXTENSIONS.get(mime, '.bin')}"
        self.files[path] = Blob(data, mime, modified_at or self._clock.now())
        return StoredFile(
            path=path, mime=mime, size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest()
        )

    async def save_stream(
        self, area: MediaArea, chunks: AsyncIterator[bytes], *, max_bytes: int
    ) -> StoredFile:
        received = bytearray()
        async for chunk in chunks:
            received += chunk
            if len(received) > max_bytes:
                raise PayloadTooLarge(
                    f"the file is larger than {max_bytes} bytes", {"max_bytes": max_bytes}
                )
        if not received:
            raise InvalidRequest("the uploaded file is empty")
        mime = sniff_mime(bytes(received))
        if mime is None:
            raise UnsupportedMediaType("the file is not a recognised image")
        return self.store(area, bytes(received), mime)

    async def save_bytes(self, area: MediaArea, data: bytes, *, mime: str) -> StoredFile:
        await asyncio.sleep(0)
        return self.store(area, data, mime)

    async def read(self, path: str) -> bytes:
        await asyncio.sleep(0)
        blob = self.files.get(path)
        if blob is None:
            raise NotFound(f"file {path!r} does not exist")
        return blob.data

    def absolute_path(self, path: str) -> str:
        return f"/media/{path}"

    async def delete(self, path: str) -> bool:
        await asyncio.sleep(0)
        return self.files.pop(path, None) is not None

    async def list_files(self, area: MediaArea) -> list[FileEntry]:
        await asyncio.sleep(0)
        return [
            FileEntry(path=path, modified_at=self.files[path].modified_at)
            for path in sorted(self.paths(area))
        ]


class FullMediaStorage(InMemoryMediaStorage):
    """A media root whose ``full`` areas refuse every write as a full disk does (the real
    adapter turns ``ENOSPC`` into ``StorageUnavailable``); reads and deletes still work.
    ``read_only=True`` refuses as a read-only mount does (``EROFS``)."""

    def __init__(self, clock: FakeClock, *, full: Iterable[MediaArea] = ()) -> None:
        super().__init__(clock)
        self.full = set(full)
        self.read_only = False
        self.refused: list[MediaArea] = []

    def _refuse(self, area: MediaArea) -> None:
        self.refused.append(area)
        if self.read_only:
            raise StorageUnavailable("storage not writable", {"storage": "not_writable"})
        raise StorageUnavailable("storage full", {"storage": "full"})

    async def save_stream(
        self, area: MediaArea, chunks: AsyncIterator[bytes], *, max_bytes: int
    ) -> StoredFile:
        if area in self.full:
            async for _ in chunks:  # the upload is read until the first write fails
                break
            self._refuse(area)
        return await super().save_stream(area, chunks, max_bytes=max_bytes)

    async def save_bytes(self, area: MediaArea, data: bytes, *, mime: str) -> StoredFile:
        if area in self.full:
            await asyncio.sleep(0)
            self._refuse(area)
        return await super().save_bytes(area, data, mime=mime)


async def chunks_of(data: bytes, size: int = 1024) -> AsyncIterator[bytes]:
    """An upload as the HTTP layer streams it."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def repeated(chunk: bytes, times: int) -> AsyncIterator[bytes]:
    """A large upload without holding it whole."""
    for _ in range(times):
        yield chunk


# --- providers --------------------------------------------------------------------------


class FakeProvider:
    """``ProviderAdapter`` that records every call. ``held=True`` parks each call on its own
    gate until ``release``; ``error`` makes calls fail; ``before_answer`` runs just before
    the answer (e.g. to let the job be finalized elsewhere meanwhile)."""

    def __init__(
        self,
        *,
        output: ProviderOutput | None = None,
        error: Exception | None = None,
        held: bool = False,
        before_answer: Callable[[ProviderInput], Awaitable[None]] | None = None,
    ) -> None:
        self.output = output or ProviderOutput(image=RESULT_PNG, mime="image/png")
        self.error = error
        self.held = held
        self.before_answer = before_answer
        self.calls: list[ProviderInput] = []
        self.gates: list[asyncio.Event] = []
        self.events: list[tuple[str, UUID]] = []
        self.cancelled: list[UUID] = []
        self.active = 0

    def release(self, index: int = 0) -> None:
        self.gates[index].set()

    def release_all(self) -> None:
        for gate in self.gates:
            gate.set()

    async def transform(self, request: ProviderInput) -> ProviderOutput:
        self.calls.append(request)
        self.events.append(("start", request.job_id))
        self.active += 1
        try:
            if self.held:
                gate = asyncio.Event()
                self.gates.append(gate)
                await gate.wait()
            else:
                await asyncio.sleep(0)
            if self.before_answer is not None:
                await self.before_answer(request)
            if self.error is not None:
                raise self.error
            return self.output
        except asyncio.CancelledError:
            self.cancelled.append(request.job_id)
            raise
        finally:
            self.active -= 1
            self.events.append(("end", request.job_id))


class FakeProviderRegistry:
    def __init__(self, providers: Mapping[str, ProviderAdapter]) -> None:
        self.providers = dict(providers)

    def get(self, provider: str) -> ProviderAdapter:
        try:
            return self.providers[provider]
        except KeyError:
            raise ProviderFailed(f"provider {provider!r} is not configured") from None


# --- builders ---------------------------------------------------------------------------


def make_slot(
    slot_id: str,
    *,
    provider: str = "local",
    operation: str = "grayscale",
    settings: Mapping[str, Any] | None = None,
    is_active: bool = True,
    name: str | None = None,
    at: datetime = START - timedelta(days=1),
) -> Slot:
    slot = Slot(
        id=slot_id,
        name=name or f"Slot {slot_id[-3:]}",
        provider=provider,
        operation=operation,
        settings=dict(settings or {}),
        is_active=is_active,
        created_at=at,
        updated_at=at,
    )
    slot.validate()
    return slot


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


# --- scenario constants and types shared by the tests -----------------------------------

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


# --- metrics ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProviderCallRecord:
    provider: str
    outcome: str
    seconds: float | None
    slot_id: str | None


class RecordingMetrics:
    """``ProviderCallObserver`` that keeps what it was told."""

    def __init__(self) -> None:
        self.provider_calls: list[ProviderCallRecord] = []

    def provider_call(
        self,
        provider: str,
        outcome: str,
        seconds: float | None = None,
        *,
        slot_id: str | None = None,
    ) -> None:
        self.provider_calls.append(ProviderCallRecord(provider, outcome, seconds, slot_id))
