"""The worker entrypoint: lanes that claim jobs from the ``job`` table and process them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import asdict, astuple

from adapters.metrics.prometheus import PrometheusMetrics
from application.claim_job import ClaimAndProcess
from application.purge_artifacts import PurgeArtifacts
from domain.errors import PhotoChangerError
from entrypoints.signals import WorkTokens

log = logging.getLogger(__name__)


class WorkerLanes:
    """``concurrency`` lanes share one idle poll: while the queue is empty the process makes
    one claim query per ``poll_interval`` (not one per lane). A local ingest wakes one lane
    for its one job, so a job costs one claim query, not a claim per lane. Work found by the
    poll (queued by other processes) makes the lane wake another and keep claiming, so a
    backlog fans out over all lanes at once."""

    def __init__(
        self,
        step: ClaimAndProcess,
        tokens: WorkTokens,
        *,
        worker_id: str,
        concurrency: int,
        poll_interval: float,
    ) -> None:
        self._step = step
        self._tokens = tokens
        self._worker_id = worker_id
        self._concurrency = concurrency
        self._poll_interval = poll_interval

    async def run(self) -> None:
        """Run until cancelled; a cancelled lane hands its job back to the queue."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._ticker(), name="worker-ticker")
            for n in range(self._concurrency):
                group.create_task(self._lane(), name=f"worker-lane-{n}")

    async def _ticker(self) -> None:
        while True:
            self._tokens.explore()
            await asyncio.sleep(self._poll_interval)

    async def _lane(self) -> None:
        while True:
            if not await self._tokens.take():
                await self._claim_once()
                continue
            while await self._claim_once(on_claimed=self._tokens.explore):
                pass

    async def _claim_once(self, on_claimed: Callable[[], None] | None = None) -> bool:
        try:
            outcome = await self._step(worker_id=self._worker_id, on_claimed=on_claimed)
            return outcome is not None
        except PhotoChangerError as exc:
            log.warning("worker step failed: %s", exc.message)
        except Exception:
            log.exception("worker step crashed")
        await asyncio.sleep(self._poll_interval)  # back off instead of spinning on a fault
        return False


async def run_purge_loop(
    purge: PurgeArtifacts, interval: float, *, metrics: PrometheusMetrics | None = None
) -> None:
    """Periodic PurgeArtifacts inside the service; a failed round is retried next interval.
    ``metrics`` counts what each round removed, by kind."""
    while True:
        try:
            report = await purge()
            if metrics is not None:
                for kind, removed in asdict(report).items():
                    metrics.purge_removed(kind, removed)
            if any(astuple(report)):
                log.info("purge: %s", report)
        except Exception:
            log.exception("purge round failed")
        await asyncio.sleep(interval)
