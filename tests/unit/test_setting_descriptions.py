"""Settings describe themselves (kind, range, choices, default) as declared in the domain, and
the catalogue a console builds its forms from carries exactly that."""

from __future__ import annotations

import math
from typing import Any

import pytest

from adapters.providers.gemini_protocol import DEFAULT_MODEL as GEMINI_ADAPTER_DEFAULT
from adapters.providers.openai_protocol import DEFAULT_MODEL as OPENAI_ADAPTER_DEFAULT
from application.provider_catalogue import GetProviderCatalogue, SettingInfo
from domain.provider_specs import SettingSpec, number
from domain.providers import (
    GEMINI_ASPECT_RATIOS,
    GEMINI_DEFAULT_MODEL,
    OPENAI_DEFAULT_MODEL,
    PROVIDERS,
    operation_spec,
)

KINDS = {"text", "prompt", "integer", "number", "boolean", "template", "enum", "object"}


def every_setting() -> list[tuple[str, SettingSpec]]:
    found: list[tuple[str, SettingSpec]] = []

    def walk(prefix: str, fields: Any) -> None:
        for name, spec in fields.items():
            found.append((f"{prefix}{name}", spec))
            walk(f"{prefix}{name}.", spec.fields or {})

    for provider in PROVIDERS.values():
        for op in provider.operations.values():
            walk(f"{provider.name}/{op.name}/", op.fields)
    return found


@pytest.mark.parametrize(("path", "spec"), every_setting(), ids=lambda v: str(v)[:40])
def test_every_setting_declares_a_kind_that_fits_its_other_fields(
    path: str, spec: SettingSpec
) -> None:
    assert spec.kind in KINDS
    assert bool(spec.choices) == (spec.kind == "enum"), path
    assert (spec.fields is not None) == (spec.kind == "object"), path
    ranged = spec.kind in ("integer", "number")
    assert (spec.minimum is not None and spec.maximum is not None) == ranged, path
    if ranged:
        assert spec.minimum is not None and spec.maximum is not None
        # the declared range is the range the check enforces, both ends included
        assert spec.check(spec.minimum if spec.kind == "number" else int(spec.minimum))
        assert spec.check(spec.maximum if spec.kind == "number" else int(spec.maximum))
        assert not spec.check(spec.minimum - 1)
        assert not spec.check(spec.maximum + 1)
    for allowed in spec.choices:
        assert spec.check(allowed)
    if spec.default is not None:
        assert spec.check(spec.default), f"{path}: the default must pass its own check"
        assert not spec.required, f"{path}: a required setting needs no default"


def test_prompts_templates_and_object_fields_are_declared_not_named() -> None:
    edit = operation_spec("gemini", "image_edit").fields
    assert edit["prompt"].kind == "prompt" and edit["prompt"].required
    assert edit["model"].kind == "text" and edit["model"].default == GEMINI_DEFAULT_MODEL
    image_config = edit["image_config"]
    assert image_config.kind == "object" and image_config.fields is not None
    assert image_config.fields["aspect_ratio"].kind == "enum"
    assert image_config.fields["aspect_ratio"].choices == GEMINI_ASPECT_RATIOS
    assert operation_spec("local", "overlay").fields["overlay_template_id"].kind == "template"
    assert operation_spec("local", "sepia").fields["delay_ms"].default == 0
    turbotext = operation_spec("turbotext", "image_edit").fields
    assert (turbotext["strength"].minimum, turbotext["strength"].maximum) == (0, 80)
    assert (turbotext["scale"].minimum, turbotext["scale"].maximum) == (1, 20)
    assert turbotext["negative_prompt"].kind == "prompt"
    assert turbotext["original_language"].kind == "text"
    face = operation_spec("turbotext", "identity_transfer").fields["face_restore"]
    assert face.kind == "boolean"
    openai = operation_spec("openai", "image_edit").fields
    assert (openai["output_compression"].minimum, openai["output_compression"].maximum) == (0, 100)
    assert openai["quality"].choices == ("low", "medium", "high", "auto")


def test_the_declared_model_defaults_are_the_ones_the_adapters_use() -> None:
    assert GEMINI_DEFAULT_MODEL == GEMINI_ADAPTER_DEFAULT
    assert OPENAI_DEFAULT_MODEL == OPENAI_ADAPTER_DEFAULT


def test_a_number_setting_takes_whole_and_fractional_values_within_its_range() -> None:
    guidance = number("guidance", 0.5, 2.5)
    assert (guidance.kind, guidance.minimum, guidance.maximum) == ("number", 0.5, 2.5)
    for good in (0.5, 1, 2.25, 2.5):
        assert guidance.check(good)
    for bad in (0.49, 2.51, True, "1", None, math.nan, math.inf):
        assert not guidance.check(bad)


def _find(settings: list[SettingInfo], name: str) -> SettingInfo:
    return next(s for s in settings if s.name == name)


async def test_the_catalogue_passes_on_what_the_specs_declare() -> None:
    catalogue = await GetProviderCatalogue(unconfigured={"openai": "set the key"})()
    by_name = {p.name: p for p in catalogue}
    assert set(by_name) == set(PROVIDERS)
    assert by_name["openai"].missing == "set the key" and not by_name["openai"].configured
    for provider in catalogue:
        for op in provider.operations:
            declared = PROVIDERS[provider.name].operations[op.name].fields
            assert [s.name for s in op.settings] == list(declared)
            for info in op.settings:
                spec = declared[info.name]
                assert (info.kind, info.required, info.description) == (
                    spec.kind,
                    spec.required,
                    spec.description,
                )
                assert (info.minimum, info.maximum, info.default) == (
                    spec.minimum,
                    spec.maximum,
                    spec.default,
                )
                assert info.choices == list(spec.choices)
                assert [f.name for f in info.fields] == list(spec.fields or {})
    gemini_edit = next(o for o in by_name["gemini"].operations if o.name == "image_edit")
    size = _find(_find(gemini_edit.settings, "image_config").fields, "image_size")
    assert (size.kind, size.choices) == ("enum", ["1K", "2K", "4K"])
