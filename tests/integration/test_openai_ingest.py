"""Full ingests through the OpenAI provider: booth → service → worker → the fake OpenAI over
real sockets → back to the booth. Each operation, a safety refusal answered at once, a rate
limit ridden out within the deadline. Nothing sent after the deadline: see
``test_provider_ingest``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fake_openai import DEFAULT_KEY as OPENAI_KEY
from fake_openai import MODERATION_MESSAGE, Answer, api_error, fake_openai_server
from provider_ingest_harness import (
    PROMPT,
    activate,
    openai_service,
    recorded_logs,
    template,
    worker_is_done_with,
)
from service_harness import jpeg_bytes, png_bytes

from domain.job import FailureReason


async def test_an_openai_slot_answers_the_booth_with_the_edited_image(
    database_url: str, tmp_path: Path
) -> None:
    photo = jpeg_bytes(color=(10, 200, 30))
    async with (
        fake_openai_server() as fake,
        openai_service(database_url, tmp_path, fake) as svc,
    ):
        await activate(svc, "openai", "image_edit", {"prompt": PROMPT, "quality": "low"})
        response = await svc.ingest("slot-005", photo)

        assert response.status_code == 200, response.text
        assert response.content == fake.encoded_image("png")
        assert response.headers["content-type"] == "image/png"
        [request] = fake.requests
        assert request.authorization == f"Bearer {OPENAI_KEY}"
        assert request.fields == {"model": "gpt-image-1.5", "prompt": PROMPT, "quality": "low"}
        assert [(i.content_type, i.data) for i in request.images] == [("image/jpeg", photo)]
        job = await worker_is_done_with(svc, response.headers["x-job-id"])
        assert job.succeeded and job.provider_job_reference is None


@pytest.mark.parametrize(
    ("operation", "template_field", "settings"),
    [
        ("style_transfer", "style_template_id", {"prompt": "oil painting"}),
        (
            "identity_transfer",
            "face_template_id",
            {"prompt": "give the guest this face", "input_fidelity": "high"},
        ),
    ],
)
async def test_openai_gets_the_template_as_the_second_image(
    database_url: str,
    tmp_path: Path,
    operation: str,
    template_field: str,
    settings: dict[str, Any],
) -> None:
    photo, image = jpeg_bytes(color=(0, 0, 90)), png_bytes(color=(90, 0, 0, 255))
    async with (
        fake_openai_server() as fake,
        openai_service(database_url, tmp_path, fake) as svc,
    ):
        stored = await template(svc, image, "template")
        options = {"output_format": "jpeg", "output_compression": 85}
        await activate(
            svc, "openai", operation, {**settings, **options, template_field: str(stored.id)}
        )
        response = await svc.ingest("slot-005", photo)

        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/jpeg"  # sniffed from the bytes
        assert response.content == fake.encoded_image("jpeg")
        [request] = fake.requests
        assert [(i.field_name, i.content_type, i.data) for i in request.images] == [
            ("image[]", "image/jpeg", photo),
            ("image[]", "image/png", image),
        ]
        assert request.fields["output_compression"] == "85"
        assert request.fields["prompt"].endswith(settings["prompt"])


@pytest.mark.parametrize("item", ["moderation", "content_policy"])
async def test_a_safety_refusal_is_a_502_at_once_and_the_log_says_why(
    database_url: str, tmp_path: Path, item: str
) -> None:
    async with (
        fake_openai_server(script=[item]) as fake,
        openai_service(database_url, tmp_path, fake) as svc,
    ):
        await svc.set_sync_timeout(30.0)
        await activate(svc, "openai", "image_edit", {"prompt": PROMPT})
        with recorded_logs() as logs:
            started = time.monotonic()
            response = await svc.ingest("slot-005")
            waited = time.monotonic() - started

        assert response.status_code == 502, response.text
        assert waited < 10  # not held until the 30 s deadline
        error = response.json()["error"]
        assert error["code"] == "provider_error"
        job = await worker_is_done_with(svc, error["details"]["job_id"])
        assert job.failure_reason is FailureReason.PROVIDER_ERROR
        assert len(fake.requests) == 1
        assert "safety system refused" in logs.text
        if item == "moderation":
            assert MODERATION_MESSAGE[:60] in logs.text
        assert OPENAI_KEY not in logs.text and OPENAI_KEY not in response.text


async def test_a_rate_limit_is_ridden_out_within_the_deadline(
    database_url: str, tmp_path: Path
) -> None:
    limited = api_error(429, "Rate limit reached.", kind="requests", code="rate_limit_exceeded")
    busy = Answer(status=429, body=limited.body, headers={"retry-after-ms": "200"})
    async with (
        fake_openai_server(script=[busy, 503, "image"]) as fake,
        openai_service(database_url, tmp_path, fake) as svc,
    ):
        await activate(svc, "openai", "image_edit", {"prompt": PROMPT})
        response = await svc.ingest("slot-005")

        assert response.status_code == 200, response.text
        assert [r.status for r in fake.requests] == [429, 503, 200]
        first, second, _ = (r.arrived_at for r in fake.requests)
        assert second - first >= 0.2 * 0.95  # Retry-After honoured


async def test_a_photo_openai_cannot_take_is_refused_before_any_call(
    database_url: str, tmp_path: Path
) -> None:
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    async with (
        fake_openai_server() as fake,
        openai_service(database_url, tmp_path, fake) as svc,
    ):
        await activate(svc, "openai", "image_edit", {"prompt": PROMPT})
        response = await svc.ingest("slot-005", heic, filename="a.heic", content_type="image/heic")

        assert response.status_code == 415, response.text
        assert fake.requests == []
