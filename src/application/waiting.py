"""How an ingest request waits for its job: by reading the job row, never a side channel.

``SharedCompletionPoller`` (the default) serves every waiting request of the process with ONE
query per tick (``finalized_among``), so database load does not grow with the number of
waiting requests, and a finished job is noticed within one tick instead of up to a second.
Jobs this process's own worker holds need no tick: that worker pokes the poller when it
finalizes them, so while every waiter's job is held here the query runs only once per
``held_here_seconds``, to catch what another process did (an operator's cancel).
``PerRequestPoller`` is the seed design (each request reads its own row once per second),
kept as the benchmark's baseline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Set
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from application.ports import Clock, JobRepository
from domain.deadlines import calculate_deadline_info

log = logging.getLogger(__name__)


class CompletionWaiter(Protocol):
    async def wait(self, job_id: UUID, deadline: datetime) -> bool:
        """Return True once the job is finalized, False when ``deadline`` comes first.

        Never returns later than the deadline plus scheduling jitter, whatever the tick.
        """
        ...

    def poke(self) -> None:
        """Hint that some job was just finalized: look now rather than at the next tick."""
        ...

    async def aclose(self) -> None: ...


async def wait_until_deadline(clock: Clock, event: asyncio.Event, deadline: datetime) -> bool:
    """Wait for ``event`` but never give up before ``deadline`` by the clock: timers may fire
    a fraction of a millisecond early and ``remaining_ms`` is floored, so re-check and wait
    out any remainder (a 504 must never come early)."""
    while True:
        info = calculate_deadline_info(deadline, now=clock.now())
        if info.is_expired:
            return event.is_set()
        if await clock.wait_for_event(event, max(info.remaining_seconds, 0.001)):
            return True


class SharedCompletionPoller:
    """One polling task per process, waking waiters whose job the database reports finalized.

    ``held_here`` is the set of jobs this process's worker holds (``LeaseKeeper.held_ids``);
    empty where no worker runs, and then every tick asks."""

    def __init__(
        self,
        jobs: JobRepository,
        clock: Clock,
        *,
        tick_seconds: float = 0.05,
        held_here: Set[UUID] = frozenset(),
        held_here_seconds: float = 1.0,
    ) -> None:
        self._jobs = jobs
        self._clock = clock
        self._tick = tick_seconds
        self._tick_delta = timedelta(seconds=tick_seconds)
        self._held_here = held_here
        self._held_here_every = timedelta(seconds=held_here_seconds)
        self._waiters: dict[UUID, asyncio.Event] = {}
        self._asking: tuple[UUID, ...] = ()  # the waiting ids, rebuilt only when they change
        self._asking_stale = False
        self._asked_at = clock.now()
        self._next_tick = self._asked_at
        self._poked = False
        self._stir = asyncio.Event()  # a poke, or a new waiter: the loop re-plans its sleep
        self._task: asyncio.Task[None] | None = None

    async def wait(self, job_id: UUID, deadline: datetime) -> bool:
        if not self._waiters:
            # The first waiter's job was just created: nothing finalized it elsewhere before
            # now, so the slow check for jobs held here counts from its arrival, and the
            # first tick comes one tick after it.
            self._asked_at = self._clock.now()
            self._next_tick = self._asked_at + self._tick_delta
        event = self._waiters.setdefault(job_id, asyncio.Event())
        self._asking_stale = True
        self._ensure_running()
        try:
            return await wait_until_deadline(self._clock, event, deadline)
        finally:
            self._waiters.pop(job_id, None)
            self._asking_stale = True

    def poke(self) -> None:
        self._poked = True
        self._stir.set()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="completion-poller")
        self._stir.set()

    async def _run(self) -> None:
        """Idle (no queries, no timer) while nobody waits; else one query per tick, or sooner
        when poked. Pokes that arrive together (a burst of finalizations) share one query:
        after a poke the poller waits a tenth of a tick before asking. While every waiter's
        job is held here the loop sleeps until ``held_here_seconds`` after the last query
        (or a poke, or a new waiter) instead of waking every tick: a parked request costs no
        CPU."""
        while True:
            if not self._waiters:
                self._stir.clear()
                self._poked = False  # nobody to tell
                await self._stir.wait()
                continue
            woken = self._poked or await self._clock.wait_for_event(self._stir, self._pause())
            self._stir.clear()
            if self._poked:
                await self._clock.sleep(self._tick / 10)
                self._poked = False
                self._stir.clear()  # pokes during the pause are answered by this query
                if self._waiters:
                    await self._poll_once()
            elif not woken and self._clock.now() >= self._next_tick:
                self._next_tick = self._clock.now() + self._tick_delta
                if self._waiters and self._must_ask():
                    await self._poll_once()

    def _pause(self) -> float:
        """Seconds until the next tick that may have to ask: the next tick while some waiter's
        job is not held here, else the first tick once the slow check falls due."""
        due = self._next_tick
        if self._waiters.keys() <= self._held_here:  # set comparison in C, no copy
            slow = self._asked_at + self._held_here_every
            if due < slow:  # stay on the tick grid
                due += self._tick_delta * math.ceil((slow - due) / self._tick_delta)
        return max((due - self._clock.now()).total_seconds(), 0.0)

    def _must_ask(self) -> bool:
        if not self._waiters.keys() <= self._held_here:
            return True
        return self._clock.now() - self._asked_at >= self._held_here_every

    async def _poll_once(self) -> None:
        if self._asking_stale:
            self._asking, self._asking_stale = tuple(self._waiters), False
        self._asked_at = self._clock.now()
        self._next_tick = self._asked_at + self._tick_delta
        try:
            finished = await self._jobs.finalized_among(self._asking)
        except Exception:  # keep polling; waiters still end at their deadline
            log.warning("completion poll failed; retrying next tick", exc_info=True)
            return
        for job_id in finished:
            event = self._waiters.get(job_id)
            if event is not None:
                event.set()


class PerRequestPoller:
    """Seed design: every waiting request reads its own row every ``interval`` seconds."""

    def __init__(self, jobs: JobRepository, clock: Clock, *, interval_seconds: float = 1.0):
        self._jobs = jobs
        self._clock = clock
        self._interval = interval_seconds

    async def wait(self, job_id: UUID, deadline: datetime) -> bool:
        while True:
            job = await self._jobs.get(job_id)
            if job is not None and job.is_finalized:
                return True
            info = calculate_deadline_info(deadline, now=self._clock.now())
            if info.is_expired:
                return False
            await self._clock.sleep(min(self._interval, max(info.remaining_seconds, 0.001)))

    def poke(self) -> None:
        """The seed design has nothing to wake."""

    async def aclose(self) -> None:
        """Nothing to stop."""
