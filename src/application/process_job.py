"""ProcessJob: run a claimed job through its provider within the job deadline (SPEC §5)."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Awaitable, Mapping
from datetime import datetime
from functools import partial
from uuid import UUID

from application import log_context
from application.job_artifacts import JobArtifacts
from application.lease_keeper import LeaseKeeper, LeasePolicy
from application.ports import (
    Clock,
    InputImage,
    JobRepository,
    MediaStorage,
    NoImageLog,
    NoMetrics,
    ProviderCallObserver,
    ProviderCallOutcome,
    ProviderInput,
    ProviderOutput,
    ProviderRegistry,
    Signal,
    TemplateRepository,
)
from application.provider_limits import ProviderLimits
from application.public_links import PublishInputs
from domain.deadlines import calculate_deadline_info, calculate_result_expires_at
from domain.errors import NotFound, PhotoChangerError, ProviderFailed, StorageUnavailable
from domain.job import FailureReason, Job, JobResult
from domain.media import MediaArea
from domain.providers import operation_spec, provider_spec

log = logging.getLogger(__name__)

_PHOTO = "photo"  # key of the booth photo among a job's inputs (template fields end in _id)
_CRASHED = "the provider adapter failed unexpectedly; the service log has the details"


def _inline(inputs: Mapping[str, tuple[bytes, str]]) -> dict[str, InputImage]:
    """Providers that take inline data get the bytes themselves."""
    return {name: InputImage(mime=mime, data=data) for name, (data, mime) in inputs.items()}


class Outcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    PROVIDER_ERROR = "provider_error"
    TIMED_OUT = "timed_out"
    STORAGE_ERROR = "storage_error"  # MEDIA_ROOT full or not writable: retrying would not help
    LOST_RACE = "lost_race"  # someone else finalized first; our result, if any, was discarded


class _FinalizedElsewhere(Exception):
    """The lease could not be renewed: the API or purge finalized the job."""


class _NoImageAnswers:
    """Answers without an image the provider gave during one job's call."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def seen(self) -> None:
        self.count += 1


