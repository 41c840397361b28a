"""OpenAPI descriptions of the SPEC §4 error answers, for ``responses=`` on admin routes."""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec

from entrypoints.http.schemas import ErrorBody

_MEANING = {
    400: "invalid request (body, query or path)",
    401: "unauthorized (no or bad token) / invalid_credentials (login)",
    403: "forbidden: the role does not allow this, or CSRF token missing (cookie sessions)",
    404: "not found",
    409: "conflict",
    413: "payload too large",
    415: "unsupported media type",
    422: "invalid configuration or validation error",
    429: "rate limited; see Retry-After",
    502: "provider error",
    503: "service unavailable",
    504: "timeout",
}


def error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """``{status: ResponseSpec(ErrorBody)}`` for each status (description from the table)."""
    return {
        status: ResponseSpec(
            data_container=ErrorBody,
            description=_MEANING.get(status, "error"),
            generate_examples=False,
        )
        for status in statuses
    }
