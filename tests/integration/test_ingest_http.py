"""End to end over a real socket: booth → Litestar → PostgreSQL queue → worker → booth."""

from __future__ import annotations

import asyncio
import io
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from PIL import Image
from service_harness import PASSWORD, Service, eventually, jpeg_bytes, png_bytes, serve

from application.manage_templates import NewTemplate
from domain.job import FailureReason


def files_in(service: Service, area: str) -> list[Path]:
    return [p for p in (service.settings.media_path / area).iterdir() if p.is_file()]


async def test_ingest_returns_the_transformed_photo(database_url: str, tmp_path: Path) -> None:
    async with serve(database_url, tmp_path) as svc:
        response = await svc.ingest(extra={"booth": "hall-2", "event": "wedding"})

        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/jpeg"
        image = Image.open(io.BytesIO(response.content)).convert("RGB")
        assert image.size == (64, 48)
        r, g, b = image.getpixel((10, 10))  # type: ignore[misc]
        assert abs(r - g) <= 2 and abs(g - b) <= 2, "grayscale output"

        job_id = uuid.UUID(response.headers["x-job-id"])
        job = await svc.container.jobs().get(job_id)
        assert job is not None and job.succeeded
        assert job.result is not None and job.result.file_path is not None
        assert job.result.mime == "image/jpeg"
        assert job.result.size_bytes == len(response.content)
        assert job.metadata == {"booth": "hall-2", "event": "wedding"}
        assert job.payload is None, "payload path cleared once finalized"
        assert files_in(svc, "payload") == []
        # The answer is that file: the image never went through the job row.
        assert (svc.settings.media_path / job.result.file_path).read_bytes() == response.content

        download = await svc.client.get(f"/public/results/{job_id}")
        assert download.status_code == 200
        assert download.content == response.content
        assert "attachment" in download.headers["content-disposition"]


async def test_a_result_whose_file_was_just_removed_is_gone_not_a_500(
    database_url: str, tmp_path: Path
) -> None:
    """Regression: the row still named a file the cleanup had removed a moment before, and
    the download failed after its answer had started (a 500 and a cut connection)."""
    async with serve(database_url, tmp_path) as svc:
        response = await svc.ingest()
        assert response.status_code == 200, response.text
        job = await svc.container.jobs().get(uuid.UUID(response.headers["x-job-id"]))
        assert job is not None and job.result is not None and job.result.file_path is not None
        (svc.settings.media_path / job.result.file_path).unlink()

        gone = await svc.client.get(f"/public/results/{job.id}")
        assert_error(gone, 410, "gone")


async def test_png_stays_png(database_url: str, tmp_path: Path) -> None:
    async with serve(database_url, tmp_path) as svc:
        await svc.configure("slot-002", operation="sepia", is_active=True)
        response = await svc.ingest(
            "slot-002", png_bytes(), filename="shot.png", content_type="image/png"
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(response.content)).format == "PNG"


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert "Traceback" not in response.text
    return body  # type: ignore[no-any-return]


async def test_every_refusal_has_its_code(database_url: str, tmp_path: Path) -> None:
    async with serve(database_url, tmp_path, max_upload_bytes=200_000) as svc:
        assert_error(await svc.ingest(password="wrong-password"), 401, "invalid_password")
        assert_error(await svc.ingest("slot-099"), 404, "slot_not_found")
        assert_error(await svc.ingest("slot-003"), 404, "slot_not_found")  # inactive
        assert_error(
            await svc.ingest(photo=b"this is not an image, just text" * 10),
            415,
            "unsupported_media_type",
        )
        assert_error(await svc.ingest(photo=b""), 400, "invalid_request")
        big = b"\xff\xd8\xff" + b"\0" * 400_000
        assert_error(await svc.ingest(photo=big), 413, "payload_too_large")

        no_password = await svc.client.post(
            "/ingest/slot-001", files={"fileToUpload": ("p.jpg", jpeg_bytes(), "image/jpeg")}
        )
        assert_error(no_password, 400, "invalid_request")
        no_file = await svc.client.post("/ingest/slot-001", data={"password": PASSWORD})
        assert_error(no_file, 400, "invalid_request")
        broken = await svc.client.post(
            "/ingest/slot-001",
            content=b'--xyz\r\nContent-Disposition: form-data; name="password"\r\n\r\nabc',
            headers={"content-type": "multipart/form-data; boundary=xyz"},
        )
        assert_error(broken, 400, "invalid_request")

        # nothing was accepted, so nothing is queued and nothing is left on disk
        assert await svc.container.jobs().count_unfinished() == 0
        assert files_in(svc, "payload") == []


async def test_repeated_wrong_passwords_are_throttled(database_url: str, tmp_path: Path) -> None:
    async with serve(database_url, tmp_path, password_max_failures=3) as svc:
        for _ in range(3):
            assert_error(await svc.ingest(password="nope-nope"), 401, "invalid_password")
        response = await svc.ingest()  # even the right password waits out the window
        assert_error(response, 429, "rate_limited")
        assert int(response.headers["retry-after"]) >= 1


