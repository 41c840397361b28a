"""PrometheusMetrics: the exposition operators scrape, parsed back as Prometheus would."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from fakes import START, FakeClock
from prometheus_client.parser import text_string_to_metric_families

from adapters.metrics.prometheus import PrometheusMetrics
from adapters.metrics.shared_state import CacheTimes, SharedStateGauges
from adapters.postgres.metrics import JobStats
from application.declared_hash import HashCheck
from application.ports import InputImage, ProviderInput
from domain.errors import ServiceUnavailable

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(metrics: PrometheusMetrics) -> Samples:
    body, content_type = await metrics.exposition()
    assert content_type.startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def names(samples: Samples) -> set[str]:
    return {name for name, _ in samples}


async def test_ingests_are_counted_by_slot_and_status_and_timed() -> None:
    metrics = PrometheusMetrics()
    metrics.ingest_request("slot-001", 200, 1.5)
    metrics.ingest_request("slot-001", 200, 2.5)
    metrics.ingest_request("slot-015", 504, 48.0)

    samples = await scrape(metrics)

    total = "photochanger_ingest_requests_total"
    assert value(samples, total, slot="slot-001", code="200") == 2
    assert value(samples, total, slot="slot-015", code="504") == 1
    histogram = "photochanger_ingest_duration_seconds"
    assert value(samples, f"{histogram}_count") == 3
    assert value(samples, f"{histogram}_sum") == 52.0
    assert value(samples, f"{histogram}_bucket", le="2.0") == 1
    assert value(samples, f"{histogram}_bucket", le="45.0") == 2
    assert value(samples, f"{histogram}_bucket", le="50.0") == 3


@pytest.mark.parametrize(
    "slot_id", ["slot-016", "slot-000", "SLOT-001", "slot-001\x00", "../../etc", "x" * 5000, None]
)
async def test_any_path_that_is_not_one_of_the_15_slots_is_other(slot_id: str | None) -> None:
    metrics = PrometheusMetrics()
    metrics.ingest_request(slot_id, 404, 0.01)

    samples = await scrape(metrics)

    counted = {
        dict(labels)["slot"] for name, labels in samples if name.startswith("photochanger_ingest_r")
    }
    assert counted == {"other"}


async def test_provider_calls_by_outcome_and_their_durations() -> None:
    metrics = PrometheusMetrics()
    metrics.provider_call("gemini", "ok", 3.0, slot_id="slot-005")
    metrics.provider_call("gemini", "no_image", slot_id="slot-005")
    metrics.provider_call("gemini", "timeout", 48.0, slot_id="slot-005")
    metrics.provider_call("turbotext", "cancelled", 4.0, slot_id="bogus")
    metrics.provider_call("made-up", "error", 0.5)

    samples = await scrape(metrics)

    calls = "photochanger_provider_calls_total"
    assert value(samples, calls, provider="gemini", slot="slot-005", outcome="ok") == 1
    assert value(samples, calls, provider="gemini", slot="slot-005", outcome="no_image") == 1
    assert value(samples, calls, provider="gemini", slot="slot-005", outcome="timeout") == 1
    assert value(samples, calls, provider="turbotext", slot="other", outcome="cancelled") == 1
    assert value(samples, calls, provider="other", slot="other", outcome="error") == 1
    seconds = "photochanger_provider_call_duration_seconds"
    # The no_image attempt is counted but not timed: the call it belongs to is timed once.
    assert value(samples, f"{seconds}_count", provider="gemini") == 2
    assert value(samples, f"{seconds}_sum", provider="gemini") == 51.0


async def test_the_no_image_reporter_counts_for_the_requests_slot() -> None:
    metrics = PrometheusMetrics()
    report = metrics.no_image_reporter("gemini")
    request = ProviderInput(
        job_id=uuid4(),
        operation="image_edit",
        settings={},
        photo=InputImage(mime="image/jpeg"),
        templates={},
        deadline=START,
        slot_id="slot-007",
    )
    report(request)
    report(request)

    samples = await scrape(metrics)

    calls = "photochanger_provider_calls_total"
    assert value(samples, calls, provider="gemini", slot="slot-007", outcome="no_image") == 2


async def test_purge_removals_and_hash_problems() -> None:
    metrics = PrometheusMetrics()
    before = await scrape(metrics)
    metrics.purge_removed("payloads", 3)
    metrics.purge_removed("payloads", 2)
    metrics.purge_removed("orphans", 0)
    metrics.declared_hash_unverified(HashCheck.UNKNOWN_SCHEME)  # SubmitIngest's hook
    metrics.declared_hash_unverified("something else")

    samples = await scrape(metrics)

    hashes = "photochanger_ingest_hash_mismatch_total"
    assert value(before, hashes, problem="mismatch") == 0  # exposed before the first one
    assert value(samples, hashes, problem="mismatch") == 0
    assert value(samples, hashes, problem="unknown_scheme") == 1
    assert value(samples, hashes, problem="other") == 1
    assert value(samples, "photochanger_purge_removed_total", kind="payloads") == 5
    assert value(samples, "photochanger_purge_removed_total", kind="orphans") == 0


async def test_no_created_series_and_the_process_is_described() -> None:
    metrics = PrometheusMetrics()
    metrics.ingest_request("slot-001", 200, 0.1)

    samples = await scrape(metrics)

    assert not any(name.endswith("_created") for name in names(samples))
    assert "process_resident_memory_bytes" in names(samples)


async def test_openmetrics_when_the_scraper_asks_for_it() -> None:
    metrics = PrometheusMetrics()
    body, content_type = await metrics.exposition("application/openmetrics-text; version=1.0.0")

    assert content_type.startswith("application/openmetrics-text")
    assert body.rstrip().endswith(b"# EOF")


# --- gauges from the database and MEDIA_ROOT ----------------------------------------------


class ScriptedJobStats:
    """What the database would answer; ``error`` makes it unreachable."""

    def __init__(self, stats: JobStats) -> None:
        self.stats = stats
        self.error: Exception | None = None
        self.loads = 0
        self.gate: asyncio.Event | None = None

    async def load(self) -> JobStats:
        self.loads += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        return self.stats


class Ticks:
    """A monotonic clock the test moves by hand (cache ages)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def shared_metrics(
    source: ScriptedJobStats, clock: FakeClock, ticks: Ticks
) -> tuple[PrometheusMetrics, SharedStateGauges]:
    gauges = SharedStateGauges(
        load_job_stats=source.load,
        media_root=Path("/nonexistent/photochanger-media"),
        clock=clock,
        cache=CacheTimes(jobs_seconds=5.0, media_seconds=30.0),
        monotonic=ticks,
    )
    return PrometheusMetrics(gauges), gauges


