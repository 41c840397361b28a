"""``/api/slots``: list, read and change the fifteen slots; try one with a test run."""

from __future__ import annotations

import json
from typing import Any

from litestar import Controller, Request, Response, get, post, put
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody

from application.configure_slot import ConfigureSlot, SlotChanges
from application.slot_queries import GetSlot, ListSlots, SlotOverview
from application.test_run import TestRun, TestRunCommand
from domain.errors import InvalidConfiguration, InvalidRequest
from entrypoints.config import Settings
from entrypoints.http.admin.guards import admin_only, any_operator
from entrypoints.http.admin.resource_support import (
    UPLOAD_BODY_CAP_BYTES,
    actor,
    address,
    read_upload,
    validation_error,
)
from entrypoints.http.admin.resources_schemas import (
    OutcomeCountsOut,
    RecentResultOut,
    SlotDetailOut,
    SlotList,
    SlotOut,
    SlotUpdate,
)
from entrypoints.http.admin.responses import error_responses

PHOTO_FIELD = "fileToUpload"
SETTINGS_FIELD = "settings"


def _slot_fields(overview: SlotOverview) -> dict[str, Any]:
    slot, today = overview.slot, overview.today
    return {
        "id": slot.id,
        "name": slot.name,
        "provider": slot.provider,
        "operation": slot.operation,
        "settings": dict(slot.settings),
        "is_active": slot.is_active,
        "updated_at": slot.updated_at,
        "ingest_url": overview.ingest_url,
        "today": OutcomeCountsOut(
            succeeded=today.succeeded,
            timeout=today.timeout,
            provider_error=today.provider_error,
            cancelled=today.cancelled,
            storage_error=today.storage_error,
        ),
    }


def _trial_settings(raw: str | None) -> dict[str, Any] | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise InvalidRequest(
            "the form field 'settings' is not valid JSON", {"field": SETTINGS_FIELD}
        ) from None
    if not isinstance(parsed, dict):
        raise InvalidRequest(
            "the form field 'settings' must be a JSON object", {"field": SETTINGS_FIELD}
        )
    return parsed


_TEST_RUN_IMAGE = ResponseSpec(
    data_container=bytes,
    media_type="image/*",
    description="The result image (as an ingest answers), with `X-Job-Id` and `X-Timing-Ms`",
    generate_examples=False,
)


class SlotsController(Controller):
    path = "/api/slots"
    tags = ["slots"]

    @get(
        "/",
        guards=[any_operator],
        summary="The fifteen slots with today's outcomes and their ingest URL",
        responses=error_responses(401),
    )
    async def list_slots(
        self,
        request: Request[Any, Any, Any],
        list_slots: NamedDependency[ListSlots],
        settings: NamedDependency[Settings],
    ) -> SlotList:
        overviews = await list_slots(address(request, settings))
        return SlotList(items=[SlotOut(**_slot_fields(o)) for o in overviews])

    @get(
        "/{slot_id:str}",
        guards=[any_operator],
        summary="One slot with its latest results (up to 12)",
        responses=error_responses(401, 404),
    )
    async def get_slot(
        self,
        slot_id: FromPath[str],
        request: Request[Any, Any, Any],
        get_slot: NamedDependency[GetSlot],
        settings: NamedDependency[Settings],
    ) -> SlotDetailOut:
        detail = await get_slot(slot_id, address(request, settings))
        return SlotDetailOut(
            **_slot_fields(detail.overview),
            recent_results=[
                RecentResultOut(
                    job_id=r.result.job_id,
                    finished_at=r.result.finished_at,
                    result_url=r.result_url,
                    expires_at=r.result.expires_at,
                )
                for r in detail.recent_results
            ],
        )

    @put(
        "/{slot_id:str}",
        guards=[admin_only],
        summary="Change a slot (send the updated_at you last read)",
        description=(
            "`409 conflict` when the slot changed since `updated_at` was read; `422 "
            "validation_error` with `details.fields = {name: message}` for a provider, "
            "operation or setting the slot cannot run (or activating an unconfigured "
            "provider); `404 slot_not_found`."
        ),
        responses=error_responses(400, 401, 403, 404, 409, 422),
    )
    async def update_slot(
        self,
        slot_id: FromPath[str],
        data: JSONBody[SlotUpdate],
        request: Request[Any, Any, Any],
        configure_slot: NamedDependency[ConfigureSlot],
        list_slots: NamedDependency[ListSlots],
        settings: NamedDependency[Settings],
    ) -> SlotOut:
        changes = SlotChanges(
            slot_id=slot_id,
            name=data.name,
            provider=data.provider,
            operation=data.operation,
            settings=data.settings,
            is_active=data.is_active,
            expected_updated_at=data.updated_at,
            actor=actor(request),
        )
        try:
            saved = await configure_slot(changes)
        except InvalidConfiguration as exc:
            raise validation_error(exc) from None
        return SlotOut(**_slot_fields(await list_slots.one(saved, address(request, settings))))

    @post(
        "/{slot_id:str}/test-run",
        guards=[admin_only],
        status_code=200,
        request_max_body_size=UPLOAD_BODY_CAP_BYTES,
        summary="Run a photo through the slot's real pipeline (inactive slots too)",
        description=(
            "multipart/form-data: `fileToUpload` (the photo) and optionally `settings`, a JSON "
            "object of unsaved settings to try instead of the slot's. Answers like "
            "`POST /ingest/{slot_id}` (the image, or the same errors) plus `X-Job-Id` and "
            "`X-Timing-Ms` (photo received → result ready). The job is marked `is_test`: "
            "listed under /api/jobs, left out of counts and stats."
        ),
        response_headers=[
            ResponseHeader(name="X-Job-Id", description="the test job", documentation_only=True),
            ResponseHeader(
                name="X-Timing-Ms",
                description="photo received → result ready, ms",
                documentation_only=True,
            ),
        ],
        responses={
            200: _TEST_RUN_IMAGE,
            **error_responses(400, 401, 403, 404, 409, 413, 415, 422, 429, 502, 503, 504),
        },
    )
    async def test_run(
        self,
        slot_id: FromPath[str],
        request: Request[Any, Any, Any],
        test_run: NamedDependency[TestRun],
        settings: NamedDependency[Settings],
    ) -> Response[bytes]:
        form = await read_upload(request, settings, file_field=PHOTO_FIELD)
        try:
            assert form.photo is not None  # read_upload refuses a form without it
            command = TestRunCommand(
                slot_id=slot_id,
                photo=form.photo.chunks(),
                actor=actor(request),
                settings=_trial_settings(form.single(SETTINGS_FIELD)),
            )
            try:
                ran = await test_run(command)
            except InvalidConfiguration as exc:
                raise validation_error(exc) from None
        finally:
            form.close()
        return Response(
            ran.result.image,
            media_type=ran.result.mime,
            headers={"X-Job-Id": str(ran.result.job_id), "X-Timing-Ms": str(ran.elapsed_ms)},
        )
