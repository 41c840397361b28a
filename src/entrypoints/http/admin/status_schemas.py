"""msgspec shapes of ``/api/status`` and ``/api/settings/preview``."""

from __future__ import annotations

from datetime import datetime

import msgspec


class QueueOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pending: int  # jobs waiting for a worker
    processing: int
    oldest_pending_age_sec: float | None  # how long the head of the queue has waited


class MediaRootOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    state: str  # "ok", or why MEDIA_ROOT cannot take photos now
    used_bytes: int  # files under MEDIA_ROOT
    used_measured_at: datetime  # the walk is repeated at most every 30 s
    free_bytes: int | None  # on its file system; null when it cannot be asked


class StatusOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    checked_at: datetime
    database: str  # "ok", or what is wrong
    queue: QueueOut | None  # null while the database does not answer
    media_root: MediaRootOut


class DeadlinePreviewOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    sync_timeout_sec: float
    public_link_ttl_sec: float
    ingest_ttl_sec: float
    job_deadline_sec: float
