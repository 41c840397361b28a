"""What each provider accepts and which settings each operation needs (SPEC §8).

Pure data, so that ingest can refuse bad input (413/415) and a slot can be validated before
any provider is called.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.errors import InvalidConfiguration
from domain.provider_specs import (
    OperationSpec,
    ProviderSpec,
    SettingKind,
    SettingSpec,
    boolean,
    check_fields,
    choice,
    group,
    integer,
    is_gpt_image_model,
    is_model_name,
    prompt,
    template,
    text,
)

__all__ = [
    "MB",
    "PROVIDERS",
    "OperationSpec",
    "ProviderSpec",
    "SettingKind",
    "SettingSpec",
    "operation_spec",
    "provider_spec",
    "validate_operation_settings",
]

MB = 1024 * 1024

# Models the adapters use when a slot names none (tests hold the adapters to these).
GEMINI_DEFAULT_MODEL = "gemini-2.5-flash-image"
OPENAI_DEFAULT_MODEL = "gpt-image-1.5"

_DELAY = integer(
    "an integer 0..120000: artificial latency in ms (demos, benchmarks)", 0, 120_000, default=0
)
_PROMPT = prompt(required=True)
_OPTIONAL_PROMPT = prompt()
_STYLE = template("TemplateMedia id of the style image", required=True)
_FACE = template("TemplateMedia id of the face image", required=True)
_MODEL = text(
    "Gemini model name such as gemini-2.5-flash-image or gemini-3-pro-image-preview "
    "(letters, digits, '.', '_', '-')",
    check=is_model_name,
    default=GEMINI_DEFAULT_MODEL,
)

GEMINI_ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
GEMINI_IMAGE_SIZES = ("1K", "2K", "4K")
_IMAGE_CONFIG = group(
    "an object with aspect_ratio and/or image_size (Gemini 3 image models)",
    {
        "aspect_ratio": choice("output aspect ratio", GEMINI_ASPECT_RATIOS),
        "image_size": choice("output resolution (upper-case K)", GEMINI_IMAGE_SIZES),
    },
)

OPENAI_SIZES = ("auto", "1024x1024", "1536x1024", "1024x1536")
OPENAI_QUALITIES = ("low", "medium", "high", "auto")
OPENAI_OUTPUT_FORMATS = ("png", "jpeg", "webp")
OPENAI_INPUT_FIDELITIES = ("low", "high")
OPENAI_BACKGROUNDS = ("transparent", "opaque", "auto")


_OPENAI_OPTIONS: Mapping[str, SettingSpec] = {
    "model": text(
        "OpenAI image model gpt-image-* such as gpt-image-1.5 or gpt-image-1",
        check=is_gpt_image_model,
        default=OPENAI_DEFAULT_MODEL,
    ),
    "size": choice("output size", OPENAI_SIZES),
    "quality": choice("quality", OPENAI_QUALITIES),
    "output_format": choice("output format", OPENAI_OUTPUT_FORMATS),
    "output_compression": integer("an integer 0..100 (jpeg and webp output only)", 0, 100),
    "input_fidelity": choice(
        "how closely to keep faces and details of the inputs", OPENAI_INPUT_FIDELITIES
    ),
    "background": choice("background", OPENAI_BACKGROUNDS),
}


def _compression_needs_lossy_format(settings: Mapping[str, Any]) -> tuple[str, str] | None:
    if "output_compression" in settings and settings.get("output_format") not in ("jpeg", "webp"):
        return "output_compression", "output_compression needs output_format jpeg or webp"
    return None


def _transparency_needs_alpha_format(settings: Mapping[str, Any]) -> tuple[str, str] | None:
    if settings.get("background") == "transparent" and settings.get("output_format") == "jpeg":
        return "background", "a transparent background needs output_format png or webp, not jpeg"
    return None


def _openai_operation(name: str, fields: Mapping[str, SettingSpec]) -> OperationSpec:
    return OperationSpec(
        name,
        {**fields, **_OPENAI_OPTIONS},
        rules=(_compression_needs_lossy_format, _transparency_needs_alpha_format),
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
                    "overlay_template_id": template(
                        "TemplateMedia id of the image composited onto the photo", required=True
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
            "image_edit": OperationSpec(
                "image_edit", {"prompt": _PROMPT, "model": _MODEL, "image_config": _IMAGE_CONFIG}
            ),
            "style_transfer": OperationSpec(
                "style_transfer",
                {
                    "prompt": _PROMPT,
                    "style_template_id": _STYLE,
                    "model": _MODEL,
                    "image_config": _IMAGE_CONFIG,
                },
            ),
            "identity_transfer": OperationSpec(
                "identity_transfer",
                {
                    "face_template_id": _FACE,
                    "prompt": _OPTIONAL_PROMPT,
                    "model": _MODEL,
                    "image_config": _IMAGE_CONFIG,
                },
            ),
        },
    ),
    "openai": ProviderSpec(
        name="openai",
        accepted_mimes=frozenset({"image/jpeg", "image/png", "image/webp"}),
        max_bytes=50 * MB,  # per image, per the API; the upload cap is usually lower
        operations={
            "image_edit": _openai_operation("image_edit", {"prompt": _PROMPT}),
            "style_transfer": _openai_operation(
                "style_transfer", {"prompt": _PROMPT, "style_template_id": _STYLE}
            ),
            "identity_transfer": _openai_operation(
                "identity_transfer", {"face_template_id": _FACE, "prompt": _PROMPT}
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
                    "strength": integer("0..80: how strongly the photo is changed", 0, 80),
                    "seed": integer("integer seed", 0, 2**31 - 1),
                    "scale": integer("guidance scale 1..20", 1, 20),
                    "negative_prompt": prompt("what to avoid"),
                    "original_language": text("prompt language code"),
                },
            ),
            "style_transfer": OperationSpec(
                "style_transfer", {"prompt": _PROMPT, "style_template_id": _STYLE}
            ),
            "identity_transfer": OperationSpec(
                "identity_transfer",
                {
                    "face_template_id": _FACE,
                    "face_restore": boolean(
                        "true or false: restore the face's details after the swap"
                    ),
                },
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
    check_fields(f"{provider}/{operation}", op.fields, settings, "", require_complete)
    for rule in op.rules:
        broken = rule(settings)
        if broken is not None:
            field_name, problem = broken
            raise InvalidConfiguration(
                f"setting {field_name!r} does not fit the others: {problem}", {"field": field_name}
            )
