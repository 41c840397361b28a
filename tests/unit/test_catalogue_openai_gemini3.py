"""The catalogue's rules for the OpenAI provider and Gemini 3's image settings: what a slot
may hold, and that a refusal names the field and the bad value."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import InvalidConfiguration
from domain.providers import (
    GEMINI_ASPECT_RATIOS,
    MB,
    PROVIDERS,
    validate_operation_settings,
)

TEMPLATE = "0b7e2c4a-5d6f-4a1b-9c8d-7e6f5a4b3c2d"


def check(provider: str, operation: str, settings: dict[str, Any]) -> None:
    validate_operation_settings(provider, operation, settings, require_complete=True)


def refused(provider: str, operation: str, settings: dict[str, Any]) -> InvalidConfiguration:
    with pytest.raises(InvalidConfiguration) as caught:
        check(provider, operation, settings)
    return caught.value


# --- OpenAI ---------------------------------------------------------------------------------


def test_openai_takes_jpeg_png_webp_up_to_50_mb_inline() -> None:
    openai = PROVIDERS["openai"]
    assert openai.accepted_mimes == frozenset({"image/jpeg", "image/png", "image/webp"})
    assert openai.max_bytes == 50 * MB
    assert not openai.needs_public_urls


def test_every_openai_operation_takes_the_output_options() -> None:
    options = {
        "model": "gpt-image-1",
        "size": "1536x1024",
        "quality": "auto",
        "output_format": "webp",
        "output_compression": 100,
        "input_fidelity": "high",
        "background": "transparent",
    }
    check("openai", "image_edit", {"prompt": "p", **options})
    check("openai", "style_transfer", {"prompt": "p", "style_template_id": TEMPLATE, **options})
    check("openai", "identity_transfer", {"prompt": "p", "face_template_id": TEMPLATE, **options})


@pytest.mark.parametrize(
    "model", ["gpt-image-1", "gpt-image-1.5", "gpt-image-1-mini", "gpt-image-2-2026-04-21"]
)
def test_any_gpt_image_model_is_accepted(model: str) -> None:
    check("openai", "image_edit", {"prompt": "p", "model": model})


@pytest.mark.parametrize(
    "model", ["dall-e-3", "gpt-4o", "gpt-image-", "GPT-IMAGE-1", "gpt-image-1/../x", "", 1, None]
)
def test_other_models_are_refused_naming_the_value(model: object) -> None:
    error = refused("openai", "image_edit", {"prompt": "p", "model": model})
    assert error.details == {"field": "model"}
    assert "gpt-image-*" in error.message and f"got {model!r}" in error.message


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("size", "800x600"),
        ("size", "1024X1024"),
        ("quality", "ultra"),
        ("quality", "standard"),
        ("output_format", "gif"),
        ("output_compression", 101),
        ("output_compression", -1),
        ("output_compression", "80"),
        ("input_fidelity", "medium"),
        ("background", "white"),
    ],
)
def test_bad_option_values_are_refused_naming_field_and_value(field: str, bad: object) -> None:
    settings = {"prompt": "p", "output_format": "jpeg", field: bad}
    error = refused("openai", "image_edit", settings)
    assert error.details == {"field": field}
    assert f"setting {field!r} is invalid" in error.message and f"got {bad!r}" in error.message


def test_compression_needs_a_lossy_output_format() -> None:
    error = refused("openai", "image_edit", {"prompt": "p", "output_compression": 50})
    assert error.details == {"field": "output_compression"}
    assert "output_format jpeg or webp" in error.message
    error = refused(
        "openai", "image_edit", {"prompt": "p", "output_compression": 50, "output_format": "png"}
    )
    assert error.details == {"field": "output_compression"}
    check(
        "openai", "image_edit", {"prompt": "p", "output_compression": 50, "output_format": "jpeg"}
    )


def test_a_transparent_background_cannot_be_jpeg() -> None:
    settings = {"prompt": "p", "background": "transparent", "output_format": "jpeg"}
    assert refused("openai", "image_edit", settings).details == {"field": "background"}
    check("openai", "image_edit", {"prompt": "p", "background": "transparent"})  # png default


def test_openai_identity_transfer_needs_a_prompt() -> None:
    error = refused("openai", "identity_transfer", {"face_template_id": TEMPLATE})
    assert "openai/identity_transfer needs setting 'prompt'" in error.message


# --- Gemini 3 image settings --------------------------------------------------------------


@pytest.mark.parametrize("ratio", GEMINI_ASPECT_RATIOS)
def test_gemini_aspect_ratios(ratio: str) -> None:
    check("gemini", "image_edit", {"prompt": "p", "image_config": {"aspect_ratio": ratio}})


@pytest.mark.parametrize("size", ["1K", "2K", "4K"])
def test_gemini_image_sizes(size: str) -> None:
    settings = {
        "prompt": "p",
        "model": "gemini-3-pro-image-preview",
        "image_config": {"image_size": size, "aspect_ratio": "3:2"},
    }
    check("gemini", "style_transfer", {**settings, "style_template_id": TEMPLATE})
    check("gemini", "identity_transfer", {**settings, "face_template_id": TEMPLATE})


@pytest.mark.parametrize(
    ("image_config", "field", "shown"),
    [
        ({"aspect_ratio": "7:5"}, "image_config.aspect_ratio", "'7:5'"),
        ({"aspect_ratio": 1.5}, "image_config.aspect_ratio", "1.5"),
        ({"image_size": "4k"}, "image_config.image_size", "'4k'"),
        ({"image_size": "8K"}, "image_config.image_size", "'8K'"),
        ("16:9", "image_config", "'16:9'"),
        (["1:1"], "image_config", "['1:1']"),
    ],
)
def test_a_bad_gemini_image_setting_is_named_with_its_value(
    image_config: Any, field: str, shown: str
) -> None:
    error = refused("gemini", "image_edit", {"prompt": "p", "image_config": image_config})
    assert error.details == {"field": field}
    assert f"setting {field!r} is invalid" in error.message
    assert f"got {shown}" in error.message


def test_an_unknown_gemini_image_setting_is_refused_with_the_allowed_ones() -> None:
    error = refused("gemini", "image_edit", {"prompt": "p", "image_config": {"seed": 3}})
    assert error.details == {"field": "image_config.seed"}
    assert "allowed: image_config.aspect_ratio, image_config.image_size" in error.message


def test_an_empty_image_config_is_fine() -> None:
    check("gemini", "image_edit", {"prompt": "p", "image_config": {}})


def test_a_long_bad_value_is_shown_shortened() -> None:
    error = refused(
        "gemini", "image_edit", {"prompt": "p", "image_config": {"image_size": "x" * 500}}
    )
    assert "x" * 100 not in error.message and "…" in error.message


def test_word_settings_carry_their_choices_for_forms() -> None:
    openai = PROVIDERS["openai"].operations["image_edit"].fields
    assert openai["size"].choices == ("auto", "1024x1024", "1536x1024", "1024x1536")
    assert openai["background"].choices == ("transparent", "opaque", "auto")
    assert openai["prompt"].choices == ()
    image_config = PROVIDERS["gemini"].operations["image_edit"].fields["image_config"]
    assert image_config.fields is not None
    assert image_config.fields["image_size"].choices == ("1K", "2K", "4K")
    assert image_config.fields["aspect_ratio"].choices == GEMINI_ASPECT_RATIOS
