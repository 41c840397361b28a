"""``PostgresQueueProbe``: the job queue as the operator's status page shows it, read with the
metrics' own statement (``PostgresJobStats``), so the dashboard and ``/metrics`` count alike."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from adapters.postgres.metrics import PostgresJobStats
from application.service_status import QueueState
from domain.errors import ServiceUnavailable


class PostgresQueueProbe:
    """Implements ``application.service_status.QueueProbe``. The read is bounded by
    ``limit_seconds`` (the pool would otherwise wait its full timeout for a connection)."""

    def __init__(self, job_stats: PostgresJobStats, *, limit_seconds: float = 2.0) -> None:
        self._job_stats = job_stats
        self._limit = limit_seconds

    async def queue_state(self) -> QueueState:
        try:
            async with asyncio.timeout(self._limit):
                stats = await self._job_stats.load()
        except TimeoutError:
            raise ServiceUnavailable(
                f"the database did not answer within {self._limit:g} s"
            ) from None
        return QueueState(
            pending=stats.queue_depth,
            processing=stats.by_state.get("processing", 0),
            oldest_pending_at=stats.oldest_pending_at,
        )


if TYPE_CHECKING:  # mypy proves the adapter satisfies its port
    from application.service_status import QueueProbe

    _port: type[QueueProbe] = PostgresQueueProbe
