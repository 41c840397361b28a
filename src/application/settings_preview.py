"""PreviewDeadlines: the TTLs new jobs would get from a sync timeout the operator is still
typing, before anything is saved (SPEC §3; the settings page shows them live)."""

from __future__ import annotations

from dataclasses import dataclass

from domain.deadlines import TimeoutBounds
from domain.settings import AppSettings, validate_sync_timeout


@dataclass(frozen=True, slots=True)
class DeadlinePreview:
    sync_timeout_sec: float
    public_link_ttl_sec: float
    ingest_ttl_sec: float
    job_deadline_sec: float


class PreviewDeadlines:
    """Read-only. A value ``UpdateSettings`` would refuse is refused here by the same domain
    rule (``validate_sync_timeout``), and the TTLs come from the same domain functions that
    ``GetSettings``, ingest and the worker use."""

    def __init__(self, *, bounds: TimeoutBounds) -> None:
        self._bounds = bounds

    async def __call__(self, sync_timeout_sec: float) -> DeadlinePreview:
        validate_sync_timeout(sync_timeout_sec, self._bounds)
        app = AppSettings(sync_timeout_sec=sync_timeout_sec)
        return DeadlinePreview(
            sync_timeout_sec=sync_timeout_sec,
            public_link_ttl_sec=app.public_link_ttl(self._bounds),
            ingest_ttl_sec=app.ingest_ttl(self._bounds),
            job_deadline_sec=app.job_deadline(self._bounds),
        )
