"""The worker's metrics server (prometheus_client's HTTP server in a thread) and the shared
counters directory of ``serve --processes N``, on a local socket; no database."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import httpx
import pytest
from fakes import FakeClock
from prometheus_client.parser import text_string_to_metric_families

from adapters.metrics.multiprocess import MULTIPROC_DIR_VARIABLE, counters_shared_on_disk
from adapters.metrics.prometheus import PrometheusMetrics
from adapters.metrics.scrape_server import metrics_http_server
from adapters.metrics.shared_state import SharedStateGauges
from adapters.postgres.metrics import JobStats


def families(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    return {
        family.name: [(sample.labels, sample.value) for sample in family.samples]
        for family in text_string_to_metric_families(text)
    }


def gauges(
    tmp_path: Path, load: asyncio.Event | None = None
) -> tuple[SharedStateGauges, list[int]]:
    """Shared-state gauges whose database answers 3 pending jobs (after ``load`` is set, if
    given); the list counts the loads."""
    loads: list[int] = []

    async def load_job_stats() -> JobStats:
        loads.append(1)
        if load is not None:
            await load.wait()
        return JobStats(by_state={"pending": 3}, oldest_pending_at=None)

    shared = SharedStateGauges(
        load_job_stats=load_job_stats, media_root=tmp_path, clock=FakeClock()
    )
    return shared, loads


async def test_a_scrape_refreshes_the_shared_gauges_on_the_loop_and_counts_what_happened(
    tmp_path: Path,
) -> None:
    shared, loads = gauges(tmp_path)
    metrics = PrometheusMetrics(shared)
    metrics.provider_call("gemini", "ok", 1.25, slot_id="slot-002")
    async with (
        metrics_http_server(metrics, "127.0.0.1", 0) as port,
        httpx.AsyncClient(timeout=10) as client,
    ):
        answer = await client.get(f"http://127.0.0.1:{port}/metrics")
        only = await client.get(
            f"http://127.0.0.1:{port}/metrics", params={"name[]": "photochanger_queue_depth"}
        )

    assert answer.status_code == 200
    scraped = families(answer.text)
    assert scraped["photochanger_provider_calls"] == [
        ({"provider": "gemini", "slot": "slot-002", "outcome": "ok"}, 1.0)
    ]
    assert ({"state": "pending"}, 3.0) in scraped["photochanger_jobs"]
    assert "process_resident_memory_bytes" in {
        s.name for f in text_string_to_metric_families(answer.text) for s in f.samples
    }
    assert loads == [1]  # one load, cached for the second scrape
    assert set(families(only.text)) == {"photochanger_queue_depth"}


async def test_a_scrape_does_not_wait_forever_for_a_stuck_database(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    never = asyncio.Event()
    shared, _ = gauges(tmp_path, load=never)
    metrics = PrometheusMetrics(shared)
    metrics.purge_removed("payloads", 2)
    async with (
        metrics_http_server(metrics, "127.0.0.1", 0, refresh_timeout=0.2) as port,
        httpx.AsyncClient(timeout=10) as client,
    ):
        with caplog.at_level(logging.WARNING):
            answer = await client.get(f"http://127.0.0.1:{port}/metrics")

    assert answer.status_code == 200
    scraped = families(answer.text)
    assert scraped["photochanger_purge_removed"] == [({"kind": "payloads"}, 2.0)]
    assert "photochanger_jobs" not in scraped  # nothing known, nothing made up
    assert "not refreshed within 0.2s" in caplog.text


async def test_a_port_in_use_is_refused_by_name(tmp_path: Path) -> None:
    from domain.errors import InvalidConfiguration

    metrics = PrometheusMetrics()
    async with metrics_http_server(metrics, "127.0.0.1", 0) as port:
        with pytest.raises(InvalidConfiguration, match=f"cannot serve metrics on 127.0.0.1:{port}"):
            async with metrics_http_server(metrics, "127.0.0.1", port):
                pass


def test_the_shared_counters_directory_is_fresh_and_gone_afterwards(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(MULTIPROC_DIR_VARIABLE, "/somewhere/else")
    with counters_shared_on_disk() as first:
        assert os.environ[MULTIPROC_DIR_VARIABLE] == str(first)
        assert first.is_dir() and not any(first.iterdir())
        (first / "counter_123.db").write_bytes(b"\0" * 8)
    with counters_shared_on_disk() as second:
        assert second != first and not any(second.iterdir())
    assert not first.exists() and not second.exists()
    assert os.environ[MULTIPROC_DIR_VARIABLE] == "/somewhere/else"
