"""Virtual time (``FakeClock``) and letting the event loop settle: nothing here waits on
real time; timers fire only when a test advances the clock."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import UTC, datetime, timedelta
from typing import TypeVar

START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)

_T = TypeVar("_T")


async def settle(max_rounds: int = 1000) -> None:
    """Yield to the event loop until no other task is ready to run (ordering, not time).

    Reads the loop's ready queue (CPython's ``_ready``) to stop as soon as everything that
    can run has run; without it, a fixed number of rounds.
    """
    loop = asyncio.get_running_loop()
    ready = getattr(loop, "_ready", None)
    if ready is None:
        for _ in range(100):
            await asyncio.sleep(0)
        return
    for _ in range(max_rounds):
        await asyncio.sleep(0)
        if not ready:
            return


async def finished(task: asyncio.Task[_T]) -> _T:
    """The task's result once everything runnable has run; fails fast instead of hanging
    when the task still waits (typically on virtual time nobody advanced)."""
    await settle()
    assert task.done(), "the task is still waiting"
    return task.result()


async def round_trip() -> None:
    """A real adapter suspends on every database round trip; so do the fakes."""
    await asyncio.sleep(0)


class FakeClock:
    """``Clock`` on virtual time: sleepers and timed waits wake only when a test advances it."""

    def __init__(self, start: datetime = START) -> None:
        self._now = start
        self._timers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        timer = self._timer(seconds)
        try:
            await timer
        finally:
            timer.cancel()  # no-op once fired; a cancelled sleeper's timer is skipped

    async def wait_for_event(self, event: asyncio.Event, seconds: float) -> bool:
        if event.is_set():
            return True
        if seconds <= 0:
            await asyncio.sleep(0)
            return event.is_set()
        timer = self._timer(seconds)
        waiter = asyncio.ensure_future(event.wait())
        try:
            await asyncio.wait((timer, waiter), return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            waiter.cancel()
        return event.is_set()

    @property
    def pending_timers(self) -> int:
        """How many sleeps/timed waits are parked on virtual time right now."""
        return sum(1 for *_, timer in self._timers if not timer.done())

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, firing due timers in order; after each, every
        woken task runs (and may park on a new timer) before time moves on."""
        await self.advance_to(self._now + timedelta(seconds=seconds))

    async def advance_to(self, target: datetime) -> None:
        await settle()
        while self._timers and self._timers[0][0] <= target:
            when, _, timer = heapq.heappop(self._timers)
            if timer.done():
                continue
            self._now = max(self._now, when)
            timer.set_result(None)
            await settle()
        self._now = max(self._now, target)
        await settle()

    def _timer(self, seconds: float) -> asyncio.Future[None]:
        timer: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        when = self._now + timedelta(seconds=seconds)
        heapq.heappush(self._timers, (when, next(self._order), timer))
        return timer
