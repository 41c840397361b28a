"""Public downloads (SPEC §7) and the health probes."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import File

from application.public_downloads import GetPublicMedia, GetResult


class PublicController(Controller):
    path = "/public"
    tags = ["public"]

    @get("/results/{job_id:uuid}", summary="Download a job's result (410 once expired)")
    async def result(self, job_id: FromPath[UUID], get_result: NamedDependency[GetResult]) -> File:
        download = await get_result(job_id)
        return File(
            path=download.file,
            media_type=download.mime,
            filename=download.filename,
            content_disposition_type="attachment",
        )

    @get("/media/{media_id:uuid}", summary="Temporary public link to a job input")
    async def media(
        self, media_id: FromPath[UUID], get_public_media: NamedDependency[GetPublicMedia]
    ) -> File:
        download = await get_public_media(media_id)
        return File(path=download.file, media_type=download.mime, content_disposition_type="inline")
