"""The OpenAI Images ``edits`` wire format for gpt-image models, as pure functions without I/O.

Kept apart from the HTTP adapter so that the multipart fields and the answer can be tested on
recorded payloads, and so that the fake server in the tests (which parses the multipart body
with its own parser) cannot share one misunderstanding with the adapter. Error answers and
retry timing are in ``openai_errors``.

Request: ``POST /v1/images/edits``, ``Authorization: Bearer {key}``, multipart form with
``model``, ``prompt``, the images as repeated ``image[]`` file parts (the photo first, then the
operation's templates) and the slot's output options. Answer: ``{"data": [{"b64_json": …}],
"usage": {…}}``; errors: ``{"error": {"message", "type", "param", "code"}}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from adapters.providers.image_prompts import OPERATIONS, prompt_text, recipe_for, template_images
from application.ports import InputImage, ProviderInput
from domain.errors import ProviderFailed
from domain.media import extension_for_mime
from domain.providers import (
    OPENAI_BACKGROUNDS,
    OPENAI_INPUT_FIDELITIES,
    OPENAI_OUTPUT_FORMATS,
    OPENAI_QUALITIES,
    OPENAI_SIZES,
)

DEFAULT_MODEL = "gpt-image-1.5"
EDITS_PATH = "/v1/images/edits"
IMAGE_FIELD = "image[]"
INPUT_MIMES = frozenset({"image/png", "image/jpeg", "image/webp"})
MAX_PROMPT_CHARS = 32_000

_MODEL_NAME = re.compile(r"gpt-image-[A-Za-z0-9._-]{1,60}")

# Slot setting -> the values the API takes (sent as the form field of the same name).
_CHOICES: Mapping[str, tuple[str, ...]] = {
    "size": OPENAI_SIZES,
    "quality": OPENAI_QUALITIES,
    "output_format": OPENAI_OUTPUT_FORMATS,
    "input_fidelity": OPENAI_INPUT_FIDELITIES,
    "background": OPENAI_BACKGROUNDS,
}
COMPRESSION = "output_compression"


@dataclass(frozen=True, slots=True)
class UploadImage:
    """One ``image[]`` file part."""

    filename: str
    mime: str
    data: bytes


@dataclass(frozen=True, slots=True)
class EditCall:
    """One edits request: its text fields (in order) and its image parts (in order)."""

    model: str
    fields: dict[str, str]
    images: tuple[UploadImage, ...]


@dataclass(frozen=True, slots=True)
class EditResult:
    image: bytes
    usage: Mapping[str, Any]


# --- request ------------------------------------------------------------------------------


def resolve_model(settings: Mapping[str, Any]) -> str:
    """The slot's ``model`` (any ``gpt-image-*``) or ``DEFAULT_MODEL``."""
    value = settings.get("model")
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return DEFAULT_MODEL
    if not isinstance(value, str) or not _MODEL_NAME.fullmatch(value.strip()):
        raise ProviderFailed(
            f"OpenAI model {str(value)[:100]!r} is not a gpt-image model", {"setting": "model"}
        )
    return value.strip()


def _options(settings: Mapping[str, Any]) -> dict[str, str]:
    """The output options the slot sets, as form values; bad values are refused (slots are
    validated on save, so only a hand-edited snapshot gets here)."""
    fields: dict[str, str] = {}
    for name, choices in _CHOICES.items():
        value = settings.get(name)
        if value is None:
            continue
        if value not in choices:
            raise ProviderFailed(
                f"OpenAI setting {name} = {str(value)[:50]!r} is not one of {', '.join(choices)}",
                {"setting": name},
            )
        fields[name] = str(value)
    compression = settings.get(COMPRESSION)
    if compression is not None:
        if not isinstance(compression, int) or isinstance(compression, bool):
            compression = -1
        if not 0 <= compression <= 100:
            raise ProviderFailed(
                "OpenAI output_compression must be 0..100", {"setting": COMPRESSION}
            )
        fields[COMPRESSION] = str(compression)
    return fields


def _upload(image: InputImage, name: str, what: str) -> UploadImage:
    mime = image.mime.lower()
    if not image.data:
        raise ProviderFailed(f"the {what} has no data to send to OpenAI")
    if mime not in INPUT_MIMES:
        raise ProviderFailed(
            f"OpenAI takes PNG, JPEG or WebP images; the {what} is {mime[:50]}", {"mime": mime[:50]}
        )
    return UploadImage(filename=f"{name}{extension_for_mime(mime)}", mime=mime, data=image.data)


def build_edit(request: ProviderInput) -> EditCall:
    """The edits request for ``request.operation``: the guide and prompt as ``prompt``, the
    photo as the first ``image[]``, then each template of the operation, in order."""
    recipe = recipe_for(OPERATIONS, request.operation, "OpenAI")
    text = prompt_text(request, recipe, "OpenAI")
    if len(text) > MAX_PROMPT_CHARS:
        raise ProviderFailed(
            f"the prompt has {len(text)} characters; OpenAI takes at most {MAX_PROMPT_CHARS}",
            {"setting": "prompt"},
        )
    images = [_upload(request.photo, "photo", "photo")]
    for field, template in template_images(request, recipe, "OpenAI"):
        images.append(_upload(template, field.removesuffix("_id"), f"template {field}"))
    model = resolve_model(request.settings)
    fields = {"model": model, "prompt": text, **_options(request.settings)}
    return EditCall(model=model, fields=fields, images=tuple(images))


# --- answer -------------------------------------------------------------------------------


class _Image(msgspec.Struct):
    b64_json: bytes | None = None  # msgspec decodes the base64 itself (C, no regex)
    url: str | None = None


class _Answer(msgspec.Struct):
    data: list[_Image]
    usage: dict[str, Any] | None = None


_ANSWER = msgspec.json.Decoder(_Answer)


def parse_answer(raw: bytes) -> EditResult:
    """The first image of a 200 answer; ``ProviderFailed`` when there is none."""
    try:
        answer = _ANSWER.decode(raw)
    except msgspec.ValidationError as exc:
        raise ProviderFailed(f"OpenAI answered with unexpected JSON ({exc})") from None
    except msgspec.DecodeError:
        raise ProviderFailed("OpenAI answered with something that is not JSON") from None
    if not answer.data:
        raise ProviderFailed("OpenAI answered without any image")
    first = answer.data[0]
    if not first.b64_json:
        what = "a URL" if first.url else "nothing"
        raise ProviderFailed(f"OpenAI answered with {what} instead of the image data")
    return EditResult(image=first.b64_json, usage=answer.usage or {})
