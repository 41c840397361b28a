"""``Signal``: a notification tests can count and await."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class CountingSignal:
    """``Signal`` that counts notifications, sets an event tests can await, and optionally
    forwards (e.g. ``job_finalized`` → ``poller.poke``)."""

    def __init__(self, forward: Callable[[], None] | None = None) -> None:
        self.count = 0
        self.event = asyncio.Event()
        self._forward = forward

    def notify(self) -> None:
        self.count += 1
        self.event.set()
        if self._forward is not None:
            self._forward()
