"""The Gemini ``generateContent`` wire format (SPEC §8), as pure functions without I/O.

Kept apart from the HTTP adapter so that request building and response classification can be
tested on recorded payloads, and so that the fake server in the tests and the adapter cannot
drift into sharing one misunderstanding: the fake re-implements the checks independently.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import msgspec

from adapters.providers.image_prompts import OPERATIONS as IMAGE_PROMPT_OPERATIONS
from adapters.providers.image_prompts import (
    OperationRecipe,
    prompt_text,
    recipe_for,
    template_images,
)
from application.ports import InputImage, ProviderInput, ProviderOutput
from domain.errors import ProviderFailed
from domain.providers import GEMINI_ASPECT_RATIOS, GEMINI_IMAGE_SIZES

DEFAULT_MODEL = "gemini-2.5-flash-image"
API_KEY_HEADER = "x-goog-api-key"
RESULT_MIMES = frozenset({"image/png", "image/jpeg", "image/webp"})

_MODEL_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")

# Finish / block reasons that mean "Google refused this input": retrying the same job will
# not help, so the job fails at once with a message the operator can act on.
REFUSAL_REASONS = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "LANGUAGE",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
    }
)

DEFAULT_IDENTITY_PROMPT = (
    "Put the face of the person in image 2 onto the person in image 1. Match the pose, "
    "lighting and colours of image 1 and keep everything else in image 1 unchanged."
)


# Gemini's identity transfer needs no prompt from the slot: a default one says what to do.
OPERATIONS: Mapping[str, OperationRecipe] = {
    **IMAGE_PROMPT_OPERATIONS,
    "identity_transfer": replace(
        IMAGE_PROMPT_OPERATIONS["identity_transfer"],
        prompt_required=False,
        default_prompt=DEFAULT_IDENTITY_PROMPT,
    ),
}


class NoImage(ProviderFailed):
    """The model answered without an image (``finishReason: NO_IMAGE`` and the like).

    It happens now and then in production and usually succeeds on a second try, so the adapter
    retries it within the deadline; it is a ``ProviderFailed`` so that an unhandled one still
    ends the job as ``provider_error``.
    """


# --- request body, encoded by msgspec: each image is base64-encoded once, straight into the
# JSON buffer (no intermediate base64 bytes, str and re-encoded str copies of the photo).


class _Blob(msgspec.Struct):
    mime_type: str
    data: bytes  # msgspec writes bytes as a base64 JSON string


class _InlinePart(msgspec.Struct):
    inline_data: _Blob


class _TextPart(msgspec.Struct):
    text: str


class _Content(msgspec.Struct):
    role: str
    parts: list[_TextPart | _InlinePart]


class _GenerationConfig(msgspec.Struct, rename="camel", omit_defaults=True):
    response_modalities: list[str]
    image_config: dict[str, str] | None = None


class GenerateContentRequest(msgspec.Struct, rename={"generation_config": "generationConfig"}):
    """The JSON body (``contents[].parts[]`` with ``text`` / ``inline_data``)."""

    contents: list[_Content]
    generation_config: _GenerationConfig


_REQUEST_ENCODER = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class GeminiCall:
    """One ``generateContent`` request: the model, its URL path and the body."""

    model: str
    path: str
    request: GenerateContentRequest

    def encode(self) -> bytes:
        """The JSON body as sent."""
        return _REQUEST_ENCODER.encode(self.request)

    @property
    def body(self) -> dict[str, Any]:
        """The JSON body as plain data (images as base64 text), for inspection."""
        body: dict[str, Any] = msgspec.to_builtins(self.request)
        return body


# --- request ------------------------------------------------------------------------------


def resolve_model(settings: Mapping[str, Any]) -> str:
    """The slot's ``model`` setting or ``DEFAULT_MODEL``; refused unless it is a plain name.

    The name is put into the URL path, so anything but ``[A-Za-z0-9._-]`` (``/``, ``?``, ``%``,
    ``:``) could make the request go somewhere else. A ``models/`` prefix, as Google's own
    docs write names, is accepted and dropped.
    """
    value = settings.get("model")
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return DEFAULT_MODEL
    if not isinstance(value, str):
        raise ProviderFailed("Gemini model name must be text", {"setting": "model"})
    name = value.strip().removeprefix("models/")
    if not _MODEL_NAME.fullmatch(name) or set(name) == {"."}:
        raise ProviderFailed(
            f"Gemini model name {name[:100]!r} is not allowed (letters, digits, '.', '_', '-')",
            {"setting": "model"},
        )
    return name


def generate_content_path(model: str) -> str:
    return f"/v1beta/models/{model}:generateContent"


def _inline(image: InputImage, what: str) -> _InlinePart:
    if not image.data:
        raise ProviderFailed(f"the {what} has no data to send to Gemini")
    return _InlinePart(_Blob(mime_type=image.mime.lower(), data=image.data))


def build_call(request: ProviderInput) -> GeminiCall:
    """The request for ``request.operation``: one ``user`` turn whose parts are the text
    (guide + prompt), the photo, then each template image of the operation, in that order."""
    recipe = recipe_for(OPERATIONS, request.operation, "Gemini")
    model = resolve_model(request.settings)
    text = prompt_text(request, recipe, "Gemini")
    parts: list[_TextPart | _InlinePart] = [_TextPart(text), _inline(request.photo, "photo")]
    for field, template in template_images(request, recipe, "Gemini"):
        parts.append(_inline(template, f"template {field}"))
    config = _GenerationConfig(
        response_modalities=["IMAGE"], image_config=resolve_image_config(request.settings) or None
    )
    body = GenerateContentRequest(
        contents=[_Content(role="user", parts=parts)], generation_config=config
    )
    return GeminiCall(model=model, path=generate_content_path(model), request=body)


# slot setting (image_config.*) -> generationConfig.imageConfig field, with allowed values
_IMAGE_CONFIG_FIELDS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "aspect_ratio": ("aspectRatio", GEMINI_ASPECT_RATIOS),
    "image_size": ("imageSize", GEMINI_IMAGE_SIZES),
}


def resolve_image_config(settings: Mapping[str, Any]) -> dict[str, str]:
    """``generationConfig.imageConfig`` from the slot's ``image_config`` (Gemini 3 image models:
    output aspect ratio and resolution); empty when the slot sets none. Slots are validated on
    save; this re-check keeps a hand-edited job snapshot from reaching Google."""
    value = settings.get("image_config")
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ProviderFailed("Gemini image_config must be an object", {"setting": "image_config"})
    config: dict[str, str] = {}
    for name, setting in value.items():
        known = _IMAGE_CONFIG_FIELDS.get(str(name))
        if known is None or setting not in known[1]:
            raise ProviderFailed(
                f"Gemini setting image_config.{str(name)[:50]} = {str(setting)[:50]!r} is not "
                "allowed",
                {"setting": f"image_config.{str(name)[:50]}"},
            )
        config[known[0]] = setting
    return config


# --- response -----------------------------------------------------------------------------
# Real answers are camelCase; the REST API also speaks snake_case, so both spellings are
# fields. An image's base64 is kept as the raw JSON text (``msgspec.Raw``, no copy) and only
# the image that is taken is decoded (no regular expression over megabytes): a thinking
# model's draft images are never decoded.


class _InlineAnswer(msgspec.Struct):
    mime_camel: str | None = msgspec.field(name="mimeType", default=None)
    mime_snake: str | None = msgspec.field(name="mime_type", default=None)
    data: msgspec.Raw = msgspec.Raw()

    @property
    def mime(self) -> str:
        value = self.mime_camel if self.mime_camel is not None else self.mime_snake
        return value.split(";", 1)[0].strip().lower() if value else ""


class _PartAnswer(msgspec.Struct):
    text: str | None = None
    thought: bool | None = None
    inline_camel: _InlineAnswer | None = msgspec.field(name="inlineData", default=None)
    inline_snake: _InlineAnswer | None = msgspec.field(name="inline_data", default=None)

    @property
    def inline(self) -> _InlineAnswer | None:
        """The inline data of a part that is not a thought and carries some."""
        inline = self.inline_camel if self.inline_camel is not None else self.inline_snake
        if self.thought is True or inline is None:
            return None
        data = memoryview(inline.data)
        if len(data) <= 2 or data[0] != ord('"'):
            return None  # absent, the empty string, or not a string at all
        return inline


class _ContentAnswer(msgspec.Struct):
    parts: list[_PartAnswer] | None = None


class _Candidate(msgspec.Struct):
    content: _ContentAnswer | None = None
    finish_camel: str | None = msgspec.field(name="finishReason", default=None)
    finish_snake: str | None = msgspec.field(name="finish_reason", default=None)


class _PromptFeedback(msgspec.Struct):
    block_camel: str | None = msgspec.field(name="blockReason", default=None)
    block_snake: str | None = msgspec.field(name="block_reason", default=None)


class _Answer(msgspec.Struct):
    candidates: list[_Candidate] | None = None
    feedback_camel: _PromptFeedback | None = msgspec.field(name="promptFeedback", default=None)
    feedback_snake: _PromptFeedback | None = msgspec.field(name="prompt_feedback", default=None)


_ANSWER_DECODER = msgspec.json.Decoder(_Answer)


def _decode_base64(data: msgspec.Raw) -> bytes:
    """The bytes of a JSON string of base64: decoded by msgspec straight from the answer's
    buffer (strict: padding required, nothing outside the alphabet). Only URL-safe base64,
    which the REST API may also send, takes the slower way through a ``str``."""
    try:
        return _BASE64.decode(data)
    except msgspec.DecodeError:
        pass
    try:
        text = msgspec.json.decode(data, type=str)
        if "-" in text or "_" in text:
            text = text.translate(_URL_SAFE)
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, msgspec.DecodeError, ValueError):
        raise ProviderFailed("Gemini answered with image data that is not valid base64") from None


_BASE64 = msgspec.json.Decoder(bytes)
_URL_SAFE = str.maketrans("-_", "+/")


def _model_text(parts: list[_PartAnswer]) -> str:
    texts = [p.text for p in parts if p.text is not None and not p.thought]
    return " ".join(" ".join(texts).split())[:200]


def _decode_answer(raw: bytes) -> _Answer:
    try:
        return _ANSWER_DECODER.decode(raw)
    except msgspec.ValidationError as exc:  # JSON, but not shaped like an answer
        problem = str(exc)
        if " - at `" not in problem:  # the document itself is of the wrong type
            raise ProviderFailed("Gemini answered with JSON that is not an object") from None
        what = "candidate" if "`$.candidates[" in problem else "answer"
        raise ProviderFailed(f"Gemini answered with a malformed {what} ({problem[:200]})") from None
    except msgspec.DecodeError:
        raise ProviderFailed("Gemini answered with something that is not JSON") from None


def parse_response(raw: bytes) -> ProviderOutput:
    """The last image of the first candidate that is not a thought.

    Gemini 3 image models "think" first: their answers may carry draft images and text marked
    ``thought: true``, and text before the final image; the answer is the last real image.

    Raises ``NoImage`` when the model simply produced no image (worth another try) and
    ``ProviderFailed`` when the prompt or the answer was refused or the answer is unusable.
    """
    payload = _decode_answer(raw)
    feedback = payload.feedback_camel or payload.feedback_snake
    reason = feedback and (feedback.block_camel or feedback.block_snake)
    if reason:
        raise ProviderFailed(
            f"Gemini refused the request (blockReason {reason}): the prompt or an input "
            "image was blocked; change the slot's prompt or images",
            {"block_reason": reason[:100]},
        )
    if not payload.candidates:
        raise ProviderFailed("Gemini answered without any candidate")
    candidate = payload.candidates[0]
    parts = (candidate.content.parts if candidate.content is not None else None) or []
    other_mimes: list[str] = []
    for part in reversed(parts):
        inline = part.inline
        if inline is None:
            continue
        mime = inline.mime
        if mime not in RESULT_MIMES:
            other_mimes.append(mime or "unlabelled")
            continue
        image = _decode_base64(inline.data)
        if image:
            return ProviderOutput(image=image, mime=mime)
    if other_mimes:
        raise ProviderFailed(
            f"Gemini answered with {other_mimes[0][:100]!r}, not an image "
            f"({', '.join(sorted(RESULT_MIMES))})",
            {"mime": other_mimes[0][:100]},
        )
    finish = candidate.finish_camel or candidate.finish_snake or "unspecified"
    if finish in REFUSAL_REASONS:
        raise ProviderFailed(
            f"Gemini refused to produce an image (finishReason {finish}); change the slot's "
            "prompt or images",
            {"finish_reason": finish},
        )
    said = _model_text(parts)
    raise NoImage(
        f"Gemini returned no image (finishReason {finish})" + (f": {said}" if said else ""),
        {"finish_reason": finish[:100]},
    )
