"""ProcessJob keeps on the job how many answers without an image its provider gave."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from uuid import UUID

import pytest
from fakes import (
    FakeProvider,
    InMemoryJobRepository,
    QueueAndClaim,
    finished,
)

from application.ports import ProviderInput
from application.process_job import Outcome, ProcessJob
from domain.errors import ProviderFailed, ServiceUnavailable


class RecordingNoImageLog:
    """Records each addition and whether the job was already final when it came."""

    def __init__(self, jobs: InMemoryJobRepository) -> None:
        self.jobs = jobs
        self.added: list[tuple[UUID, int, bool]] = []
        self.broken = False

    async def add(self, job_id: UUID, answers: int) -> None:
        if self.broken:
            raise ServiceUnavailable("database unavailable")
        job = await self.jobs.get(job_id)
        assert job is not None
        self.added.append((job_id, answers, job.is_finalized))


@pytest.fixture
def no_image_log(jobs: InMemoryJobRepository) -> RecordingNoImageLog:
    return RecordingNoImageLog(jobs)


@pytest.fixture
def counting_process_job(
    build_process_job: Callable[..., ProcessJob], no_image_log: RecordingNoImageLog
) -> ProcessJob:
    return build_process_job(no_images=no_image_log)


def answers_without_image(count: int) -> Callable[[ProviderInput], Awaitable[None]]:
    async def before_answer(request: ProviderInput) -> None:
        for _ in range(count):
            request.no_image_seen()

    return before_answer


async def test_the_count_is_kept_before_the_job_is_finalized(
    counting_process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    no_image_log: RecordingNoImageLog,
    jobs: InMemoryJobRepository,
) -> None:
    provider.before_answer = answers_without_image(2)
    job = await queued_and_claimed("slot-004")

    outcome = await finished(asyncio.create_task(counting_process_job(job, worker_id="w")))

    assert outcome is Outcome.SUCCEEDED
    assert no_image_log.added == [(job.id, 2, False)]
    stored = await jobs.get(job.id)
    assert stored is not None and stored.is_finalized


async def test_a_failed_call_still_keeps_its_count(
    counting_process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    no_image_log: RecordingNoImageLog,
) -> None:
    provider.before_answer = answers_without_image(3)
    provider.error = ProviderFailed("Gemini returned no image 3 times")
    job = await queued_and_claimed()

    outcome = await finished(asyncio.create_task(counting_process_job(job, worker_id="w")))

    assert outcome is Outcome.PROVIDER_ERROR
    assert no_image_log.added == [(job.id, 3, False)]


async def test_nothing_is_written_for_a_call_without_such_answers(
    counting_process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    no_image_log: RecordingNoImageLog,
) -> None:
    job = await queued_and_claimed()
    outcome = await finished(asyncio.create_task(counting_process_job(job, worker_id="w")))
    assert outcome is Outcome.SUCCEEDED
    assert no_image_log.added == []


async def test_a_count_that_cannot_be_kept_does_not_fail_the_job(
    counting_process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    no_image_log: RecordingNoImageLog,
) -> None:
    provider.before_answer = answers_without_image(1)
    no_image_log.broken = True
    job = await queued_and_claimed()
    outcome = await finished(asyncio.create_task(counting_process_job(job, worker_id="w")))
    assert outcome is Outcome.SUCCEEDED
