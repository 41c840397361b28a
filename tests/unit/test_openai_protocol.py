"""The OpenAI Images edits wire format on recorded, real-shaped payloads: request fields and
image parts, the answer, error classification, Retry-After and backoff."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from uuid import uuid4

import pytest

from adapters.providers.openai_errors import error_from_response, scrub
from adapters.providers.openai_protocol import (
    DEFAULT_MODEL,
    MAX_PROMPT_CHARS,
    OPERATIONS,
    build_edit,
    parse_answer,
    resolve_model,
)
from adapters.providers.retry_policy import backoff_seconds, retry_after_seconds
from application.ports import InputImage, ProviderInput
from domain.errors import ProviderFailed
from domain.providers import PROVIDERS

PHOTO = b"\xff\xd8\xff\xe0photo-bytes\x00\x01"
STYLE = b"\x89PNG\r\n\x1a\nstyle-bytes"
FACE = b"RIFF\x00\x00\x00\x00WEBPface"
RESULT = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDRresult"
NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


def provider_input(
    operation: str,
    settings: Mapping[str, Any],
    templates: Mapping[str, InputImage] | None = None,
    photo: InputImage | None = None,
) -> ProviderInput:
    return ProviderInput(
        job_id=uuid4(),
        operation=operation,
        settings=settings,
        photo=photo or InputImage(mime="image/jpeg", data=PHOTO),
        templates=templates or {},
        deadline=datetime.now(UTC) + timedelta(seconds=30),
    )


# --- recorded answers ---------------------------------------------------------------------

SUCCESS: dict[str, Any] = {
    "created": 1_746_100_000,
    "background": "opaque",
    "data": [{"b64_json": base64.b64encode(RESULT).decode()}],
    "output_format": "png",
    "quality": "medium",
    "size": "1024x1024",
    "usage": {
        "input_tokens": 1_050,
        "input_tokens_details": {"image_tokens": 1_024, "text_tokens": 26},
        "output_tokens": 4_160,
        "total_tokens": 5_210,
    },
}


def encoded(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def openai_error(message: str, kind: str, code: str | None, param: str | None = None) -> bytes:
    return encoded({"error": {"message": message, "type": kind, "param": param, "code": code}})


MODERATION = openai_error(
    "Your request was rejected by the safety system. If you believe this is an error, contact "
    "us at help.openai.com and include the request ID req_1. safety_violations=[violence].",
    "image_generation_user_error",
    "moderation_blocked",
)


# --- request ------------------------------------------------------------------------------


def test_image_edit_sends_model_prompt_and_the_photo() -> None:
    call = build_edit(provider_input("image_edit", {"prompt": "  watercolour  "}))

    assert call.model == DEFAULT_MODEL == "gpt-image-1.5"
    assert call.fields == {"model": "gpt-image-1.5", "prompt": "watercolour"}
    [photo] = call.images
    assert (photo.filename, photo.mime, photo.data) == ("photo.jpg", "image/jpeg", PHOTO)


def test_style_transfer_sends_photo_then_style_and_says_which_is_which() -> None:
    style = {"style_template_id": InputImage(mime="image/png", data=STYLE)}
    call = build_edit(provider_input("style_transfer", {"prompt": "oil painting"}, style))

    assert [(i.filename, i.mime, i.data) for i in call.images] == [
        ("photo.jpg", "image/jpeg", PHOTO),
        ("style_template.png", "image/png", STYLE),
    ]
    prompt = call.fields["prompt"]
    assert prompt.startswith("Image 1 is the photo to edit. Image 2 is a style reference")
    assert prompt.endswith("\n\noil painting")


def test_identity_transfer_sends_photo_then_face() -> None:
    face = {"face_template_id": InputImage(mime="image/webp", data=FACE)}
    call = build_edit(provider_input("identity_transfer", {"prompt": "swap"}, face))

    assert [i.data for i in call.images] == [PHOTO, FACE]
    assert call.images[1].filename == "face_template.webp"
    assert "Image 2 shows the face" in call.fields["prompt"]


def test_output_options_become_form_fields_as_text() -> None:
    settings = {
        "prompt": "p",
        "model": "gpt-image-1",
        "size": "1024x1536",
        "quality": "low",
        "output_format": "webp",
        "output_compression": 0,
        "input_fidelity": "low",
        "background": "transparent",
    }
    call = build_edit(provider_input("image_edit", settings))

    assert call.fields == {k: str(v) for k, v in settings.items()}
    assert call.fields["output_compression"] == "0"


def test_recipes_match_the_catalogue() -> None:
    catalogue = PROVIDERS["openai"].operations
    assert set(OPERATIONS) == set(catalogue)
    for name, recipe in OPERATIONS.items():
        assert recipe.template_fields == catalogue[name].template_fields()


@pytest.mark.parametrize(
    ("operation", "settings", "templates", "needle"),
    [
        ("cartoonify", {"prompt": "x"}, {}, "no operation 'cartoonify'"),
        ("image_edit", {}, {}, "needs a prompt"),
        ("identity_transfer", {"prompt": " "}, {}, "needs a prompt"),
        ("style_transfer", {"prompt": "x"}, {}, "'style_template_id'"),
        ("image_edit", {"prompt": "x" * (MAX_PROMPT_CHARS + 1)}, {}, "at most 32000"),
        ("image_edit", {"prompt": "x", "size": "800x600"}, {}, "size = '800x600'"),
        ("image_edit", {"prompt": "x", "output_compression": 101}, {}, "0..100"),
        ("image_edit", {"prompt": "x", "output_compression": True}, {}, "0..100"),
        ("image_edit", {"prompt": "x", "model": "dall-e-3"}, {}, "not a gpt-image model"),
        (
            "style_transfer",
            {"prompt": "x"},
            {"style_template_id": InputImage(mime="image/png", url="http://x/1")},
            "has no data",
        ),
    ],
)
def test_incomplete_or_bad_requests_are_refused(
    operation: str, settings: dict[str, Any], templates: dict[str, InputImage], needle: str
) -> None:
    with pytest.raises(ProviderFailed, match=needle):
        build_edit(provider_input(operation, settings, templates))


def test_a_photo_type_openai_does_not_take_is_refused() -> None:
    heic = InputImage(mime="image/heic", data=b"\x00\x00\x00\x18ftypheic")
    with pytest.raises(ProviderFailed, match="PNG, JPEG or WebP"):
        build_edit(provider_input("image_edit", {"prompt": "x"}, photo=heic))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, DEFAULT_MODEL),
        ("", DEFAULT_MODEL),
        ("gpt-image-1", "gpt-image-1"),
        ("gpt-image-1-mini", "gpt-image-1-mini"),
        ("gpt-image-2-2026-04-21", "gpt-image-2-2026-04-21"),
    ],
)
def test_model_names(value: str | None, expected: str) -> None:
    assert resolve_model({} if value is None else {"model": value}) == expected


# --- answer -------------------------------------------------------------------------------


def test_the_image_is_decoded_from_b64_json() -> None:
    result = parse_answer(encoded(SUCCESS))
    assert result.image == RESULT
    assert result.usage["total_tokens"] == 5_210


def test_unknown_answer_fields_are_ignored() -> None:
    payload = {**SUCCESS, "future_field": {"x": 1}}
    payload["data"] = [{**SUCCESS["data"][0], "revised_prompt": "a watercolour"}]
    assert parse_answer(encoded(payload)).image == RESULT


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b"<html>502 Bad Gateway</html>", "not JSON"),
        (b"[1, 2]", "unexpected JSON"),
        (encoded({"created": 1}), "unexpected JSON"),
        (encoded({"data": []}), "without any image"),
        (encoded({"data": [{"url": "https://files/x.png"}]}), "a URL instead"),
        (encoded({"data": [{}]}), "nothing instead"),
        (encoded({"data": [{"b64_json": "not*base64!"}]}), "base64"),
        (encoded({"data": [{"b64_json": 42}]}), "unexpected JSON"),
    ],
)
def test_unusable_answers_fail(raw: bytes, needle: str) -> None:
    with pytest.raises(ProviderFailed, match=needle):
        parse_answer(raw)


# --- errors -------------------------------------------------------------------------------


def test_moderation_is_a_final_refusal_that_says_what_happened() -> None:
    problem = error_from_response(400, MODERATION)

    assert not problem.retryable
    message = problem.failure.message
    assert "OpenAI's safety system refused this job (moderation_blocked)" in message
    assert "safety_violations=[violence]" in message
    assert "change the slot's prompt or templates" in message
    assert problem.failure.details == {
        "http_status": 400,
        "code": "moderation_blocked",
        "type": "image_generation_user_error",
        "refused": True,
    }


def test_a_content_policy_violation_is_a_refusal_too() -> None:
    raw = openai_error(
        "Your request was rejected.", "invalid_request_error", "content_policy_violation"
    )
    problem = error_from_response(400, raw)
    assert not problem.retryable and problem.failure.details["refused"] is True


@pytest.mark.parametrize(
    ("status", "code", "retryable", "hint"),
    [
        (400, "invalid_value", False, "check the slot's prompt"),
        (401, "invalid_api_key", False, "PHOTOCHANGER_OPENAI_API_KEY"),
        (403, None, False, "verification"),
        (404, "model_not_found", False, "unknown model"),
        (429, "rate_limit_exceeded", True, "rate limited"),
        (429, "insufficient_quota", False, "billing"),
        (500, None, False, "OpenAI-side error"),
        (503, None, True, "overloaded"),
    ],
)
def test_statuses_and_codes_are_classified(
    status: int, code: str | None, retryable: bool, hint: str
) -> None:
    problem = error_from_response(status, openai_error("Something.", "some_type", code))
    assert problem.retryable is retryable
    assert hint in problem.failure.message
    assert problem.failure.message.startswith(f"OpenAI answered HTTP {status}")
    assert problem.failure.details["http_status"] == status


def test_the_parameter_openai_names_is_passed_on() -> None:
    raw = openai_error("Invalid value: 'huge'.", "invalid_request_error", "invalid_value", "size")
    assert "parameter 'size'" in error_from_response(400, raw).failure.message


@pytest.mark.parametrize(
    ("raw", "needle"),
    [(b"<html>Bad gateway</html>", "<html>Bad gateway</html>"), (b"", "empty body")],
)
def test_a_body_that_is_not_openais_error_json_is_still_reported(raw: bytes, needle: str) -> None:
    problem = error_from_response(503, raw)
    assert needle in problem.failure.message and problem.retryable


def test_long_messages_are_cut_and_flattened() -> None:
    raw = openai_error("line one\n\n" + "x" * 1000, "t", None)
    message = error_from_response(400, raw).failure.message
    assert "line one x" in message and len(message) < 500


def test_key_echoes_and_bearer_credentials_are_scrubbed() -> None:
    raw = openai_error(
        "Incorrect API key provided: sk-proj-abcd************wxyz. Use Bearer sk-live-123.",
        "invalid_request_error",
        "invalid_api_key",
    )
    message = error_from_response(401, raw).failure.message
    assert "abcd" not in message and "wxyz" not in message and "sk-live-123" not in message
    assert "sk-[redacted]" in message
    assert scrub("Authorization: Bearer abc.def") == "Authorization: Bearer [redacted]"


# --- retry timing -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": " 1.5 "}, 1.5),
        ({"retry-after": "-4"}, 0.0),
        ({"retry-after": format_datetime(NOW + timedelta(seconds=20), usegmt=True)}, 20.0),
        ({"retry-after": format_datetime(NOW - timedelta(seconds=20), usegmt=True)}, 0.0),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after-ms": "abc", "retry-after": "2"}, 2.0),
        ({"retry-after": "1e12"}, 86_400.0),
    ],
)
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(headers, now=NOW) == expected


def test_backoff_doubles_up_to_the_cap_and_never_undercuts_retry_after() -> None:
    pauses = [backoff_seconds(n, None, base=0.5, cap=4.0) for n in range(1, 7)]
    assert pauses == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert backoff_seconds(1, 3.0, base=0.5, cap=4.0) == 3.0
    assert backoff_seconds(3, 0.1, base=0.5, cap=4.0) == 2.0
    assert backoff_seconds(1, 30.0, base=0.5, cap=4.0) == 30.0  # the server knows best
    assert backoff_seconds(10_000, None, base=0.5, cap=4.0) == 4.0
