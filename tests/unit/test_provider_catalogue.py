"""SPEC §8: what each provider accepts and which settings each operation needs."""

from __future__ import annotations

import dataclasses
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidConfiguration
from domain.providers import (
    MB,
    PROVIDERS,
    OperationSpec,
    ProviderSpec,
    operation_spec,
    provider_spec,
    validate_operation_settings,
)

TEMPLATE = "0b7e2c4a-5d6f-4a1b-9c8d-7e6f5a4b3c2d"
JPEG_PNG_WEBP = frozenset({"image/jpeg", "image/png", "image/webp"})

# the smallest settings that make each operation complete
MINIMAL: dict[tuple[str, str], dict[str, Any]] = {
    ("local", "grayscale"): {},
    ("local", "sepia"): {},
    ("local", "overlay"): {"overlay_template_id": TEMPLATE},
    ("gemini", "image_edit"): {"prompt": "watercolour"},
    ("gemini", "style_transfer"): {"prompt": "oil", "style_template_id": TEMPLATE},
    ("gemini", "identity_transfer"): {"face_template_id": TEMPLATE},
    ("turbotext", "image_edit"): {"prompt": "watercolour"},
    ("turbotext", "style_transfer"): {"prompt": "oil", "style_template_id": TEMPLATE},
    ("turbotext", "identity_transfer"): {"face_template_id": TEMPLATE},
    ("openai", "image_edit"): {"prompt": "watercolour"},
    ("openai", "style_transfer"): {"prompt": "oil", "style_template_id": TEMPLATE},
    ("openai", "identity_transfer"): {"face_template_id": TEMPLATE, "prompt": "swap"},
}
OPENAI_OPTIONS = {
    "model",
    "size",
    "quality",
    "output_format",
    "output_compression",
    "input_fidelity",
    "background",
}
REQUIRED_CASES = [
    pytest.param(p, o, key, id=f"{p}/{o}/{key}")
    for (p, o), settings in MINIMAL.items()
    for key in settings
]


def check(provider: str, operation: str, settings: dict[str, Any], *, complete: bool) -> None:
    validate_operation_settings(provider, operation, settings, require_complete=complete)


def refused(
    provider: str, operation: str, settings: dict[str, Any], *, complete: bool = False
) -> InvalidConfiguration:
    with pytest.raises(InvalidConfiguration) as caught:
        check(provider, operation, settings, complete=complete)
    assert caught.value.code == "invalid_configuration"
    return caught.value


# --- the catalogue -----------------------------------------------------------------------------


def test_known_providers() -> None:
    assert set(PROVIDERS) == {"local", "gemini", "turbotext", "openai"}
    for name, spec in PROVIDERS.items():
        assert spec.name == name
        assert provider_spec(name) is spec
        for op_name, op in spec.operations.items():
            assert op.name == op_name
            assert operation_spec(name, op_name) is op


def test_mb_is_a_binary_megabyte() -> None:
    assert MB == 1024 * 1024


def test_local_accepts_jpeg_png_webp_up_to_20_mb() -> None:
    local = PROVIDERS["local"]
    assert local.accepted_mimes == JPEG_PNG_WEBP
    assert local.max_bytes == 20 * MB
    assert not local.needs_public_urls


def test_gemini_accepts_heic_and_heif_up_to_20_mb() -> None:
    gemini = PROVIDERS["gemini"]
    assert gemini.accepted_mimes == JPEG_PNG_WEBP | {"image/heic", "image/heif"}
    assert gemini.max_bytes == 20 * MB
    assert not gemini.needs_public_urls


def test_turbotext_accepts_no_heic_up_to_15_mb_and_needs_public_urls() -> None:
    turbotext = PROVIDERS["turbotext"]
    assert turbotext.accepted_mimes == JPEG_PNG_WEBP
    assert "image/heic" not in turbotext.accepted_mimes
    assert "image/heif" not in turbotext.accepted_mimes
    assert turbotext.max_bytes == 15 * MB
    assert turbotext.max_bytes < PROVIDERS["gemini"].max_bytes
    assert turbotext.needs_public_urls


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
@pytest.mark.parametrize("mime", ["image/gif", "image/bmp", "image/tiff", "application/pdf", ""])
def test_no_provider_accepts_other_types(provider: str, mime: str) -> None:
    assert mime not in PROVIDERS[provider].accepted_mimes


