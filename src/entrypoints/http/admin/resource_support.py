"""What the operator's resource controllers share: who is asking, where the service is
reached, multipart uploads read like the booth's, and rule violations as ``422
validation_error`` naming each field."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from litestar import Request
from litestar.exceptions import InternalServerException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge

from application.slot_queries import ServiceAddress
from domain.errors import InvalidConfiguration, InvalidRequest, PayloadTooLarge, ValidationFailed
from entrypoints.config import Settings
from entrypoints.http.admin.guards import current_operator
from entrypoints.http.multipart_form import FormLimits, MultipartForm, read_multipart_form

# Litestar's own cap on an upload route's body; the real caps (the provider's and
# PHOTOCHANGER_MAX_UPLOAD_BYTES) are enforced while the form is read, as ``413``.
UPLOAD_BODY_CAP_BYTES = 64 * 1024 * 1024


def actor(request: Request[Any, Any, Any]) -> str:
    """The administrator's username: the ``actor`` of commands and audit entries."""
    return current_operator(request).username


def address(request: Request[Any, Any, Any], settings: Settings) -> ServiceAddress:
    return ServiceAddress(
        public_base_url=settings.public_base_url, request_base_url=str(request.base_url)
    )


def validation_error(
    exc: InvalidConfiguration, renamed: Mapping[str, str] | None = None
) -> ValidationFailed:
    """``InvalidConfiguration`` names one field in ``details.field``; the API answers
    ``details.fields = {name: message}`` with the request's own field names."""
    field = str(exc.details.get("field", "_"))
    field = (renamed or {}).get(field, field)
    return ValidationFailed(exc.message, {field: exc.message})


async def _body(request: Request[Any, Any, Any]) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            yield chunk
    except RequestEntityTooLarge:
        raise PayloadTooLarge(
            f"the request body is larger than {UPLOAD_BODY_CAP_BYTES} bytes",
            {"max_bytes": UPLOAD_BODY_CAP_BYTES},
        ) from None
    except InternalServerException:  # the client went away mid-body
        raise InvalidRequest("the request body ended before it was complete") from None


async def read_upload(
    request: Request[Any, Any, Any], settings: Settings, *, file_field: str
) -> MultipartForm:
    """The form with its file in ``form.photo`` (spooled, capped at the upload cap); a
    missing or empty file is ``400`` naming the field. The caller closes the form."""
    limits = FormLimits(
        max_file_bytes=settings.max_upload_bytes,
        max_fields=settings.max_form_fields,
        max_field_bytes=settings.max_form_field_bytes,
    )
    form = await read_multipart_form(
        request.headers.get("content-type"),
        _body(request),
        file_field=file_field,
        limits=limits,
    )
    if form.photo is None or form.photo.size == 0:
        form.close()
        raise InvalidRequest(
            f"the form field {file_field!r} must be a non-empty file", {"field": file_field}
        )
    return form
