"""ProcessJob: one provider call within the job deadline, one final state, no stray files."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from uuid import uuid4

import pytest
from fakes import (
    JPEG,
    LEASE,
    PNG,
    RESULT_PNG,
    CountingSignal,
    FakeClock,
    FakeProvider,
    FakeProviderRegistry,
    InMemoryJobRepository,
    InMemoryMediaObjectRepository,
    InMemoryMediaStorage,
    InMemorySettingsRepository,
    InMemoryTemplateRepository,
    QueueAndClaim,
    finished,
    settle,
)

from application.ports import InputImage, ProviderInput
from application.process_job import Outcome, ProcessJob
from domain.errors import ProviderFailed
from domain.job import FailureReason, Job, JobStatus
from domain.media import MediaArea, MediaObject, TemplateMedia
from domain.settings import AppSettings


def _assert_payload_gone(
    job: Job, jobs: InMemoryJobRepository, storage: InMemoryMediaStorage
) -> None:
    assert job.payload is not None
    assert job.payload.path not in storage.files
    assert jobs.rows[job.id].payload is None


async def test_success_stores_the_result_and_finalizes_the_job(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    jobs: InMemoryJobRepository,
    storage: InMemoryMediaStorage,
    settings_repo: InMemorySettingsRepository,
    job_finalized: CountingSignal,
    clock: FakeClock,
) -> None:
    job = await queued_and_claimed(app=AppSettings(result_retention_sec=3600.0))
    settings_repo.settings = AppSettings(result_retention_sec=60.0)  # changed after creation
    await clock.advance(2)

    outcome = await process_job(job, worker_id="worker-1")

    assert outcome is Outcome.SUCCEEDED
    final = jobs.rows[job.id]
    assert final.succeeded and final.finalized_at == clock.now()
    assert final.result is not None and final.result.file_path is not None
    assert storage.files[final.result.file_path].data == RESULT_PNG
    assert final.result.file_path in storage.paths(MediaArea.RESULTS)
    assert final.result.mime == "image/png"
    assert final.result.size_bytes == len(RESULT_PNG)
    assert final.result.checksum == hashlib.sha256(RESULT_PNG).hexdigest()
    assert final.result.expires_at == final.finalized_at + timedelta(seconds=3600)
    assert final.lease_owner is None
    _assert_payload_gone(job, jobs, storage)
    assert job_finalized.count == 1


async def test_the_provider_gets_the_photo_settings_templates_and_deadline(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    overlay: TemplateMedia,
) -> None:
    job = await queued_and_claimed("slot-004")

    assert await process_job(job, worker_id="worker-1") is Outcome.SUCCEEDED

    [request] = provider.calls
    assert (request.job_id, request.operation, request.deadline) == (
        job.id,
        "overlay",
        job.expires_at,
    )
    assert request.settings == {"overlay_template_id": str(overlay.id)}
    assert request.photo == InputImage(mime="image/jpeg", data=JPEG)
    assert request.templates == {"overlay_template_id": InputImage(mime="image/png", data=PNG)}


async def test_provider_failure_finalizes_provider_error(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    jobs: InMemoryJobRepository,
    storage: InMemoryMediaStorage,
    job_finalized: CountingSignal,
) -> None:
    provider.error = ProviderFailed("HTTP 503 from the provider")
    job = await queued_and_claimed()

    assert await process_job(job, worker_id="worker-1") is Outcome.PROVIDER_ERROR

    final = jobs.rows[job.id]
    assert final.is_finalized and final.failure_reason is FailureReason.PROVIDER_ERROR
    assert final.failure_detail == "HTTP 503 from the provider"  # for the operator's job view
    assert final.result is None
    assert storage.paths(MediaArea.RESULTS) == set()
    _assert_payload_gone(job, jobs, storage)
    assert job_finalized.count == 1


async def test_the_deadline_cancels_the_provider_call_and_finalizes_timeout(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    jobs: InMemoryJobRepository,
    storage: InMemoryMediaStorage,
    clock: FakeClock,
) -> None:
    provider.held = True
    job = await queued_and_claimed()
    running = asyncio.create_task(process_job(job, worker_id="worker-1"))

    await clock.advance(47.999)
    assert not running.done() and provider.active == 1
    await clock.advance(0.001)

    assert await finished(running) is Outcome.TIMED_OUT
    assert provider.cancelled == [job.id] and provider.active == 0
    final = jobs.rows[job.id]
    assert final.failure_reason is FailureReason.TIMEOUT
    assert final.finalized_at == job.expires_at
    assert jobs.calls["renew_leases"] == 15  # every 3 s until the deadline: the lease held
    _assert_payload_gone(job, jobs, storage)


async def test_heartbeats_extend_the_lease(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    jobs: InMemoryJobRepository,
    clock: FakeClock,
) -> None:
    provider.held = True
    job = await queued_and_claimed()
    running = asyncio.create_task(process_job(job, worker_id="worker-1"))

    await clock.advance(LEASE.heartbeat_seconds * 2)

    assert jobs.rows[job.id].lease_expires_at == clock.now() + timedelta(seconds=LEASE.seconds)
    provider.release()
    assert await finished(running) is Outcome.SUCCEEDED


async def test_a_job_finalized_elsewhere_cancels_the_provider_at_the_next_heartbeat(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    jobs: InMemoryJobRepository,
    storage: InMemoryMediaStorage,
    job_finalized: CountingSignal,
    clock: FakeClock,
) -> None:
    provider.held = True
    job = await queued_and_claimed()
    started = clock.now()
    running = asyncio.create_task(process_job(job, worker_id="worker-1"))
    await clock.advance(1)
    assert await jobs.finalize_failure(job.id, FailureReason.CANCELLED, now=clock.now())

    await clock.advance(LEASE.heartbeat_seconds - 1)

    assert await finished(running) is Outcome.LOST_RACE
    assert clock.now() == started + timedelta(seconds=LEASE.heartbeat_seconds)
    assert provider.cancelled == [job.id]
    assert jobs.rows[job.id].failure_reason is FailureReason.CANCELLED
    assert storage.paths(MediaArea.RESULTS) == set()
    _assert_payload_gone(job, jobs, storage)
    assert job_finalized.count == 0


async def test_a_late_result_is_discarded_with_its_file(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    jobs: InMemoryJobRepository,
    storage: InMemoryMediaStorage,
    job_finalized: CountingSignal,
    clock: FakeClock,
) -> None:
    """The API times the job out while the provider is answering, before any heartbeat."""

    async def api_times_out_meanwhile(request: ProviderInput) -> None:
        assert await jobs.finalize_failure(request.job_id, FailureReason.TIMEOUT, now=clock.now())

    provider.before_answer = api_times_out_meanwhile
    job = await queued_and_claimed()

    assert await process_job(job, worker_id="worker-1") is Outcome.LOST_RACE

    final = jobs.rows[job.id]
    assert final.failure_reason is FailureReason.TIMEOUT
    assert final.result is None
    assert jobs.calls["finalize_success"] == 1  # it tried, and lost
    assert storage.paths(MediaArea.RESULTS) == set()  # the written file was removed
    _assert_payload_gone(job, jobs, storage)
    assert job_finalized.count == 0


async def test_an_expired_job_times_out_without_calling_the_provider(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    jobs: InMemoryJobRepository,
    storage: InMemoryMediaStorage,
    clock: FakeClock,
) -> None:
    job = await queued_and_claimed()
    await clock.advance(48)

    assert await process_job(job, worker_id="worker-1") is Outcome.TIMED_OUT

    assert provider.calls == []
    assert jobs.rows[job.id].failure_reason is FailureReason.TIMEOUT
    _assert_payload_gone(job, jobs, storage)


async def test_the_provider_limit_queues_the_excess(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
) -> None:
    """``local`` is limited to one call at a time: the second starts when the first ends."""
    provider.held = True
    first = await queued_and_claimed()
    second = await queued_and_claimed()
    running = [
        asyncio.create_task(process_job(first, worker_id="worker-1")),
        asyncio.create_task(process_job(second, worker_id="worker-1")),
    ]
    await settle()
    assert [r.job_id for r in provider.calls] == [first.id]

    provider.release(0)
    await settle()

    assert provider.events == [("start", first.id), ("end", first.id), ("start", second.id)]
    provider.release(1)
    assert await finished(running[0]) is Outcome.SUCCEEDED
    assert await finished(running[1]) is Outcome.SUCCEEDED


async def test_providers_under_their_limit_run_side_by_side(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
) -> None:
    """``turbotext`` allows two at once; a third waits."""
    provider.held = True
    claimed = [await queued_and_claimed("slot-003") for _ in range(3)]
    running = [asyncio.create_task(process_job(j, worker_id="worker-1")) for j in claimed]
    await settle()
    assert provider.active == 2

    provider.release_all()
    await settle()
    assert len(provider.calls) == 3
    provider.release_all()
    assert [await finished(r) for r in running] == [Outcome.SUCCEEDED] * 3


async def test_a_missing_template_is_a_provider_error(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    templates: InMemoryTemplateRepository,
    jobs: InMemoryJobRepository,
) -> None:
    job = await queued_and_claimed("slot-004")
    templates.rows.clear()

    assert await process_job(job, worker_id="worker-1") is Outcome.PROVIDER_ERROR
    assert provider.calls == []
    assert jobs.rows[job.id].failure_reason is FailureReason.PROVIDER_ERROR


async def test_a_missing_photo_is_a_provider_error(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    storage: InMemoryMediaStorage,
    jobs: InMemoryJobRepository,
) -> None:
    job = await queued_and_claimed()
    assert job.payload is not None
    await storage.delete(job.payload.path)

    assert await process_job(job, worker_id="worker-1") is Outcome.PROVIDER_ERROR
    assert provider.calls == []
    assert jobs.rows[job.id].failure_reason is FailureReason.PROVIDER_ERROR


async def test_an_unconfigured_provider_is_a_provider_error(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    registry: FakeProviderRegistry,
    jobs: InMemoryJobRepository,
) -> None:
    del registry.providers["local"]
    job = await queued_and_claimed()

    assert await process_job(job, worker_id="worker-1") is Outcome.PROVIDER_ERROR
    assert jobs.rows[job.id].failure_reason is FailureReason.PROVIDER_ERROR


async def test_public_links_of_the_job_are_removed_once_it_is_final(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    media_objects: InMemoryMediaObjectRepository,
    storage: InMemoryMediaStorage,
    clock: FakeClock,
) -> None:
    job = await queued_and_claimed("slot-003")
    stored = storage.store(MediaArea.PUBLIC, JPEG, "image/jpeg")
    link = MediaObject(
        id=uuid4(),
        job_id=job.id,
        path=stored.path,
        mime=stored.mime,
        size_bytes=stored.size_bytes,
        expires_at=job.expires_at,
        created_at=clock.now(),
    )
    await media_objects.add(link)

    assert await process_job(job, worker_id="worker-1") is Outcome.SUCCEEDED

    assert stored.path not in storage.files
    assert media_objects.rows[link.id].path is None


async def test_lease_renewal_errors_are_retried_without_giving_up_the_job(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    jobs: InMemoryJobRepository,
    clock: FakeClock,
) -> None:
    provider.held = True
    job = await queued_and_claimed()
    running = asyncio.create_task(process_job(job, worker_id="worker-1"))
    jobs.fail_renewals = True
    await clock.advance(LEASE.heartbeat_seconds * 2)
    jobs.fail_renewals = False
    await clock.advance(LEASE.heartbeat_seconds)

    assert provider.cancelled == []
    provider.release()
    assert await finished(running) is Outcome.SUCCEEDED
    assert jobs.calls["renew_leases"] == 3


async def test_a_reclaimed_job_is_left_to_the_worker_that_now_holds_it(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    jobs: InMemoryJobRepository,
    storage: InMemoryMediaStorage,
    clock: FakeClock,
) -> None:
    """worker-1 cannot renew its lease for a while; worker-2 re-claims the job. When
    worker-1 finds out, it stops — without deleting the inputs worker-2 is using."""
    provider.held = True
    job = await queued_and_claimed()
    first = asyncio.create_task(process_job(job, worker_id="worker-1"))
    jobs.fail_renewals = True
    await clock.advance(LEASE.seconds + 1)
    now = clock.now()
    reclaimed = await jobs.claim_next(
        worker_id="worker-2", now=now, lease_until=now + timedelta(seconds=LEASE.seconds)
    )
    assert reclaimed is not None and reclaimed.id == job.id and reclaimed.attempts == 2
    jobs.fail_renewals = False

    await clock.advance(LEASE.heartbeat_seconds)

    assert await finished(first) is Outcome.LOST_RACE
    assert provider.cancelled == [job.id]
    current = jobs.rows[job.id]
    assert not current.is_finalized
    assert current.status is JobStatus.PROCESSING and current.lease_owner == "worker-2"
    assert job.payload is not None and job.payload.path in storage.files

    second = asyncio.create_task(process_job(reclaimed, worker_id="worker-2"))
    await settle()
    provider.release(1)
    assert await finished(second) is Outcome.SUCCEEDED
    assert provider.calls[1].photo.data == JPEG
    assert jobs.rows[job.id].succeeded


@pytest.mark.parametrize("reason", [FailureReason.TIMEOUT, FailureReason.CANCELLED])
async def test_a_failure_after_someone_else_finalized_is_a_lost_race(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    jobs: InMemoryJobRepository,
    clock: FakeClock,
    reason: FailureReason,
) -> None:
    async def finalized_then_failing(request: ProviderInput) -> None:
        await jobs.finalize_failure(request.job_id, reason, now=clock.now())
        raise ProviderFailed("bad gateway")

    provider.before_answer = finalized_then_failing
    job = await queued_and_claimed()

    assert await process_job(job, worker_id="worker-1") is Outcome.LOST_RACE
    assert jobs.rows[job.id].failure_reason is reason
