"""The one place where errors become HTTP answers (SPEC §4 codes and JSON body)."""

from __future__ import annotations

import logging
import secrets
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException

from domain.errors import PhotoChangerError, RateLimited
from entrypoints.http.schemas import ErrorBody, ErrorDetail

log = logging.getLogger(__name__)

STATUS_BY_CODE: dict[str, int] = {
    "invalid_request": 400,
    "invalid_password": 401,
    "invalid_credentials": 401,
    "unauthorized": 401,
    "forbidden": 403,
    "slot_not_found": 404,
    "not_found": 404,
    "gone": 410,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "rate_limited": 429,
    "provider_error": 502,
    "service_unavailable": 503,
    "timeout": 504,
    "invalid_configuration": 422,
    "conflict": 409,
    "job_finalized": 409,
    "cancelled": 409,  # an administrator cancelled the job: not a slow provider (504)
    "validation_error": 422,
    "internal_error": 500,
}

_CODE_BY_HTTP_STATUS: dict[int, str] = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "invalid_request",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "service_unavailable",
}


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> Response[ErrorBody]:
    headers = {}
    if details and "retry_after" in details:
        headers["Retry-After"] = str(details["retry_after"])
    body = ErrorBody(error=ErrorDetail(code=code, message=message, details=details or {}))
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    """Every 500: the body says "internal error" and an id, nothing else (no exception text,
    no SQLSTATE); the log line with the same id holds the traceback."""
    error_id = secrets.token_hex(8)
    log.error(
        "internal error %s answering %s %r",
        error_id,
        request.scope.get("method", ""),
        request.scope.get("path", ""),
        exc_info=exc,
        extra={"error_id": error_id},
    )
    return error_response(500, "internal_error", "internal error", {"error_id": error_id})


def handle_domain_error(
    request: Request[Any, Any, Any], exc: PhotoChangerError
) -> Response[ErrorBody]:
    status = STATUS_BY_CODE.get(exc.code, 500)
    if status == 500:  # a bug or an untranslated failure (a database error, say)
        return internal_error(request, exc)
    # A provider failure was logged once, with the provider's own message, by the worker.
    if status >= 500 and exc.code != "provider_error":
        log.warning("answering %s %s: %s", status, exc.code, exc.message)
    details = dict(exc.details)
    if isinstance(exc, RateLimited):
        details["retry_after"] = exc.retry_after
    return error_response(status, exc.code, exc.message, details)


def handle_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
    """Framework errors (bad multipart, body over the cap, unknown route) in the same shape."""
    status = exc.status_code
    if status == 500 and (problem := _body_problem(exc)) is not None:
        return error_response(400, "invalid_request", f"the request body is not valid: {problem}")
    if status == 500:
        return internal_error(request, exc)
    code = _CODE_BY_HTTP_STATUS.get(
        status, "internal_error" if status >= 500 else "invalid_request"
    )
    message = exc.detail if status < 500 else "internal error"
    if status == 413:
        message = "the upload is larger than allowed"
    return error_response(status, code, message)


def _body_problem(exc: HTTPException) -> str | None:
    """What was wrong with the client's JSON body, when Litestar's signature check reported a
    body that failed to convert as a server error (it does for a value nested in a field,
    e.g. ``{"settings": null}``: it finds no field to name and blames the server)."""
    cause = exc.__cause__
    if not isinstance(cause, msgspec.ValidationError):
        return None
    message = str(cause)
    if "`$.data" not in message:
        return None  # a dependency failed to convert: that is ours
    return message.replace("`$.data.", "`$.").replace("`$.data`", "`$`")


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    """Anything unforeseen: logged with its traceback here, never sent to the client."""
    return internal_error(request, exc)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    PhotoChangerError: handle_domain_error,
    HTTPException: handle_http_error,
    Exception: handle_unexpected,
}
