"""OpenAIImagesProvider against the fake OpenAI server, over real loopback sockets through
httpx: operations and multipart fields, output options, safety refusals, 429/503 retries with
Retry-After and backoff inside the deadline, errors. The deadline, cancellation and transport
failures of every call are tested for both adapters in ``test_provider_calls``."""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fake_openai import API_ERRORS, DEFAULT_KEY, Answer, FakeOpenAI, api_error, fake_openai_server
from PIL import Image
from provider_jobs import FACE, PHOTO, STYLE, job

from adapters.clock import SystemClock
from adapters.providers.openai_images import OpenAIImagesProvider
from adapters.providers.openai_protocol import DEFAULT_MODEL
from application.ports import InputImage
from domain.errors import ProviderFailed

LOGGER = "adapters.providers.openai_images"


def jpeg(colour: tuple[int, int, int] = (1, 2, 3)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (9, 7), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


@asynccontextmanager
async def provider_for(
    fake: FakeOpenAI, *, api_key: str | None = None, **options: Any
) -> AsyncIterator[OpenAIImagesProvider]:
    provider = OpenAIImagesProvider(
        base_url=fake.base_url,
        api_key=fake.api_key if api_key is None else api_key,
        clock=SystemClock(),
        **{"backoff_base_seconds": 0.05, "backoff_max_seconds": 0.4, **options},
    )
    try:
        yield provider
    finally:
        await provider.aclose()


def assert_no_secret(caplog: pytest.LogCaptureFixture, error: BaseException, key: str) -> None:
    """Neither the key (nor OpenAI's partial echo of it) nor image bytes in logs or the error."""
    photo_b64 = base64.b64encode(PHOTO).decode()
    for text in [r.getMessage() for r in caplog.records] + [str(error), repr(error.args)]:
        assert key not in text
        assert key[:8] not in text and key[-4:] not in text
        assert photo_b64[:40] not in text
    assert key not in repr(getattr(error, "details", {}))


# --- operations and fields --------------------------------------------------------------


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
            {"face_template_id": str(uuid4()), "prompt": "swap the face"},
            {"face_template_id": InputImage(mime="image/png", data=FACE)},
            [PHOTO, FACE],
        ),
    ],
)
async def test_each_operation_sends_photo_then_templates_and_returns_the_image(
    operation: str,
    settings: dict[str, Any],
    templates: dict[str, InputImage],
    expected_images: list[bytes],
) -> None:
    async with fake_openai_server() as fake, provider_for(fake) as provider:
        output = await provider.transform(job(operation, settings, templates=templates))

        assert (output.image, output.mime) == (fake.encoded_image("png"), "image/png")
        [seen] = fake.requests
        assert (seen.outcome, seen.status) == ("answered", 200)
        assert seen.authorization == f"Bearer {fake.api_key}"
        assert seen.headers["content-type"].startswith("multipart/form-data; boundary=")
        assert seen.fields["model"] == DEFAULT_MODEL
        assert seen.fields["prompt"].endswith(settings["prompt"])
        assert set(seen.fields) == {"model", "prompt"}  # no option the slot did not set
        assert [i.data for i in seen.images] == expected_images
        assert {i.field_name for i in seen.images} == {"image[]"}
        assert {i.content_type for i in seen.images} == {"image/png"}
        assert all(i.filename and i.filename.endswith(".png") for i in seen.images)
        if len(expected_images) > 1:
            assert seen.fields["prompt"].startswith("Image 1 is the photo to edit")


@pytest.mark.parametrize(
    ("output_format", "mime"),
    [("jpeg", "image/jpeg"), ("webp", "image/webp"), ("png", "image/png")],
)
async def test_output_options_are_sent_and_the_result_type_comes_from_the_bytes(
    output_format: str, mime: str
) -> None:
    settings: dict[str, Any] = {
        "prompt": "watercolour",
        "model": "gpt-image-1",
        "size": "1536x1024",
        "quality": "high",
        "output_format": output_format,
        "input_fidelity": "high",
        "background": "opaque",
    }
    if output_format != "png":
        settings["output_compression"] = 80
    photo = InputImage(mime="image/jpeg", data=jpeg())
    async with fake_openai_server() as fake, provider_for(fake) as provider:
        output = await provider.transform(job(settings=settings, photo=photo))

        assert (output.image, output.mime) == (fake.encoded_image(output_format), mime)
        [seen] = fake.requests
        expected = {k: str(v) for k, v in settings.items()}
        assert seen.fields == expected
        assert [(i.content_type, i.filename) for i in seen.images] == [("image/jpeg", "photo.jpg")]


async def test_a_model_the_account_cannot_use_is_a_400_naming_it() -> None:
    async with fake_openai_server() as fake, provider_for(fake) as provider:
        with pytest.raises(ProviderFailed, match="Invalid value: 'gpt-image-9'") as caught:
            await provider.transform(job(settings={"prompt": "x", "model": "gpt-image-9"}))
    assert "parameter 'model'" in caught.value.message
    assert caught.value.details["code"] == "invalid_value"


