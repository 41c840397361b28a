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
        self._held_here = held_here
        self._held_here_every = timedelta(seconds=held_here_seconds)
        self._waiters: dict[UUID, asyncio.Event] = {}
        self._asking: tuple[UUID, ...] = ()  # the waiting ids, rebuilt only when they change
        self._asking_stale = False
        self._asked_at = clock.now()
        self._poke = asyncio.Event()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def wait(self, job_id: UUID, deadline: datetime) -> bool:
        event = self._waiters.setdefault(job_id, asyncio.Event())
        self._asking_stale = True
        self._ensure_running()
        try:
            return await wait_until_deadline(self._clock, event, deadline)
        finally:
            self._waiters.pop(job_id, None)
            self._asking_stale = True

    def poke(self) -> None:
        self._poke.set()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="completion-poller")
        self._wakeup.set()

    async def _run(self) -> None:
        """Idle (no queries) while nobody waits; else one query per tick, or sooner when
        poked. Pokes that arrive together (a burst of finalizations) share one query: after
        a poke the poller waits a tenth of a tick before asking. A tick at which every
        waiter's job is held here asks only if ``held_here_seconds`` passed since the last
        query."""
        while True:
            if not self._waiters:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            poked = await self._clock.wait_for_event(self._poke, self._tick)
            if poked:
                await self._clock.sleep(self._tick / 10)
            self._poke.clear()
            if self._waiters and (poked or self._must_ask()):
                await self._poll_once()

    def _must_ask(self) -> bool:
        if not self._waiters.keys() <= self._held_here:  # set comparison in C, no copy
            return True
        return self._clock.now() - self._asked_at >= self._held_here_every

    async def _poll_once(self) -> None:
        if self._asking_stale:
            self._asking, self._asking_stale = tuple(self._waiters), False
        self._asked_at = self._clock.now()
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