async def test_jobs_by_state_with_every_known_state_and_the_queue() -> None:
    clock, ticks = FakeClock(), Ticks()
    source = ScriptedJobStats(
        JobStats(
            by_state={"pending": 2, "succeeded": 7, "timeout": 1},
            oldest_pending_at=clock.now() - timedelta(seconds=12.5),
        )
    )
    metrics, _ = shared_metrics(source, clock, ticks)

    samples = await scrape(metrics)

    jobs = {
        dict(labels)["state"]: count
        for (name, labels), count in samples.items()
        if name == "photochanger_jobs"
    }
    assert jobs["pending"] == 2 and jobs["succeeded"] == 7 and jobs["timeout"] == 1
    for state in ("processing", "provider_error", "cancelled"):
        assert jobs[state] == 0  # exposed even when no job is in it
    assert value(samples, "photochanger_queue_depth") == 2
    assert value(samples, "photochanger_queue_oldest_pending_seconds") == 12.5
    assert value(samples, "photochanger_media_root_bytes") == 0  # no MEDIA_ROOT yet


async def test_an_empty_queue_has_no_age() -> None:
    clock, ticks = FakeClock(), Ticks()
    metrics, _ = shared_metrics(ScriptedJobStats(JobStats()), clock, ticks)

    samples = await scrape(metrics)

    assert value(samples, "photochanger_queue_depth") == 0
    assert value(samples, "photochanger_queue_oldest_pending_seconds") == 0


async def test_the_database_is_asked_at_most_once_per_cache_time() -> None:
    clock, ticks = FakeClock(), Ticks()
    source = ScriptedJobStats(JobStats(by_state={"succeeded": 1}))
    metrics, _ = shared_metrics(source, clock, ticks)

    first = await scrape(metrics)
    source.stats = JobStats(by_state={"succeeded": 2})
    ticks.now += 4.9
    cached = await scrape(metrics)
    ticks.now += 0.2
    fresh = await scrape(metrics)

    assert source.loads == 2
    assert value(first, "photochanger_jobs", state="succeeded") == 1
    assert value(cached, "photochanger_jobs", state="succeeded") == 1
    assert value(fresh, "photochanger_jobs", state="succeeded") == 2


async def test_scrapes_at_the_same_time_share_one_query() -> None:
    clock, ticks = FakeClock(), Ticks()
    source = ScriptedJobStats(JobStats(by_state={"pending": 1}))
    source.gate = asyncio.Event()
    metrics, _ = shared_metrics(source, clock, ticks)

    scrapes = [asyncio.create_task(scrape(metrics)) for _ in range(5)]
    for _ in range(10):
        await asyncio.sleep(0)
    source.gate.set()
    results = await asyncio.gather(*scrapes)

    assert source.loads == 1
    assert all(value(r, "photochanger_queue_depth") == 1 for r in results)


async def test_an_unreachable_database_leaves_out_the_job_gauges_not_the_scrape() -> None:
    clock, ticks = FakeClock(), Ticks()
    source = ScriptedJobStats(JobStats(by_state={"pending": 3}))
    metrics, _ = shared_metrics(source, clock, ticks)
    await scrape(metrics)
    source.error = ServiceUnavailable("database unavailable")
    ticks.now += 10
    metrics.ingest_request("slot-001", 503, 0.2)

    samples = await scrape(metrics)

    assert "photochanger_jobs" not in names(samples)  # not yesterday's numbers as today's
    assert "photochanger_queue_depth" not in names(samples)
    assert value(samples, "photochanger_ingest_requests_total", slot="slot-001", code="503") == 1
    assert value(samples, "photochanger_media_root_bytes") == 0

    source.error = None
    ticks.now += 10
    assert value(await scrape(metrics), "photochanger_queue_depth") == 3  # back once it answers
