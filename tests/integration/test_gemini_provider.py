"""GeminiProvider against the fake Gemini server, over real loopback sockets through httpx:
operations, answer shapes, NO_IMAGE retries, RPC errors. The deadline, cancellation and
transport failures of every call are tested for both adapters in ``test_provider_calls``."""

from __future__ import annotations

import base64
import io
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fake_gemini import RPC_ERRORS, FakeGemini, fake_gemini_server
from PIL import Image
from provider_jobs import FACE, PHOTO, STYLE, job

from adapters.clock import SystemClock
from adapters.providers.gemini import GeminiProvider
from adapters.providers.gemini_protocol import DEFAULT_MODEL
from application.ports import InputImage, ProviderInput
from domain.errors import ProviderFailed

LOGGER = "adapters.providers.gemini"


@asynccontextmanager
async def provider_for(
    fake: FakeGemini, *, api_key: str | None = None, **options: Any
) -> AsyncIterator[GeminiProvider]:
    provider = GeminiProvider(
        base_url=fake.base_url,
        api_key=fake.api_key if api_key is None else api_key,
        clock=SystemClock(),
        **{"retry_pause_seconds": 0.01, **options},
    )
    try:
        yield provider
    finally:
        await provider.aclose()


def assert_no_secret(caplog: pytest.LogCaptureFixture, error: BaseException, key: str) -> None:
    """Neither the key nor image bytes in any log record or in the error."""
    photo_b64 = base64.b64encode(PHOTO).decode()
    for record in caplog.records:
        text = record.getMessage()
        assert key not in text
        assert photo_b64[:40] not in text
    assert key not in str(error)
    assert key not in repr(getattr(error, "details", {}))


@pytest.mark.parametrize(
    ("operation", "settings", "templates", "expected_images"),
    [
        ("image_edit", {"prompt": "watercolour"}, {}, [PHOTO]),
        (
            "style_transfer",
            {"prompt": "oil painting", "style_template_id": str(uuid4())},
            {"style_template_id": InputImage(mime="image/png", data=STYLE)},
            [PHOTO, STYLE],
        ),
        (
            "identity_transfer",
            {"face_template_id": str(uuid4())},
            {"face_template_id": InputImage(mime="image/png", data=FACE)},
            [PHOTO, FACE],
        ),
    ],
)
async def test_each_operation_sends_its_parts_and_returns_the_image(
    operation: str,
    settings: dict[str, Any],
    templates: dict[str, InputImage],
    expected_images: list[bytes],
) -> None:
    async with fake_gemini_server() as fake, provider_for(fake) as provider:
        output = await provider.transform(job(operation, settings, templates=templates))

        assert (output.image, output.mime) == (fake.image, "image/png")
        Image.open(io.BytesIO(output.image)).verify()
        [seen] = fake.requests
        assert seen.outcome == "answered" and seen.status == 200
        assert seen.model == DEFAULT_MODEL
        assert seen.api_key == fake.api_key
        assert seen.parts[0].text is not None and len(seen.texts) == 1
        assert [p.data for p in seen.parts[1:]] == expected_images
        assert {p.mime for p in seen.images} == {"image/png"}
        assert seen.body["generationConfig"] == {"responseModalities": ["IMAGE"]}


@pytest.mark.parametrize("snake_case", [False, True], ids=["camelCase", "snake_case"])
async def test_both_answer_spellings_are_understood(snake_case: bool) -> None:
    jpeg = io.BytesIO()
    Image.new("RGB", (5, 5), (1, 2, 3)).save(jpeg, format="JPEG")
    async with (
        fake_gemini_server(
            snake_case=snake_case, image=jpeg.getvalue(), image_mime="image/jpeg"
        ) as fake,
        provider_for(fake) as provider,
    ):
        output = await provider.transform(job())
    assert (output.image, output.mime) == (jpeg.getvalue(), "image/jpeg")


async def test_the_slots_model_goes_into_the_path() -> None:
    async with (
        fake_gemini_server(models={"gemini-3-pro-image-preview"}) as fake,
        provider_for(fake) as provider,
    ):
        await provider.transform(
            job(settings={"prompt": "x", "model": "gemini-3-pro-image-preview"})
        )
        assert [r.model for r in fake.requests] == ["gemini-3-pro-image-preview"]


