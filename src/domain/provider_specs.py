"""The building blocks of the provider catalogue: settings fields, operations, providers, and
the checks that validate a slot's settings against them (pure, stdlib only)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

from domain.errors import InvalidConfiguration

Check = Callable[[Any], bool]


def is_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def is_uuid(value: Any) -> bool:
    try:
        UUID(str(value))
    except ValueError:
        return False
    return True


MODEL_NAME = re.compile(r"(models/)?[A-Za-z0-9._-]{1,100}")


def is_model_name(value: Any) -> bool:
    """The name goes into the provider's URL path: nothing that could leave it."""
    return isinstance(value, str) and MODEL_NAME.fullmatch(value) is not None


def int_range(low: int, high: int) -> Check:
    def check(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high

    return check


def number_range(low: float, high: float) -> Check:
    def check(value: Any) -> bool:
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and low <= value <= high
        )

    return check


def is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def one_of(*choices: str) -> Check:
    allowed = frozenset(choices)

    def check(value: Any) -> bool:
        return isinstance(value, str) and value in allowed

    return check


def is_object(value: Any) -> bool:
    return isinstance(value, Mapping)


GPT_IMAGE_MODEL = re.compile(r"gpt-image-[A-Za-z0-9._-]{1,60}")


def is_gpt_image_model(value: Any) -> bool:
    return isinstance(value, str) and GPT_IMAGE_MODEL.fullmatch(value) is not None


# What kind of value a setting takes, declared with it so that a form can pick its control:
# ``prompt`` is free text worth a text area, ``template`` a TemplateMedia id, ``enum`` one of
# ``choices``, ``object`` a group of its own ``fields``.
SettingKind = Literal[
    "text", "prompt", "integer", "number", "boolean", "template", "enum", "object"
]


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """One settings field: its kind, whether it must be present and how its value is checked.

    Build specs with the helpers below (``text``, ``prompt``, ``integer``, ``choice``, …), which
    derive ``check`` from the declared kind and range, so what a form shows and what a slot is
    validated against cannot drift apart."""

    description: str
    check: Check
    required: bool = False
    # An object setting (e.g. Gemini's ``image_config``): its own fields, checked the same way.
    fields: Mapping[str, SettingSpec] | None = None
    # The allowed values when the setting is one of a few words (a form can offer them).
    choices: tuple[str, ...] = ()
    kind: SettingKind = field(kw_only=True)
    # The inclusive range of an ``integer`` or ``number`` setting.
    minimum: float | None = field(default=None, kw_only=True)
    maximum: float | None = field(default=None, kw_only=True)
    # What the service uses when the setting is left out; None: the provider's own default.
    default: Any = field(default=None, kw_only=True)


def text(
    description: str, *, required: bool = False, check: Check = is_text, default: Any = None
) -> SettingSpec:
    """A short non-blank text (``check`` narrows it, e.g. to a model name)."""
    return SettingSpec(description, check, required=required, kind="text", default=default)


def prompt(description: str = "prompt text", *, required: bool = False) -> SettingSpec:
    """Free text telling the model what to do: a form gives it a text area."""
    return SettingSpec(description, is_text, required=required, kind="prompt")


def template(description: str, *, required: bool = False) -> SettingSpec:
    """The id of a TemplateMedia image (a form offers a picker)."""
    return SettingSpec(description, is_uuid, required=required, kind="template")


def integer(
    description: str, minimum: int, maximum: int, *, default: int | None = None
) -> SettingSpec:
    """A whole number within ``minimum``..``maximum`` (booleans are not numbers here)."""
    return SettingSpec(
        description,
        int_range(minimum, maximum),
        kind="integer",
        minimum=minimum,
        maximum=maximum,
        default=default,
    )


def number(
    description: str, minimum: float, maximum: float, *, default: float | None = None
) -> SettingSpec:
    """Any finite number (whole or not) within ``minimum``..``maximum``."""
    return SettingSpec(
        description,
        number_range(minimum, maximum),
        kind="number",
        minimum=minimum,
        maximum=maximum,
        default=default,
    )


def boolean(description: str, *, default: bool | None = None) -> SettingSpec:
    return SettingSpec(description, is_bool, kind="boolean", default=default)


def choice(
    description: str, choices: tuple[str, ...], *, default: str | None = None
) -> SettingSpec:
    """A setting that is one of ``choices``; the description lists them."""
    return SettingSpec(
        f"{description}: one of {', '.join(choices)}",
        one_of(*choices),
        choices=choices,
        kind="enum",
        default=default,
    )


def group(description: str, fields: Mapping[str, SettingSpec]) -> SettingSpec:
    """An object setting whose own ``fields`` are checked like settings (dotted names)."""
    return SettingSpec(description, is_object, fields=fields, kind="object")


# A rule between settings of one operation: (field, problem) when broken, else None.
Rule = Callable[[Mapping[str, Any]], tuple[str, str] | None]


@dataclass(frozen=True, slots=True)
class OperationSpec:
    name: str
    fields: Mapping[str, SettingSpec] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()

    def template_fields(self) -> tuple[str, ...]:
        """Settings fields that hold TemplateMedia ids."""
        return tuple(n for n, spec in self.fields.items() if spec.kind == "template")


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    name: str
    accepted_mimes: frozenset[str]
    max_bytes: int
    operations: Mapping[str, OperationSpec]
    needs_public_urls: bool = False


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def check_fields(
    owner: str,
    fields: Mapping[str, SettingSpec],
    settings: Mapping[str, Any],
    prefix: str,
    require_complete: bool,
) -> None:
    """One level of settings; object settings recurse with their dotted path as the name."""
    for key, value in settings.items():
        name = f"{prefix}{key}"
        spec = fields.get(key)
        if spec is None:
            allowed = ", ".join(f"{prefix}{k}" for k in sorted(fields)) or "none"
            raise InvalidConfiguration(
                f"setting {name!r} is not used by {owner} (allowed: {allowed})", {"field": name}
            )
        if not spec.check(value):
            raise InvalidConfiguration(
                f"setting {name!r} is invalid: expected {spec.description}, got {_shown(value)}",
                {"field": name},
            )
        if spec.fields is not None:
            check_fields(owner, spec.fields, value, f"{name}.", require_complete)
    if require_complete:
        for key, spec in fields.items():
            if spec.required and key not in settings:
                raise InvalidConfiguration(
                    f"{owner} needs setting {prefix + key!r} ({spec.description})",
                    {"field": f"{prefix}{key}"},
                )
