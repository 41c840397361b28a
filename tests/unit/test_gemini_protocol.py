"""The Gemini wire format on recorded, real-shaped payloads: request building and response
classification (SPEC §8); error answers are in ``test_gemini_errors``."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from adapters.providers.gemini_protocol import (
    DEFAULT_IDENTITY_PROMPT,
    DEFAULT_MODEL,
    OPERATIONS,
    NoImage,
    build_call,
    parse_response,
    resolve_model,
)
from application.ports import InputImage, ProviderInput
from domain.errors import ProviderFailed
from domain.providers import PROVIDERS

PHOTO = b"\xff\xd8\xff\xe0photo-bytes\x00\x01"
STYLE = b"\x89PNG\r\n\x1a\nstyle-bytes"
FACE = b"RIFF\x00\x00\x00\x00WEBPface"
RESULT = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDRresult"
B64_RESULT = base64.b64encode(RESULT).decode()


def provider_input(
    operation: str,
    settings: Mapping[str, Any],
    templates: Mapping[str, InputImage] | None = None,
) -> ProviderInput:
    return ProviderInput(
        job_id=uuid4(),
        operation=operation,
        settings=settings,
        photo=InputImage(mime="image/jpeg", data=PHOTO),
        templates=templates or {},
        deadline=datetime.now(UTC) + timedelta(seconds=30),
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- recorded answers (shapes as the real API sends them) ---------------------------------

SUCCESS: dict[str, Any] = {
    "candidates": [
        {
            "content": {
                "parts": [
                    {"text": "Here is your photo as a watercolour painting."},
                    {"inlineData": {"mimeType": "image/png", "data": B64_RESULT}},
                ],
                "role": "model",
            },
            "finishReason": "STOP",
            "index": 0,
        }
    ],
    "usageMetadata": {
        "promptTokenCount": 1299,
        "candidatesTokenCount": 1290,
        "totalTokenCount": 2589,
        "promptTokensDetails": [
            {"modality": "TEXT", "tokenCount": 10},
            {"modality": "IMAGE", "tokenCount": 1289},
        ],
        "candidatesTokensDetails": [{"modality": "IMAGE", "tokenCount": 1290}],
    },
    "modelVersion": "gemini-2.5-flash-image",
    "responseId": "Xq8kaPLaAbCdEfGhIjKlMn",
}

SNAKE_SUCCESS: dict[str, Any] = {
    "candidates": [
        {
            "content": {
                "parts": [{"inline_data": {"mime_type": "image/jpeg", "data": B64_RESULT}}],
                "role": "model",
            },
            "finish_reason": "STOP",
            "index": 0,
        }
    ],
    "usage_metadata": {"prompt_token_count": 1299, "total_token_count": 2589},
    "model_version": "gemini-2.5-flash-image",
    "response_id": "Xq8kaPLaAbCdEfGhIjKlMn",
}

NO_IMAGE: dict[str, Any] = {
    "candidates": [{"finishReason": "NO_IMAGE", "index": 0}],
    "usageMetadata": {"promptTokenCount": 1299, "totalTokenCount": 1299},
    "modelVersion": "gemini-2.5-flash-image",
    "responseId": "aB3kaPLaAbCdEfGhIjKlMn",
}

TEXT_ONLY: dict[str, Any] = {
    "candidates": [
        {
            "content": {
                "parts": [{"text": "I'm unable to   create\nthat image."}],
                "role": "model",
            },
            "finishReason": "STOP",
            "index": 0,
        }
    ],
    "modelVersion": "gemini-2.5-flash-image",
}

BLOCKED_PROMPT: dict[str, Any] = {
    "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
    "usageMetadata": {"promptTokenCount": 1299, "totalTokenCount": 1299},
    "modelVersion": "gemini-2.5-flash-image",
    "responseId": "cD5kaPLaAbCdEfGhIjKlMn",
}

IMAGE_SAFETY: dict[str, Any] = {
    "candidates": [{"finishReason": "IMAGE_SAFETY", "index": 0}],
    "modelVersion": "gemini-2.5-flash-image",
}


def encoded(payload: Any) -> bytes:
    return json.dumps(payload).encode()


# --- request ------------------------------------------------------------------------------


def test_image_edit_request_is_prompt_then_photo() -> None:
    call = build_call(provider_input("image_edit", {"prompt": "  watercolour  "}))

    assert call.model == DEFAULT_MODEL
    assert call.path == "/v1beta/models/gemini-2.5-flash-image:generateContent"
    assert call.body == {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "watercolour"},
                    {"inline_data": {"mime_type": "image/jpeg", "data": b64(PHOTO)}},
                ],
            }
        ],
        "generationConfig": {"responseModalities": ["IMAGE"]},
    }
    json.dumps(call.body)  # serialisable as it is


def test_style_transfer_sends_photo_then_style_and_says_which_is_which() -> None:
    call = build_call(
        provider_input(
            "style_transfer",
            {"prompt": "oil painting", "style_template_id": str(uuid4()), "model": "m-1.0"},
            {"style_template_id": InputImage(mime="image/png", data=STYLE)},
        )
    )

    assert call.path == "/v1beta/models/m-1.0:generateContent"
    parts = call.body["contents"][0]["parts"]
    assert [list(p) for p in parts] == [["text"], ["inline_data"], ["inline_data"]]
    text = parts[0]["text"]
    assert "Image 1 is the photo" in text and "Image 2 is a style reference" in text
    assert text.endswith("oil painting")
    assert parts[1]["inline_data"] == {"mime_type": "image/jpeg", "data": b64(PHOTO)}
    assert parts[2]["inline_data"] == {"mime_type": "image/png", "data": b64(STYLE)}
    assert base64.b64decode(parts[2]["inline_data"]["data"]) == STYLE


def test_identity_transfer_without_prompt_uses_the_built_in_instruction() -> None:
    face = {"face_template_id": InputImage(mime="image/webp", data=FACE)}
    call = build_call(provider_input("identity_transfer", {"face_template_id": "x"}, face))

    parts = call.body["contents"][0]["parts"]
    assert parts[0]["text"].startswith("Image 1 is the photo to edit. Image 2 shows the face")
    assert parts[0]["text"].endswith(DEFAULT_IDENTITY_PROMPT)
    assert parts[1]["inline_data"]["data"] == b64(PHOTO)
    assert parts[2]["inline_data"] == {"mime_type": "image/webp", "data": b64(FACE)}


def test_identity_transfer_prompt_replaces_the_built_in_instruction() -> None:
    face = {"face_template_id": InputImage(mime="image/webp", data=FACE)}
    call = build_call(provider_input("identity_transfer", {"prompt": "smile"}, face))

    text = call.body["contents"][0]["parts"][0]["text"]
    assert text.endswith("\n\nsmile")
    assert DEFAULT_IDENTITY_PROMPT not in text


def test_recipes_match_the_catalogue() -> None:
    """The adapter sends exactly the template images the catalogue makes slots provide."""
    catalogue = PROVIDERS["gemini"].operations
    assert set(OPERATIONS) == set(catalogue)
    for name, recipe in OPERATIONS.items():
        assert recipe.template_fields == catalogue[name].template_fields()
        assert recipe.prompt_required == catalogue[name].fields["prompt"].required


@pytest.mark.parametrize(
    ("operation", "settings", "templates", "needle"),
    [
        ("cartoonify", {"prompt": "x"}, {}, "no operation 'cartoonify'"),
        ("image_edit", {}, {}, "needs a prompt"),
        ("image_edit", {"prompt": "   "}, {}, "needs a prompt"),
        ("style_transfer", {"prompt": "x"}, {}, "'style_template_id'"),
        ("identity_transfer", {}, {}, "'face_template_id'"),
        (
            "style_transfer",
            {"prompt": "x"},
            {"style_template_id": InputImage(mime="image/png", url="http://x/1")},
            "has no data",
        ),
    ],
)
def test_incomplete_requests_are_refused(
    operation: str, settings: dict[str, Any], templates: dict[str, InputImage], needle: str
) -> None:
    with pytest.raises(ProviderFailed, match=needle):
        build_call(provider_input(operation, settings, templates))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, DEFAULT_MODEL),
        ("", DEFAULT_MODEL),
        ("gemini-2.5-flash-image-preview", "gemini-2.5-flash-image-preview"),
        ("models/gemini-3-pro-image-preview", "gemini-3-pro-image-preview"),
        ("My_Model.v2", "My_Model.v2"),
    ],
)
def test_model_names_that_are_accepted(value: str | None, expected: str) -> None:
    settings = {} if value is None else {"model": value}
    assert resolve_model(settings) == expected


@pytest.mark.parametrize(
    "value",
    [
        "../../v1/files",
        "gemini/../../x",
        "gemini?key=1",
        "gemini:streamGenerateContent",
        "gemini%2F..",
        "gemini 2",
        "..",
        "x" * 101,
        42,
    ],
)
def test_model_names_that_could_escape_the_path_are_refused(value: Any) -> None:
    with pytest.raises(ProviderFailed) as caught:
        resolve_model({"model": value})
    assert caught.value.details == {"setting": "model"}


# --- response -----------------------------------------------------------------------------


def test_success_picks_the_image_after_the_text_part() -> None:
    output = parse_response(encoded(SUCCESS))
    assert (output.image, output.mime) == (RESULT, "image/png")


def test_snake_case_answer_is_understood() -> None:
    output = parse_response(encoded(SNAKE_SUCCESS))
    assert (output.image, output.mime) == (RESULT, "image/jpeg")


def test_thought_images_are_skipped() -> None:
    draft = base64.b64encode(b"draft").decode()
    payload = json.loads(json.dumps(SUCCESS))
    payload["candidates"][0]["content"]["parts"].insert(
        0, {"thought": True, "inlineData": {"mimeType": "image/png", "data": draft}}
    )
    assert parse_response(encoded(payload)).image == RESULT


def test_mime_parameters_and_case_are_normalised() -> None:
    payload = json.loads(json.dumps(SUCCESS))
    payload["candidates"][0]["content"]["parts"][1]["inlineData"]["mimeType"] = "Image/WebP; x=1"
    assert parse_response(encoded(payload)).mime == "image/webp"


def test_no_image_is_a_retryable_outcome() -> None:
    with pytest.raises(NoImage, match="finishReason NO_IMAGE") as caught:
        parse_response(encoded(NO_IMAGE))
    assert caught.value.details == {"finish_reason": "NO_IMAGE"}
    assert isinstance(caught.value, ProviderFailed)


def test_text_without_image_is_retryable_and_says_what_the_model_wrote() -> None:
    with pytest.raises(NoImage, match=re.escape("STOP): I'm unable to create that image.")):
        parse_response(encoded(TEXT_ONLY))


def test_blocked_prompt_is_final() -> None:
    with pytest.raises(ProviderFailed, match="blockReason PROHIBITED_CONTENT") as caught:
        parse_response(encoded(BLOCKED_PROMPT))
    assert not isinstance(caught.value, NoImage)


def test_unsafe_image_is_final() -> None:
    with pytest.raises(ProviderFailed, match="finishReason IMAGE_SAFETY") as caught:
        parse_response(encoded(IMAGE_SAFETY))
    assert not isinstance(caught.value, NoImage)


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b"<html>502 Bad Gateway</html>", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not an object"),
        (encoded({"modelVersion": "x"}), "without any candidate"),
        (encoded({"candidates": []}), "without any candidate"),
        (encoded({"candidates": ["x"]}), "malformed candidate"),
    ],
)
def test_unusable_answers_fail(raw: bytes, needle: str) -> None:
    with pytest.raises(ProviderFailed, match=needle) as caught:
        parse_response(raw)
    assert not isinstance(caught.value, NoImage)


def test_bad_base64_fails() -> None:
    payload = json.loads(json.dumps(SUCCESS))
    payload["candidates"][0]["content"]["parts"][1]["inlineData"]["data"] = "not*base64!"
    with pytest.raises(ProviderFailed, match="not valid base64"):
        parse_response(encoded(payload))


def test_url_safe_base64_is_accepted() -> None:
    data = bytes(range(256))
    payload = json.loads(json.dumps(SUCCESS))
    inline = payload["candidates"][0]["content"]["parts"][1]["inlineData"]
    inline["data"] = base64.urlsafe_b64encode(data).decode()
    assert parse_response(encoded(payload)).image == data


@pytest.mark.parametrize("mime", ["text/plain", "image/gif", "application/octet-stream", ""])
def test_answer_that_is_not_a_supported_image_type_fails(mime: str) -> None:
    payload = json.loads(json.dumps(SUCCESS))
    payload["candidates"][0]["content"]["parts"][1]["inlineData"]["mimeType"] = mime
    with pytest.raises(ProviderFailed, match="not an image") as caught:
        parse_response(encoded(payload))
    assert not isinstance(caught.value, NoImage)
