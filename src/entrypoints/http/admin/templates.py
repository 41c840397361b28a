"""``/api/templates``: the template images slot settings refer to."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath
from litestar.response import File

from application.manage_templates import AddTemplate, NewTemplate, RemoveTemplate
from application.template_queries import GetTemplateImage, ListTemplates, TemplateUsage
from domain.errors import InvalidRequest
from domain.media import TemplateMedia
from entrypoints.config import Settings
from entrypoints.http.admin.guards import admin_only, any_operator
from entrypoints.http.admin.resource_support import (
    UPLOAD_BODY_CAP_BYTES,
    actor,
    address,
    read_upload,
)
from entrypoints.http.admin.resources_schemas import TemplateList, TemplateOut
from entrypoints.http.admin.responses import error_responses

FILE_FIELD = "file"
LABEL_FIELD = "label"


def template_out(usage: TemplateUsage, base: str) -> TemplateOut:
    template = usage.template
    return TemplateOut(
        id=template.id,
        label=template.label,
        mime=template.mime,
        size_bytes=template.size_bytes,
        checksum=template.checksum,
        uploaded_by=template.uploaded_by,
        created_at=template.created_at,
        used_by=usage.used_by,
        used_by_active=usage.used_by_active,
        image_url=f"{base}/api/templates/{template.id}/image",
    )


class TemplatesController(Controller):
    path = "/api/templates"
    tags = ["templates"]

    @post(
        "/",
        guards=[admin_only],
        status_code=201,
        request_max_body_size=UPLOAD_BODY_CAP_BYTES,
        summary="Upload a template image",
        description=(
            "multipart/form-data: `file` (the image; its type is decided from the bytes) and "
            "`label`. `413` above PHOTOCHANGER_MAX_UPLOAD_BYTES, `415` when it is not an image."
        ),
        responses=error_responses(400, 401, 403, 413, 415),
    )
    async def add_template(
        self,
        request: Request[Any, Any, Any],
        add_template: NamedDependency[AddTemplate],
        settings: NamedDependency[Settings],
    ) -> TemplateOut:
        form = await read_upload(request, settings, file_field=FILE_FIELD)
        try:
            assert form.photo is not None  # read_upload refuses a form without it
            label = form.single(LABEL_FIELD)
            if not label:
                raise InvalidRequest("the form field 'label' is required", {"field": LABEL_FIELD})
            added: TemplateMedia = await add_template(
                NewTemplate(label=label, image=form.photo.chunks(), actor=actor(request))
            )
        finally:
            form.close()
        usage = TemplateUsage(template=added, used_by=[], used_by_active=[])
        return template_out(usage, address(request, settings).base)

    @get(
        "/",
        guards=[any_operator],
        summary="Every template, with the slots that use it",
        responses=error_responses(401),
    )
    async def list_templates(
        self,
        request: Request[Any, Any, Any],
        list_templates: NamedDependency[ListTemplates],
        settings: NamedDependency[Settings],
    ) -> TemplateList:
        base = address(request, settings).base
        return TemplateList(items=[template_out(u, base) for u in await list_templates()])

    @get(
        "/{template_id:uuid}/image",
        guards=[admin_only],  # SPEC §10: viewers do not download templates
        summary="The template's image file",
        responses={
            200: ResponseSpec(
                data_container=bytes,
                media_type="image/*",
                description="The image, in the type decided at upload",
                generate_examples=False,
            ),
            **error_responses(401, 403, 404),
        },
    )
    async def template_image(
        self,
        template_id: FromPath[UUID],
        get_template_image: NamedDependency[GetTemplateImage],
    ) -> File:
        download = await get_template_image(template_id)
        return File(
            path=download.file,
            media_type=download.mime,
            filename=download.filename,
            content_disposition_type="inline",
        )

    @delete(
        "/{template_id:uuid}",
        guards=[admin_only],
        status_code=204,
        summary="Remove a template (refused while an active slot uses it)",
        description="`409 conflict` names the active slots using it in `details.slots`.",
        responses=error_responses(401, 403, 404, 409),
    )
    async def remove_template(
        self,
        template_id: FromPath[UUID],
        request: Request[Any, Any, Any],
        remove_template: NamedDependency[RemoveTemplate],
    ) -> Response[None]:
        await remove_template(template_id, actor=actor(request))
        return Response(None, status_code=204)
