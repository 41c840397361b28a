"""GetServiceStatus: what an operator's dashboard says about the service itself — does the
database answer, how many jobs wait and for how long, how much MEDIA_ROOT holds and whether it
still takes photos (issue 9, "service status").

The figures come from the same sources as ``/metrics`` and ``/readyz`` (the job-table count
and the MEDIA_ROOT checks live once, in their adapters); here they are kept for a short while,
so that many open dashboards polling every few seconds cost one query and one disk walk.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from application.ports import Clock
from domain.errors import ServiceUnavailable

T = TypeVar("T")

OK = "ok"


@dataclass(frozen=True, slots=True)
class QueueState:
    pending: int  # waiting for a worker to claim them
    processing: int
    oldest_pending_at: datetime | None  # when the longest-waiting unclaimed job was created


@dataclass(frozen=True, slots=True)
class DiskState:
    free_bytes: int | None  # on the file system holding MEDIA_ROOT; None if it cannot be asked
    condition: str  # "ok", or why MEDIA_ROOT cannot take photos now (full, not writable)


class QueueProbe(Protocol):
    async def queue_state(self) -> QueueState:
        """One read of the shared job queue; raises ``ServiceUnavailable`` when the database
        does not answer (within a short limit: a status page must not hang)."""
        ...


class MediaRootProbe(Protocol):
    async def used_bytes(self) -> int:
        """Bytes of the files under MEDIA_ROOT (a walk of the tree: slow on big trees)."""
        ...

    async def disk_state(self) -> DiskState:
        """Free space and whether a photo could be written now (cheap; never raises)."""
        ...


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    checked_at: datetime
    database: str  # "ok", or what is wrong
    queue: QueueState | None  # None when the database does not answer
    oldest_pending_age_sec: float | None  # how long the head of the queue has waited
    media_used_bytes: int
    media_used_measured_at: datetime
    disk: DiskState


@dataclass(frozen=True, slots=True)
class StatusFreshness:
    """Seconds a reading is reused: the queue and disk checks are cheap, the walk is not."""

    queue_seconds: float = 2.0
    disk_seconds: float = 2.0
    used_bytes_seconds: float = 30.0


class _Kept(Generic[T]):
    """The last value of one source and when it was read; failures are not kept."""

    def __init__(self, max_age_seconds: float) -> None:
        self._max_age = max_age_seconds
        self._value: tuple[T, datetime] | None = None

    async def get(self, now: datetime, load: Callable[[], Awaitable[T]]) -> tuple[T, datetime]:
        if self._value is None or (now - self._value[1]).total_seconds() >= self._max_age:
            self._value = (await load(), now)
        return self._value


class GetServiceStatus:
    """A report, not a probe: a database that does not answer is reported, not raised (the
    console shows it; ``/readyz`` is what a balancer asks)."""

    def __init__(
        self,
        *,
        queue: QueueProbe,
        media_root: MediaRootProbe,
        clock: Clock,
        freshness: StatusFreshness | None = None,
    ) -> None:
        fresh = freshness or StatusFreshness()
        self._queue_probe = queue
        self._media_root = media_root
        self._clock = clock
        self._queue: _Kept[QueueState] = _Kept(fresh.queue_seconds)
        self._disk: _Kept[DiskState] = _Kept(fresh.disk_seconds)
        self._used: _Kept[int] = _Kept(fresh.used_bytes_seconds)

    async def __call__(self) -> ServiceStatus:
        now = self._clock.now()
        queue: QueueState | None
        try:
            queue, _ = await self._queue.get(now, self._queue_probe.queue_state)
            database = OK
        except ServiceUnavailable as exc:
            queue, database = None, exc.message
        disk, _ = await self._disk.get(now, self._media_root.disk_state)
        used, measured_at = await self._used.get(now, self._media_root.used_bytes)
        oldest = queue.oldest_pending_at if queue is not None else None
        return ServiceStatus(
            checked_at=now,
            database=database,
            queue=queue,
            oldest_pending_age_sec=None
            if oldest is None
            else max((now - oldest).total_seconds(), 0.0),
            media_used_bytes=used,
            media_used_measured_at=measured_at,
            disk=disk,
        )
