"""GeminiProvider with a Gemini 3 image model against the fake Gemini, over real sockets:
the slot's image settings arrive as ``generationConfig.imageConfig``, and a thinking answer
(thought text and draft image, then text, then the image) yields the final image."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fake_gemini import DRAFT_IMAGE_COLOUR, fake_gemini_server, small_png
from PIL import Image

from adapters.clock import SystemClock
from adapters.providers.gemini import GeminiProvider
from application.ports import InputImage, ProviderInput

MODEL = "gemini-3-pro-image-preview"
PHOTO = small_png((10, 20, 30), (16, 12))


def job(settings: dict[str, Any]) -> ProviderInput:
    return ProviderInput(
        job_id=uuid4(),
        operation="image_edit",
        settings=settings,
        photo=InputImage(mime="image/png", data=PHOTO),
        templates={},
        deadline=datetime.now(UTC) + timedelta(seconds=10),
    )


def provider(base_url: str, api_key: str) -> GeminiProvider:
    return GeminiProvider(base_url=base_url, api_key=api_key, clock=SystemClock())


async def test_image_settings_reach_gemini_as_image_config() -> None:
    settings = {
        "prompt": "watercolour",
        "model": MODEL,
        "image_config": {"aspect_ratio": "21:9", "image_size": "2K"},
    }
    async with fake_gemini_server() as fake:
        adapter = provider(fake.base_url, fake.api_key)
        try:
            output = await adapter.transform(job(settings))
        finally:
            await adapter.aclose()
        [seen] = fake.requests
    assert output.image == fake.image
    assert (seen.model, seen.status) == (MODEL, 200)
    assert seen.image_config == {"aspectRatio": "21:9", "imageSize": "2K"}


async def test_a_thinking_answer_yields_the_final_image_not_the_draft() -> None:
    async with fake_gemini_server(script=["thinking"]) as fake:
        adapter = provider(fake.base_url, fake.api_key)
        try:
            output = await adapter.transform(job({"prompt": "watercolour", "model": MODEL}))
        finally:
            await adapter.aclose()
    assert (output.image, output.mime) == (fake.image, "image/png")
    with Image.open(io.BytesIO(output.image)) as picture:
        assert picture.convert("RGB").getpixel((0, 0)) != DRAFT_IMAGE_COLOUR


@pytest.mark.parametrize(
    ("image_config", "needle"),
    [
        ({"aspectRatio": "7:5"}, "image_config.aspectRatio: unsupported value '7:5'"),
        ({"imageSize": "4k"}, "unsupported value '4k'"),
        ({"seed": 1}, 'Unknown name "seed"'),
        ("16:9", "expected an object"),
    ],
)
async def test_the_fake_checks_image_config_like_gemini(image_config: Any, needle: str) -> None:
    body = {
        "contents": [{"parts": [{"text": "x"}]}],
        "generationConfig": {"responseModalities": ["IMAGE"], "imageConfig": image_config},
    }
    async with fake_gemini_server() as fake, httpx.AsyncClient() as client:
        response = await client.post(
            f"{fake.base_url}/v1beta/models/{MODEL}:generateContent",
            json=body,
            headers={"x-goog-api-key": fake.api_key},
        )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT" and needle in error["message"]
