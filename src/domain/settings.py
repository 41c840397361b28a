"""Application settings kept in ``app_settings`` (SPEC §2), with their allowed ranges."""

from __future__ import annotations

from dataclasses import dataclass

from domain.deadlines import PRODUCT_BOUNDS, TimeoutBounds, ingest_ttl, job_deadline
from domain.deadlines import public_link_ttl as _public_link_ttl
from domain.errors import InvalidConfiguration

SYNC_TIMEOUT_KEY = "ingest.sync_response_timeout_sec"
PASSWORD_HASH_KEY = "ingest.password_hash"  # noqa: S105 - a key name, not a secret
RESULT_RETENTION_KEY = "media.result_retention_sec"

DEFAULT_SYNC_TIMEOUT_SEC = 48.0
DEFAULT_RESULT_RETENTION_SEC = 259_200.0  # 72 h
MIN_RESULT_RETENTION_SEC = 60.0
MAX_RESULT_RETENTION_SEC = 30 * 86_400.0


@dataclass(frozen=True, slots=True)
class AppSettings:
    """The values new jobs are created with; changing them never touches existing jobs."""

    sync_timeout_sec: float = DEFAULT_SYNC_TIMEOUT_SEC
    result_retention_sec: float = DEFAULT_RESULT_RETENTION_SEC

    def validated(self, bounds: TimeoutBounds = PRODUCT_BOUNDS) -> AppSettings:
        """Return self if every value is within range, else raise naming the value."""
        validate_sync_timeout(self.sync_timeout_sec, bounds)
        validate_result_retention(self.result_retention_sec)
        return self

    def public_link_ttl(self, bounds: TimeoutBounds = PRODUCT_BOUNDS) -> float:
        return _public_link_ttl(self.sync_timeout_sec, bounds)

    def ingest_ttl(self, bounds: TimeoutBounds = PRODUCT_BOUNDS) -> float:
        return ingest_ttl(self.sync_timeout_sec, bounds)

    def job_deadline(self, bounds: TimeoutBounds = PRODUCT_BOUNDS) -> float:
        return job_deadline(self.sync_timeout_sec, bounds)


def validate_sync_timeout(value: float, bounds: TimeoutBounds = PRODUCT_BOUNDS) -> float:
    if not bounds.low <= value <= bounds.high:
        raise InvalidConfiguration(
            f"sync timeout must be between {bounds.low:g} and {bounds.high:g} seconds, "
            f"got {value:g}",
            {"field": SYNC_TIMEOUT_KEY, "min": bounds.low, "max": bounds.high},
        )
    return value


def validate_result_retention(value: float) -> float:
    if not MIN_RESULT_RETENTION_SEC <= value <= MAX_RESULT_RETENTION_SEC:
        raise InvalidConfiguration(
            f"result retention must be between {MIN_RESULT_RETENTION_SEC:.0f} and "
            f"{MAX_RESULT_RETENTION_SEC:.0f} seconds (30 days), got {value:g}",
            {"field": RESULT_RETENTION_KEY},
        )
    return value
