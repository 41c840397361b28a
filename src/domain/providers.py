"""What each provider accepts and which settings each operation needs (SPEC §8).

Pure data, so that ingest can refuse bad input (413/415) and a slot can be validated before
any provider is called.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domain.errors import InvalidConfiguration

MB = 1024 * 1024

Check = Callable[[Any], bool]


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _is_uuid(value: Any) -> bool:
    try:
        UUID(str(value))
    except ValueError:
        return False
    return True


_MODEL_NAME = re.compile(r"(models/)?[A-Za-z0-9._-]{1,100}")


def _is_model_name(value: Any) -> bool:
    """The name goes into the provider's URL path: nothing that could leave it."""
    return isinstance(value, str) and _MODEL_NAME.fullmatch(value) is not None


def _int_range(low: int, high: int) -> Check:
    def check(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high

    return check


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """One settings field: whether it must be present and how its value is checked."""

    description: str
    check: Check
    required: bool = False


@dataclass(frozen=True, slots=True)
class OperationSpec:
    name: str
    fields: Mapping[str, SettingSpec] = field(default_factory=dict)

    def template_fields(self) -> tuple[str, ...]:
        """Settings fields that hold TemplateMedia ids."""
        return tuple(n for n in self.fields if n.endswith("template_id"))


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    name: str
    accepted_mimes: frozenset[str]
    max_bytes: int
    operations: Mapping[str, OperationSpec]
    needs_public_urls: bool = False


_DELAY = SettingSpec(
    "an integer 0..120000: artificial latency in ms (demos, benchmarks)", _int_range(0, 120_000)
)
_PROMPT = SettingSpec("prompt text", _is_text, required=True)
_OPTIONAL_PROMPT = SettingSpec("prompt text", _is_text)
_STYLE = SettingSpec("TemplateMedia id of the style image", _is_uuid, required=True)
_FACE = SettingSpec("TemplateMedia id of the face image", _is_uuid, required=True)
_MODEL = SettingSpec(
    "Gemini model name such as gemini-2.5-flash-image (letters, digits, '.', '_', '-')",
    _is_model_name,
)

PROVIDERS: Mapping[str, ProviderSpec] = {
    "local": ProviderSpec(
        name="local",
        accepted_mimes=frozenset({"image/jpeg", "image/png", "image/webp"}),
        max_bytes=20 * MB,
        operations={
            "grayscale": OperationSpec("grayscale", {"delay_ms": _DELAY}),
            "sepia": OperationSpec("sepia", {"delay_ms": _DELAY}),
            "overlay": OperationSpec(
                "overlay",
                {
                    "overlay_template_id": SettingSpec(
                        "TemplateMedia id of the image composited onto the photo",
                        _is_uuid,
                        required=True,
                    ),
                    "delay_ms": _DELAY,
                },
            ),
        },
    ),
    "gemini": ProviderSpec(
        name="gemini",
        accepted_mimes=frozenset(
            {"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"}
        ),
        max_bytes=20 * MB,
        operations={
            "image_edit": OperationSpec("image_edit", {"prompt": _PROMPT, "model": _MODEL}),
            "style_transfer": OperationSpec(
                "style_transfer",
                {"prompt": _PROMPT, "style_template_id": _STYLE, "model": _MODEL},
            ),
            "identity_transfer": OperationSpec(
                "identity_transfer",
                {"face_template_id": _FACE, "prompt": _OPTIONAL_PROMPT, "model": _MODEL},
            ),
        },
    ),
    "turbotext": ProviderSpec(
        name="turbotext",
        accepted_mimes=frozenset({"image/jpeg", "image/png", "image/webp"}),
        max_bytes=15 * MB,
        needs_public_urls=True,
        operations={
            "image_edit": OperationSpec(
                "image_edit",
                {
                    "prompt": _PROMPT,
                    "strength": SettingSpec("0..80", _int_range(0, 80)),
                    "seed": SettingSpec("integer seed", _int_range(0, 2**31 - 1)),
                    "scale": SettingSpec("guidance scale 1..20", _int_range(1, 20)),
                    "negative_prompt": SettingSpec("what to avoid", _is_text),
                    "original_language": SettingSpec("prompt language code", _is_text),
                },
            ),
            "style_transfer": OperationSpec(
                "style_transfer", {"prompt": _PROMPT, "style_template_id": _STYLE}
            ),
            "identity_transfer": OperationSpec(
                "identity_transfer",
                {"face_template_id": _FACE, "face_restore": SettingSpec("bool", _is_bool)},
            ),
        },
    ),
}


def provider_spec(name: str) -> ProviderSpec:
    try:
        return PROVIDERS[name]
    except KeyError:
        known = ", ".join(sorted(PROVIDERS))
        raise InvalidConfiguration(
            f"unknown provider {name!r} (known: {known})", {"field": "provider"}
        ) from None


def operation_spec(provider: str, operation: str) -> OperationSpec:
    spec = provider_spec(provider)
    try:
        return spec.operations[operation]
    except KeyError:
        known = ", ".join(sorted(spec.operations))
        raise InvalidConfiguration(
            f"provider {provider!r} has no operation {operation!r} (known: {known})",
            {"field": "operation"},
        ) from None


def validate_operation_settings(
    provider: str, operation: str, settings: Mapping[str, Any], *, require_complete: bool
) -> None:
    """Refuse unknown fields and bad values always; missing required fields when activating."""
    op = operation_spec(provider, operation)
    for key, value in settings.items():
        spec = op.fields.get(key)
        if spec is None:
            allowed = ", ".join(sorted(op.fields)) or "none"
            raise InvalidConfiguration(
                f"setting {key!r} is not used by {provider}/{operation} (allowed: {allowed})",
                {"field": key},
            )
        if not spec.check(value):
            raise InvalidConfiguration(
                f"setting {key!r} is invalid: expected {spec.description}", {"field": key}
            )
    if require_complete:
        for key, spec in op.fields.items():
            if spec.required and key not in settings:
                raise InvalidConfiguration(
                    f"{provider}/{operation} needs setting {key!r} ({spec.description})",
                    {"field": key},
                )
