"""In-process hints between the ingest handler, the worker lanes and the completion poller."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable


class WorkTokens:
    """Wakes one idle worker lane per hint (a bounded token queue, so hints never pile up).

    A token is either *exact* (a local ingest added one job: claim once) or *exploring*
    (the idle poll, or a lane that just found work nobody announced: there may be more, so
    keep claiming and wake another lane)."""

    def __init__(self, capacity: int) -> None:
        self._tokens: asyncio.Queue[bool] = asyncio.Queue(maxsize=capacity)

    def notify(self) -> None:
        """The ``Signal`` port: a local ingest added exactly one job."""
        self._put(explore=False)

    def explore(self) -> None:
        """Work of unknown amount may be waiting (jobs queued by other processes)."""
        if self._tokens.empty():
            self._put(explore=True)

    async def take(self) -> bool:
        """Wait for a token; True if it is an exploring one."""
        return await self._tokens.get()

    def _put(self, *, explore: bool) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # enough lanes are already awake
            self._tokens.put_nowait(explore)


class CallbackSignal:
    """Adapts a plain callback (e.g. the poller's ``poke``) to the ``Signal`` port."""

    def __init__(self, callback: Callable[[], None]) -> None:
        self._callback = callback

    def notify(self) -> None:
        self._callback()