async def test_a_model_name_that_could_leave_the_path_sends_nothing() -> None:
    async with fake_gemini_server() as fake, provider_for(fake) as provider:
        with pytest.raises(ProviderFailed, match="not allowed"):
            await provider.transform(job(settings={"prompt": "x", "model": "../../v1/files"}))
        assert fake.requests == []


async def test_no_image_is_retried_until_an_image_comes() -> None:
    async with (
        fake_gemini_server(script=["no_image", "text_only", "image"]) as fake,
        provider_for(fake, no_image_attempts=3) as provider,
    ):
        output = await provider.transform(job())
        assert output.image == fake.image
        assert [r.status for r in fake.requests] == [200, 200, 200]


@pytest.mark.parametrize("attempts", [1, 3])
async def test_no_image_every_time_fails_after_exactly_the_attempts(
    attempts: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    async with (
        fake_gemini_server(script=["no_image"] * 10) as fake,
        provider_for(fake, no_image_attempts=attempts) as provider,
    ):
        with pytest.raises(ProviderFailed, match=f"no image {attempts} times") as caught:
            await provider.transform(job())
        assert len(fake.requests) == attempts
    assert caught.value.details["attempts"] == attempts
    assert sum("no image" in r.getMessage() for r in caplog.records) == attempts
    # each retry is an INFO line; the failed job is a warning once, from the worker
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize(
    ("item", "needle"),
    [("blocked", "blockReason PROHIBITED_CONTENT"), ("image_safety", "finishReason IMAGE_SAFETY")],
)
async def test_refusals_are_not_retried(item: str, needle: str) -> None:
    async with (
        fake_gemini_server(script=[item, "image"]) as fake,
        provider_for(fake, no_image_attempts=3) as provider,
    ):
        with pytest.raises(ProviderFailed, match=needle):
            await provider.transform(job())
        assert len(fake.requests) == 1


@pytest.mark.parametrize(
    ("http", "hint"),
    [
        (400, "check the slot"),
        (403, "check PHOTOCHANGER_GEMINI_API_KEY"),
        (404, "unknown model"),
        (500, "Google-side error"),
    ],
)
async def test_rpc_errors_fail_the_job_with_googles_message(
    http: int, hint: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    status, message = RPC_ERRORS[http]
    async with fake_gemini_server(script=[http, "image"]) as fake, provider_for(fake) as provider:
        with pytest.raises(ProviderFailed) as caught:
            await provider.transform(job())
        assert len(fake.requests) == 1  # not retried: only 429/503 are (test_gemini_retry.py)
        key = fake.api_key
    error = caught.value
    assert f"HTTP {http} {status}: {message}" in error.message
    assert hint in error.message
    # The adapter only raises: the worker logs the failure once, with this message.
    assert not [r for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING]
    assert_no_secret(caplog, error, key)


async def test_a_wrong_key_is_named_but_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "AIzaSy-wrong-key-that-must-not-leak"
    async with fake_gemini_server() as fake, provider_for(fake, api_key=wrong) as provider:
        with pytest.raises(ProviderFailed, match="API key not valid") as caught:
            await provider.transform(job())
        assert fake.requests[0].api_key == wrong
    assert "check PHOTOCHANGER_GEMINI_API_KEY" in caught.value.message
    assert caught.value.details["reason"] == "API_KEY_INVALID"
    assert_no_secret(caplog, caught.value, wrong)


async def test_a_missing_key_is_permission_denied() -> None:
    async with fake_gemini_server() as fake, provider_for(fake, api_key="") as provider:
        with pytest.raises(ProviderFailed, match="HTTP 403 PERMISSION_DENIED"):
            await provider.transform(job())


async def test_an_unknown_model_is_not_found() -> None:
    async with fake_gemini_server() as fake, provider_for(fake) as provider:
        with pytest.raises(ProviderFailed, match="HTTP 404 NOT_FOUND: models/gemini-0 is not"):
            await provider.transform(job(settings={"prompt": "x", "model": "gemini-0"}))


async def test_an_answer_that_is_not_an_image_fails() -> None:
    async with (
        fake_gemini_server(image=b"hello", image_mime="text/plain") as fake,
        provider_for(fake) as provider,
    ):
        with pytest.raises(ProviderFailed, match="'text/plain', not an image"):
            await provider.transform(job())
        assert len(fake.requests) == 1


# --- no retry after the deadline (every call's deadline: test_provider_calls) -------------


async def test_no_retry_starts_after_the_deadline() -> None:
    async with (
        fake_gemini_server(script=["no_image"] * 50, latency=0.25) as fake,
        provider_for(fake, no_image_attempts=50, retry_pause_seconds=0.1) as provider,
    ):
        request = job(seconds=1.2)
        with pytest.raises(TimeoutError):
            await provider.transform(request)
        assert time.time() <= request.deadline.timestamp() + 0.5
        assert len(fake.requests) >= 2
        assert all(r.arrived_at_utc < request.deadline for r in fake.requests)


# --- the fake itself: it refuses what Google refuses ----------------------------------------

GOOD_PART = {"inline_data": {"mime_type": "image/png", "data": base64.b64encode(PHOTO).decode()}}
IMAGE_ONLY = {"responseModalities": ["IMAGE"]}


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("{not json", "Invalid JSON payload"),
        ({"contents": [{"parts": [GOOD_PART]}], "generationConfig": IMAGE_ONLY, "x": 1}, '"x"'),
        ({"generationConfig": IMAGE_ONLY}, "contents is not specified"),
        ({"contents": [{"parts": []}], "generationConfig": IMAGE_ONLY}, "must not be empty"),
        (
            {"contents": [{"role": "robot", "parts": [GOOD_PART]}], "generationConfig": IMAGE_ONLY},
            "valid role",
        ),
        (
            {
                "contents": [
                    {"parts": [{"inline_data": {"mime_type": "image/png", "data": "@@"}}]}
                ],
                "generationConfig": IMAGE_ONLY,
            },
            "Base64 decoding failed",
        ),
        (
            {
                "contents": [
                    {"parts": [{"inline_data": {"mime_type": "image/gif", "data": "AA=="}}]}
                ],
                "generationConfig": IMAGE_ONLY,
            },
            "Unsupported MIME type: image/gif",
        ),
        (
            {"contents": [{"parts": [{"text": "a", **GOOD_PART}]}], "generationConfig": IMAGE_ONLY},
            "oneof field 'data'",
        ),
        ({"contents": [{"parts": [GOOD_PART]}]}, "response_modalities"),
        (
            {
                "contents": [{"parts": [GOOD_PART]}],
                "generationConfig": {"responseModalities": ["IMAGE", "SMELL"]},
            },
            '"SMELL"',
        ),
    ],
)
async def test_the_fake_refuses_malformed_requests_like_google(body: Any, needle: str) -> None:
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    async with fake_gemini_server() as fake, httpx.AsyncClient() as client:
        response = await client.post(
            f"{fake.base_url}/v1beta/models/{DEFAULT_MODEL}:generateContent",
            content=content,
            headers={"x-goog-api-key": fake.api_key},
        )
        assert fake.requests[0].outcome == "answered" and fake.script == deque()
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    assert needle in error["message"]


async def test_an_oversized_request_is_refused_like_google() -> None:
    async with (
        fake_gemini_server(max_request_bytes=100) as fake,
        provider_for(fake) as provider,
    ):
        with pytest.raises(ProviderFailed, match="Request payload size exceeds the limit"):
            await provider.transform(job())


async def test_inputs_too_large_for_one_inline_request_are_refused_before_sending() -> None:
    big = InputImage(mime="image/jpeg", data=b"\xff\xd8\xff" + bytes(16 * 1024 * 1024))
    oversized = ProviderInput(
        job_id=uuid4(),
        operation="image_edit",
        settings={"prompt": "watercolour"},
        photo=big,  # 16 MB of photo is 21+ MB of base64
        templates={},
        deadline=datetime.now(UTC) + timedelta(seconds=10),
    )
    async with fake_gemini_server() as fake, provider_for(fake) as provider:
        with pytest.raises(ProviderFailed, match="at most 20 MB inline") as refused:
            await provider.transform(oversized)
        assert refused.value.details["request_bytes"] > 20 * 1024 * 1024
        assert fake.requests == []