# --- refusals and errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "code"),
    [("moderation", "moderation_blocked"), ("content_policy", "content_policy_violation")],
)
async def test_a_safety_refusal_fails_at_once_and_says_so(item: str, code: str) -> None:
    async with (
        fake_openai_server(script=[item, "image"]) as fake,
        provider_for(fake) as provider,
    ):
        with pytest.raises(ProviderFailed) as caught:
            await provider.transform(job())
        assert len(fake.requests) == 1  # never retried: it would be refused again
    error = caught.value
    assert "safety system refused" in error.message and code in error.message
    assert "change the slot's prompt or templates" in error.message
    assert error.details["refused"] is True and error.details["code"] == code


@pytest.mark.parametrize(
    ("http", "hint"),
    [
        (400, "check the slot's prompt"),
        (401, "check PHOTOCHANGER_OPENAI_API_KEY"),
        (403, "verification"),
        (500, "OpenAI-side error"),
    ],
)
async def test_other_errors_fail_the_job_with_openais_message_and_are_not_retried(
    http: int, hint: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with fake_openai_server(script=[http, "image"]) as fake, provider_for(fake) as provider:
        with pytest.raises(ProviderFailed) as caught:
            await provider.transform(job())
        assert len(fake.requests) == 1
        key = fake.api_key
    error = caught.value
    message = API_ERRORS[http].body["error"]["message"]
    assert f"HTTP {http}" in error.message and message[:40] in error.message
    assert hint in error.message
    assert error.details["http_status"] == http
    assert_no_secret(caplog, error, key)


async def test_a_wrong_key_is_named_but_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "sk-proj-wrongkey-that-must-not-leak-Q9Z8"
    async with fake_openai_server() as fake, provider_for(fake, api_key=wrong) as provider:
        with pytest.raises(ProviderFailed, match="Incorrect API key provided") as caught:
            await provider.transform(job())
        assert fake.requests[0].authorization == f"Bearer {wrong}"
    assert "sk-[redacted]" in caught.value.message  # OpenAI's partial echo is dropped too
    assert "check PHOTOCHANGER_OPENAI_API_KEY" in caught.value.message
    assert caught.value.details["code"] == "invalid_api_key"
    assert_no_secret(caplog, caught.value, wrong)


async def test_a_missing_key_is_a_401() -> None:
    async with fake_openai_server() as fake, provider_for(fake, api_key="") as provider:
        with pytest.raises(ProviderFailed, match="HTTP 401: You didn't provide an API key"):
            await provider.transform(job())


async def test_an_exhausted_quota_is_not_retried() -> None:
    async with (
        fake_openai_server(script=["insufficient_quota", "image"]) as fake,
        provider_for(fake) as provider,
    ):
        with pytest.raises(ProviderFailed, match="billing") as caught:
            await provider.transform(job())
        assert len(fake.requests) == 1
    assert caught.value.details["code"] == "insufficient_quota"


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b'{"created": 1, "data": []}', "without any image"),
        (b'{"data": [{"url": "https://x/y.png"}]}', "a URL instead"),
        (b'{"data": [{"b64_json": "***"}]}', "Invalid base64"),
        (b"<html>bad gateway</html>", "not JSON"),
        (
            b'{"data": [{"b64_json": "' + base64.b64encode(b"hello").decode().encode() + b'"}]}',
            "not a PNG",
        ),
    ],
)
async def test_unusable_answers_fail(raw: bytes, needle: str) -> None:
    async with (
        fake_openai_server(script=[Answer(raw=raw)]) as fake,
        provider_for(fake) as provider,
    ):
        with pytest.raises(ProviderFailed, match=needle):
            await provider.transform(job())
        assert len(fake.requests) == 1


async def test_a_result_above_the_cap_is_refused() -> None:
    async with fake_openai_server() as fake, provider_for(fake, max_result_bytes=64) as provider:
        with pytest.raises(ProviderFailed, match="larger than"):
            await provider.transform(job())


# --- 429 / 503: retried within the deadline -------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
async def test_rate_limits_and_overload_are_retried_with_growing_pauses(status: int) -> None:
    async with (
        fake_openai_server(script=[status, status, "image"]) as fake,
        provider_for(fake, backoff_base_seconds=0.1, backoff_max_seconds=1.0) as provider,
    ):
        output = await provider.transform(job())

        assert output.image == fake.encoded_image("png")
        assert [r.status for r in fake.requests] == [status, status, 200]
        first, second, third = (r.arrived_at for r in fake.requests)
        assert second - first >= 0.1 * 0.9
        assert third - second >= 0.2 * 0.9  # the pause doubles


@pytest.mark.parametrize(
    ("headers", "pause"),
    [({"retry-after-ms": "600"}, 0.6), ({"retry-after": "1"}, 1.0)],
    ids=["retry-after-ms", "retry-after"],
)
async def test_retry_after_is_honoured(headers: dict[str, str], pause: float) -> None:
    limited = api_error(429, "Rate limit reached.", kind="requests", code="rate_limit_exceeded")
    answer = Answer(status=429, body=limited.body, headers=headers)
    async with (
        fake_openai_server(script=[answer, "image"]) as fake,
        provider_for(fake) as provider,
    ):
        await provider.transform(job())
        first, second = (r.arrived_at for r in fake.requests)
        assert second - first >= pause * 0.95


