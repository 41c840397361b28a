"""GetProviderCatalogue: every provider, its operations and their settings, so a console can
generate the slot form from the same catalogue that validates a slot (``domain.providers``).

Each setting's kind, range, choices and default are read as declared in the domain's
``SettingSpec``: nothing here guesses them from names or by trying values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.providers import PROVIDERS, SettingKind, SettingSpec

__all__ = ["GetProviderCatalogue", "OperationInfo", "ProviderInfo", "SettingInfo", "SettingKind"]


@dataclass(frozen=True, slots=True)
class SettingInfo:
    name: str
    description: str
    required: bool
    kind: SettingKind
    choices: list[str]  # the allowed words of an ``enum``; empty otherwise
    minimum: float | None  # inclusive range of an ``integer`` or ``number``
    maximum: float | None
    default: Any  # what the service uses when the setting is left out (None: the provider's)
    fields: list[SettingInfo]  # an ``object`` setting's own fields; empty otherwise


@dataclass(frozen=True, slots=True)
class OperationInfo:
    name: str
    settings: list[SettingInfo]


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    name: str
    configured: bool
    missing: str | None  # what an operator must set before a slot may use it
    accepted_mimes: list[str]
    max_bytes: int
    needs_public_urls: bool
    operations: list[OperationInfo]


def describe_settings(fields: Mapping[str, SettingSpec]) -> list[SettingInfo]:
    return [
        SettingInfo(
            name=name,
            description=spec.description,
            required=spec.required,
            kind=spec.kind,
            choices=list(spec.choices),
            minimum=spec.minimum,
            maximum=spec.maximum,
            default=spec.default,
            fields=describe_settings(spec.fields or {}),
        )
        for name, spec in fields.items()
    ]


class GetProviderCatalogue:
    """``unconfigured`` maps a provider to what is missing (its API key, a public URL) — the
    same map ``ConfigureSlot`` refuses activation with."""

    def __init__(self, *, unconfigured: Mapping[str, str]) -> None:
        self._unconfigured = dict(unconfigured)

    async def __call__(self) -> list[ProviderInfo]:
        return [
            ProviderInfo(
                name=spec.name,
                configured=spec.name not in self._unconfigured,
                missing=self._unconfigured.get(spec.name),
                accepted_mimes=sorted(spec.accepted_mimes),
                max_bytes=spec.max_bytes,
                needs_public_urls=spec.needs_public_urls,
                operations=[
                    OperationInfo(name=op.name, settings=describe_settings(op.fields))
                    for op in spec.operations.values()
                ],
            )
            for spec in PROVIDERS.values()
        ]
