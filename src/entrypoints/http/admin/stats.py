"""``/api/stats``: the last hour, day or week per slot, per provider and per time bucket."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from application.query_ports import Tally
from application.slot_stats import GetStats, StatsWindow
from entrypoints.http.admin.guards import any_operator
from entrypoints.http.admin.resources_schemas import BucketOut, StatsOut, TallyOut
from entrypoints.http.admin.responses import error_responses


def _tally_out(tally: Tally, out: type[TallyOut] = TallyOut, **extra: Any) -> Any:
    outcomes = tally.outcomes
    return out(
        ingests=tally.ingests,
        succeeded=outcomes.succeeded,
        timeout=outcomes.timeout,
        provider_error=outcomes.provider_error,
        cancelled=outcomes.cancelled,
        storage_error=outcomes.storage_error,
        p50_ms=tally.p50_ms,
        p95_ms=tally.p95_ms,
        no_image_answers=tally.no_image_answers,
        no_image_jobs=tally.no_image_jobs,
        **extra,
    )


class StatsController(Controller):
    path = "/api/stats"
    tags = ["stats"]

    @get(
        "/",
        guards=[any_operator],
        summary="Ingests and outcomes per slot, provider and time bucket, with p50/p95",
        description=(
            "Jobs created in the window (test runs left out). `ingests` counts every job, "
            "finished or not; p50/p95 are the exact percentiles of processing time (created → "
            "finalized, ms) of succeeded jobs. Buckets: 5 min (1h), 1 h (24h), 6 h (7d). "
            "`no_image_answers` counts the provider's answers without an image (Gemini "
            "NO_IMAGE, each retried attempt too), `no_image_jobs` the jobs that had one. "
            "Refusals at ingest (no job) are not here: see the Prometheus metrics at /metrics."
        ),
        responses=error_responses(400, 401),
    )
    async def stats(
        self,
        get_stats: NamedDependency[GetStats],
        window: FromQuery[Literal["1h", "24h", "7d"]] = "24h",
    ) -> StatsOut:
        report = await get_stats(StatsWindow(window))
        return StatsOut(
            window=window,
            since=report.since,
            until=report.until,
            bucket_seconds=report.bucket_seconds,
            total=_tally_out(report.total),
            slots={k: _tally_out(v) for k, v in report.by_slot.items()},
            providers={k: _tally_out(v) for k, v in report.by_provider.items()},
            series=[_tally_out(t, BucketOut, start=start) for start, t in report.series],
        )
