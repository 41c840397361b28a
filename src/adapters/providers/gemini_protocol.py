"""The Gemini ``generateContent`` wire format (SPEC §8), as pure functions without I/O.

Kept apart from the HTTP adapter so that request building and response classification can be
tested on recorded payloads, and so that the fake server in the tests and the adapter cannot
drift into sharing one misunderstanding: the fake re-implements the checks independently.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from application.ports import InputImage, ProviderInput, ProviderOutput
from domain.errors import ProviderFailed
from domain.providers import GEMINI_ASPECT_RATIOS, GEMINI_IMAGE_SIZES

DEFAULT_MODEL = "gemini-2.5-flash-image"
API_KEY_HEADER = "x-goog-api-key"
RESULT_MIMES = frozenset({"image/png", "image/jpeg", "image/webp"})
MAX_ERROR_MESSAGE = 300

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

STYLE_TEMPLATE = "style_template_id"
FACE_TEMPLATE = "face_template_id"

DEFAULT_IDENTITY_PROMPT = (
    "Put the face of the person in image 2 onto the person in image 1. Match the pose, "
    "lighting and colours of image 1 and keep everything else in image 1 unchanged."
)


@dataclass(frozen=True, slots=True)
class OperationRecipe:
    """How one operation becomes parts: which templates follow the photo, and what the model
    is told about the images (multi-image prompts are ambiguous without it)."""

    template_fields: tuple[str, ...] = ()
    guide: str = ""
    prompt_required: bool = True
    default_prompt: str = ""


OPERATIONS: Mapping[str, OperationRecipe] = {
    "image_edit": OperationRecipe(),
    "style_transfer": OperationRecipe(
        template_fields=(STYLE_TEMPLATE,),
        guide=(
            "Image 1 is the photo to edit. Image 2 is a style reference only: apply its "
            "style to image 1 and keep the people and composition of image 1."
        ),
    ),
    "identity_transfer": OperationRecipe(
        template_fields=(FACE_TEMPLATE,),
        guide="Image 1 is the photo to edit. Image 2 shows the face to use.",
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


@dataclass(frozen=True, slots=True)
class GeminiCall:
    """One ``generateContent`` request: the model, its URL path and the JSON body."""

    model: str
    path: str
    body: dict[str, Any]


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


def _inline(image: InputImage, what: str) -> dict[str, Any]:
    if not image.data:
        raise ProviderFailed(f"the {what} has no data to send to Gemini")
    return {
        "inline_data": {
            "mime_type": image.mime.lower(),
            "data": base64.b64encode(image.data).decode("ascii"),
        }
    }


def _prompt(settings: Mapping[str, Any], recipe: OperationRecipe, operation: str) -> str:
    value = settings.get("prompt")
    prompt = value.strip() if isinstance(value, str) else ""
    if prompt:
        return prompt
    if recipe.prompt_required:
        raise ProviderFailed(f"Gemini operation {operation} needs a prompt", {"setting": "prompt"})
    return recipe.default_prompt


def build_call(request: ProviderInput) -> GeminiCall:
    """The request for ``request.operation``: one ``user`` turn whose parts are the text
    (guide + prompt), the photo, then each template image of the operation, in that order."""
    recipe = OPERATIONS.get(request.operation)
    if recipe is None:
        known = ", ".join(sorted(OPERATIONS))
        raise ProviderFailed(
            f"Gemini has no operation {request.operation!r} (known: {known})",
            {"operation": request.operation},
        )
    model = resolve_model(request.settings)
    prompt = _prompt(request.settings, recipe, request.operation)
    text = f"{recipe.guide}\n\n{prompt}" if recipe.guide else prompt
    parts: list[dict[str, Any]] = [{"text": text}, _inline(request.photo, "photo")]
    for field in recipe.template_fields:
        template = request.templates.get(field)
        if template is None:
            raise ProviderFailed(
                f"Gemini operation {request.operation} needs the template image {field!r}",
                {"setting": field},
            )
        parts.append(_inline(template, f"template {field}"))
    config: dict[str, Any] = {"responseModalities": ["IMAGE"]}
    image_config = resolve_image_config(request.settings)
    if image_config:
        config["imageConfig"] = image_config
    body = {"contents": [{"role": "user", "parts": parts}], "generationConfig": config}
    return GeminiCall(model=model, path=generate_content_path(model), body=body)


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


def _field(mapping: Mapping[str, Any], camel: str, snake: str) -> Any:
    """Real answers are camelCase; the REST API also speaks snake_case, so accept both."""
    return mapping[camel] if camel in mapping else mapping.get(snake)


def _decode_base64(data: str) -> bytes:
    try:
        if "-" in data or "_" in data:
            return base64.b64decode(data, altchars=b"-_", validate=True)
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ProviderFailed("Gemini answered with image data that is not valid base64") from None


def _normalise_mime(value: Any) -> str:
    return value.split(";", 1)[0].strip().lower() if isinstance(value, str) else ""


def _inline_part(part: Any) -> tuple[str, str] | None:
    """(MIME, base64) of a part carrying inline data; thoughts and text parts are skipped."""
    if not isinstance(part, Mapping) or part.get("thought") is True:
        return None
    inline = _field(part, "inlineData", "inline_data")
    if not isinstance(inline, Mapping):
        return None
    data = inline.get("data")
    if not isinstance(data, str) or data == "":
        return None
    return _normalise_mime(_field(inline, "mimeType", "mime_type")), data


def _model_text(parts: list[Any]) -> str:
    texts = [
        p["text"]
        for p in parts
        if isinstance(p, Mapping) and isinstance(p.get("text"), str) and not p.get("thought")
    ]
    return " ".join(" ".join(texts).split())[:200]


def parse_response(raw: bytes) -> ProviderOutput:
    """The last image of the first candidate that is not a thought.

    Gemini 3 image models "think" first: their answers may carry draft images and text marked
    ``thought: true``, and text before the final image; the answer is the last real image.

    Raises ``NoImage`` when the model simply produced no image (worth another try) and
    ``ProviderFailed`` when the prompt or the answer was refused or the answer is unusable.
    """
    try:
        payload = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ProviderFailed("Gemini answered with something that is not JSON") from None
    if not isinstance(payload, Mapping):
        raise ProviderFailed("Gemini answered with JSON that is not an object")
    feedback = _field(payload, "promptFeedback", "prompt_feedback")
    if isinstance(feedback, Mapping):
        reason = _field(feedback, "blockReason", "block_reason")
        if isinstance(reason, str) and reason:
            raise ProviderFailed(
                f"Gemini refused the request (blockReason {reason}): the prompt or an input "
                "image was blocked; change the slot's prompt or images",
                {"block_reason": reason[:100]},
            )
    candidates = payload.get("candidates")
    if not isinstance(candidates, list) or not candidates:
        raise ProviderFailed("Gemini answered without any candidate")
    candidate = candidates[0]
    if not isinstance(candidate, Mapping):
        raise ProviderFailed("Gemini answered with a malformed candidate")
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, Mapping) else None
    parts = parts if isinstance(parts, list) else []
    other_mimes: list[str] = []
    for part in reversed(parts):
        inline = _inline_part(part)
        if inline is None:
            continue
        mime, data = inline
        if mime not in RESULT_MIMES:
            other_mimes.append(mime or "unlabelled")
            continue
        image = _decode_base64(data)
        if image:
            return ProviderOutput(image=image, mime=mime)
    if other_mimes:
        raise ProviderFailed(
            f"Gemini answered with {other_mimes[0][:100]!r}, not an image "
            f"({', '.join(sorted(RESULT_MIMES))})",
            {"mime": other_mimes[0][:100]},
        )
    finish = _field(candidate, "finishReason", "finish_reason")
    finish = finish if isinstance(finish, str) and finish else "unspecified"
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


# --- errors -------------------------------------------------------------------------------

# What an operator should look at, per Google RPC status.
_HINTS: Mapping[str, str] = {
    "INVALID_ARGUMENT": "the request was rejected: check the slot's prompt, model and images",
    "FAILED_PRECONDITION": "the API is not usable for this key (region or billing)",
    "PERMISSION_DENIED": "check PHOTOCHANGER_GEMINI_API_KEY",
    "UNAUTHENTICATED": "check PHOTOCHANGER_GEMINI_API_KEY",
    "NOT_FOUND": "unknown model: check the slot's model setting",
    "RESOURCE_EXHAUSTED": "quota exhausted or rate limited",
    "INTERNAL": "Google-side error, usually temporary",
    "UNAVAILABLE": "Gemini is overloaded or down, usually temporary",
    "DEADLINE_EXCEEDED": "Gemini took too long on its side",
}
_STATUS_BY_HTTP: Mapping[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def _truncate(text: str, limit: int = MAX_ERROR_MESSAGE) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _rpc_error(raw: bytes) -> Mapping[str, Any] | None:
    try:
        payload = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if isinstance(payload, list) and payload:  # some Google front ends wrap it in a list
        payload = payload[0]
    error = payload.get("error") if isinstance(payload, Mapping) else None
    return error if isinstance(error, Mapping) else None


def _error_reason(error: Mapping[str, Any]) -> str:
    """``google.rpc.ErrorInfo.reason`` (``API_KEY_INVALID``, …), if the details carry one."""
    details = error.get("details")
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, Mapping) and isinstance(detail.get("reason"), str):
            return str(detail["reason"])
    return ""


def error_from_response(http_status: int, raw: bytes) -> ProviderFailed:
    """A ``ProviderFailed`` naming the HTTP status, Google's RPC status and message, and a
    hint for the operator; never retried (the deadline is too short for quota back-off)."""
    error = _rpc_error(raw)
    if error is not None:
        rpc_status = str(error.get("status") or _STATUS_BY_HTTP.get(http_status, "UNKNOWN"))
        message = _truncate(str(error.get("message") or "no message"))
        reason = _error_reason(error)
    else:
        rpc_status = _STATUS_BY_HTTP.get(http_status, "UNKNOWN")
        text = raw.decode("utf-8", errors="replace").strip()
        message = _truncate(text) if text else "empty body"
        reason = ""
    hint = _HINTS.get(rpc_status, "unexpected answer")
    if reason in ("API_KEY_INVALID", "API_KEY_SERVICE_BLOCKED"):
        hint = "check PHOTOCHANGER_GEMINI_API_KEY"
    return ProviderFailed(
        f"Gemini answered HTTP {http_status} {rpc_status}: {message} ({hint})",
        {
            "http_status": http_status,
            "rpc_status": rpc_status[:100],
            **({"reason": reason[:100]} if reason else {}),
        },
    )