def test_mime_sets_are_lowercase_image_types() -> None:
    for spec in PROVIDERS.values():
        assert isinstance(spec.accepted_mimes, frozenset)
        for mime in spec.accepted_mimes:
            assert mime == mime.lower()
            assert mime.startswith("image/")


def test_specs_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        PROVIDERS["turbotext"].max_bytes = 100 * MB  # type: ignore[misc]


@pytest.mark.parametrize(
    ("provider", "operations"),
    [
        ("local", {"grayscale", "sepia", "overlay"}),
        ("gemini", {"image_edit", "style_transfer", "identity_transfer"}),
        ("turbotext", {"image_edit", "style_transfer", "identity_transfer"}),
        ("openai", {"image_edit", "style_transfer", "identity_transfer"}),
    ],
)
def test_operations_per_provider(provider: str, operations: set[str]) -> None:
    assert set(PROVIDERS[provider].operations) == operations


@pytest.mark.parametrize(
    ("provider", "operation", "required", "optional"),
    [
        ("local", "grayscale", set(), {"delay_ms"}),
        ("local", "sepia", set(), {"delay_ms"}),
        ("local", "overlay", {"overlay_template_id"}, {"delay_ms"}),
        ("gemini", "image_edit", {"prompt"}, {"model", "image_config"}),
        ("gemini", "style_transfer", {"prompt", "style_template_id"}, {"model", "image_config"}),
        ("gemini", "identity_transfer", {"face_template_id"}, {"prompt", "model", "image_config"}),
        (
            "turbotext",
            "image_edit",
            {"prompt"},
            {"strength", "seed", "scale", "negative_prompt", "original_language"},
        ),
        ("turbotext", "style_transfer", {"prompt", "style_template_id"}, set()),
        ("turbotext", "identity_transfer", {"face_template_id"}, {"face_restore"}),
        ("openai", "image_edit", {"prompt"}, OPENAI_OPTIONS),
        ("openai", "style_transfer", {"prompt", "style_template_id"}, OPENAI_OPTIONS),
        ("openai", "identity_transfer", {"face_template_id", "prompt"}, OPENAI_OPTIONS),
    ],
)
def test_required_and_optional_settings(
    provider: str, operation: str, required: set[str], optional: set[str]
) -> None:
    op = operation_spec(provider, operation)
    assert {k for k, s in op.fields.items() if s.required} == required
    assert {k for k, s in op.fields.items() if not s.required} == optional
    assert set(MINIMAL[(provider, operation)]) == required


@pytest.mark.parametrize(
    ("provider", "operation", "templates"),
    [
        ("local", "grayscale", ()),
        ("local", "overlay", ("overlay_template_id",)),
        ("gemini", "image_edit", ()),
        ("gemini", "style_transfer", ("style_template_id",)),
        ("gemini", "identity_transfer", ("face_template_id",)),
        ("turbotext", "image_edit", ()),
        ("turbotext", "style_transfer", ("style_template_id",)),
        ("turbotext", "identity_transfer", ("face_template_id",)),
        ("openai", "image_edit", ()),
        ("openai", "style_transfer", ("style_template_id",)),
        ("openai", "identity_transfer", ("face_template_id",)),
    ],
)
def test_template_fields(provider: str, operation: str, templates: tuple[str, ...]) -> None:
    assert operation_spec(provider, operation).template_fields() == templates


def test_template_fields_of_a_custom_operation_keep_their_order() -> None:
    op = OperationSpec(
        "x",
        {
            "b_template_id": PROVIDERS["local"].operations["overlay"].fields["overlay_template_id"],
            "prompt": PROVIDERS["gemini"].operations["image_edit"].fields["prompt"],
            "a_template_id": PROVIDERS["local"].operations["overlay"].fields["overlay_template_id"],
        },
    )
    assert op.template_fields() == ("b_template_id", "a_template_id")
    assert OperationSpec("empty").template_fields() == ()


