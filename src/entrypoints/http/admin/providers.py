"""``/api/providers``: the provider catalogue a console builds the slot form from."""

from __future__ import annotations

from typing import Any

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


def _described(info: SettingInfo, out: type[SubSettingOut] = SubSettingOut, **extra: Any) -> Any:
    return out(
        name=info.name,
        description=info.description,
        required=info.required,
        kind=info.kind,
        choices=info.choices,
        minimum=info.minimum,
        maximum=info.maximum,
        default=info.default,
        **extra,
    )


def _setting(info: SettingInfo) -> SettingOut:
    setting: SettingOut = _described(info, SettingOut, fields=[_described(f) for f in info.fields])
    return setting


class ProvidersController(Controller):
    path = "/api/providers"
    tags = ["providers"]

    @get(
        "/",
        guards=[any_operator],
        summary="Providers, their operations and each operation's settings",
        description=(
            "Whether each provider is configured (its API key set) and what is missing; per "
            "operation, every setting as the domain declares it: description, whether it is "
            "required, its kind (`text`, `prompt`, `integer`, `number`, `boolean`, `template` "
            "(a TemplateMedia id), `enum` (one of `choices`) or `object` (its own `fields`)), "
            "the inclusive `minimum`/`maximum` of numbers, and the `default` the service uses "
            "when it is left out (null: the provider's own)."
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
