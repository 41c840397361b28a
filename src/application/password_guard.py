"""Throttle clients that keep sending wrong ingest passwords (SPEC §4: 429 after too many)."""

from __future__ import annotations

import math
from collections import deque
from datetime import timedelta

from application.ports import Clock
from domain.errors import RateLimited


class FailedPasswordGuard:
    """Per-client sliding window of failures, kept in memory (one process's view is enough to
    slow down guessing; it is not an accounting system)."""

    def __init__(
        self, clock: Clock, *, max_failures: int = 10, window_seconds: float = 60.0
    ) -> None:
        self._clock = clock
        self._max = max_failures
        self._window = timedelta(seconds=window_seconds)
        self._failures: dict[str, deque[float]] = {}

    def check(self, client: str) -> None:
        """Raise ``RateLimited`` while ``client`` is over the limit."""
        failures = self._recent(client)
        if len(failures) >= self._max:
            retry_after = failures[0] + self._window.total_seconds() - self._now()
            raise RateLimited(
                "too many failed passwords; try again later", max(1, math.ceil(retry_after))
            )

    def record_failure(self, client: str) -> None:
        self._recent(client).append(self._now())

    def record_success(self, client: str) -> None:
        self._failures.pop(client, None)

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        horizon = self._now() - self._window.total_seconds()
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures and len(self._failures) > 10_000:
            self._failures.clear()  # bound memory under a spray of client addresses
            failures = self._failures.setdefault(client, deque())
        return failures
