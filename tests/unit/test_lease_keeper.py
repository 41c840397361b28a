"""The worker's heartbeat: one renewal statement for every job it holds, per beat."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import pytest
from fakes import (
    LEASE,
    FakeClock,
    FakeProvider,
    InMemoryJobRepository,
    QueueAndClaim,
    QueueJob,
    finished,
    settle,
)

from application.lease_keeper import LeaseKeeper
from application.process_job import Outcome, ProcessJob
from application.provider_limits import ProviderLimits
from domain.job import FailureReason, JobStatus


@pytest.fixture
def provider_limits() -> ProviderLimits:
    """Room for every job of these tests at once: they are about leases, not queueing."""
    return ProviderLimits({}, default=8)


async def test_one_statement_renews_every_held_job_each_beat(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    jobs: InMemoryJobRepository,
    clock: FakeClock,
) -> None:
    provider.held = True
    held = [await queued_and_claimed() for _ in range(3)]
    running = [asyncio.create_task(process_job(job, worker_id="worker-1")) for job in held]
    await settle()

    await clock.advance(LEASE.heartbeat_seconds)
    assert jobs.calls["renew_leases"] == 1, "one statement for the three jobs"
    assert sorted(jobs.renewals_asked[0]) == sorted(job.id for job in held)
    for job in held:
        assert jobs.rows[job.id].lease_expires_at == clock.now() + timedelta(seconds=LEASE.seconds)

    await clock.advance(LEASE.heartbeat_seconds)
    assert jobs.calls["renew_leases"] == 2

    provider.release_all()
    assert [await finished(task) for task in running] == [Outcome.SUCCEEDED] * 3
    await clock.advance(LEASE.heartbeat_seconds * 5)
    assert jobs.calls["renew_leases"] == 2, "nothing held, nothing asked"


async def test_a_job_finalized_elsewhere_hangs_up_only_its_own_call(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    jobs: InMemoryJobRepository,
    clock: FakeClock,
) -> None:
    provider.held = True
    cancelled, kept = await queued_and_claimed(), await queued_and_claimed()
    doomed = asyncio.create_task(process_job(cancelled, worker_id="worker-1"))
    going_on = asyncio.create_task(process_job(kept, worker_id="worker-1"))
    await clock.advance(1)
    assert await jobs.finalize_failure(cancelled.id, FailureReason.CANCELLED, now=clock.now())

    await clock.advance(LEASE.heartbeat_seconds - 1)

    assert await finished(doomed) is Outcome.LOST_RACE
    assert provider.cancelled == [cancelled.id], "the other job's call goes on"
    assert not going_on.done()
    await clock.advance(LEASE.heartbeat_seconds)
    assert jobs.renewals_asked[-1] == [kept.id]
    provider.release_all()
    assert await finished(going_on) is Outcome.SUCCEEDED


async def test_a_dead_workers_jobs_are_claimed_again_once_their_leases_lapse(
    queue_job: QueueJob, jobs: InMemoryJobRepository, clock: FakeClock
) -> None:
    keeper = LeaseKeeper(jobs, clock, LEASE)
    queued = [await queue_job() for _ in range(2)]
    for _ in queued:
        now = clock.now()
        assert await jobs.claim_next(
            worker_id="worker-1", now=now, lease_until=now + timedelta(seconds=LEASE.seconds)
        )
    with contextlib.ExitStack() as holding:
        for job in queued:  # as several ProcessJob calls of one worker would
            holding.enter_context(keeper.hold(job.id, worker_id="worker-1"))
        await clock.advance(LEASE.seconds * 2)  # alive: the leases are kept however long
        now = clock.now()
        assert await jobs.claim_next(worker_id="worker-2", now=now, lease_until=now) is None

        await keeper.aclose()  # the process dies: no release, no more heartbeats
        await clock.advance(LEASE.seconds + 0.001)

        reclaimed = set()
        for _ in queued:
            now = clock.now()
            job = await jobs.claim_next(
                worker_id="worker-2", now=now, lease_until=now + timedelta(seconds=LEASE.seconds)
            )
            assert job is not None and job.status is JobStatus.PROCESSING and job.attempts == 2
            reclaimed.add(job.id)
        assert reclaimed == {job.id for job in queued}
