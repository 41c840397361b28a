"""GetServiceStatus: the dashboard's report on the database, the queue and MEDIA_ROOT."""

from __future__ import annotations

from datetime import timedelta

from fakes import START, FakeClock

from application.service_status import (
    DiskState,
    GetServiceStatus,
    QueueState,
    StatusFreshness,
)
from domain.errors import ServiceUnavailable


class FakeQueue:
    def __init__(self, state: QueueState) -> None:
        self.state = state
        self.reads = 0
        self.down = False

    async def queue_state(self) -> QueueState:
        self.reads += 1
        if self.down:
            raise ServiceUnavailable("database unavailable")
        return self.state


class FakeMediaRoot:
    def __init__(self) -> None:
        self.used = 1234
        self.disk = DiskState(free_bytes=10**9, condition="ok")
        self.walks = 0
        self.checks = 0

    async def used_bytes(self) -> int:
        self.walks += 1
        return self.used

    async def disk_state(self) -> DiskState:
        self.checks += 1
        return self.disk


def status_of(queue: FakeQueue, media: FakeMediaRoot, clock: FakeClock) -> GetServiceStatus:
    return GetServiceStatus(
        queue=queue,
        media_root=media,
        clock=clock,
        freshness=StatusFreshness(queue_seconds=2, disk_seconds=2, used_bytes_seconds=30),
    )


async def test_the_queue_head_age_is_counted_from_now() -> None:
    clock = FakeClock()
    queue = FakeQueue(QueueState(pending=3, processing=2, oldest_pending_at=START))
    get_status = status_of(queue, FakeMediaRoot(), clock)
    await clock.advance(7.5)

    status = await get_status()

    assert status.database == "ok"
    assert status.queue == QueueState(pending=3, processing=2, oldest_pending_at=START)
    assert status.oldest_pending_age_sec == 7.5
    assert status.checked_at == START + timedelta(seconds=7.5)
    assert (status.media_used_bytes, status.disk.free_bytes, status.disk.condition) == (
        1234,
        10**9,
        "ok",
    )


async def test_an_empty_queue_has_no_age() -> None:
    queue = FakeQueue(QueueState(pending=0, processing=0, oldest_pending_at=None))
    status = await status_of(queue, FakeMediaRoot(), FakeClock())()
    assert status.oldest_pending_age_sec is None


async def test_readings_are_reused_while_fresh_and_the_walk_longer() -> None:
    clock = FakeClock()
    queue = FakeQueue(QueueState(pending=1, processing=0, oldest_pending_at=START))
    media = FakeMediaRoot()
    get_status = status_of(queue, media, clock)

    await get_status()
    await clock.advance(1.9)
    again = await get_status()
    assert (queue.reads, media.checks, media.walks) == (1, 1, 1)
    assert again.oldest_pending_age_sec == 1.9  # the age still moves on

    media.used = 99
    await clock.advance(0.1)
    later = await get_status()
    assert (queue.reads, media.checks, media.walks) == (2, 2, 1)
    assert later.media_used_bytes == 1234 and later.media_used_measured_at == START

    await clock.advance(28)
    walked = await get_status()
    assert media.walks == 2
    assert walked.media_used_bytes == 99
    assert walked.media_used_measured_at == START + timedelta(seconds=30)


async def test_a_database_that_does_not_answer_is_reported_and_asked_again() -> None:
    clock = FakeClock()
    queue = FakeQueue(QueueState(pending=0, processing=0, oldest_pending_at=None))
    queue.down = True
    get_status = status_of(queue, FakeMediaRoot(), clock)

    status = await get_status()

    assert status.database == "database unavailable"
    assert status.queue is None and status.oldest_pending_age_sec is None
    assert status.disk.condition == "ok"  # the rest is still reported
    queue.down = False
    recovered = await get_status()  # a failure is not kept: the next call asks again
    assert recovered.database == "ok" and queue.reads == 2


async def test_a_full_media_root_is_reported_as_its_check_words_it() -> None:
    media = FakeMediaRoot()
    media.disk = DiskState(free_bytes=5, condition="free space 0.0 MiB below 100.0 MiB")
    queue = FakeQueue(QueueState(pending=0, processing=0, oldest_pending_at=None))
    status = await status_of(queue, media, FakeClock())()
    assert status.disk == media.disk