class ProcessJob:
    """Call the provider with the job's remaining time; finalize success or failure only if
    nobody finalized first; a late result is discarded with its file. The call is cancelled at
    the deadline and as soon as the job is finalized elsewhere."""

    def __init__(
        self,
        *,
        jobs: JobRepository,
        templates: TemplateRepository,
        storage: MediaStorage,
        providers: ProviderRegistry,
        limits: ProviderLimits,
        links: PublishInputs,
        artifacts: JobArtifacts,
        clock: Clock,
        lease: LeasePolicy,
        job_finalized: Signal,
        metrics: ProviderCallObserver | None = None,
        leases: LeaseKeeper | None = None,
        no_images: NoImageLog | None = None,
    ) -> None:
        """``leases``: the process's one heartbeat for all its jobs (built here if not given;
        the composition root shares it with the completion poller). ``no_images``: where a
        job's count of answers without an image is kept (for the operators' stats)."""
        self._jobs = jobs
        self._templates = templates
        self._storage = storage
        self._providers = providers
        self._limits = limits
        self._links = links
        self._artifacts = artifacts
        self._clock = clock
        self._leases = leases or LeaseKeeper(jobs, clock, lease)
        self._job_finalized = job_finalized
        self._metrics = metrics or NoMetrics()
        self._no_images = no_images

    async def __call__(self, job: Job, *, worker_id: str) -> Outcome:
        with log_context.bound(job_id=job.id, slot_id=job.slot_id):  # every line names the job
            return await self._process(job, worker_id)

    async def _process(self, job: Job, worker_id: str) -> Outcome:
        try:
            output = await self._run_provider(job, worker_id)
        except _FinalizedElsewhere:
            current = await self._jobs.get(job.id)
            if current is not None and not current.is_finalized:
                # Our lease lapsed and another worker re-claimed the job: its inputs are in use.
                log.info("job %s: re-claimed by another worker; leaving it to them", job.id)
                return Outcome.LOST_RACE
            outcome = Outcome.LOST_RACE
        except TimeoutError:
            outcome = await self._fail(job, FailureReason.TIMEOUT)
        except StorageUnavailable as exc:  # a public copy of an input could not be written
            outcome = await self._storage_failed(job, exc)
        except ProviderFailed as exc:
            log.warning("job %s: provider %s failed: %s", job.id, job.provider, exc.message)
            outcome = await self._fail(job, FailureReason.PROVIDER_ERROR, detail=exc.message)
        except Exception:  # an adapter bug must still end the job now, not at its deadline
            log.exception("job %s: provider %s crashed", job.id, job.provider)
            outcome = await self._fail(job, FailureReason.PROVIDER_ERROR, detail=_CRASHED)
        else:
            outcome = await self._succeed(job, output)
        await self._artifacts.remove_after_finalization(job)
        return outcome

    async def _run_provider(self, job: Job, worker_id: str) -> ProviderOutput:
        remaining = calculate_deadline_info(job.expires_at, now=self._clock.now())
        if remaining.is_expired:
            raise TimeoutError
        no_images = _NoImageAnswers()
        call = asyncio.create_task(self._call_provider(job, no_images))
        keeper = asyncio.create_task(self._keep_lease(job.id, worker_id, call))
        timer = asyncio.create_task(self._cancel_at(job.expires_at, call))
        try:
            return await call
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the worker itself is being stopped
            if keeper.done() and not keeper.cancelled() and keeper.result():
                raise _FinalizedElsewhere from None
            if timer.done() and not timer.cancelled():
                raise TimeoutError from None
            raise
        finally:
            call.cancel()
            for helper in (keeper, timer):
                helper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await helper
            await self._record_no_images(job, no_images)

    async def _record_no_images(self, job: Job, answers: _NoImageAnswers) -> None:
        """Before the job is finalized, so stats read after the booth's answer include them.
        Failing to keep the count never fails the job; a stopping worker does not wait for it."""
        current = asyncio.current_task()
        if answers.count == 0 or self._no_images is None or (current and current.cancelling()):
            return
        try:
            await self._no_images.add(job.id, answers.count)
        except PhotoChangerError as exc:
            log.warning("job %s: NO_IMAGE count not recorded: %s", job.id, exc.message)

    async def _cancel_at(self, deadline: datetime, call: asyncio.Task[ProviderOutput]) -> None:
        """The deadline, on the injected clock: the provider call never outlives the job, and
        is never cut before it (timers may fire early; ``remaining_ms`` is floored)."""
        while not (info := calculate_deadline_info(deadline, now=self._clock.now())).is_expired:
            await self._clock.sleep(max(info.remaining_seconds, 0.001))
        call.cancel()

    async def _call_provider(self, job: Job, no_images: _NoImageAnswers) -> ProviderOutput:
        request = await self._build_input(job, no_images)
        adapter = self._providers.get(job.provider)
        async with self._limits.slot_for(job.provider):
            return await self._observed(job, adapter.transform(request))

    async def _observed(self, job: Job, call: Awaitable[ProviderOutput]) -> ProviderOutput:
        """Time the provider's own work and count how it ended, for operators' metrics. A
        cancellation once the deadline has come is a timeout; any other one is ``cancelled``
        (the job was finalized elsewhere, or the worker is stopping)."""
        started = self._clock.now()
        outcome: ProviderCallOutcome = "error"
        try:
            output = await call
        except TimeoutError:
            outcome = "timeout"
            raise
        except asyncio.CancelledError:
            expired = calculate_deadline_info(job.expires_at, now=self._clock.now()).is_expired
            outcome = "timeout" if expired else "cancelled"
            raise
        else:
            outcome = "ok"
            return output
        finally:
            seconds = (self._clock.now() - started).total_seconds()
            self._metrics.provider_call(job.provider, outcome, seconds, slot_id=job.slot_id)

    async def _build_input(self, job: Job, no_images: _NoImageAnswers) -> ProviderInput:
        if job.payload is None:
            raise ProviderFailed("the job's photo is no longer stored")
        by_url = provider_spec(job.provider).needs_public_urls
        try:
            inputs = {_PHOTO: (await self._storage.read(job.payload.path), job.payload.mime)}
            for field in operation_spec(job.provider, job.operation).template_fields():
                if field in job.settings:
                    inputs[field] = await self._load_template(str(job.settings[field]))
            images = await self._publish(job, inputs) if by_url else _inline(inputs)
        except NotFound as exc:
            raise ProviderFailed(f"an input of the job is missing: {exc.message}") from exc
        except StorageUnavailable:
            raise  # not the provider's fault: the job ends storage_error
        except PhotoChangerError as exc:  # storage or database trouble while reading inputs
            raise ProviderFailed(exc.message) from exc
        photo = images.pop(_PHOTO)
        return ProviderInput(
            job_id=job.id,
            operation=job.operation,
            settings=job.settings,
            photo=photo,
            templates=images,
            deadline=job.expires_at,
            record_reference=partial(self._jobs.set_provider_reference, job.id),
            reference=job.provider_job_reference,
            slot_id=job.slot_id,
            no_image_seen=no_images.seen,
        )

    async def _publish(
        self, job: Job, inputs: Mapping[str, tuple[bytes, str]]
    ) -> dict[str, InputImage]:
        """URL-based providers get temporary public links instead of bytes."""
        ttl = await self._links.link_ttl_seconds()
        return {
            name: await self._links.publish(job, data, mime=mime, ttl_seconds=ttl)
            for name, (data, mime) in inputs.items()
        }

    async def _load_template(self, template_id: str) -> tuple[bytes, str]:
        template = await self._templates.get(UUID(template_id))
        if template is None:
            raise NotFound(f"template {template_id} does not exist")
        return await self._storage.read(template.path), template.mime

    async def _keep_lease(self, job_id: UUID, worker_id: str, call: asyncio.Task[object]) -> bool:
        """The lease is renewed with all the process's others (``LeaseKeeper``); returns True
        (after cancelling the call) once the job is final elsewhere or re-claimed."""
        with self._leases.hold(job_id, worker_id=worker_id) as lost:
            await lost.wait()
        call.cancel()
        return True

    async def _succeed(self, job: Job, output: ProviderOutput) -> Outcome:
        try:
            stored = await self._storage.save_bytes(
                MediaArea.RESULTS, output.image, mime=output.mime
            )
        except StorageUnavailable as exc:
            return await self._storage_failed(job, exc)
        now = self._clock.now()
        result = JobResult(
            file_path=stored.path,
            mime=stored.mime,
            size_bytes=stored.size_bytes,
            checksum=stored.sha256,
            expires_at=calculate_result_expires_at(now, job.result_retention_sec),
        )
        if await self._jobs.finalize_success(job.id, result, now=now):
            self._job_finalized.notify()
            return Outcome.SUCCEEDED
        await self._storage.delete(stored.path)
        log.info("job %s: result arrived after the job was finalized; discarded", job.id)
        return Outcome.LOST_RACE

    async def _storage_failed(self, job: Job, exc: StorageUnavailable) -> Outcome:
        """A full or read-only MEDIA_ROOT ends the job now: a re-claim would fail the same way
        until the deadline, and the booth should hear ``503`` at once, not ``504`` later."""
        log.error("job %s: media storage refused a write (%s); job ends", job.id, exc.message)
        return await self._fail(job, FailureReason.STORAGE_ERROR, detail=exc.message)

    async def _fail(self, job: Job, reason: FailureReason, *, detail: str | None = None) -> Outcome:
        """``detail`` is the provider's message, kept (short) for the operator's job view."""
        now = self._clock.now()
        if await self._jobs.finalize_failure(job.id, reason, now=now, detail=detail):
            self._job_finalized.notify()
            if reason is FailureReason.STORAGE_ERROR:
                return Outcome.STORAGE_ERROR
            return Outcome.TIMED_OUT if reason is FailureReason.TIMEOUT else Outcome.PROVIDER_ERROR
        return Outcome.LOST_RACE
