"""When a provider's ``429``/``503`` is asked again, and after how long (pure functions).

Shared by the adapters so that every provider backs off the same way: the longer of what the
server asks for (``Retry-After``, ``retry-after-ms``, Google's ``RetryInfo.retryDelay``) and an
exponential backoff, and only while the wait still leaves the call time before the job's
deadline. Otherwise the job fails at once, so the booth hears ``502`` now instead of ``504``
at the deadline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from domain.errors import ProviderFailed

# "Too many requests" and "unavailable": the server says it did not take the request, and the
# same request later may well succeed.
RETRYABLE_STATUSES = frozenset({429, 503})
# What any server may ask for is capped: a day is already far beyond any job's deadline.
_LONGEST_WAIT = 86_400.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many attempts a call gets, how the pause between them grows, and how much time a
    retried call must still have before the deadline to be worth sending."""

    max_attempts: int = 5
    base_seconds: float = 0.5
    max_seconds: float = 8.0
    min_call_seconds: float = 0.5

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_seconds < 0 or self.max_seconds < self.base_seconds:
            raise ValueError("backoff must satisfy 0 <= base_seconds <= max_seconds")

    def pause(self, attempt: int, retry_after: float | None) -> float:
        """The pause after failed attempt ``attempt`` (1-based)."""
        return backoff_seconds(attempt, retry_after, base=self.base_seconds, cap=self.max_seconds)

    def leaves_time(self, pause: float, seconds_left: float) -> bool:
        """Whether a call started after ``pause`` still has ``min_call_seconds`` to run."""
        return pause + self.min_call_seconds < seconds_left

    def pause_or_fail(
        self,
        attempt: int,
        retry_after: float | None,
        *,
        seconds_left: float,
        message: str,
        details: Mapping[str, Any],
        retryable: bool = True,
    ) -> float:
        """The pause before asking again after failed attempt ``attempt`` (1-based), whose
        failure says ``message``. ``ProviderFailed`` instead when asking again cannot help,
        the attempts are used up, or the wait would leave the call no time before the
        deadline."""
        if not retryable or attempt >= self.max_attempts:
            suffix = f" (after {attempt} attempts)" if attempt > 1 else ""
            raise ProviderFailed(message + suffix, details)
        pause = self.pause(attempt, retry_after)
        if not self.leaves_time(pause, seconds_left):
            raise ProviderFailed(
                f"{message}; the job has no time left to wait {pause:.1f} s and try again",
                details,
            )
        return pause


def retry_after_seconds(headers: Mapping[str, str], *, now: datetime) -> float | None:
    """How long the server asks us to wait: ``retry-after-ms`` (OpenAI's own), else
    ``Retry-After`` in seconds or as an HTTP date; ``None`` when absent or unreadable."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            value = float(millis)
        except ValueError:
            value = float("nan")
        if value == value and value >= 0:  # not NaN
            return min(value / 1000, _LONGEST_WAIT)
    header = headers.get("retry-after")
    if header is None:
        return None
    header = header.strip()
    try:
        seconds = float(header)
    except ValueError:
        try:
            when = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - now).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), _LONGEST_WAIT)


def duration_seconds(value: object) -> float | None:
    """A protobuf JSON ``Duration`` such as ``"37s"`` or ``"0.5s"`` (Google's
    ``RetryInfo.retryDelay``); ``None`` when it is not one."""
    if not isinstance(value, str) or not value.endswith("s"):
        return None
    try:
        seconds = float(value[:-1])
    except ValueError:
        return None
    if seconds != seconds or seconds < 0:  # NaN or negative
        return None
    return min(seconds, _LONGEST_WAIT)


def backoff_seconds(attempt: int, retry_after: float | None, *, base: float, cap: float) -> float:
    """The pause after failed attempt ``attempt`` (1-based): exponential from ``base`` up to
    ``cap``, and never shorter than what the server asked for."""
    exponential = min(cap, base * 2.0 ** min(max(attempt - 1, 0), 30))
    return max(exponential, retry_after or 0.0)
