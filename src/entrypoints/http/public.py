"""Public downloads (SPEC §7) and the health probes."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import BinaryIO
from uuid import UUID

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Stream

from application.public_downloads import Download, GetPublicMedia, GetResult
from domain.errors import Gone

CHUNK_BYTES = 256 * 1024


async def _chunks(file: BinaryIO) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(file.read, CHUNK_BYTES):
            yield chunk
    finally:
        file.close()


async def _stream(download: Download, gone: Gone, disposition: str) -> Stream:
    """Open the file before the answer starts: a job finalized a moment ago may just have
    had its file removed (the row goes a moment later), and that is a ``410``, not a
    failure half-way through a response. Once open, a removal cannot cut the download."""
    try:
        file = await asyncio.to_thread(open, download.file, "rb")
    except FileNotFoundError:
        raise gone from None
    headers = {"Content-Length": str(os.fstat(file.fileno()).st_size)}
    if download.filename:
        headers["Content-Disposition"] = f'{disposition}; filename="{download.filename}"'
    else:
        headers["Content-Disposition"] = disposition
    return Stream(_chunks(file), media_type=download.mime, headers=headers)


class PublicController(Controller):
    path = "/public"
    tags = ["public"]

    @get("/results/{job_id:uuid}", summary="Download a job's result (410 once expired)")
    async def result(
        self, job_id: FromPath[UUID], get_result: NamedDependency[GetResult]
    ) -> Stream:
        download = await get_result(job_id)
        gone = Gone("this result has expired", {"job_id": str(job_id)})
        return await _stream(download, gone, "attachment")

    @get("/media/{media_id:uuid}", summary="Temporary public link to a job input")
    async def media(
        self, media_id: FromPath[UUID], get_public_media: NamedDependency[GetPublicMedia]
    ) -> Stream:
        download = await get_public_media(media_id)
        gone = Gone("this link has expired", {"media_id": str(media_id)})
        return await _stream(download, gone, "inline")