async def test_full_queue_answers_429_with_retry_after(database_url: str, tmp_path: Path) -> None:
    async with serve(database_url, tmp_path, max_unfinished_jobs=1, retry_after_sec=7) as svc:
        await svc.set_sync_timeout(3)
        await svc.configure("slot-001", settings={"delay_ms": 2000})
        first = asyncio.create_task(svc.ingest())

        async def one_queued() -> bool:
            return await svc.container.jobs().count_unfinished() == 1

        await eventually(one_queued)
        second = await svc.ingest()
        body = assert_error(second, 429, "rate_limited")
        assert second.headers["retry-after"] == "7"
        assert body["error"]["details"]["retry_after"] == 7  # type: ignore[index]
        assert (await first).status_code == 200
        assert len(files_in(svc, "payload")) == 0


async def test_slow_provider_gets_504_at_the_deadline(database_url: str, tmp_path: Path) -> None:
    async with serve(database_url, tmp_path) as svc:
        await svc.set_sync_timeout(1.0)
        await svc.configure("slot-001", settings={"delay_ms": 5000})
        started = time.monotonic()
        response = await svc.ingest()
        elapsed = time.monotonic() - started

        body = assert_error(response, 504, "timeout")
        assert 1.0 <= elapsed < 1.4, f"504 after {elapsed:.3f}s"
        job_id = uuid.UUID(body["error"]["details"]["job_id"])  # type: ignore[index]
        job = await svc.container.jobs().get(job_id)
        assert job is not None and job.is_finalized
        assert job.failure_reason is FailureReason.TIMEOUT
        assert job.result is None
        assert job.finalized_at is not None and job.finalized_at >= job.expires_at

        async def artifacts_gone() -> bool:
            row = await svc.container.jobs().get(job_id)
            return row is not None and row.payload is None and not files_in(svc, "payload")

        await eventually(artifacts_gone)
        assert files_in(svc, "results") == [], "no late result file is kept"


async def test_health_and_schema(database_url: str, tmp_path: Path) -> None:
    async with serve(database_url, tmp_path) as svc:
        assert (await svc.client.get("/healthz")).json() == {"status": "ok", "pid": os.getpid()}
        assert (await svc.client.get("/readyz")).json() == {"status": "ready"}
        schema = (await svc.client.get("/schema/openapi.json")).json()
        assert "/ingest/{slot_id}" in schema["paths"]
        unknown = await svc.client.get(f"/public/results/{uuid.uuid4()}")
        assert_error(unknown, 404, "not_found")
        assert_error(await svc.client.get("/public/media/not-a-uuid"), 404, "not_found")


async def test_a_photo_the_provider_cannot_read_gets_502(database_url: str, tmp_path: Path) -> None:
    photo = jpeg_bytes(640, 480)
    # Whole and well-formed, but its baseline scan is labelled progressive (SOF2): only a full
    # decode finds that out, which the ingest's cheap structure check does not do.
    sof = photo.index(b"\xff\xc0")
    mislabelled = photo[:sof] + b"\xff\xc2" + photo[sof + 2 :]
    async with serve(database_url, tmp_path) as svc:
        body = assert_error(await svc.ingest(photo=mislabelled), 502, "provider_error")
        job_id = uuid.UUID(body["error"]["details"]["job_id"])  # type: ignore[index]
        job = await svc.container.jobs().get(job_id)
        assert job is not None and job.failure_reason is FailureReason.PROVIDER_ERROR
        assert files_in(svc, "results") == []


async def test_overlay_composites_a_template_onto_the_photo(
    database_url: str, tmp_path: Path
) -> None:
    async with serve(database_url, tmp_path) as svc:
        frame = io.BytesIO()
        opaque_left = Image.new("RGBA", (64, 48), (0, 0, 0, 0))
        opaque_left.paste((0, 0, 255, 255), (0, 0, 32, 48))
        opaque_left.save(frame, format="PNG")

        async def chunks() -> AsyncIterator[bytes]:
            yield frame.getvalue()

        template = await svc.container.add_template()(
            NewTemplate(label="blue half", image=chunks(), actor="test")
        )
        await svc.configure(
            "slot-002",
            operation="overlay",
            settings={"overlay_template_id": str(template.id)},
            is_active=True,
        )
        response = await svc.ingest(
            "slot-002",
            png_bytes(color=(255, 255, 255, 255)),
            filename="shot.png",
            content_type="image/png",
        )

        assert response.status_code == 200, response.text
        result = Image.open(io.BytesIO(response.content)).convert("RGB")
        assert result.getpixel((5, 5)) == (0, 0, 255)  # under the opaque half of the frame
        assert result.getpixel((60, 5)) == (255, 255, 255)  # the photo shows through
