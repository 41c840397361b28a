"""Jobs as a provider adapter receives them, for the Gemini and OpenAI adapter tests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from fake_gemini import small_png

from application.ports import InputImage, ProviderInput

PHOTO = small_png((10, 20, 30), (16, 12))
STYLE = small_png((200, 10, 10), (4, 4))
FACE = small_png((5, 200, 5), (6, 6))


def job(
    operation: str = "image_edit",
    settings: Mapping[str, Any] | None = None,
    *,
    seconds: float = 10.0,
    templates: Mapping[str, InputImage] | None = None,
    photo: InputImage | None = None,
) -> ProviderInput:
    """A job whose deadline is ``seconds`` away (negative: already passed)."""
    return ProviderInput(
        job_id=uuid4(),
        operation=operation,
        settings=settings if settings is not None else {"prompt": "make it a watercolour"},
        photo=photo or InputImage(mime="image/png", data=PHOTO),
        templates=templates or {},
        deadline=datetime.now(UTC) + timedelta(seconds=seconds),
    )
