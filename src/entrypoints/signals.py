"""In-process hints between the ingest handler, the worker lanes and the completion poller."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable


class WorkTokens:
    """Wakes one idle worker lane per hint (a bounded token queue, so hints never pile up)."""

    def __init__(self, capacity: int) -> None:
        self._tokens: asyncio.Queue[None] = asyncio.Queue(maxsize=capacity)

    def notify(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # enough lanes are already awake
            self._tokens.put_nowait(None)

    async def take(self) -> None:
        await self._tokens.get()


class CallbackSignal:
    """Adapts a plain callback (e.g. the poller's ``poke``) to the ``Signal`` port."""

    def __init__(self, callback: Callable[[], None]) -> None:
        self._callback = callback

    def notify(self) -> None:
        self._callback()
