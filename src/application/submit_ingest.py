"""SubmitIngest: accept a booth photo, queue its job and wait for the result (SPEC §4)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field

from application import log_context
from application.declared_hash import DeclaredHash, HashCheck
from application.password_guard import FailedPasswordGuard
from application.ports import (
    Clock,
    JobRepository,
    MediaStorage,
    PasswordHasher,
    SettingsRepository,
    Signal,
    SlotRepository,
)
from application.waiting import CompletionWaiter
from domain.deadlines import (
    TimeoutBounds,
    calculate_artifact_expiry,
    calculate_job_expires_at,
    public_link_ttl,
)
from domain.errors import (
    DeadlineExpired,
    InvalidPassword,
    JobCancelled,
    NotFound,
    ProviderFailed,
    RateLimited,
    ServiceUnavailable,
    SlotNotFound,
    StorageUnavailable,
    UnsupportedMediaType,
)
from domain.job import FailureReason, Job, Payload
from domain.media import MediaArea, StoredFile
from domain.providers import provider_spec
from domain.settings import AppSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestCommand:
    slot_id: str
    password: str
    photo: AsyncIterator[bytes]
    client: str
    declared_hash: str | None = None  # the booth's optional checksum (MD5, SHA-1 or SHA-256)
    metadata: Mapping[str, str] = field(default_factory=dict)
    is_test: bool = False  # an operator's test run (see ``run_test``)


@dataclass(frozen=True, slots=True)
class IngestResult:
    job_id: uuid.UUID
    image: bytes
    mime: str


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """Deployment limits: upload cap, back-pressure and the timeout bounds in force."""

    max_upload_bytes: int
    max_unfinished_jobs: int
    retry_after_seconds: int
    bounds: TimeoutBounds
    admission_concurrency: int = 4


class SubmitIngest:
    """Authenticate, store the photo, create the job, then wait on the job row until it is
    finalized or its deadline comes; at the deadline finalize it ``timeout`` unless the worker
    won the race, in which case the worker's result stands."""

    def __init__(
        self,
        *,
        jobs: JobRepository,
        slots: SlotRepository,
        settings: SettingsRepository,
        storage: MediaStorage,
        hasher: PasswordHasher,
        guard: FailedPasswordGuard,
        waiter: CompletionWaiter,
        clock: Clock,
        job_added: Signal,
        limits: IngestLimits,
        on_hash_mismatch: Callable[[HashCheck], None] | None = None,
    ) -> None:
        self._jobs = jobs
        self._slots = slots
        self._settings = settings
        self._storage = storage
        self._hasher = hasher
        self._guard = guard
        self._waiter = waiter
        self._clock = clock
        self._job_added = job_added
        self._limits = limits
        self._admission = asyncio.Semaphore(limits.admission_concurrency)
        # Declared hashes that did not match, by verdict; ``on_hash_mismatch`` is the hook
        # for a metrics counter (may also be set after construction).
        self.hash_mismatches: Counter[HashCheck] = Counter()
        self.on_hash_mismatch = on_hash_mismatch

    async def __call__(self, cmd: IngestCommand) -> IngestResult:
        log_context.bind(slot_id=cmd.slot_id)  # for the rest of this request's lines
        async with self._admission:
            job = await self._admit(cmd)
        log_context.bind(job_id=job.id)
        self._job_added.notify()
        return await self._await_result(job)

    async def run_test(
        self,
        cmd: IngestCommand,
        *,
        provider: str,
        operation: str,
        settings: Mapping[str, object],
    ) -> IngestResult:
        """An operator's test run: the booth's pipeline (job, worker, provider, deadline) on
        a slot snapshot the caller validated — the slot may be inactive and the settings
        unsaved. No ingest password: the caller is an authenticated administrator."""
        async with self._admission:
            app = await self._settings.load()
            job = await self._create_job(cmd, provider, operation, settings, app)
        self._job_added.notify()
        return await self._await_result(job)

    async def _await_result(self, job: Job) -> IngestResult:
        finished = await self._waiter.wait(job.id, job.expires_at)
        if not finished and await self._jobs.finalize_failure(
            job.id, FailureReason.TIMEOUT, now=self._clock.now()
        ):
            raise DeadlineExpired(
                "the provider did not answer in time; send the photo again",
                {"job_id": str(job.id)},
            )
        return await self._outcome(job.id)

    async def _admit(self, cmd: IngestCommand) -> Job:
        """Check, store and queue the photo. A few at a time, first come first served: when a
        burst of photos arrives together, the first ones get queued (and answered) first
        instead of all of them advancing in lockstep and all finishing late."""
        current = await self._settings.load_for_ingest()
        await self._authenticate(cmd, current.password_hash)
        slot = await self._slots.get(cmd.slot_id)
        if slot is None or not slot.is_active:
            raise SlotNotFound(f"slot {cmd.slot_id!r} does not exist or is not active")
        return await self._create_job(
            cmd, slot.provider, slot.operation, slot.settings, current.app
        )

    async def _authenticate(self, cmd: IngestCommand, encoded: str | None) -> None:
        self._guard.check(cmd.client)
        if encoded is None or not await self._hasher.verify(cmd.password, encoded):
            self._guard.record_failure(cmd.client)
            raise InvalidPassword("wrong ingest password")
        self._guard.record_success(cmd.client)

    async def _create_job(
        self,
        cmd: IngestCommand,
        provider: str,
        operation: str,
        settings: Mapping[str, object],
        app: AppSettings,
    ) -> Job:
        spec = provider_spec(provider)
        max_bytes = min(spec.max_bytes, self._limits.max_upload_bytes)
        photo, hash_watch = cmd.photo, None
        if cmd.declared_hash:
            photo, hash_watch = DeclaredHash.parse(cmd.declared_hash).watch(cmd.photo)
        stored = await self._storage.save_stream(MediaArea.PAYLOAD, photo, max_bytes=max_bytes)
        try:
            if stored.mime not in spec.accepted_mimes:
                raise UnsupportedMediaType(
                    f"{stored.mime} is not accepted by provider {provider!r}",
                    {"accepted": sorted(spec.accepted_mimes)},
                )
            if hash_watch is not None:
                self._check_declared_hash(cmd.slot_id, hash_watch.verdict(stored.sha256))
            job = self._new_job(cmd, provider, operation, settings, stored, app)
            added = await self._jobs.add_if_capacity(
                job, max_unfinished=self._limits.max_unfinished_jobs
            )
            if not added:
                raise RateLimited(
                    "too many photos are being processed; try again shortly",
                    self._limits.retry_after_seconds,
                )
        except BaseException:
            await self._storage.delete(stored.path)
            raise
        return job

    def _check_declared_hash(self, slot_id: str, verdict: HashCheck) -> None:
        """Never fatal, never a warning per upload: a debug line and a count."""
        if verdict is HashCheck.MATCH:
            return
        log.debug("ingest for %s: declared hash %s", slot_id, verdict.value.replace("_", " "))
        self.hash_mismatches[verdict] += 1
        if self.on_hash_mismatch is not None:
            self.on_hash_mismatch(verdict)

    def _new_job(
        self,
        cmd: IngestCommand,
        provider: str,
        operation: str,
        settings: Mapping[str, object],
        stored: StoredFile,
        app: AppSettings,
    ) -> Job:
        """Deadline and payload expiry come from the domain functions, with current settings."""
        now = self._clock.now()
        bounds = self._limits.bounds
        expires_at = calculate_job_expires_at(
            now, app.sync_timeout_sec, public_link_ttl(app.sync_timeout_sec, bounds)
        )
        payload = Payload(
            path=stored.path,
            mime=stored.mime,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            expires_at=calculate_artifact_expiry(now, expires_at, app.ingest_ttl(bounds)),
        )
        return Job(
            id=uuid.uuid4(),
            slot_id=cmd.slot_id,
            provider=provider,
            operation=operation,
            settings=dict(settings),
            expires_at=expires_at,
            created_at=now,
            updated_at=now,
            metadata=dict(cmd.metadata),
            payload=payload,
            result_retention_sec=app.result_retention_sec,
            is_test=cmd.is_test,
        )

    async def _outcome(self, job_id: uuid.UUID) -> IngestResult:
        """Read the final row; a success is answered with the result file the worker wrote
        on MEDIA_ROOT (shared by API and workers), so the image never goes through the row."""
        job = await self._jobs.get(job_id)
        if job is None:
            raise ServiceUnavailable("the job record disappeared")
        details = {"job_id": str(job.id)}
        if job.succeeded and job.result is not None and job.result.file_path is not None:
            try:
                image = await self._storage.read(job.result.file_path)
            except NotFound:
                raise NotFound("the result is no longer available", details) from None
            return IngestResult(job_id=job.id, image=image, mime=job.result.mime)
        if job.failure_reason is FailureReason.PROVIDER_ERROR:
            raise ProviderFailed("the AI provider failed to process the photo", details)
        if job.failure_reason is FailureReason.CANCELLED:
            raise JobCancelled("an administrator cancelled this photo's job", details)
        if job.failure_reason is FailureReason.TIMEOUT:
            raise DeadlineExpired(
                "the provider did not answer in time; send the photo again", details
            )
        if job.failure_reason is FailureReason.STORAGE_ERROR:
            why = job.failure_detail or "storage full"  # or "storage not writable"
            raise StorageUnavailable(
                f"{why}: the result could not be saved; send the photo again once the "
                "operator has fixed the media storage",
                details,
            )
        raise NotFound("the result is no longer available", details)
