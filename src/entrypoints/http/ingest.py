"""``POST /ingest/{slot_id}``: the booth's one request (SPEC §4)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request, Response, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.exceptions import ClientException
from litestar.params import FromPath

from application.submit_ingest import IngestCommand, SubmitIngest
from domain.errors import InvalidRequest

CHUNK_BYTES = 256 * 1024
RESERVED_FIELDS = frozenset({"password", "fileToUpload", "hash"})


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK_BYTES):
        yield chunk


def _field(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def build_ingest_handler(max_body_bytes: int) -> Any:
    """The route is built per app so its body cap follows the configured upload cap."""

    @post(
        "/ingest/{slot_id:str}",
        request_max_body_size=max_body_bytes,
        summary="Transform a booth photo and answer with the result",
        description=(
            "multipart/form-data with `password`, `fileToUpload` and optional `hash`; other "
            "fields are stored as job metadata. Answers the image (200), or an error body."
        ),
        tags=["ingest"],
        status_code=200,
        include_in_schema=True,
    )
    async def ingest(
        slot_id: FromPath[str],
        request: Request[Any, Any, Any],
        submit_ingest: NamedDependency[SubmitIngest],
    ) -> Response[bytes]:
        try:
            form = await request.form()
        except ClientException as exc:
            raise InvalidRequest(f"could not read the multipart form: {exc.detail}") from None
        password = _field(form, "password")
        upload = form.get("fileToUpload")
        if not password:
            raise InvalidRequest("the form field 'password' is required", {"field": "password"})
        if not isinstance(upload, UploadFile):
            raise InvalidRequest(
                "the form field 'fileToUpload' must be a file", {"field": "fileToUpload"}
            )
        metadata = {
            k: v for k, v in form.multi_items() if k not in RESERVED_FIELDS and isinstance(v, str)
        }
        try:
            if upload.file.seek(0, 2) == 0:
                raise InvalidRequest("the uploaded file is empty", {"field": "fileToUpload"})
            upload.file.seek(0)
            result = await submit_ingest(
                IngestCommand(
                    slot_id=slot_id,
                    password=password,
                    photo=_chunks(upload),
                    client=request.client.host if request.client else "unknown",
                    declared_sha256=_field(form, "hash"),
                    metadata=metadata,
                )
            )
        finally:
            await upload.close()
        return Response(
            result.image,
            media_type=result.mime,
            headers={"X-Job-Id": str(result.job_id)},
        )

    return ingest
