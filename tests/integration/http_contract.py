"""What the public routes may answer (SPEC §4, §7), and raw multipart bodies to test them with.

Shared by the ingest hardening tests and the fuzz suite: one table, one shape check.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import httpx

ERROR_CODES_BY_STATUS: dict[int, frozenset[str]] = {
    400: frozenset({"invalid_request"}),
    401: frozenset({"invalid_password"}),
    404: frozenset({"slot_not_found", "not_found"}),
    405: frozenset({"invalid_request"}),
    409: frozenset({"cancelled"}),
    410: frozenset({"gone"}),
    413: frozenset({"payload_too_large"}),
    415: frozenset({"unsupported_media_type"}),
    429: frozenset({"rate_limited"}),
    502: frozenset({"provider_error"}),
    503: frozenset({"service_unavailable"}),
    504: frozenset({"timeout"}),
    500: frozenset({"internal_error"}),  # in no route's table: the fuzz suite's failure
}
# Statuses each public route may answer (200 = its success; 405 = another method).
INGEST_STATUSES = frozenset({200, 400, 401, 404, 405, 413, 415, 429, 502, 503, 504})
DOWNLOAD_STATUSES = frozenset({200, 404, 405, 410, 503})
PROBE_STATUSES = frozenset({200, 405, 503})


def assert_error_body(
    response: httpx.Response, status: int, code: str | None = None
) -> dict[str, Any]:
    """The SPEC §4 body exactly: ``{"error": {"code", "message", "details"}}``, JSON, with the
    code that belongs to the status, a message, and nothing that looks like a traceback."""
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = json.loads(response.content)
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["details"], dict), error
    assert error["code"] in ERROR_CODES_BY_STATUS[status], error
    if code is not None:
        assert error["code"] == code, error
    assert "Traceback" not in response.text
    return error


Part = tuple[Sequence[tuple[str, str]] | str, bytes]


def part(name: str, value: bytes | str, *, filename: str | None = None, **headers: str) -> Part:
    """A form-data part; ``headers`` become extra part headers (``content_type=...``)."""
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    lines = [("Content-Disposition", disposition)]
    lines += [(k.replace("_", "-").title(), v) for k, v in headers.items()]
    return lines, value.encode() if isinstance(value, str) else value


def multipart_body(parts: Iterable[Part], boundary: str = "photochanger-test-boundary") -> bytes:
    """A multipart/form-data body built byte by byte (no client library tidying it up). A part
    whose headers are a plain string is sent with that raw header block."""
    out = bytearray()
    for headers, body in parts:
        out += f"--{boundary}\r\n".encode()
        if isinstance(headers, str):
            out += headers.encode("utf-8", "surrogateescape")
        else:
            for key, value in headers:
                out += f"{key}: {value}\r\n".encode("utf-8", "surrogateescape")
        out += b"\r\n" + body + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


def multipart_headers(boundary: str = "photochanger-test-boundary") -> dict[str, str]:
    return {"content-type": f"multipart/form-data; boundary={boundary}"}
