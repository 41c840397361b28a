"""ProcessJob tells its observer how each provider call ended and how long the provider took."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from fakes import (
    LEASE,
    FakeClock,
    FakeProvider,
    InMemoryJobRepository,
    InMemoryMediaStorage,
    ProviderCallRecord,
    QueueAndClaim,
    RecordingMetrics,
    finished,
)

from application.process_job import Outcome, ProcessJob
from domain.errors import ProviderFailed
from domain.job import FailureReason


@pytest.fixture
def metrics() -> RecordingMetrics:
    return RecordingMetrics()


@pytest.fixture
def observed_process_job(
    build_process_job: Callable[..., ProcessJob], metrics: RecordingMetrics
) -> ProcessJob:
    return build_process_job(metrics=metrics)


async def test_a_successful_call_is_ok_with_the_providers_time(
    observed_process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    metrics: RecordingMetrics,
    clock: FakeClock,
) -> None:
    provider.held = True
    job = await queued_and_claimed("slot-004")
    running = asyncio.create_task(observed_process_job(job, worker_id="worker-1"))
    await clock.advance(2.5)
    provider.release()

    assert await finished(running) is Outcome.SUCCEEDED
    assert metrics.provider_calls == [ProviderCallRecord("local", "ok", 2.5, "slot-004")]


async def test_a_provider_failure_is_an_error(
    observed_process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    metrics: RecordingMetrics,
) -> None:
    provider.error = ProviderFailed("HTTP 500 from the provider")
    job = await queued_and_claimed()

    assert await observed_process_job(job, worker_id="worker-1") is Outcome.PROVIDER_ERROR
    assert metrics.provider_calls == [ProviderCallRecord("local", "error", 0.0, "slot-001")]


async def test_an_adapter_crash_is_an_error_too(
    observed_process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    metrics: RecordingMetrics,
) -> None:
    provider.error = KeyError("bug")
    job = await queued_and_claimed()

    assert await observed_process_job(job, worker_id="worker-1") is Outcome.PROVIDER_ERROR
    assert [call.outcome for call in metrics.provider_calls] == ["error"]


async def test_a_call_cut_at_the_deadline_is_a_timeout(
    observed_process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    metrics: RecordingMetrics,
    clock: FakeClock,
) -> None:
    provider.held = True
    job = await queued_and_claimed()
    running = asyncio.create_task(observed_process_job(job, worker_id="worker-1"))
    await clock.advance(48)

    assert await finished(running) is Outcome.TIMED_OUT
    assert metrics.provider_calls == [ProviderCallRecord("local", "timeout", 48.0, "slot-001")]


async def test_an_adapter_giving_up_for_lack_of_time_is_a_timeout(
    observed_process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    metrics: RecordingMetrics,
) -> None:
    provider.error = TimeoutError("no time left to ask again")
    job = await queued_and_claimed()

    assert await observed_process_job(job, worker_id="worker-1") is Outcome.TIMED_OUT
    assert [call.outcome for call in metrics.provider_calls] == ["timeout"]


async def test_a_call_dropped_because_the_job_was_finalized_elsewhere_is_cancelled(
    observed_process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    jobs: InMemoryJobRepository,
    metrics: RecordingMetrics,
    clock: FakeClock,
) -> None:
    provider.held = True
    job = await queued_and_claimed()
    running = asyncio.create_task(observed_process_job(job, worker_id="worker-1"))
    await clock.advance(1)
    assert await jobs.finalize_failure(job.id, FailureReason.CANCELLED, now=clock.now())
    await clock.advance(LEASE.heartbeat_seconds)

    assert await finished(running) is Outcome.LOST_RACE
    assert [(c.outcome, c.seconds) for c in metrics.provider_calls] == [
        ("cancelled", LEASE.heartbeat_seconds)
    ]


async def test_no_provider_call_no_record(
    observed_process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    storage: InMemoryMediaStorage,
    metrics: RecordingMetrics,
) -> None:
    """A job whose photo is gone fails before any call: nothing to count for the provider."""
    job = await queued_and_claimed()
    assert job.payload is not None
    await storage.delete(job.payload.path)

    assert await observed_process_job(job, worker_id="worker-1") is Outcome.PROVIDER_ERROR
    assert provider.calls == [] and metrics.provider_calls == []