async def test_retries_stop_after_the_attempts_with_openais_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    async with (
        fake_openai_server(script=[503] * 10) as fake,
        provider_for(fake, max_attempts=3) as provider,
    ):
        with pytest.raises(ProviderFailed, match=r"overloaded.*\(after 3 attempts\)") as caught:
            await provider.transform(job())
        assert len(fake.requests) == 3
    assert caught.value.details["attempts"] == 3
    assert sum("trying again" in r.getMessage() for r in caplog.records) == 2


async def test_a_retry_after_beyond_the_deadline_fails_at_once() -> None:
    """The booth gets its 502 now instead of a 504 at the deadline."""
    limited = API_ERRORS[429]
    answer = Answer(status=429, body=limited.body, headers={"retry-after": "30"})
    async with (
        fake_openai_server(script=[answer, "image"]) as fake,
        provider_for(fake) as provider,
    ):
        started = time.monotonic()
        with pytest.raises(ProviderFailed, match=r"no time left to wait 30\.0 s"):
            await provider.transform(job(seconds=5))
        assert time.monotonic() - started < 2
        assert len(fake.requests) == 1


async def test_retries_never_start_after_the_deadline() -> None:
    async with (
        fake_openai_server(script=[503] * 50, latency=0.1) as fake,
        provider_for(fake, max_attempts=50, backoff_max_seconds=0.2) as provider,
    ):
        request = job(seconds=1.5)
        with pytest.raises((ProviderFailed, TimeoutError)):
            await provider.transform(request)
        assert time.time() <= request.deadline.timestamp() + 0.5
        assert len(fake.requests) >= 3
        assert all(r.arrived_at_utc < request.deadline for r in fake.requests)


# --- cancelled during a retry pause (every call's deadline: test_provider_calls) ----------


async def test_cancelling_during_a_retry_pause_sends_nothing_more() -> None:
    async with (
        fake_openai_server(script=[503, "image"]) as fake,
        provider_for(fake, backoff_base_seconds=30.0, backoff_max_seconds=30.0) as provider,
    ):
        task = asyncio.create_task(provider.transform(job(seconds=60)))
        await fake.wait_until(lambda f: bool(f.requests) and f.requests[0].outcome == "answered")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(fake.requests) == 1


# --- the fake itself: it refuses what OpenAI refuses ----------------------------------------


def _form(**fields: str) -> dict[str, str]:
    return {"model": "gpt-image-1", "prompt": "watercolour", **fields}


def _png(name: str = "image[]", content_type: str = "image/png", data: bytes = PHOTO) -> Any:
    return (name, ("photo.png", data, content_type))


@pytest.mark.parametrize(
    ("data", "files", "needle"),
    [
        (_form(prompt=""), [_png()], "Missing required parameter: 'prompt'"),
        (_form(), [], "Missing required parameter: 'image'"),
        (_form(colour="red"), [_png()], "Unrecognized request argument supplied: colour"),
        (_form(size="800x600"), [_png()], "Invalid value: '800x600'"),
        (_form(quality="ultra"), [_png()], "Invalid value: 'ultra'"),
        (_form(output_compression="80"), [_png()], "only supported for jpeg and webp"),
        (
            _form(output_format="jpeg", output_compression="101"),
            [_png()],
            "Invalid 'output_compression'",
        ),
        (
            _form(output_format="jpeg", background="transparent"),
            [_png()],
            "Transparent background",
        ),
        (_form(), [_png(content_type="image/gif")], "unsupported mimetype ('image/gif')"),
        (_form(), [_png(data=b"not an image")], "Invalid image file or mode for image 1"),
        (_form(), [_png()] * 17, "maximum length 16"),
        (_form(), [_png(name="mask[]")], "Unrecognized file argument supplied: mask[]"),
    ],
)
async def test_the_fake_refuses_malformed_requests_like_openai(
    data: dict[str, str], files: list[Any], needle: str
) -> None:
    headers = {"Authorization": f"Bearer {DEFAULT_KEY}"}
    options: dict[str, Any] = {"data": data, "files": files}
    if not files:  # httpx sends multipart only with files: spell out a text-only form
        boundary = "fake-boundary-1"
        body = "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in data.items()
        )
        options = {"content": f"{body}--{boundary}--\r\n".encode()}
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    async with fake_openai_server() as fake, httpx.AsyncClient() as client:
        response = await client.post(f"{fake.base_url}/v1/images/edits", headers=headers, **options)
        assert fake.requests[0].outcome == "answered"
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert needle in error["message"]
    assert set(error) == {"message", "type", "param", "code"}


async def test_the_fake_refuses_a_json_body() -> None:
    async with fake_openai_server() as fake, httpx.AsyncClient() as client:
        response = await client.post(
            f"{fake.base_url}/v1/images/edits",
            json={"prompt": "x"},
            headers={"Authorization": f"Bearer {fake.api_key}"},
        )
    assert response.status_code == 400
    assert "multipart/form-data" in response.json()["error"]["message"]
