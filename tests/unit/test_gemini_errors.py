"""Gemini error answers, as Google sends them: RPC status, message and a hint for the operator."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.providers.gemini_errors import MAX_ERROR_MESSAGE, error_from_response
from domain.errors import ProviderFailed


def rpc_error(code: int, status: str, message: str, details: list[Any] | None = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details is not None:
        error["details"] = details
    return json.dumps({"error": error}).encode()


API_KEY_INVALID = [
    {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "API_KEY_INVALID",
        "domain": "googleapis.com",
        "metadata": {"service": "generativelanguage.googleapis.com"},
    },
    {
        "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
        "locale": "en-US",
        "message": "API key not valid. Please pass a valid API key.",
    },
]


@pytest.mark.parametrize(
    ("http", "status", "message", "details", "hint"),
    [
        (400, "INVALID_ARGUMENT", "Request contains an invalid argument.", None, "check the slot"),
        (
            400,
            "INVALID_ARGUMENT",
            "API key not valid. Please pass a valid API key.",
            API_KEY_INVALID,
            "check PHOTOCHANGER_GEMINI_API_KEY",
        ),
        (
            400,
            "FAILED_PRECONDITION",
            "User location is not supported for the API use.",
            None,
            "region or billing",
        ),
        (
            403,
            "PERMISSION_DENIED",
            "Your API key was reported as leaked. Please use another API key.",
            None,
            "check PHOTOCHANGER_GEMINI_API_KEY",
        ),
        (
            404,
            "NOT_FOUND",
            "models/gemini-9 is not found for API version v1beta, or is not supported for "
            "generateContent.",
            None,
            "unknown model",
        ),
        (
            429,
            "RESOURCE_EXHAUSTED",
            "Resource has been exhausted (e.g. check quota).",
            None,
            "quota exhausted",
        ),
        (500, "INTERNAL", "An internal error has occurred.", None, "Google-side error"),
        (
            503,
            "UNAVAILABLE",
            "The model is overloaded. Please try again later.",
            None,
            "overloaded",
        ),
        (
            504,
            "DEADLINE_EXCEEDED",
            "Deadline expired before operation could complete.",
            None,
            "too long",
        ),
        (418, "UNKNOWN", "I'm a teapot.", None, "unexpected answer"),
    ],
)
def test_rpc_errors_name_status_message_and_a_hint(
    http: int, status: str, message: str, details: list[Any] | None, hint: str
) -> None:
    error = error_from_response(http, rpc_error(http, status, message, details))

    assert type(error) is ProviderFailed
    assert error.message.startswith(f"Gemini answered HTTP {http} {status}: {message}")
    assert hint in error.message
    assert error.details["http_status"] == http
    assert error.details["rpc_status"] == status


def test_error_info_reason_is_kept() -> None:
    raw = rpc_error(400, "INVALID_ARGUMENT", "API key not valid.", API_KEY_INVALID)
    assert error_from_response(400, raw).details["reason"] == "API_KEY_INVALID"


def test_long_messages_are_truncated() -> None:
    error = error_from_response(500, rpc_error(500, "INTERNAL", "x" * 5000))
    google_part = error.message.split(": ", 1)[1].split(" (", 1)[0]
    assert len(google_part) == MAX_ERROR_MESSAGE
    assert google_part.endswith("…")


def test_error_wrapped_in_a_list_is_understood() -> None:
    raw = b'[{"error": {"code": 503, "message": "Overloaded.", "status": "UNAVAILABLE"}}]'
    assert "HTTP 503 UNAVAILABLE: Overloaded." in error_from_response(503, raw).message


@pytest.mark.parametrize(
    ("http", "raw", "expected"),
    [
        (
            502,
            b"<html><body>Bad   Gateway</body></html>",
            "HTTP 502 UNKNOWN: <html><body>Bad Gateway",
        ),
        (429, b"", "HTTP 429 RESOURCE_EXHAUSTED: empty body (quota exhausted"),
        (503, b'{"unexpected": true}', 'HTTP 503 UNAVAILABLE: {"unexpected": true}'),
    ],
)
def test_non_rpc_error_bodies_still_give_a_clear_message(
    http: int, raw: bytes, expected: str
) -> None:
    assert expected in error_from_response(http, raw).message
