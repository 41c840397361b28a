"""``/api/providers``: the provider catalogue a console builds the slot form from."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency

from application.provider_catalogue import GetProviderCatalogue, SettingInfo
from entrypoints.http.admin.guards import any_operator
from entrypoints.http.admin.resources_schemas import (
    OperationOut,
    ProviderCatalogueOut,
    ProviderOut,
    SettingOut,
    SubSettingOut,
)
from entrypoints.http.admin.responses import error_responses


def _setting(info: SettingInfo) -> SettingOut:
    return SettingOut(
        name=info.name,
        description=info.description,
        required=info.required,
        kind=info.kind,
        fields=[
            SubSettingOut(
                name=f.name,
                description=f.description,
                required=f.required,
                kind=f.kind,
            )
            for f in info.fields
        ],
    )


class ProvidersController(Controller):
    path = "/api/providers"
    tags = ["providers"]

    @get(
        "/",
        guards=[any_operator],
        summary="Providers, their operations and each operation's settings",
        description=(
            "Whether each provider is configured (its API key set) and what is missing; per "
            "operation, every setting with its description, whether it is required, and its "
            "kind (template id, object, boolean, integer or text)."
        ),
        responses=error_responses(401),
    )
    async def providers(
        self, get_provider_catalogue: NamedDependency[GetProviderCatalogue]
    ) -> ProviderCatalogueOut:
        return ProviderCatalogueOut(
            items=[
                ProviderOut(
                    name=p.name,
                    configured=p.configured,
                    missing=p.missing,
                    accepted_mimes=p.accepted_mimes,
                    max_bytes=p.max_bytes,
                    needs_public_urls=p.needs_public_urls,
                    operations=[
                        OperationOut(name=op.name, settings=[_setting(s) for s in op.settings])
                        for op in p.operations
                    ],
                )
                for p in await get_provider_catalogue()
            ]
        )
