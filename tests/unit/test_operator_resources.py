"""Use cases of the operator's resources against in-memory fakes: cancelling, test runs, job
cursors, stats buckets, the provider catalogue's setting kinds, the failure detail."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from fakes import (
    JPEG,
    RESULT_PNG,
    CountingSignal,
    FakeClock,
    InMemoryJobRepository,
    InMemorySlotRepository,
    InMemoryTemplateRepository,
    ScriptedWorker,
    chunks_of,
    finished,
)
from operator_fakes import InMemoryAuditLog

from application.cancel_job import CancelJob, CancelJobCommand
from application.job_queries import decode_cursor, encode_cursor
from application.query_ports import Tally, WindowTallies
from application.slot_stats import GetStats, StatsWindow, bucket_start
from application.submit_ingest import SubmitIngest
from application.test_run import TestRun, TestRunCommand
from domain.errors import ConcurrentModification, InvalidConfiguration, InvalidRequest, NotFound
from domain.job import MAX_FAILURE_DETAIL_CHARS, FailureReason, Job, failure_detail
from domain.media import TemplateMedia
from domain.providers import PROVIDERS


def queued_job(clock: FakeClock) -> Job:
    now = clock.now()
    return Job(
        id=uuid4(),
        slot_id="slot-001",
        provider="local",
        operation="grayscale",
        settings={},
        expires_at=now + timedelta(seconds=48),
        created_at=now,
        updated_at=now,
    )


@pytest.fixture
def audit() -> InMemoryAuditLog:
    return InMemoryAuditLog()


@pytest.fixture
def cancel(
    jobs: InMemoryJobRepository, audit: InMemoryAuditLog, clock: FakeClock
) -> tuple[CancelJob, CountingSignal]:
    signal = CountingSignal()
    return CancelJob(jobs=jobs, audit=audit, clock=clock, job_finalized=signal), signal


async def test_cancel_finalizes_a_waiting_job_audits_it_and_wakes_the_waiters(
    jobs: InMemoryJobRepository,
    audit: InMemoryAuditLog,
    clock: FakeClock,
    cancel: tuple[CancelJob, CountingSignal],
) -> None:
    cancel_job, signal = cancel
    job = jobs.insert(queued_job(clock))

    cancelled = await cancel_job(CancelJobCommand(job_id=job.id, actor="ann"))

    assert cancelled.failure_reason is FailureReason.CANCELLED and cancelled.is_finalized
    assert cancelled.failure_detail == "cancelled by ann"
    assert signal.count == 1
    [entry] = audit.entries
    assert (entry.actor, entry.action, entry.target) == ("ann", "job.cancel", f"job:{job.id}")
    assert (entry.before, entry.after) == (
        {"state": "pending", "slot_id": "slot-001"},
        {"state": "cancelled"},
    )


async def test_cancel_of_a_final_or_unknown_job_changes_nothing(
    jobs: InMemoryJobRepository,
    audit: InMemoryAuditLog,
    clock: FakeClock,
    cancel: tuple[CancelJob, CountingSignal],
) -> None:
    cancel_job, signal = cancel
    job = jobs.insert(queued_job(clock))
    await jobs.finalize_failure(job.id, FailureReason.TIMEOUT, now=clock.now())

    with pytest.raises(ConcurrentModification) as refused:
        await cancel_job(CancelJobCommand(job_id=job.id, actor="ann"))
    assert refused.value.details == {"job_id": str(job.id), "state": "timeout"}
    with pytest.raises(NotFound):
        await cancel_job(CancelJobCommand(job_id=uuid4(), actor="ann"))
    assert jobs.rows[job.id].failure_reason is FailureReason.TIMEOUT
    assert (audit.entries, signal.count) == ([], 0)


def test_a_cursor_round_trips_and_a_forged_one_is_refused(clock: FakeClock) -> None:
    job = queued_job(clock)
    position = decode_cursor(encode_cursor(job))
    assert (position.created_at, position.id) == (job.created_at, job.id)
    for forged in ("", "abc", "bm90fGE", encode_cursor(job)[:-3]):
        with pytest.raises(InvalidRequest):
            decode_cursor(forged)


class EmptyStats:
    async def tally(
        self, *, since: datetime, until: datetime, bucket_seconds: int
    ) -> WindowTallies:
        return WindowTallies(total=Tally(), by_slot={}, by_provider={}, by_bucket={})


@pytest.mark.parametrize(
    ("window", "buckets"), [(StatsWindow.HOUR, 13), (StatsWindow.DAY, 25), (StatsWindow.WEEK, 29)]
)
async def test_stats_have_every_bucket_slot_and_provider_even_without_jobs(
    window: StatsWindow, buckets: int
) -> None:
    clock = FakeClock(datetime(2026, 5, 1, 10, 17, tzinfo=UTC))  # not on a bucket boundary
    report = await GetStats(stats=EmptyStats(), clock=clock)(window)

    starts = [start for start, _ in report.series]
    assert len(starts) == buckets
    assert starts[0] == bucket_start(report.since, window.bucket_seconds) <= report.since
    assert starts[-1] <= report.until < starts[-1] + timedelta(seconds=window.bucket_seconds)
    assert len(report.by_slot) == 15 and set(report.by_provider) == set(PROVIDERS)
    assert all(t == Tally() for _, t in report.series)


def test_the_failure_detail_is_one_capped_line() -> None:
    assert failure_detail(None) is None
    assert failure_detail("  quota\n exhausted\t(429) ") == "quota exhausted (429)"
    long = failure_detail("x" * 1000)
    assert long is not None and len(long) == MAX_FAILURE_DETAIL_CHARS and long.endswith("…")


async def test_a_test_run_uses_unsaved_settings_on_an_inactive_slot_and_marks_the_job(
    submit_ingest: SubmitIngest,
    worker: ScriptedWorker,
    slots: InMemorySlotRepository,
    templates: InMemoryTemplateRepository,
    overlay: TemplateMedia,
    clock: FakeClock,
) -> None:
    before = await slots.get("slot-002")  # inactive local/sepia
    assert before is not None and not before.is_active
    run = TestRun(slots=slots, templates=templates, submit=submit_ingest, clock=clock)
    unsaved = {"delay_ms": 5}

    running = asyncio.create_task(
        run(
            TestRunCommand(slot_id="slot-002", photo=chunks_of(JPEG), actor="ann", settings=unsaved)
        )
    )
    job = await worker.claim()
    assert (job.slot_id, job.operation, dict(job.settings), job.is_test) == (
        "slot-002",
        "sepia",
        unsaved,
        True,
    )
    await clock.advance(0.25)
    await worker.succeed(job)

    outcome = await finished(running)
    assert outcome.result.image == RESULT_PNG and outcome.result.job_id == job.id
    assert outcome.elapsed_ms >= 250
    assert await slots.get("slot-002") == before  # nothing saved, still inactive


async def test_a_test_run_checks_settings_like_activating_the_slot(
    submit_ingest: SubmitIngest,
    slots: InMemorySlotRepository,
    templates: InMemoryTemplateRepository,
    jobs: InMemoryJobRepository,
    clock: FakeClock,
) -> None:
    run = TestRun(slots=slots, templates=templates, submit=submit_ingest, clock=clock)
    cases = {
        "delay_ms": {"delay_ms": "slow"},
        "prompt": {"prompt": "sepia takes no prompt"},
    }
    for field, settings in cases.items():
        with pytest.raises(InvalidConfiguration) as refused:
            await run(
                TestRunCommand(
                    slot_id="slot-002", photo=chunks_of(JPEG), actor="a", settings=settings
                )
            )
        assert refused.value.details == {"field": field}
    assert jobs.rows == {}
