"""GetProviderCatalogue: every provider, its operations and their settings, so a console can
generate the slot form from the same catalogue that validates a slot (``domain.providers``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from domain.providers import PROVIDERS, SettingSpec

SettingKind = Literal["template", "object", "boolean", "integer", "text"]

# Values a check is probed with to tell a form what kind of input a setting takes.
_PROBES: tuple[tuple[SettingKind, tuple[object, ...]], ...] = (
    ("boolean", (True, False)),
    ("integer", (0, 1)),
)


def setting_kind(name: str, spec: SettingSpec) -> SettingKind:
    """``template`` (a TemplateMedia id), ``object``, ``boolean``, ``integer`` or ``text``.
    Read from the field's name and by probing its check, so the catalogue stays the one
    place where settings are defined."""
    if name.endswith("template_id"):
        return "template"
    if spec.fields is not None:
        return "object"
    for kind, probes in _PROBES:
        if any(spec.check(value) for value in probes):
            return kind
    return "text"


@dataclass(frozen=True, slots=True)
class SettingInfo:
    name: str
    description: str
    required: bool
    kind: SettingKind
    fields: list[SettingInfo]  # an object setting's own fields; empty otherwise


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


def _settings(fields: Mapping[str, SettingSpec]) -> list[SettingInfo]:
    return [
        SettingInfo(
            name=name,
            description=spec.description,
            required=spec.required,
            kind=setting_kind(name, spec),
            fields=_settings(spec.fields or {}),
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
                    OperationInfo(name=op.name, settings=_settings(op.fields))
                    for op in spec.operations.values()
                ],
            )
            for spec in PROVIDERS.values()
        ]
