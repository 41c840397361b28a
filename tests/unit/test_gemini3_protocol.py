"""Gemini 3 image models in the Gemini wire format: ``image_config`` sent as
``generationConfig.imageConfig``, and answers with thought parts or text before the image."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from adapters.providers.gemini_protocol import (
    NoImage,
    build_call,
    parse_response,
    resolve_image_config,
)
from application.ports import InputImage, ProviderInput
from domain.errors import ProviderFailed
from domain.providers import GEMINI_ASPECT_RATIOS, GEMINI_IMAGE_SIZES

PHOTO = b"\xff\xd8\xff\xe0photo-bytes"
DRAFT = b"\x89PNG\r\n\x1a\ndraft"
FINAL = b"\x89PNG\r\n\x1a\nfinal"
SECOND = b"\x89PNG\r\n\x1a\nsecond"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def provider_input(settings: Mapping[str, Any]) -> ProviderInput:
    return ProviderInput(
        job_id=uuid4(),
        operation="image_edit",
        settings=settings,
        photo=InputImage(mime="image/jpeg", data=PHOTO),
        templates={},
        deadline=datetime.now(UTC) + timedelta(seconds=30),
    )


def answer(*parts: dict[str, Any]) -> bytes:
    candidate = {"content": {"parts": list(parts), "role": "model"}, "finishReason": "STOP"}
    return json.dumps(
        {"candidates": [candidate], "modelVersion": "gemini-3-pro-image-preview"}
    ).encode()


def image_part(data: bytes, *, thought: bool = False, mime: str = "image/png") -> dict[str, Any]:
    part: dict[str, Any] = {"inlineData": {"mimeType": mime, "data": b64(data)}}
    if thought:
        part["thought"] = True
    else:
        part["thoughtSignature"] = "CiQB0e2Kb7sig"
    return part


# --- request ------------------------------------------------------------------------------


def test_image_config_is_sent_as_generation_config_image_config() -> None:
    call = build_call(
        provider_input(
            {
                "prompt": "watercolour",
                "model": "gemini-3-pro-image-preview",
                "image_config": {"aspect_ratio": "16:9", "image_size": "4K"},
            }
        )
    )

    assert call.path == "/v1beta/models/gemini-3-pro-image-preview:generateContent"
    assert call.body["generationConfig"] == {
        "responseModalities": ["IMAGE"],
        "imageConfig": {"aspectRatio": "16:9", "imageSize": "4K"},
    }


@pytest.mark.parametrize(
    ("image_config", "expected"),
    [
        ({"aspect_ratio": "4:5"}, {"aspectRatio": "4:5"}),
        ({"image_size": "2K"}, {"imageSize": "2K"}),
        ({}, {}),
    ],
)
def test_only_what_the_slot_sets_is_sent(
    image_config: dict[str, str], expected: dict[str, str]
) -> None:
    call = build_call(provider_input({"prompt": "p", "image_config": image_config}))
    assert call.body["generationConfig"].get("imageConfig", {}) == expected


def test_without_image_config_the_request_is_unchanged() -> None:
    call = build_call(provider_input({"prompt": "p"}))
    assert call.body["generationConfig"] == {"responseModalities": ["IMAGE"]}


@pytest.mark.parametrize("ratio", GEMINI_ASPECT_RATIOS)
@pytest.mark.parametrize("size", GEMINI_IMAGE_SIZES)
def test_every_allowed_value_passes(ratio: str, size: str) -> None:
    config = resolve_image_config({"image_config": {"aspect_ratio": ratio, "image_size": size}})
    assert config == {"aspectRatio": ratio, "imageSize": size}


@pytest.mark.parametrize(
    ("image_config", "setting"),
    [
        ({"aspect_ratio": "7:5"}, "image_config.aspect_ratio"),
        ({"image_size": "4k"}, "image_config.image_size"),
        ({"image_size": 2}, "image_config.image_size"),
        ({"seed": 1}, "image_config.seed"),
        ("16:9", "image_config"),
    ],
)
def test_bad_values_are_refused_before_sending(image_config: Any, setting: str) -> None:
    with pytest.raises(ProviderFailed) as caught:
        build_call(provider_input({"prompt": "p", "image_config": image_config}))
    assert caught.value.details == {"setting": setting}


# --- response -----------------------------------------------------------------------------


def test_thoughts_and_text_before_the_image_are_skipped() -> None:
    raw = answer(
        {"text": "**Planning the edit**", "thought": True},
        image_part(DRAFT, thought=True),
        {"text": "Here is your watercolour."},
        image_part(FINAL),
    )
    output = parse_response(raw)
    assert (output.image, output.mime) == (FINAL, "image/png")


def test_the_last_real_image_wins() -> None:
    raw = answer(image_part(FINAL), {"text": "and a second take:"}, image_part(SECOND))
    assert parse_response(raw).image == SECOND


def test_a_thought_image_after_the_final_one_is_not_taken() -> None:
    raw = answer(image_part(FINAL), image_part(DRAFT, thought=True))
    assert parse_response(raw).image == FINAL


def test_a_trailing_non_image_part_does_not_hide_the_image() -> None:
    raw = answer(image_part(FINAL), image_part(b"%PDF-1.7", mime="application/pdf"))
    assert parse_response(raw).image == FINAL


def test_only_thoughts_is_no_image() -> None:
    raw = answer({"text": "thinking", "thought": True}, image_part(DRAFT, thought=True))
    with pytest.raises(NoImage, match="finishReason STOP"):
        parse_response(raw)
