"""A full or read-only media storage is answered at once: 503 at ingest before a job exists,
and a worker that cannot store a result (or a public copy of an input) finalizes the job
``storage_error`` so nothing re-claims it and the waiting booth hears 503, not 504."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from fakes import (
    LEASE,
    POKE_PAUSE_SECONDS,
    CountingSignal,
    FakeClock,
    FakeProvider,
    FullMediaStorage,
    InMemoryJobRepository,
    InMemoryMediaObjectRepository,
    QueueAndClaim,
    finished,
    ingest_command,
)

from application.claim_job import ClaimAndProcess
from application.process_job import Outcome, ProcessJob
from application.submit_ingest import SubmitIngest
from domain.errors import ServiceUnavailable, StorageUnavailable
from domain.job import FailureReason
from domain.media import MediaArea


@pytest.fixture
def storage(clock: FakeClock) -> FullMediaStorage:
    """Replaces the shared in-memory storage; each test says which areas are full."""
    return FullMediaStorage(clock)


async def test_a_full_payload_area_refuses_the_ingest_at_once_and_creates_nothing(
    submit_ingest: SubmitIngest,
    storage: FullMediaStorage,
    jobs: InMemoryJobRepository,
    job_added: CountingSignal,
    clock: FakeClock,
) -> None:
    storage.full = {MediaArea.PAYLOAD}
    started = clock.now()

    with pytest.raises(StorageUnavailable) as caught:
        await submit_ingest(ingest_command())

    assert caught.value.code == "service_unavailable"
    assert caught.value.message == "storage full"
    assert clock.now() == started  # no waiting at all
    assert storage.refused == [MediaArea.PAYLOAD]
    assert jobs.rows == {} and job_added.count == 0
    assert storage.paths(MediaArea.PAYLOAD) == set()


async def test_a_result_that_cannot_be_stored_finalizes_the_job_storage_error(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    storage: FullMediaStorage,
    provider: FakeProvider,
    jobs: InMemoryJobRepository,
    job_finalized: CountingSignal,
    clock: FakeClock,
) -> None:
    storage.full = {MediaArea.RESULTS}
    job = await queued_and_claimed()

    assert await process_job(job, worker_id="worker-1") is Outcome.STORAGE_ERROR

    final = jobs.rows[job.id]
    assert final.is_finalized and final.failure_reason is FailureReason.STORAGE_ERROR
    assert final.failure_detail == "storage full"  # what the operator's job view shows
    assert final.finalized_at == clock.now()
    assert final.result is None
    assert final.lease_owner is None
    assert storage.refused == [MediaArea.RESULTS] and len(provider.calls) == 1
    assert storage.paths(MediaArea.RESULTS) == set()
    assert final.payload is None and storage.paths(MediaArea.PAYLOAD) == set(), "space freed"
    assert job_finalized.count == 1
    # Nothing picks it up again, not even once the lease it held would have lapsed.
    await clock.advance(LEASE.seconds + 1)
    now = clock.now()
    assert await jobs.claim_next(worker_id="worker-2", now=now, lease_until=now) is None


async def test_a_public_copy_that_cannot_be_written_ends_the_job_before_the_provider_call(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    storage: FullMediaStorage,
    provider: FakeProvider,
    jobs: InMemoryJobRepository,
    media_objects: InMemoryMediaObjectRepository,
) -> None:
    storage.full = {MediaArea.PUBLIC}
    job = await queued_and_claimed("slot-003")  # turbotext: inputs go out as public links

    assert await process_job(job, worker_id="worker-1") is Outcome.STORAGE_ERROR

    assert jobs.rows[job.id].failure_reason is FailureReason.STORAGE_ERROR
    assert provider.calls == [], "no provider call (and no bill) for a job that cannot finish"
    assert storage.paths(MediaArea.PUBLIC) == set()
    assert await media_objects.for_job(job.id) == []


async def test_other_storage_trouble_while_reading_inputs_stays_a_provider_error(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    storage: FullMediaStorage,
    jobs: InMemoryJobRepository,
) -> None:
    """Only a refused write is ``storage_error``; an unreadable input is the old rule."""
    job = await queued_and_claimed()

    async def broken_read(path: str) -> bytes:
        raise ServiceUnavailable("media storage is unavailable")

    storage.read = broken_read  # type: ignore[method-assign]

    assert await process_job(job, worker_id="worker-1") is Outcome.PROVIDER_ERROR
    assert jobs.rows[job.id].failure_reason is FailureReason.PROVIDER_ERROR


async def test_the_waiting_booth_hears_503_storage_full_as_soon_as_the_worker_gives_up(
    submit_ingest: SubmitIngest,
    claim_and_process: ClaimAndProcess,
    storage: FullMediaStorage,
    provider: FakeProvider,
    jobs: InMemoryJobRepository,
    job_added: CountingSignal,
    clock: FakeClock,
) -> None:
    storage.full = {MediaArea.RESULTS}
    provider.held = True
    started = clock.now()
    submitting = asyncio.create_task(submit_ingest(ingest_command()))
    await job_added.event.wait()
    step = asyncio.create_task(claim_and_process(worker_id="worker-1"))
    await clock.advance(3)

    provider.release()

    assert await finished(step) is Outcome.STORAGE_ERROR
    await clock.advance(POKE_PAUSE_SECONDS)
    with pytest.raises(StorageUnavailable) as caught:
        await finished(submitting)
    [job] = jobs.rows.values()
    assert caught.value.code == "service_unavailable"
    assert caught.value.message.startswith("storage full: ")
    assert caught.value.details == {"job_id": str(job.id)}
    assert clock.now() - started == timedelta(seconds=3 + POKE_PAUSE_SECONDS), "not the deadline"
    assert job.failure_reason is FailureReason.STORAGE_ERROR
    assert jobs.calls["finalize_failure"] == 1  # the request did not need to time it out
    assert job.attempts == 1


async def test_a_read_only_results_area_tells_the_booth_storage_not_writable(
    submit_ingest: SubmitIngest,
    claim_and_process: ClaimAndProcess,
    storage: FullMediaStorage,
    jobs: InMemoryJobRepository,
    job_added: CountingSignal,
    clock: FakeClock,
) -> None:
    storage.full, storage.read_only = {MediaArea.RESULTS}, True
    submitting = asyncio.create_task(submit_ingest(ingest_command()))
    await job_added.event.wait()

    assert await claim_and_process(worker_id="worker-1") is Outcome.STORAGE_ERROR
    await clock.advance(POKE_PAUSE_SECONDS)

    with pytest.raises(StorageUnavailable, match=r"^storage not writable: "):
        await finished(submitting)
    [job] = jobs.rows.values()
    assert job.failure_detail == "storage not writable"