def test_provider_spec_defaults() -> None:
    spec = ProviderSpec("p", frozenset({"image/png"}), 1, {})
    assert spec.needs_public_urls is False


# --- lookups -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dalle", "", "Gemini", "LOCAL", " local"])
def test_unknown_provider_is_named_with_the_known_ones(name: str) -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        provider_spec(name)
    assert f"unknown provider {name!r}" in caught.value.message
    assert "known: gemini, local, openai, turbotext" in caught.value.message
    assert caught.value.details == {"field": "provider"}


def test_unknown_operation_is_named_with_the_known_ones() -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        operation_spec("local", "image_edit")
    message = caught.value.message
    assert "provider 'local' has no operation 'image_edit'" in message
    assert "known: grayscale, overlay, sepia" in message
    assert caught.value.details == {"field": "operation"}


def test_operation_lookup_on_unknown_provider_names_the_provider() -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        operation_spec("dalle", "image_edit")
    assert caught.value.details == {"field": "provider"}


def test_validate_refuses_unknown_provider_and_operation() -> None:
    assert refused("dalle", "image_edit", {}).details == {"field": "provider"}
    assert refused("gemini", "grayscale", {}).details == {"field": "operation"}


# --- completeness ------------------------------------------------------------------------------


@pytest.mark.parametrize(("provider", "operation"), list(MINIMAL))
def test_minimal_settings_are_complete(provider: str, operation: str) -> None:
    check(provider, operation, MINIMAL[(provider, operation)], complete=True)
    check(provider, operation, MINIMAL[(provider, operation)], complete=False)


@pytest.mark.parametrize(("provider", "operation", "key"), REQUIRED_CASES)
def test_a_missing_required_setting_only_matters_when_complete(
    provider: str, operation: str, key: str
) -> None:
    settings = {k: v for k, v in MINIMAL[(provider, operation)].items() if k != key}
    check(provider, operation, settings, complete=False)
    error = refused(provider, operation, settings, complete=True)
    assert f"{provider}/{operation} needs setting {key!r}" in error.message
    assert error.details == {"field": key}


def test_empty_settings_are_fine_when_incomplete_is_allowed() -> None:
    for provider, operation in MINIMAL:
        check(provider, operation, {}, complete=False)


# --- unknown keys ------------------------------------------------------------------------------


@pytest.mark.parametrize("complete", [False, True])
def test_unknown_keys_are_refused_and_allowed_ones_listed(complete: bool) -> None:
    error = refused("turbotext", "identity_transfer", {"strength": 10}, complete=complete)
    assert "setting 'strength' is not used by turbotext/identity_transfer" in error.message
    assert "allowed: face_restore, face_template_id" in error.message
    assert error.details == {"field": "strength"}


def test_unknown_key_next_to_complete_settings_is_refused() -> None:
    settings = {**MINIMAL[("gemini", "image_edit")], "negative_prompt": "blur"}
    assert refused("gemini", "image_edit", settings, complete=True).details == {
        "field": "negative_prompt"
    }


# --- turbotext image_edit value ranges ---------------------------------------------------------


def _turbotext_edit(**extra: Any) -> dict[str, Any]:
    return {"prompt": "watercolour", **extra}


@pytest.mark.parametrize("strength", [0, 1, 40, 79, 80])
def test_turbotext_strength_0_to_80_is_accepted(strength: int) -> None:
    check("turbotext", "image_edit", _turbotext_edit(strength=strength), complete=True)


@pytest.mark.parametrize("strength", [-1, 81, 100, -80, 10**6, 40.0, 0.5, True, False, "40", None])
def test_turbotext_strength_outside_0_to_80_or_not_int_is_refused(strength: object) -> None:
    error = refused("turbotext", "image_edit", _turbotext_edit(strength=strength), complete=True)
    assert "setting 'strength' is invalid: expected 0..80" in error.message
    assert error.details == {"field": "strength"}
    # values are checked even while the slot may be incomplete
    refused("turbotext", "image_edit", {"strength": strength}, complete=False)


