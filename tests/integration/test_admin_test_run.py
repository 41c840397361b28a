"""``POST /api/slots/{id}/test-run``: the real pipeline on an inactive slot with unsaved
settings, answered like an ingest, marked as a test and kept out of counts."""

from __future__ import annotations

import io
import json
from pathlib import Path
from uuid import UUID

from admin_api import error_of, operators
from PIL import Image
from service_harness import jpeg_bytes, png_bytes

PHOTO = "fileToUpload"


def photo_form(data: bytes | None = None, **fields: str) -> dict[str, object]:
    files = {PHOTO: ("photo.jpg", data if data is not None else jpeg_bytes(), "image/jpeg")}
    return {"files": files, "data": fields}


async def test_an_inactive_slot_runs_with_unsaved_settings_and_stays_as_it_was(
    database_url: str, tmp_path: Path
) -> None:
    async with operators(database_url, tmp_path) as ops:
        # slot-002 is inactive; saved half-configured as an overlay without its template.
        await ops.svc.configure("slot-002", operation="overlay", settings={})
        frame = await ops.admin.post(
            "/api/templates",
            files={"file": ("frame.png", png_bytes(color=(0, 255, 0, 128)), "image/png")},
            data={"label": "green frame"},
        )
        assert frame.status_code == 201, frame.text
        before = (await ops.admin.get("/api/slots/slot-002")).json()
        unsaved = {"overlay_template_id": frame.json()["id"], "delay_ms": 10}

        response = await ops.admin.post(
            "/api/slots/slot-002/test-run", **photo_form(settings=json.dumps(unsaved))
        )

        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/jpeg"
        Image.open(io.BytesIO(response.content)).verify()  # a real image came back
        assert int(response.headers["x-timing-ms"]) >= 10  # the provider's own delay at least
        job = (await ops.admin.get(f"/api/jobs/{response.headers['x-job-id']}")).json()
        assert (job["slot_id"], job["operation"], job["settings"]) == (
            "slot-002",
            "overlay",
            unsaved,
        )
        assert job["is_test"] is True and job["state"] == "succeeded"
        assert job["provider"] == "local"
        stored = await ops.svc.container.jobs().get(UUID(job["id"]))
        assert stored is not None and stored.metadata == {"test_run_by": "ann"}
        after = (await ops.admin.get("/api/slots/slot-002")).json()
        assert after == before  # not activated, settings not saved, test run not counted
        assert after["recent_results"] == []
        stats = (await ops.admin.get("/api/stats?window=1h")).json()
        assert stats["total"]["ingests"] == 0


async def test_without_settings_the_slots_own_are_used(database_url: str, tmp_path: Path) -> None:
    async with operators(database_url, tmp_path) as ops:
        response = await ops.admin.post("/api/slots/slot-001/test-run", **photo_form())

        assert response.status_code == 200, response.text
        job = (await ops.admin.get(f"/api/jobs/{response.headers['x-job-id']}")).json()
        assert (job["operation"], job["settings"], job["is_test"]) == ("grayscale", {}, True)


async def test_a_test_run_answers_the_errors_an_ingest_would(
    database_url: str, tmp_path: Path
) -> None:
    async with operators(database_url, tmp_path, max_upload_bytes=200_000) as ops:
        path = "/api/slots/slot-002/test-run"
        error_of(
            await ops.admin.post("/api/slots/slot-042/test-run", **photo_form()),
            404,
            "slot_not_found",
        )
        error_of(
            await ops.admin.post(path, **photo_form(b"not an image at all")),
            415,
            "unsupported_media_type",
        )
        error_of(
            await ops.admin.post(path, **photo_form(b"\xff" * 300_000)), 413, "payload_too_large"
        )
        error_of(await ops.admin.post(path, data={"settings": "{}"}), 400, "invalid_request")
        error_of(
            await ops.admin.post(path, **photo_form(settings="{not json")), 400, "invalid_request"
        )
        error_of(
            await ops.admin.post(path, **photo_form(settings="[1, 2]")), 400, "invalid_request"
        )
        # Settings are checked like saving an active slot: complete and valid, naming the field.
        await ops.svc.configure("slot-002", operation="overlay", settings={})
        missing = error_of(await ops.admin.post(path, **photo_form()), 422, "validation_error")
        assert list(missing["details"]["fields"]) == ["overlay_template_id"]
        unknown = json.dumps({"overlay_template_id": str(UUID(int=5))})
        absent = error_of(
            await ops.admin.post(path, **photo_form(settings=unknown)), 422, "validation_error"
        )
        assert list(absent["details"]["fields"]) == ["overlay_template_id"]
        bad = json.dumps({"delay_ms": -1, "overlay_template_id": str(UUID(int=5))})
        wrong = error_of(
            await ops.admin.post(path, **photo_form(settings=bad)), 422, "validation_error"
        )
        assert list(wrong["details"]["fields"]) == ["delay_ms"]
        assert (await ops.admin.get("/api/jobs")).json()["items"] == []  # nothing was queued
