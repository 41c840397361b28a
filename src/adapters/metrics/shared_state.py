"""Gauges that describe shared state rather than this process: jobs by state and the queue
(from the database) and the bytes under ``MEDIA_ROOT`` (from the disk).

Prometheus collects synchronously while the sources are async or slow, so the ``/metrics``
handler awaits ``refresh()`` first and ``collect()`` only reads the cached values. Each
source is asked at most once per its time-to-live however often (and however many scrapers at
once) ``/metrics`` is read: the jobs query every few seconds, the disk walk less often.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from prometheus_client.core import GaugeMetricFamily, Metric

from adapters.metrics.media_usage import directory_bytes
from adapters.postgres.metrics import JobStats
from application.ports import Clock
from domain.errors import PhotoChangerError
from domain.job import FailureReason

log = logging.getLogger(__name__)

T = TypeVar("T")

# Always exposed (0 when no job is in them), so a query never meets a missing series.
JOB_STATES: tuple[str, ...] = (
    "pending",
    "processing",
    "succeeded",
    *(reason.value for reason in FailureReason),
)


@dataclass(frozen=True, slots=True)
class CacheTimes:
    """Seconds a value is reused before its source is asked again."""

    jobs_seconds: float = 5.0
    media_seconds: float = 30.0


class _Cached(Generic[T]):
    """One value, reloaded when older than ``ttl``; concurrent refreshes share one load."""

    def __init__(self, ttl: float, monotonic: Callable[[], float]) -> None:
        self._ttl = ttl
        self._monotonic = monotonic
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()
        self.value: T | None = None

    async def refresh(self, load: Callable[[], Awaitable[T]]) -> None:
        async with self._lock:
            now = self._monotonic()
            if self._loaded_at is not None and now - self._loaded_at < self._ttl:
                return
            self._loaded_at = now
            self.value = await load()


class SharedStateGauges:
    """Prometheus collector of ``photochanger_jobs{state}``, ``photochanger_queue_depth``,
    ``photochanger_queue_oldest_pending_seconds`` and ``photochanger_media_root_bytes``.

    When the database cannot be read the job gauges are left out of the scrape (rather than
    repeating old numbers as if they were current) and the other metrics are still served."""

    def __init__(
        self,
        *,
        load_job_stats: Callable[[], Awaitable[JobStats]],
        media_root: Path,
        clock: Clock,
        cache: CacheTimes | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        times = cache or CacheTimes()
        self._load_job_stats = load_job_stats
        self._media_root = media_root
        self._clock = clock
        self._jobs: _Cached[JobStats | None] = _Cached(times.jobs_seconds, monotonic)
        self._media: _Cached[int] = _Cached(times.media_seconds, monotonic)

    async def refresh(self) -> None:
        """Reload whatever is older than its time-to-live."""
        await self._jobs.refresh(self._job_stats_or_none)
        await self._media.refresh(self._media_bytes)

    async def _job_stats_or_none(self) -> JobStats | None:
        try:
            return await self._load_job_stats()
        except PhotoChangerError as exc:
            log.warning("metrics: job counts unavailable: %s", exc.message)
            return None

    async def _media_bytes(self) -> int:
        return await asyncio.to_thread(directory_bytes, self._media_root)

    def describe(self) -> Iterator[Metric]:
        """The families' names, so the registry can refuse a clash at registration."""
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        jobs, queue, oldest, media = self._families()
        stats = self._jobs.value
        if stats is not None:
            for state in sorted({*JOB_STATES, *stats.by_state}):
                jobs.add_metric([state], stats.by_state.get(state, 0))
            queue.add_metric([], stats.queue_depth)
            age = 0.0
            if stats.oldest_pending_at is not None:
                age = (self._clock.now() - stats.oldest_pending_at).total_seconds()
            oldest.add_metric([], max(age, 0.0))
            yield from (jobs, queue, oldest)
        if self._media.value is not None:
            media.add_metric([], self._media.value)
            yield media

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily(
                "photochanger_jobs",
                "Jobs in the database by state: pending, processing, succeeded or the failure "
                "reason (the same in every process; cached a few seconds).",
                labels=["state"],
            ),
            GaugeMetricFamily(
                "photochanger_queue_depth", "Unfinished jobs waiting for a worker to claim them."
            ),
            GaugeMetricFamily(
                "photochanger_queue_oldest_pending_seconds",
                "Age of the oldest job waiting for a worker (0 when none waits).",
            ),
            GaugeMetricFamily(
                "photochanger_media_root_bytes",
                "Bytes of the files under MEDIA_ROOT (cached, so the folders are not walked on "
                "every scrape).",
            ),
        )
