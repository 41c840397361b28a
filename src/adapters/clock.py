"""The real ``Clock``: wall time in UTC and the event loop's timers; tests inject their own."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime


class SystemClock:
    """``Clock`` backed by the system clock and the running event loop."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))

    async def wait_for_event(self, event: asyncio.Event, seconds: float) -> bool:
        """Wake early when ``event`` is set; otherwise give up after ``seconds``."""
        if event.is_set():
            return True
        try:
            async with asyncio.timeout(max(seconds, 0.0)):
                await event.wait()
        except TimeoutError:
            return event.is_set()
        return True
