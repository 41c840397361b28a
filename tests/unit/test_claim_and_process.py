"""ClaimAndProcess: the worker step, the queue's claim rules, and the whole ingest round trip."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from fakes import (
    LEASE,
    POKE_PAUSE_SECONDS,
    RESULT_PNG,
    CountingSignal,
    FakeClock,
    FakeProvider,
    InMemoryJobRepository,
    InMemoryMediaStorage,
    QueueJob,
    finished,
    ingest_command,
    settle,
)

from application.claim_job import ClaimAndProcess
from application.process_job import Outcome
from application.submit_ingest import SubmitIngest
from domain.errors import DeadlineExpired
from domain.job import FailureReason, JobStatus


async def test_an_empty_queue_gives_none(
    claim_and_process: ClaimAndProcess, provider: FakeProvider
) -> None:
    assert await claim_and_process(worker_id="worker-1") is None
    assert provider.calls == []


async def test_the_oldest_pending_job_is_claimed_and_processed(
    claim_and_process: ClaimAndProcess,
    queue_job: QueueJob,
    provider: FakeProvider,
    jobs: InMemoryJobRepository,
    clock: FakeClock,
) -> None:
    oldest = await queue_job()
    await clock.advance(1)
    newer = await queue_job()

    assert await claim_and_process(worker_id="worker-1") is Outcome.SUCCEEDED

    assert [r.job_id for r in provider.calls] == [oldest.id]
    assert jobs.rows[oldest.id].succeeded
    assert jobs.rows[oldest.id].attempts == 1
    assert jobs.rows[newer.id].status is JobStatus.PENDING


async def test_finalized_expired_and_leased_jobs_are_not_claimed(
    claim_and_process: ClaimAndProcess,
    queue_job: QueueJob,
    provider: FakeProvider,
    jobs: InMemoryJobRepository,
    clock: FakeClock,
) -> None:
    finalized = await queue_job()
    await jobs.finalize_failure(finalized.id, FailureReason.CANCELLED, now=clock.now())
    await queue_job(expires_at=clock.now())  # its deadline is now: nothing left to do
    leased = await queue_job()
    now = clock.now()
    assert (
        await jobs.claim_next(
            worker_id="worker-0", now=now, lease_until=now + timedelta(seconds=LEASE.seconds)
        )
        == jobs.rows[leased.id]
    )

    assert await claim_and_process(worker_id="worker-1") is None
    assert provider.calls == []


async def test_a_dead_workers_job_is_picked_up_once_its_lease_lapses(
    claim_and_process: ClaimAndProcess,
    queue_job: QueueJob,
    jobs: InMemoryJobRepository,
    clock: FakeClock,
) -> None:
    job = await queue_job()
    now = clock.now()
    await jobs.claim_next(  # worker-0 claims, then dies without a heartbeat
        worker_id="worker-0", now=now, lease_until=now + timedelta(seconds=LEASE.seconds)
    )
    await clock.advance(LEASE.seconds)
    assert await claim_and_process(worker_id="worker-1") is None  # lapses *before* now only

    await clock.advance(0.001)
    assert await claim_and_process(worker_id="worker-1") is Outcome.SUCCEEDED
    assert jobs.rows[job.id].succeeded and jobs.rows[job.id].attempts == 2


async def test_a_stopped_worker_gives_its_job_back_at_once(
    claim_and_process: ClaimAndProcess,
    queue_job: QueueJob,
    provider: FakeProvider,
    jobs: InMemoryJobRepository,
    storage: InMemoryMediaStorage,
) -> None:
    provider.held = True
    job = await queue_job()
    step = asyncio.create_task(claim_and_process(worker_id="worker-1"))
    await settle()
    assert jobs.rows[job.id].lease_owner == "worker-1"

    step.cancel()
    with pytest.raises(asyncio.CancelledError):
        await step

    released = jobs.rows[job.id]
    assert provider.cancelled == [job.id]
    assert not released.is_finalized
    assert released.status is JobStatus.PENDING
    assert released.lease_owner is None and released.lease_expires_at is None
    assert job.payload is not None and job.payload.path in storage.files  # inputs kept

    provider.held = False
    assert await claim_and_process(worker_id="worker-2") is Outcome.SUCCEEDED  # no lease wait
    assert jobs.rows[job.id].attempts == 2


async def test_ingest_and_worker_together_answer_the_booth_with_the_provider_image(
    submit_ingest: SubmitIngest,
    claim_and_process: ClaimAndProcess,
    provider: FakeProvider,
    jobs: InMemoryJobRepository,
    job_added: CountingSignal,
    clock: FakeClock,
) -> None:
    provider.held = True
    started = clock.now()
    submitting = asyncio.create_task(submit_ingest(ingest_command()))
    await job_added.event.wait()
    step = asyncio.create_task(claim_and_process(worker_id="worker-1"))
    await clock.advance(5)
    assert not submitting.done()

    provider.release()

    assert await finished(step) is Outcome.SUCCEEDED
    await clock.advance(POKE_PAUSE_SECONDS)
    result = await finished(submitting)
    assert result.image == RESULT_PNG and result.mime == "image/png"
    # answered on the worker's signal (after the poller's short coalescing pause), not a tick
    assert clock.now() == started + timedelta(seconds=5 + POKE_PAUSE_SECONDS)


async def test_a_provider_slower_than_the_deadline_ends_in_one_timeout_for_both_sides(
    submit_ingest: SubmitIngest,
    claim_and_process: ClaimAndProcess,
    provider: FakeProvider,
    jobs: InMemoryJobRepository,
    job_added: CountingSignal,
    clock: FakeClock,
) -> None:
    provider.held = True
    submitting = asyncio.create_task(submit_ingest(ingest_command()))
    await job_added.event.wait()
    step = asyncio.create_task(claim_and_process(worker_id="worker-1"))

    await clock.advance(48)

    with pytest.raises(DeadlineExpired):
        await finished(submitting)
    # The request's deadline timer was set first, so the request won and the worker lost.
    assert await finished(step) is Outcome.LOST_RACE
    [job] = jobs.rows.values()
    assert job.failure_reason is FailureReason.TIMEOUT
    assert jobs.calls["finalize_failure"] == 2  # both tried; one final state
    assert provider.cancelled == [job.id]
    assert job.payload is None
