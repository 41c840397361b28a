"""What a Gemini error answer means for the job (pure functions): Google's RPC status and
message with a hint for the operator, whether asking again may help, and the wait Google asks
for. How long to wait before asking again is ``retry_policy``'s. Errors look like
``{"error": {"code", "message", "status", "details": [...]}}``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from adapters.providers.retry_policy import RETRYABLE_STATUSES, duration_seconds
from domain.errors import ProviderFailed

MAX_ERROR_MESSAGE = 300

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
        payload = msgspec.json.decode(raw)
    except msgspec.DecodeError:
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


def is_retryable(http_status: int) -> bool:
    """``429 RESOURCE_EXHAUSTED`` and ``503 UNAVAILABLE`` may pass: asked again after a
    pause (while the deadline allows); every other error fails the job at once."""
    return http_status in RETRYABLE_STATUSES


def retry_delay_seconds(raw: bytes) -> float | None:
    """The wait Google asks for in a ``google.rpc.RetryInfo`` detail (``"retryDelay": "37s"``,
    sent with quota errors), or ``None``."""
    error = _rpc_error(raw)
    details = error.get("details") if error is not None else None
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, Mapping) and str(detail.get("@type", "")).endswith(
            "google.rpc.RetryInfo"
        ):
            return duration_seconds(detail.get("retryDelay"))
    return None


def error_from_response(http_status: int, raw: bytes) -> ProviderFailed:
    """A ``ProviderFailed`` naming the HTTP status, Google's RPC status and message, and a
    hint for the operator."""
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
