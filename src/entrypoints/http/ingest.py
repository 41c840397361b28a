"""``POST /ingest/{slot_id}``: the booth's one request (SPEC §4), and its legacy alias.

Whatever the bytes, the answer is a code of the SPEC §4 table: the slot id is checked before
anything touches the database, the form is read by ``multipart_form`` (which refuses what it
cannot read with ``400``/``413``), and the photo itself is judged by storage (``415``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.exceptions import InternalServerException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.params import FromPath

from application.submit_ingest import IngestCommand, SubmitIngest
from domain.errors import InvalidRequest, PayloadTooLarge, SlotNotFound
from domain.slot import is_slot_id
from entrypoints.config import Settings
from entrypoints.http.multipart_form import (
    FormLimits,
    MultipartForm,
    SpoolMemory,
    read_multipart_form,
)
from entrypoints.http.schemas import ErrorBody

PHOTO_FIELD = "fileToUpload"
RESERVED_FIELDS = frozenset({"password", PHOTO_FIELD, "hash"})
FORM_OVERHEAD_BYTES = 1024 * 1024  # room for the other form fields and multipart framing
LEGACY_PATH = "/api/ingest/{slot_id:str}"

_ERRORS = {
    400: "`invalid_request`: broken multipart, a missing or unreadable field (named in details)",
    401: "`invalid_password`: wrong ingest password",
    404: "`slot_not_found`: unknown or inactive slot",
    413: "`payload_too_large`: the photo, a field or the whole body is over its cap",
    415: "`unsupported_media_type`: not an image the slot's provider accepts, or an image "
    "that is cut short, damaged, without pixels or with too many",
    409: "`cancelled`: an administrator cancelled the job; send the photo again",
    429: "`rate_limited`: queue full or too many failed passwords (`Retry-After`)",
    502: "`provider_error`: the AI provider failed",
    503: "`service_unavailable`: database or storage unavailable",
    504: "`timeout`: no result by the deadline; send the photo again",
    500: "`internal_error`: unexpected; `details.error_id` finds the log line",
}
_RESPONSES = {
    status: ResponseSpec(data_container=ErrorBody, description=text, generate_examples=False)
    for status, text in _ERRORS.items()
}
_DESCRIPTION = (
    "multipart/form-data with `password`, `fileToUpload` (the photo; with or without a "
    "filename) and optional `hash` (MD5, SHA-1 or SHA-256 hex of the photo, told apart by "
    "length; a mismatch is only logged); other text fields are stored as job metadata. "
    "Answers the image (200) or an error body."
)


def form_limits(settings: Settings) -> FormLimits:
    return FormLimits(
        max_file_bytes=settings.max_upload_bytes,
        max_fields=settings.max_form_fields,
        max_field_bytes=settings.max_form_field_bytes,
    )


async def _body(request: Request[Any, Any, Any]) -> AsyncIterator[bytes]:
    """The request body as Litestar streams it, its two failures as domain errors."""
    try:
        async for chunk in request.stream():
            yield chunk
    except RequestEntityTooLarge:
        cap = request.route_handler.resolve_request_max_body_size()
        raise PayloadTooLarge(
            f"the request body is larger than {cap} bytes", {"max_bytes": cap}
        ) from None
    except InternalServerException:  # the client went away mid-body
        raise InvalidRequest("the request body ended before it was complete") from None


def _command(slot_id: str, form: MultipartForm, request: Request[Any, Any, Any]) -> IngestCommand:
    password = form.single("password")
    if not password:
        raise InvalidRequest("the form field 'password' is required", {"field": "password"})
    if form.photo is None:
        raise InvalidRequest(
            f"the form field {PHOTO_FIELD!r} (the photo) is required", {"field": PHOTO_FIELD}
        )
    if form.photo.size == 0:
        raise InvalidRequest("the uploaded file is empty", {"field": PHOTO_FIELD})
    return IngestCommand(
        slot_id=slot_id,
        password=password,
        photo=form.photo.chunks(),
        client=request.client.host if request.client else "unknown",
        declared_hash=form.single("hash") or None,
        metadata={k: v for k, v in form.fields if k not in RESERVED_FIELDS},
    )


def build_ingest_handlers(settings: Settings) -> list[HTTPRouteHandler]:
    """``/ingest/{slot_id}`` and its alias ``/api/ingest/{slot_id}`` (booths configured for
    the older implementation post there): one handler function under both paths. Built per
    app so the caps follow the configuration."""
    limits = form_limits(settings)
    spool = SpoolMemory()  # shared by this app's uploads: a burst spills to temp files

    async def ingest(
        slot_id: FromPath[str],
        request: Request[Any, Any, Any],
        submit_ingest: NamedDependency[SubmitIngest],
    ) -> Response[bytes]:
        if not is_slot_id(slot_id):  # cannot exist: answered without a database round trip
            raise SlotNotFound(f"slot {slot_id[:40]!r} does not exist")
        form = await read_multipart_form(
            request.headers.get("content-type"),
            _body(request),
            file_field=PHOTO_FIELD,
            limits=limits,
            spool=spool,
        )
        try:
            result = await submit_ingest(_command(slot_id, form, request))
        finally:
            form.close()
        return Response(
            result.image, media_type=result.mime, headers={"X-Job-Id": str(result.job_id)}
        )

    common: dict[str, Any] = {
        "request_max_body_size": settings.max_upload_bytes + FORM_OVERHEAD_BYTES,
        "tags": ["ingest"],
        "status_code": 200,
        "responses": _RESPONSES,
    }
    return [
        post(
            "/ingest/{slot_id:str}",
            summary="Transform a booth photo and answer with the result",
            description=_DESCRIPTION,
            operation_id="ingest",
            **common,
        )(ingest),
        post(
            LEGACY_PATH,
            summary="Alias of POST /ingest/{slot_id} (legacy path)",
            description="Alias of `POST /ingest/{slot_id}`, answered by the same handler, for "
            "booths configured for the older implementation. " + _DESCRIPTION,
            operation_id="ingestLegacyAlias",
            deprecated=True,
            **common,
        )(ingest),
    ]
