"""``GET /metrics`` on the real service: booth ingests through the real app, worker and a fake
Gemini over sockets on real PostgreSQL, then one scrape parsed as Prometheus parses it."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from uuid import UUID

import httpx
from fake_gemini import DEFAULT_KEY as GEMINI_KEY
from fake_gemini import fake_gemini_server
from prometheus_client.parser import text_string_to_metric_families
from service_harness import Service, eventually, jpeg_bytes, serve

from adapters.metrics.media_usage import directory_bytes
from entrypoints.runtime import Roles

PROMPT = "Turn the guests into a watercolour painting"
GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00"
    b"\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


class Scrape:
    """One ``/metrics`` answer, parsed with prometheus_client's own parser."""

    def __init__(self, response: httpx.Response) -> None:
        assert response.status_code == 200, response.text
        # Exactly the exposition's own type: a repeated charset parameter fails strict scrapers.
        assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
        self.families = {
            family.name: family for family in text_string_to_metric_families(response.text)
        }

    def value(self, sample_name: str, **labels: str) -> float:
        """The sample's value; 0 when the series does not exist (yet)."""
        for family in self.families.values():
            for sample in family.samples:
                if sample.name == sample_name and sample.labels == labels:
                    return float(sample.value)
        return 0.0

    def labelled(self, sample_name: str, label: str) -> dict[str, float]:
        return {
            sample.labels[label]: float(sample.value)
            for family in self.families.values()
            for sample in family.samples
            if sample.name == sample_name
        }


async def scrape(svc: Service) -> Scrape:
    return Scrape(await svc.client.get("/metrics"))


async def provider_call_ended(svc: Service, job_id: str) -> None:
    """The worker clears the payload only after the provider call (and its count) ended."""

    async def payload_removed() -> bool:
        job = await svc.container.jobs().get(UUID(job_id))
        return job is not None and job.is_finalized and job.payload is None

    await eventually(payload_removed, within=15)


async def test_counters_and_histograms_follow_what_the_booths_got(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        fake_gemini_server(script=["no_image", "image", 500]) as fake,
        serve(
            database_url,
            tmp_path,
            gemini_api_key=GEMINI_KEY,
            gemini_base_url=fake.base_url,
            run_purge=False,
        ) as svc,
    ):
        await svc.configure(
            "slot-005",
            provider="gemini",
            operation="image_edit",
            settings={"prompt": PROMPT},
            is_active=True,
        )
        ok = await svc.ingest("slot-005", jpeg_bytes())  # NO_IMAGE once, then the image
        wrong_password = await svc.ingest("slot-005", password="not-the-password")
        gif = await svc.ingest("slot-005", GIF, filename="a.gif", content_type="image/gif")
        provider_error = await svc.ingest("slot-005")  # Gemini answers 500
        unknown = await svc.ingest("slot-999")
        await svc.set_sync_timeout(1.0)
        fake.latency = 30.0
        timeout = await svc.ingest("slot-005")
        assert [r.status_code for r in (ok, wrong_password, gif, provider_error, timeout)] == [
            200,
            401,
            415,
            502,
            504,
        ]
        assert unknown.status_code == 404
        await fake.wait_for_client_gone()
        await provider_call_ended(svc, ok.headers["x-job-id"])
        for failed in (provider_error, timeout):
            await provider_call_ended(svc, failed.json()["error"]["details"]["job_id"])

        metrics = await scrape(svc)

    ingests = metrics.labelled("photochanger_ingest_requests_total", "code")
    assert ingests == {"200": 1, "401": 1, "415": 1, "502": 1, "504": 1, "404": 1}
    count = "photochanger_ingest_requests_total"
    for code in ("200", "401", "415", "502", "504"):
        assert metrics.value(count, slot="slot-005", code=code) == 1
    assert metrics.value(count, slot="other", code="404") == 1  # not one of the 15 slots

    seconds = "photochanger_ingest_duration_seconds"
    assert metrics.value(f"{seconds}_count") == 6
    assert metrics.value(f"{seconds}_bucket", le="+Inf") == 6
    assert metrics.value(f"{seconds}_bucket", le="0.5") <= 5  # the 504 waited its full second
    assert metrics.value(f"{seconds}_sum") >= 1.0

    calls = metrics.labelled("photochanger_provider_calls_total", "outcome")
    assert calls == {"no_image": 1, "ok": 1, "error": 1, "timeout": 1}
    assert (
        metrics.value(
            "photochanger_provider_calls_total", provider="gemini", slot="slot-005", outcome="ok"
        )
        == 1
    )
    call_seconds = "photochanger_provider_call_duration_seconds"
    assert metrics.value(f"{call_seconds}_count", provider="gemini") == 3  # ok, error, timeout
    assert metrics.value(f"{call_seconds}_sum", provider="gemini") >= 0.9  # the cut call

    jobs = metrics.labelled("photochanger_jobs", "state")
    assert jobs["succeeded"] == 1 and jobs["provider_error"] == 1 and jobs["timeout"] == 1
    assert jobs["pending"] == 0 and jobs["processing"] == 0 and jobs["cancelled"] == 0
    assert metrics.value("photochanger_queue_depth") == 0
    assert metrics.value("photochanger_queue_oldest_pending_seconds") == 0
    assert metrics.value("photochanger_media_root_bytes") >= len(fake.image)  # the result file


