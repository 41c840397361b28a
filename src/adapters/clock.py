"""The real ``Clock``: wall time in UTC and ``asyncio.sleep``; tests inject their own."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime


class SystemClock:
    """``Clock`` backed by the system clock and the running event loop."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))
