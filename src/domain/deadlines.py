"""Deadlines and TTLs of SPEC §3: the one place where these formulas live.

API, worker and cleanup call these functions instead of re-deriving anything. Durations are
seconds (``float`` so tests and demos may use fractions); timestamps are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

SYNC_TIMEOUT_MIN_SEC = 45.0
SYNC_TIMEOUT_MAX_SEC = 60.0
_ONE_MS = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class TimeoutBounds:
    """The clamp range of ``T_public_link_ttl`` and the allowed range of ``T_sync_response``.

    The product range is 45–60 s; only tests and demos narrow it to run in seconds.
    """

    low: float = SYNC_TIMEOUT_MIN_SEC
    high: float = SYNC_TIMEOUT_MAX_SEC

    def __post_init__(self) -> None:
        if not 0 < self.low <= self.high:
            raise ValueError(f"invalid timeout bounds {self.low}..{self.high}")


PRODUCT_BOUNDS = TimeoutBounds()


def public_link_ttl(sync_timeout: float, bounds: TimeoutBounds = PRODUCT_BOUNDS) -> float:
    """``T_public_link_ttl = clamp(T_sync_response, 45, 60)``."""
    return min(max(sync_timeout, bounds.low), bounds.high)


def ingest_ttl(sync_timeout: float, bounds: TimeoutBounds = PRODUCT_BOUNDS) -> float:
    """``T_ingest_ttl = min(T_sync_response, T_public_link_ttl)``: lifetime of payload files."""
    return min(sync_timeout, public_link_ttl(sync_timeout, bounds))


def job_deadline(sync_timeout: float, bounds: TimeoutBounds = PRODUCT_BOUNDS) -> float:
    """``T_job_deadline = max(T_sync_response, T_public_link_ttl)``."""
    return max(sync_timeout, public_link_ttl(sync_timeout, bounds))


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def calculate_job_expires_at(
    created_at: datetime, sync_timeout: float, public_link_ttl: float
) -> datetime:
    """``job.expires_at = created_at + max(T_sync_response, T_public_link_ttl)``; never changes."""
    _require_aware("created_at", created_at)
    return created_at + timedelta(seconds=max(sync_timeout, public_link_ttl))


@dataclass(frozen=True, slots=True)
class DeadlineInfo:
    """Where ``now`` stands relative to a deadline; ``remaining_ms`` may be negative."""

    expires_at: datetime
    remaining_ms: int
    is_expired: bool

    @property
    def remaining_seconds(self) -> float:
        """Remaining time for sleeps and HTTP timeouts; never negative."""
        return max(self.remaining_ms, 0) / 1000.0


def calculate_deadline_info(expires_at: datetime, *, now: datetime) -> DeadlineInfo:
    """``remaining_ms = floor((expires_at - now) * 1000)``, computed exactly (no float rounding)."""
    _require_aware("expires_at", expires_at)
    _require_aware("now", now)
    remaining_ms = (expires_at - now) // _ONE_MS
    return DeadlineInfo(
        expires_at=expires_at, remaining_ms=remaining_ms, is_expired=now >= expires_at
    )


def calculate_artifact_expiry(
    created_at: datetime, job_expires_at: datetime, limit_seconds: float
) -> datetime:
    """Temporary artifacts never outlive their job: ``min(job_expires_at, created_at + limit)``."""
    _require_aware("created_at", created_at)
    _require_aware("job_expires_at", job_expires_at)
    return min(job_expires_at, created_at + timedelta(seconds=limit_seconds))


def calculate_result_expires_at(finalized_at: datetime, result_retention: float) -> datetime:
    """Results are kept ``T_result_retention`` after finalization, independent of the deadline."""
    _require_aware("finalized_at", finalized_at)
    return finalized_at + timedelta(seconds=result_retention)