async def test_the_legacy_api_ingest_path_counts_like_the_booth_route(
    database_url: str, tmp_path: Path
) -> None:
    async with serve(database_url, tmp_path) as svc:
        await svc.configure("slot-001", is_active=True)
        files = {"fileToUpload": ("p.jpg", jpeg_bytes(), "image/jpeg")}
        ok = await svc.client.post(
            "/api/ingest/slot-001", data={"password": "booth-password-1"}, files=files
        )
        refused = await svc.client.post(
            "/api/ingest/slot-001", data={"password": "wrong"}, files=files
        )
        metrics = await scrape(svc)

    assert (ok.status_code, refused.status_code) == (200, 401)
    count = "photochanger_ingest_requests_total"
    assert metrics.value(count, slot="slot-001", code="200") == 1
    assert metrics.value(count, slot="slot-001", code="401") == 1
    assert metrics.value("photochanger_ingest_duration_seconds_count") == 2


async def test_declared_hash_problems_are_counted_not_refused(
    database_url: str, tmp_path: Path
) -> None:
    photo = jpeg_bytes()
    async with serve(database_url, tmp_path) as svc:
        await svc.configure("slot-001", is_active=True)
        answers = [
            await svc.ingest("slot-001", photo, extra={"hash": declared})
            for declared in (
                hashlib.sha1(photo, usedforsecurity=False).hexdigest().upper(),  # matches
                "0" * 40,  # SHA-1-sized, wrong
                "not-a-checksum",
            )
        ]
        metrics = await scrape(svc)

    assert [a.status_code for a in answers] == [200, 200, 200]
    hashes = "photochanger_ingest_hash_mismatch_total"
    assert metrics.value(hashes, problem="mismatch") == 1
    assert metrics.value(hashes, problem="unknown_scheme") == 1


async def test_a_waiting_job_shows_in_the_queue_gauges(database_url: str, tmp_path: Path) -> None:
    """No worker here: the job stays pending until its deadline, and the gauges (read from the
    database) say so."""
    async with serve(database_url, tmp_path, roles=Roles(provision_password=True)) as svc:
        await svc.configure("slot-001", is_active=True)
        await svc.set_sync_timeout(1.5)
        ingest = svc.client.post(
            "/ingest/slot-001",
            data={"password": "booth-password-1"},
            files={"fileToUpload": ("p.jpg", jpeg_bytes(), "image/jpeg")},
        )
        waiting = asyncio.create_task(ingest)

        async def queued() -> bool:
            async with svc.container.pool().connection() as conn:
                cursor = await conn.execute("SELECT count(*) FROM job")
                row = await cursor.fetchone()
            return row is not None and row[0] == 1

        await eventually(queued)
        metrics = await scrape(svc)
        response = await waiting

    assert response.status_code == 504
    assert metrics.value("photochanger_jobs", state="pending") == 1
    assert metrics.value("photochanger_queue_depth") == 1
    assert 0 <= metrics.value("photochanger_queue_oldest_pending_seconds") < 1.5


async def test_purge_removals_are_counted(database_url: str, tmp_path: Path) -> None:
    """A job that timed out with no worker leaves its photo behind; purge removes it."""
    async with serve(
        database_url,
        tmp_path,
        roles=Roles(purge=True, provision_password=True),
        purge_interval_sec=0.05,
    ) as svc:
        await svc.configure("slot-001", is_active=True)
        await svc.set_sync_timeout(0.5)
        response = await svc.ingest("slot-001")
        assert response.status_code == 504

        async def payload_purged() -> bool:
            metrics = await scrape(svc)
            return metrics.value("photochanger_purge_removed_total", kind="payloads") >= 1

        await eventually(payload_purged, within=10)
        metrics = await scrape(svc)

    removed = metrics.labelled("photochanger_purge_removed_total", "kind")
    assert removed["payloads"] == 1
    assert set(removed) >= {"timed_out", "payloads", "links", "results", "orphans"}


async def test_metrics_off_removes_the_route_and_ingests_still_work(
    database_url: str, tmp_path: Path
) -> None:
    async with serve(database_url, tmp_path, metrics="off") as svc:
        await svc.configure("slot-001", is_active=True)
        response = await svc.ingest("slot-001")
        scraped = await svc.client.get("/metrics")

    assert response.status_code == 200
    assert scraped.status_code == 404
    assert scraped.json()["error"]["code"] == "not_found"


def test_the_media_walk_counts_every_file_under_media_root(tmp_path: Path) -> None:
    (tmp_path / "results" / "2026").mkdir(parents=True)
    (tmp_path / "results" / "2026" / "a.png").write_bytes(b"x" * 1000)
    (tmp_path / "payload").mkdir()
    (tmp_path / "payload" / "b.jpg").write_bytes(b"y" * 24)
    (tmp_path / "link").symlink_to(tmp_path / "results")  # not followed: counted once

    assert directory_bytes(tmp_path) == 1024
    assert directory_bytes(tmp_path / "missing") == 0
