"""How an ingest request waits: the shared poller and the per-request baseline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from uuid import UUID

import pytest
from fakes import (
    TICK_SECONDS,
    FakeClock,
    InMemoryJobRepository,
    QueueJob,
    finished,
    settle,
)

from application.waiting import PerRequestPoller, SharedCompletionPoller
from domain.job import FailureReason, Job


async def _queue(queue_job: QueueJob, n: int) -> list[Job]:
    return [await queue_job() for _ in range(n)]


@pytest.fixture
async def per_request(
    jobs: InMemoryJobRepository, clock: FakeClock
) -> AsyncIterator[PerRequestPoller]:
    waiter = PerRequestPoller(jobs, clock, interval_seconds=1.0)
    yield waiter
    await waiter.aclose()


@pytest.mark.parametrize("waiting", [1, 25])
async def test_shared_poller_makes_one_query_per_tick_whatever_the_number_of_waiters(
    poller: SharedCompletionPoller,
    jobs: InMemoryJobRepository,
    clock: FakeClock,
    queue_job: QueueJob,
    waiting: int,
) -> None:
    queued = await _queue(queue_job, waiting)
    deadline = clock.now() + timedelta(seconds=48)
    tasks = [asyncio.create_task(poller.wait(job.id, deadline)) for job in queued]
    await settle()

    await clock.advance(4 * TICK_SECONDS)

    assert jobs.calls["finalized_among"] == 4
    assert jobs.calls["get"] == 0
    assert all(
        sorted(asked) == sorted(j.id for j in queued) for asked in jobs.finalized_among_asked
    )
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_shared_poller_is_idle_while_nobody_waits(
    poller: SharedCompletionPoller,
    jobs: InMemoryJobRepository,
    clock: FakeClock,
    queue_job: QueueJob,
) -> None:
    await clock.advance(10 * TICK_SECONDS)
    assert jobs.calls["finalized_among"] == 0

    job = await queue_job()
    waiting = asyncio.create_task(poller.wait(job.id, clock.now() + timedelta(seconds=48)))
    await settle()
    await jobs.finalize_failure(job.id, FailureReason.PROVIDER_ERROR, now=clock.now())
    await clock.advance(TICK_SECONDS)
    assert await finished(waiting) is True
    queries_while_waiting = jobs.calls["finalized_among"]
    assert queries_while_waiting == 1

    await clock.advance(20 * TICK_SECONDS)
    assert jobs.calls["finalized_among"] == queries_while_waiting
    assert clock.pending_timers == 0  # the poller parks on its wake-up event, not on a timer


async def test_poke_wakes_the_waiter_without_waiting_for_the_tick(
    poller: SharedCompletionPoller,
    jobs: InMemoryJobRepository,
    clock: FakeClock,
    queue_job: QueueJob,
) -> None:
    job = await queue_job()
    started = clock.now()
    waiting = asyncio.create_task(poller.wait(job.id, started + timedelta(seconds=48)))
    await settle()
    assert not waiting.done()

    await jobs.finalize_failure(job.id, FailureReason.PROVIDER_ERROR, now=clock.now())
    poller.poke()
    await clock.advance(TICK_SECONDS / 10)  # the coalescing pause after a poke

    assert await finished(waiting) is True
    assert clock.now() - started == timedelta(seconds=TICK_SECONDS / 10), "not a full tick"
    assert jobs.calls["finalized_among"] == 1


async def test_a_burst_of_pokes_shares_one_query(
    poller: SharedCompletionPoller,
    jobs: InMemoryJobRepository,
    clock: FakeClock,
    queue_job: QueueJob,
) -> None:
    batch = await _queue(queue_job, 5)
    deadline = clock.now() + timedelta(seconds=48)
    waiting = [asyncio.create_task(poller.wait(job.id, deadline)) for job in batch]
    await settle()

    for job in batch:
        await jobs.finalize_failure(job.id, FailureReason.PROVIDER_ERROR, now=clock.now())
        poller.poke()
    await clock.advance(TICK_SECONDS / 10)

    assert [await finished(task) for task in waiting] == [True] * 5
    assert jobs.calls["finalized_among"] == 1


async def test_poke_for_another_job_does_not_wake_a_waiter(
    poller: SharedCompletionPoller,
    jobs: InMemoryJobRepository,
    clock: FakeClock,
    queue_job: QueueJob,
) -> None:
    mine, other = await _queue(queue_job, 2)
    waiting = asyncio.create_task(poller.wait(mine.id, clock.now() + timedelta(seconds=48)))
    await settle()

    await jobs.finalize_failure(other.id, FailureReason.TIMEOUT, now=clock.now())
    poller.poke()
    await clock.advance(TICK_SECONDS / 10)

    assert not waiting.done()
    assert jobs.calls["finalized_among"] == 1
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)


async def test_a_tick_notices_a_finalization_nobody_poked_about(
    poller: SharedCompletionPoller,
    jobs: InMemoryJobRepository,
    clock: FakeClock,
    queue_job: QueueJob,
) -> None:
    job = await queue_job()
    waiting = asyncio.create_task(poller.wait(job.id, clock.now() + timedelta(seconds=48)))
    await settle()
    await jobs.finalize_failure(job.id, FailureReason.PROVIDER_ERROR, now=clock.now())

    await clock.advance(TICK_SECONDS * 0.9)
    assert not waiting.done()
    await clock.advance(TICK_SECONDS * 0.1)
    assert await finished(waiting) is True


async def test_shared_poller_returns_false_exactly_at_the_deadline(
    poller: SharedCompletionPoller, clock: FakeClock, queue_job: QueueJob
) -> None:
    job = await queue_job()
    deadline = clock.now() + timedelta(seconds=3)
    waiting = asyncio.create_task(poller.wait(job.id, deadline))

    await clock.advance(2.999)
    assert not waiting.done()
    await clock.advance(0.001)

    assert await finished(waiting) is False
    assert clock.now() == deadline


async def test_deadline_shorter_than_the_tick_is_still_honoured(
    jobs: InMemoryJobRepository, clock: FakeClock, queue_job: QueueJob
) -> None:
    slow = SharedCompletionPoller(jobs, clock, tick_seconds=30.0)
    try:
        job = await queue_job()
        waiting = asyncio.create_task(slow.wait(job.id, clock.now() + timedelta(seconds=1)))
        await clock.advance(1)
        assert await finished(waiting) is False
        assert jobs.calls["finalized_among"] == 0
    finally:
        await slow.aclose()


async def test_a_failed_poll_is_retried_on_the_next_tick(
    poller: SharedCompletionPoller,
    jobs: InMemoryJobRepository,
    clock: FakeClock,
    queue_job: QueueJob,
) -> None:
    job = await queue_job()
    waiting = asyncio.create_task(poller.wait(job.id, clock.now() + timedelta(seconds=48)))
    await settle()
    await jobs.finalize_failure(job.id, FailureReason.PROVIDER_ERROR, now=clock.now())
    jobs.fail_finalized_among = 1

    await clock.advance(TICK_SECONDS)
    assert not waiting.done()
    await clock.advance(TICK_SECONDS)

    assert await finished(waiting) is True
    assert jobs.calls["finalized_among"] == 2


async def test_aclose_stops_the_polling_task(
    jobs: InMemoryJobRepository, clock: FakeClock, queue_job: QueueJob
) -> None:
    waiter = SharedCompletionPoller(jobs, clock, tick_seconds=TICK_SECONDS)
    job = await queue_job()
    waiting = asyncio.create_task(waiter.wait(job.id, clock.now() + timedelta(seconds=2)))
    await clock.advance(TICK_SECONDS)
    await waiter.aclose()
    polls = jobs.calls["finalized_among"]

    await clock.advance(2)

    assert await finished(waiting) is False  # waiters still end at their deadline
    assert jobs.calls["finalized_among"] == polls == 1


HELD_HERE_SECONDS = 4 * TICK_SECONDS


async def test_jobs_held_by_this_process_are_asked_about_only_now_and_then(
    jobs: InMemoryJobRepository, clock: FakeClock, queue_job: QueueJob
) -> None:
    """Our own worker pokes when it finalizes them: no tick needed, only a slow check for
    what another process did (an operator's cancel there)."""
    mine, elsewhere = await queue_job(), await queue_job()
    held_here = {mine.id}
    waiter = SharedCompletionPoller(
        jobs,
        clock,
        tick_seconds=TICK_SECONDS,
        held_here=held_here,
        held_here_seconds=HELD_HERE_SECONDS,
    )
    deadline = clock.now() + timedelta(seconds=48)
    waiting = asyncio.create_task(waiter.wait(mine.id, deadline))
    await clock.advance(HELD_HERE_SECONDS - TICK_SECONDS)
    assert jobs.calls["finalized_among"] == 0
    await clock.advance(TICK_SECONDS)
    assert jobs.calls["finalized_among"] == 1, "the slow check"

    await jobs.finalize_failure(mine.id, FailureReason.CANCELLED, now=clock.now())  # elsewhere
    await clock.advance(HELD_HERE_SECONDS)
    assert await finished(waiting) is True
    assert jobs.calls["finalized_among"] == 2

    other = asyncio.create_task(waiter.wait(elsewhere.id, deadline))  # not held here: ticks
    await clock.advance(3 * TICK_SECONDS)
    assert jobs.calls["finalized_among"] == 5
    other.cancel()
    await asyncio.gather(other, return_exceptions=True)
    await waiter.aclose()


async def test_a_poke_still_asks_at_once_for_a_job_held_here(
    jobs: InMemoryJobRepository, clock: FakeClock, queue_job: QueueJob
) -> None:
    job = await queue_job()
    waiter = SharedCompletionPoller(
        jobs, clock, tick_seconds=TICK_SECONDS, held_here={job.id}, held_here_seconds=60.0
    )
    waiting = asyncio.create_task(waiter.wait(job.id, clock.now() + timedelta(seconds=48)))
    await clock.advance(TICK_SECONDS * 3)
    await jobs.finalize_failure(job.id, FailureReason.PROVIDER_ERROR, now=clock.now())
    waiter.poke()
    await clock.advance(TICK_SECONDS / 10)
    assert await finished(waiting) is True
    assert jobs.calls["finalized_among"] == 1
    await waiter.aclose()


async def test_unchanged_waiters_are_asked_about_with_the_same_tuple(
    poller: SharedCompletionPoller,
    jobs: InMemoryJobRepository,
    clock: FakeClock,
    queue_job: QueueJob,
) -> None:
    """A tick allocates nothing that grows with the waiters while they do not change (the
    repository may then reuse the ids' encoding); a new waiter makes a new tuple."""
    asked: list[object] = []
    answer = jobs.finalized_among

    async def recording(job_ids: Sequence[UUID]) -> list[UUID]:
        asked.append(job_ids)
        return await answer(job_ids)

    jobs.finalized_among = recording  # type: ignore[method-assign]
    first, second = await queue_job(), await queue_job()
    deadline = clock.now() + timedelta(seconds=48)
    tasks = [asyncio.create_task(poller.wait(first.id, deadline))]
    await clock.advance(3 * TICK_SECONDS)
    assert len(asked) == 3 and isinstance(asked[0], tuple)
    assert asked[0] is asked[1] is asked[2]
    tasks.append(asyncio.create_task(poller.wait(second.id, deadline)))
    await clock.advance(TICK_SECONDS)
    assert asked[3] is not asked[2] and set(asked[3]) == {first.id, second.id}  # type: ignore[call-overload]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_per_request_poller_queries_once_per_waiter_per_interval(
    per_request: PerRequestPoller,
    jobs: InMemoryJobRepository,
    clock: FakeClock,
    queue_job: QueueJob,
) -> None:
    queued = await _queue(queue_job, 3)
    deadline = clock.now() + timedelta(seconds=48)
    tasks = [asyncio.create_task(per_request.wait(job.id, deadline)) for job in queued]
    await settle()
    assert jobs.calls["get"] == 3

    await clock.advance(2.0)

    assert jobs.calls["get"] == 9
    assert jobs.calls["finalized_among"] == 0
    await jobs.finalize_failure(queued[0].id, FailureReason.TIMEOUT, now=clock.now())
    await clock.advance(1.0)
    assert await finished(tasks[0]) is True
    assert not tasks[1].done() and not tasks[2].done()
    for task in tasks[1:]:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_per_request_poller_never_sleeps_past_the_deadline(
    per_request: PerRequestPoller, clock: FakeClock, queue_job: QueueJob
) -> None:
    job = await queue_job()
    deadline = clock.now() + timedelta(seconds=2.5)
    waiting = asyncio.create_task(per_request.wait(job.id, deadline))

    await clock.advance(2.4)
    assert not waiting.done()
    await clock.advance(0.1)

    assert await finished(waiting) is False
    assert clock.now() == deadline
