"""What an OpenAI Images error answer means for the job (pure functions); how long to wait
before asking again is ``retry_policy``'s. Errors look like
``{"error": {"message", "type", "param", "code"}}``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from adapters.providers.retry_policy import RETRYABLE_STATUSES
from domain.errors import ProviderFailed

MAX_ERROR_MESSAGE = 300
# Codes meaning "OpenAI's safety system refused the inputs or the result": the same photo and
# prompt will be refused again, so the job fails at once with a message saying so.
REFUSAL_CODES = frozenset({"moderation_blocked", "content_policy_violation"})
# OpenAI echoes part of a wrong key ("Incorrect API key provided: sk-proj-abc*****wxyz"); a
# proxy's error page may echo the Authorization header.
_KEY_ECHO = re.compile(r"\bsk-[A-Za-z0-9_*.\-]+")
_BEARER = re.compile(r"\bBearer\s+\S+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ApiFailure:
    """A non-200 answer: the failure to report and whether asking again may help."""

    failure: ProviderFailed
    retryable: bool


class _ErrorBody(msgspec.Struct):
    message: str | None = None
    type: str | None = None
    param: str | None = None
    code: str | int | None = None


class _ErrorEnvelope(msgspec.Struct):
    error: _ErrorBody


_ERROR = msgspec.json.Decoder(_ErrorEnvelope)

_HINTS: Mapping[int, str] = {
    400: "the request was rejected: check the slot's prompt, model and options",
    401: "check PHOTOCHANGER_OPENAI_API_KEY",
    403: "the key's organization may need verification for gpt-image models, or the "
    "country is not supported",
    404: "unknown model: check the slot's model setting",
    413: "the images are too large for OpenAI",
    429: "rate limited",
    500: "OpenAI-side error, usually temporary",
    503: "OpenAI is overloaded, usually temporary",
}


def scrub(text: str) -> str:
    """Drop what looks like a key: OpenAI's partial echo in a 401, a Bearer credential."""
    return _BEARER.sub("Bearer [redacted]", _KEY_ECHO.sub("sk-[redacted]", text))


def _truncate(text: str, limit: int = MAX_ERROR_MESSAGE) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def error_from_response(http_status: int, raw: bytes) -> ApiFailure:
    """What a non-200 answer means for the job. A safety refusal says so plainly (the same
    photo and prompt would be refused again); 429 (but not an exhausted quota) and 503 may
    be asked again; everything else fails the job at once."""
    try:
        error: _ErrorBody | None = _ERROR.decode(raw).error
    except (msgspec.ValidationError, msgspec.DecodeError):
        error = None
    if error is None:
        text = raw.decode("utf-8", errors="replace").strip()
        message, code, kind = (_truncate(scrub(text)) if text else "empty body"), "", ""
    else:
        message = _truncate(scrub(error.message or "no message"))
        code = "" if error.code is None else str(error.code)[:100]
        kind = (error.type or "")[:100]
    details: dict[str, Any] = {"http_status": http_status}
    if code:
        details["code"] = code
    if kind:
        details["type"] = kind
    if code in REFUSAL_CODES:
        return ApiFailure(
            ProviderFailed(
                f"OpenAI's safety system refused this job ({code}): {message} — the photo, "
                "the prompt or a template image was blocked; change the slot's prompt or "
                "templates (the same photo will be refused again)",
                {**details, "refused": True},
            ),
            retryable=False,
        )
    hint = _HINTS.get(http_status, "unexpected answer")
    if code == "insufficient_quota":
        hint = "the account's quota or billing limit is exhausted: check the OpenAI billing page"
    elif code == "invalid_api_key":
        hint = _HINTS[401]
    if error is not None and error.param:
        hint = f"{hint}; parameter {error.param[:60]!r}"
    retryable = http_status in RETRYABLE_STATUSES and code != "insufficient_quota"
    label = f" {code}" if code else ""
    return ApiFailure(
        ProviderFailed(f"OpenAI answered HTTP {http_status}{label}: {message} ({hint})", details),
        retryable=retryable,
    )
