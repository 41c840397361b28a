"""``/api/settings``: service-wide values, the TTLs they imply, and the ingest password."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from application.app_settings_admin import SettingsChanges, UpdateSettings
from application.settings_view import GetSettings, RotateIngestPassword, SettingsView
from domain.errors import InvalidConfiguration
from domain.settings import RESULT_RETENTION_KEY, SYNC_TIMEOUT_KEY
from entrypoints.http.admin.guards import admin_only, any_operator
from entrypoints.http.admin.resource_support import actor, validation_error
from entrypoints.http.admin.resources_schemas import (
    IngestPasswordChange,
    IngestPasswordChanged,
    SettingChangeOut,
    SettingsOut,
    SettingsPatch,
)
from entrypoints.http.admin.responses import error_responses

_BODY_FIELDS = {SYNC_TIMEOUT_KEY: "sync_timeout_sec", RESULT_RETENTION_KEY: "result_retention_sec"}


def settings_out(view: SettingsView) -> SettingsOut:
    return SettingsOut(
        sync_timeout_sec=view.app.sync_timeout_sec,
        sync_timeout_min_sec=view.bounds.low,
        sync_timeout_max_sec=view.bounds.high,
        public_link_ttl_sec=view.public_link_ttl_sec,
        ingest_ttl_sec=view.ingest_ttl_sec,
        job_deadline_sec=view.job_deadline_sec,
        result_retention_sec=view.app.result_retention_sec,
        ingest_password_set=view.ingest_password_set,
        providers_configured=dict(view.providers_configured),
        changes=[
            SettingChangeOut(key=c.key, updated_at=c.updated_at, updated_by=c.updated_by)
            for c in view.changes
        ],
    )


class SettingsController(Controller):
    path = "/api/settings"
    tags = ["settings"]

    @get(
        "/",
        guards=[any_operator],
        summary="Values, derived TTLs, which secrets are set (never their values), who changed",
        responses=error_responses(401),
    )
    async def read_settings(self, get_settings: NamedDependency[GetSettings]) -> SettingsOut:
        return settings_out(await get_settings())

    @patch(
        "/",
        guards=[admin_only],
        summary="Change the sync timeout and/or the result retention (new jobs only)",
        description="`422 validation_error` names a value out of range in `details.fields`.",
        responses=error_responses(400, 401, 403, 422),
    )
    async def change_settings(
        self,
        data: JSONBody[SettingsPatch],
        request: Request[Any, Any, Any],
        update_settings: NamedDependency[UpdateSettings],
        get_settings: NamedDependency[GetSettings],
    ) -> SettingsOut:
        try:
            await update_settings(
                SettingsChanges(
                    sync_timeout_sec=data.sync_timeout_sec,
                    result_retention_sec=data.result_retention_sec,
                    actor=actor(request),
                )
            )
        except InvalidConfiguration as exc:
            raise validation_error(exc, _BODY_FIELDS) from None
        return settings_out(await get_settings())

    @post(
        "/ingest-password",
        guards=[admin_only],
        status_code=200,
        summary="Set the ingest password, or generate one (shown once)",
        description=(
            "Effective on the next ingest, no restart; ingests already accepted finish. "
            "Without `password` one is generated and answered once in `generated_password`."
        ),
        responses=error_responses(400, 401, 403, 422),
    )
    async def change_ingest_password(
        self,
        data: JSONBody[IngestPasswordChange],
        request: Request[Any, Any, Any],
        rotate_ingest_password: NamedDependency[RotateIngestPassword],
    ) -> IngestPasswordChanged:
        try:
            generated = await rotate_ingest_password(data.password, actor=actor(request))
        except InvalidConfiguration as exc:
            raise validation_error(exc) from None
        return IngestPasswordChanged(generated_password=generated)
