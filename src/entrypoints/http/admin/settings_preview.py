"""``/api/settings/preview``: the TTLs a sync timeout would give, before it is saved."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from application.settings_preview import PreviewDeadlines
from domain.errors import InvalidConfiguration
from domain.settings import SYNC_TIMEOUT_KEY
from entrypoints.http.admin.guards import any_operator
from entrypoints.http.admin.resource_support import validation_error
from entrypoints.http.admin.responses import error_responses
from entrypoints.http.admin.status_schemas import DeadlinePreviewOut


class SettingsPreviewController(Controller):
    path = "/api/settings/preview"
    tags = ["settings"]

    @get(
        "/",
        guards=[any_operator],
        summary="The derived TTLs for a sync timeout, without saving it",
        description=(
            "Read-only: what `PATCH /api/settings` would give new jobs (SPEC §3). A value it "
            "would refuse answers the same `422 validation_error` naming `sync_timeout_sec`."
        ),
        responses=error_responses(400, 401, 422),
    )
    async def preview(
        self,
        preview_deadlines: NamedDependency[PreviewDeadlines],
        sync_timeout_sec: FromQuery[float],
    ) -> DeadlinePreviewOut:
        try:
            preview = await preview_deadlines(sync_timeout_sec)
        except InvalidConfiguration as exc:
            raise validation_error(exc, {SYNC_TIMEOUT_KEY: "sync_timeout_sec"}) from None
        return DeadlinePreviewOut(
            sync_timeout_sec=preview.sync_timeout_sec,
            public_link_ttl_sec=preview.public_link_ttl_sec,
            ingest_ttl_sec=preview.ingest_ttl_sec,
            job_deadline_sec=preview.job_deadline_sec,
        )
