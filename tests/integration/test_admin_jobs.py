"""``/api/jobs``: listing with filters and cursors, one job with its deadline and failure
detail, and cancelling — while a booth waits on the job and the provider is working on it."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from admin_api import error_of, operators
from fake_gemini import DEFAULT_KEY as GEMINI_KEY
from fake_gemini import fake_gemini_server
from service_harness import eventually

from domain.job import FailureReason
from domain.media import MediaArea

PROMPT = "Turn the guests into a watercolour painting"


def gemini(fake: Any) -> dict[str, Any]:
    return {"gemini_api_key": GEMINI_KEY, "gemini_base_url": fake.base_url, "run_purge": False}


async def test_jobs_are_listed_newest_first_filtered_and_paged(
    database_url: str, tmp_path: Path
) -> None:
    async with operators(database_url, tmp_path) as ops:
        await ops.svc.configure("slot-002", operation="sepia", is_active=True)
        ids = []
        for slot in ("slot-001", "slot-002", "slot-001", "slot-001"):
            response = await ops.svc.ingest(slot)
            assert response.status_code == 200
            ids.append(response.headers["x-job-id"])
        newest_first = list(reversed(ids))

        everything = (await ops.viewer.get("/api/jobs")).json()
        assert [j["id"] for j in everything["items"]] == newest_first
        assert everything["next"] is None
        assert {j["state"] for j in everything["items"]} == {"succeeded"}
        assert all(
            j["result_url"].endswith(f"/public/results/{j['id']}") for j in everything["items"]
        )

        pages, cursor = [], None
        while True:
            query = "/api/jobs?limit=3" + (f"&before={cursor}" if cursor else "")
            page = (await ops.viewer.get(query)).json()
            pages.append([j["id"] for j in page["items"]])
            cursor = page["next"]
            if cursor is None:
                break
        assert pages == [newest_first[:3], newest_first[3:]]

        by_slot = (await ops.viewer.get("/api/jobs?slot_id=slot-002")).json()["items"]
        assert [j["id"] for j in by_slot] == [ids[1]]
        assert (await ops.viewer.get("/api/jobs?state=timeout")).json()["items"] == []
        succeeded = (await ops.viewer.get("/api/jobs?state=succeeded&limit=200")).json()
        assert len(succeeded["items"]) == 4
        future = (await ops.viewer.get("/api/jobs?created_from=2999-01-01T00:00:00Z")).json()
        assert future["items"] == []


async def test_bad_job_queries_are_400(database_url: str, tmp_path: Path) -> None:
    async with operators(database_url, tmp_path) as ops:
        for query, field in (
            ("state=exploded", "state"),
            ("limit=0", "limit"),
            ("limit=201", "limit"),
            ("before=not-a-cursor", "before"),
        ):
            error = error_of(await ops.viewer.get(f"/api/jobs?{query}"), 400, "invalid_request")
            assert error["details"].get("field") == field, (query, error)
        error_of(await ops.viewer.get("/api/jobs?limit=many"), 400, "invalid_request")
        error_of(await ops.anonymous.get("/api/jobs"), 401, "unauthorized")


async def test_a_job_shows_its_deadline_while_it_waits(database_url: str, tmp_path: Path) -> None:
    async with operators(database_url, tmp_path) as ops:
        await ops.svc.configure("slot-001", settings={"delay_ms": 3000})
        booth = asyncio.create_task(ops.svc.ingest("slot-001"))
        jobs: list[dict[str, Any]] = []

        async def listed() -> bool:
            jobs[:] = (await ops.viewer.get("/api/jobs?state=processing")).json()["items"]
            return bool(jobs)

        await eventually(listed)
        response = await ops.viewer.get(f"/api/jobs/{jobs[0]['id']}")

        assert response.status_code == 200
        job = response.json()
        stored = await ops.svc.container.jobs().get(UUID(job["id"]))
        assert stored is not None
        deadline = job["deadline"]
        assert deadline["expires_at"] == job["expires_at"]
        assert datetime.fromisoformat(deadline["expires_at"]) == stored.expires_at
        assert not deadline["is_expired"]
        remaining = (stored.expires_at - datetime.now(UTC)).total_seconds() * 1000
        assert deadline["remaining_ms"] > 0 and abs(deadline["remaining_ms"] - remaining) < 2000
        assert (job["state"], job["attempts"], job["settings"]) == (
            "processing",
            1,
            {"delay_ms": 3000},
        )
        assert (await booth).status_code == 200
        error_of(await ops.viewer.get(f"/api/jobs/{UUID(int=7)}"), 404, "not_found")
        error_of(await ops.viewer.get("/api/jobs/not-a-uuid"), 404, "not_found")


async def test_a_provider_error_keeps_the_providers_message_as_failure_detail(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        fake_gemini_server(script=[500]) as fake,
        operators(database_url, tmp_path, **gemini(fake)) as ops,
    ):
        await ops.svc.configure(
            "slot-005",
            provider="gemini",
            operation="image_edit",
            settings={"prompt": PROMPT},
            is_active=True,
        )
        booth = await ops.svc.ingest("slot-005")
        assert booth.status_code == 502
        job_id = booth.json()["error"]["details"]["job_id"]

        job = (await ops.viewer.get(f"/api/jobs/{job_id}")).json()

        assert (job["state"], job["failure_reason"]) == ("provider_error", "provider_error")
        assert "An internal error has occurred" in job["failure_detail"]
        assert GEMINI_KEY not in job["failure_detail"]
        failed = (await ops.viewer.get("/api/jobs?state=provider_error")).json()["items"]
        assert [j["id"] for j in failed] == [job_id]


async def test_cancel_while_a_booth_waits_answers_the_booth_at_once_and_hangs_up_on_the_provider(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        fake_gemini_server(latency=30.0) as fake,
        operators(database_url, tmp_path, **gemini(fake)) as ops,
    ):
        await ops.svc.set_sync_timeout(20.0)
        await ops.svc.configure(
            "slot-005",
            provider="gemini",
            operation="image_edit",
            settings={"prompt": PROMPT},
            is_active=True,
        )
        booth = asyncio.create_task(ops.svc.ingest("slot-005"))
        await fake.wait_until(lambda f: bool(f.requests) and f.requests[0].outcome == "waiting")
        [waiting] = (await ops.admin.get("/api/jobs?state=processing")).json()["items"]

        response = await ops.admin.post(f"/api/jobs/{waiting['id']}/cancel")
        cancelled_at = time.monotonic()

        assert response.status_code == 200, response.text
        job = response.json()
        assert (job["state"], job["failure_reason"]) == ("cancelled", "cancelled")
        assert job["failure_detail"] == "cancelled by ann"
        answer = await booth
        # Within one poll tick (PHOTOCHANGER_RESULT_POLL_INTERVAL_MS = 50 ms), with slack.
        assert time.monotonic() - cancelled_at < 0.5
        error = error_of(answer, 409, "cancelled")
        assert error["details"]["job_id"] == waiting["id"]

        gone = await fake.wait_for_client_gone(timeout=10)  # at the worker's next heartbeat
        assert fake.requests == [gone]

        async def worker_done() -> bool:
            current = await ops.svc.container.jobs().get(UUID(waiting["id"]))
            return current is not None and current.payload is None

        await eventually(worker_done, within=10)
        stored = await ops.svc.container.jobs().get(UUID(waiting["id"]))
        assert stored is not None
        assert stored.failure_reason is FailureReason.CANCELLED and stored.result is None
        assert await ops.svc.container.storage().list_files(MediaArea.RESULTS) == []
        [entry, *_] = (await ops.viewer.get("/api/audit")).json()["items"]
        assert (entry["actor"], entry["action"], entry["target"]) == (
            "ann",
            "job.cancel",
            f"job:{waiting['id']}",
        )
        assert (entry["before"]["state"], entry["after"]["state"]) == ("processing", "cancelled")


async def test_cancelling_a_final_job_is_409_and_changes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    async with operators(database_url, tmp_path) as ops:
        done = await ops.svc.ingest("slot-001")
        job_id = done.headers["x-job-id"]

        error = error_of(await ops.admin.post(f"/api/jobs/{job_id}/cancel"), 409, "conflict")

        assert error["details"] == {"job_id": job_id, "state": "succeeded"}
        assert (await ops.viewer.get(f"/api/jobs/{job_id}")).json()["state"] == "succeeded"
        error_of(await ops.admin.post(f"/api/jobs/{UUID(int=9)}/cancel"), 404, "not_found")
        error_of(await ops.viewer.post(f"/api/jobs/{job_id}/cancel"), 403, "forbidden")
        error_of(await ops.anonymous.post(f"/api/jobs/{job_id}/cancel"), 401, "unauthorized")