@given(strength=st.integers(min_value=-(10**6), max_value=10**6))
def test_turbotext_strength_is_valid_exactly_within_0_to_80(strength: int) -> None:
    settings = _turbotext_edit(strength=strength)
    if 0 <= strength <= 80:
        check("turbotext", "image_edit", settings, complete=True)
    else:
        with pytest.raises(InvalidConfiguration):
            check("turbotext", "image_edit", settings, complete=True)


@pytest.mark.parametrize(
    ("key", "good", "bad"),
    [
        ("seed", [0, 1, 2**31 - 1], [-1, 2**31, 1.0, True, "1"]),
        ("scale", [1, 7, 20], [0, 21, -1, 7.5, False, "7"]),
        ("negative_prompt", ["blur", " x "], ["", "   ", 1, None]),
        ("original_language", ["ru", "en"], ["", " ", None, 7]),
    ],
)
def test_turbotext_optional_field_ranges(key: str, good: list[Any], bad: list[Any]) -> None:
    for value in good:
        check("turbotext", "image_edit", _turbotext_edit(**{key: value}), complete=True)
    for value in bad:
        assert refused("turbotext", "image_edit", _turbotext_edit(**{key: value})).details == {
            "field": key
        }


@pytest.mark.parametrize("value", [True, False])
def test_turbotext_face_restore_is_a_bool(value: bool) -> None:
    check(
        "turbotext",
        "identity_transfer",
        {"face_template_id": TEMPLATE, "face_restore": value},
        complete=True,
    )


@pytest.mark.parametrize("value", [1, 0, "true", None])
def test_turbotext_face_restore_refuses_non_bools(value: object) -> None:
    settings = {"face_template_id": TEMPLATE, "face_restore": value}
    assert refused("turbotext", "identity_transfer", settings).details == {"field": "face_restore"}


# --- shared value checks -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [TEMPLATE, TEMPLATE.upper(), UUID(TEMPLATE), TEMPLATE.replace("-", "")]
)
def test_template_ids_accept_uuids(value: object) -> None:
    check("gemini", "identity_transfer", {"face_template_id": value}, complete=True)


@pytest.mark.parametrize("value", ["", "abc", "0b7e2c4a-5d6f", None, 42, ["x"], TEMPLATE + "0"])
def test_template_ids_refuse_non_uuids(value: object) -> None:
    error = refused("gemini", "identity_transfer", {"face_template_id": value})
    assert error.details == {"field": "face_template_id"}


@pytest.mark.parametrize("prompt", ["", " ", "\t\n", None, 1, ["a"]])
def test_prompts_must_be_non_blank_text(prompt: object) -> None:
    assert refused("gemini", "image_edit", {"prompt": prompt}).details == {"field": "prompt"}
    assert refused("gemini", "identity_transfer", {"prompt": prompt}).details == {"field": "prompt"}


@pytest.mark.parametrize(
    "model", ["", "  ", None, 2, "../tunedModels/x", "gemini?key=1", "gemini:generateContent"]
)
def test_gemini_model_must_be_a_plain_model_name(model: object) -> None:
    settings = {**MINIMAL[("gemini", "image_edit")], "model": model}
    assert refused("gemini", "image_edit", settings).details == {"field": "model"}
    check("gemini", "image_edit", {"prompt": "p", "model": "gemini-2.5-flash-image"}, complete=True)
    check("gemini", "image_edit", {"prompt": "p", "model": "models/gemini-3-pro"}, complete=True)


@pytest.mark.parametrize("delay_ms", [0, 120_000])
def test_local_delay_bounds_are_inclusive(delay_ms: int) -> None:
    check("local", "sepia", {"delay_ms": delay_ms}, complete=True)


@pytest.mark.parametrize("delay_ms", [-1, 120_001, True, 1.0])
def test_local_delay_outside_bounds_is_refused(delay_ms: object) -> None:
    assert refused("local", "grayscale", {"delay_ms": delay_ms}).details == {"field": "delay_ms"}
