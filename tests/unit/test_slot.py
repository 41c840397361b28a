"""SPEC §2 Slot: the fifteen static slots and the rules a reconfiguration must keep."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from domain.errors import InvalidConfiguration
from domain.slot import MAX_NAME_LENGTH, SLOT_COUNT, SLOT_IDS, Slot, is_slot_id

T0 = datetime(2026, 11, 3, 12, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)
TEMPLATE = "0b7e2c4a-5d6f-4a1b-9c8d-7e6f5a4b3c2d"
OTHER_TEMPLATE = "1c8f3d5b-6e7a-4b2c-8d9e-8f7a6b5c4d3e"


def make_slot(**overrides: Any) -> Slot:
    fields: dict[str, Any] = {
        "id": "slot-001",
        "name": "Watercolour",
        "provider": "local",
        "operation": "grayscale",
        "settings": {},
        "is_active": False,
        "created_at": T0,
        "updated_at": T0,
    }
    fields.update(overrides)
    return Slot(**fields)


def refused(slot: Slot, **changes: Any) -> InvalidConfiguration:
    with pytest.raises(InvalidConfiguration) as caught:
        slot.reconfigure(now=T1, **changes)
    assert caught.value.code == "invalid_configuration"
    return caught.value


# --- the fifteen slots -------------------------------------------------------------------------


def test_there_are_exactly_fifteen_slots() -> None:
    assert SLOT_COUNT == 15
    assert len(SLOT_IDS) == 15
    assert len(set(SLOT_IDS)) == 15
    assert SLOT_IDS[0] == "slot-001"
    assert SLOT_IDS[-1] == "slot-015"
    assert list(SLOT_IDS) == [f"slot-{n:03d}" for n in range(1, 16)]


@pytest.mark.parametrize("slot_id", SLOT_IDS)
def test_every_slot_id_is_recognised(slot_id: str) -> None:
    assert is_slot_id(slot_id)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "slot-000",
        "slot-016",
        "slot-099",
        "slot-999",
        "slot-1",
        "slot-01",
        "slot-0001",
        "SLOT-001",
        "Slot-001",
        " slot-001",
        "slot-001 ",
        "slot-001\n",
        "slot_001",
        "slot001",
        "slot-٠٠١",  # Arabic-Indic digits match \d but are no slot
        "slot-00a",
    ],
)
def test_anything_else_is_not_a_slot_id(value: str) -> None:
    assert not is_slot_id(value)


def test_slot_is_immutable() -> None:
    slot = make_slot()
    with pytest.raises(dataclasses.FrozenInstanceError):
        slot.name = "x"  # type: ignore[misc]


# --- reconfigure: the happy paths --------------------------------------------------------------


def test_reconfigure_returns_a_changed_copy_and_bumps_updated_at() -> None:
    slot = make_slot()
    changed = slot.reconfigure(now=T1, name="Sepia", operation="sepia", settings={"delay_ms": 10})
    assert changed.name == "Sepia"
    assert changed.operation == "sepia"
    assert changed.settings == {"delay_ms": 10}
    assert changed.updated_at == T1
    assert changed.created_at == T0
    assert changed.id == "slot-001"
    # the original is untouched
    assert (slot.name, slot.operation, slot.settings, slot.updated_at) == (
        "Watercolour",
        "grayscale",
        {},
        T0,
    )


def test_reconfigure_without_changes_keeps_every_field_but_updated_at() -> None:
    slot = make_slot(provider="gemini", operation="image_edit", settings={"prompt": "p"})
    same = slot.reconfigure(now=T1)
    assert dataclasses.replace(same, updated_at=T0) == slot
    assert same.updated_at == T1


def test_reconfigure_copies_the_settings_it_is_given() -> None:
    settings: dict[str, Any] = {"delay_ms": 5}
    changed = make_slot().reconfigure(now=T1, settings=settings)
    settings["delay_ms"] = -1
    settings["bogus"] = True
    assert changed.settings == {"delay_ms": 5}


def test_reconfigure_strips_the_name() -> None:
    assert make_slot().reconfigure(now=T1, name="  Booth A \n").name == "Booth A"


@pytest.mark.parametrize("length", [1, 50, MAX_NAME_LENGTH])
def test_names_up_to_the_limit_are_accepted(length: int) -> None:
    assert make_slot().reconfigure(now=T1, name="n" * length).name == "n" * length


def test_name_limit_is_100() -> None:
    assert MAX_NAME_LENGTH == 100


@pytest.mark.parametrize("name", ["", "   ", "\t\n", "n" * (MAX_NAME_LENGTH + 1), "n" * 1000])
def test_empty_or_too_long_names_are_refused(name: str) -> None:
    error = refused(make_slot(), name=name)
    assert error.details == {"field": "name"}
    assert "1..100" in error.message


def test_name_length_counts_after_stripping() -> None:
    name = "  " + "n" * MAX_NAME_LENGTH + "  "
    assert make_slot().reconfigure(now=T1, name=name).name == "n" * MAX_NAME_LENGTH


def test_activate_a_complete_slot() -> None:
    slot = make_slot(operation="overlay", settings={"overlay_template_id": TEMPLATE})
    active = slot.reconfigure(now=T1, is_active=True)
    assert active.is_active
    assert not slot.is_active


def test_deactivate_keeps_the_configuration() -> None:
    slot = make_slot(
        provider="gemini", operation="image_edit", settings={"prompt": "p"}, is_active=True
    )
    inactive = slot.reconfigure(now=T1, is_active=False)
    assert not inactive.is_active
    assert inactive.settings == {"prompt": "p"}


def test_an_incomplete_active_slot_can_still_be_deactivated() -> None:
    slot = make_slot(operation="overlay", settings={}, is_active=True)
    assert not slot.reconfigure(now=T1, is_active=False).is_active


def test_switch_provider_operation_and_settings_together() -> None:
    slot = make_slot(is_active=True)
    changed = slot.reconfigure(
        now=T1,
        provider="gemini",
        operation="style_transfer",
        settings={"prompt": "oil painting", "style_template_id": TEMPLATE},
    )
    assert (changed.provider, changed.operation, changed.is_active) == (
        "gemini",
        "style_transfer",
        True,
    )


# --- reconfigure: unknown provider or operation ------------------------------------------------


def test_unknown_provider_is_named() -> None:
    error = refused(make_slot(), provider="dalle")
    assert "'dalle'" in error.message
    assert error.details == {"field": "provider"}
    for known in ("gemini", "local", "turbotext"):
        assert known in error.message


def test_unknown_operation_is_named_with_its_provider() -> None:
    error = refused(make_slot(), operation="cartoonify")
    assert "'cartoonify'" in error.message
    assert "'local'" in error.message
    assert error.details == {"field": "operation"}
    for known in ("grayscale", "overlay", "sepia"):
        assert known in error.message


def test_operation_of_another_provider_is_refused() -> None:
    error = refused(make_slot(), operation="image_edit")
    assert "'image_edit'" in error.message


def test_unknown_provider_is_refused_even_for_an_inactive_slot() -> None:
    assert not make_slot().is_active
    refused(make_slot(), provider="unknown", operation="grayscale")


# --- reconfigure: completeness depends on is_active --------------------------------------------


def test_inactive_slot_may_be_saved_incomplete() -> None:
    changed = make_slot().reconfigure(now=T1, operation="overlay", settings={})
    assert changed.operation == "overlay"
    assert not changed.is_active


def test_active_local_overlay_needs_overlay_template_id() -> None:
    slot = make_slot(operation="overlay", settings={"delay_ms": 0})
    error = refused(slot, is_active=True)
    assert "overlay_template_id" in error.message
    assert "local/overlay" in error.message
    assert error.details == {"field": "overlay_template_id"}


def test_active_slot_cannot_lose_a_required_setting() -> None:
    slot = make_slot(
        operation="overlay", settings={"overlay_template_id": TEMPLATE}, is_active=True
    )
    error = refused(slot, settings={"delay_ms": 100})
    assert error.details == {"field": "overlay_template_id"}


def test_activating_a_slot_switched_to_a_provider_needing_more_settings() -> None:
    error = refused(make_slot(), provider="gemini", operation="image_edit", is_active=True)
    assert error.details == {"field": "prompt"}


@pytest.mark.parametrize(
    ("provider", "operation", "settings", "missing"),
    [
        ("gemini", "image_edit", {}, "prompt"),
        ("gemini", "style_transfer", {"prompt": "p"}, "style_template_id"),
        ("gemini", "style_transfer", {"style_template_id": TEMPLATE}, "prompt"),
        ("gemini", "identity_transfer", {"prompt": "p"}, "face_template_id"),
        ("turbotext", "image_edit", {"strength": 40}, "prompt"),
        ("turbotext", "style_transfer", {"prompt": "p"}, "style_template_id"),
        ("turbotext", "identity_transfer", {"face_restore": True}, "face_template_id"),
        ("local", "overlay", {}, "overlay_template_id"),
    ],
)
def test_activation_names_the_missing_setting(
    provider: str, operation: str, settings: dict[str, Any], missing: str
) -> None:
    slot = make_slot(provider=provider, operation=operation, settings=settings)
    assert slot.reconfigure(now=T1).settings == settings  # fine while inactive
    error = refused(slot, is_active=True)
    assert f"'{missing}'" in error.message
    assert error.details == {"field": missing}


@pytest.mark.parametrize(
    ("provider", "operation", "settings"),
    [
        ("local", "grayscale", {}),
        ("local", "sepia", {}),
        ("local", "overlay", {"overlay_template_id": TEMPLATE}),
        ("gemini", "image_edit", {"prompt": "watercolour"}),
        ("gemini", "style_transfer", {"prompt": "p", "style_template_id": TEMPLATE}),
        ("gemini", "identity_transfer", {"face_template_id": TEMPLATE}),
        ("turbotext", "image_edit", {"prompt": "p"}),
        ("turbotext", "style_transfer", {"prompt": "p", "style_template_id": TEMPLATE}),
        ("turbotext", "identity_transfer", {"face_template_id": TEMPLATE}),
    ],
)
def test_minimal_complete_settings_can_be_activated(
    provider: str, operation: str, settings: dict[str, Any]
) -> None:
    active = make_slot().reconfigure(
        now=T1, provider=provider, operation=operation, settings=settings, is_active=True
    )
    assert active.is_active


# --- reconfigure: unknown keys and bad values --------------------------------------------------


@pytest.mark.parametrize("is_active", [False, True])
def test_unknown_setting_keys_are_refused(is_active: bool) -> None:
    error = refused(make_slot(), settings={"prompt": "p"}, is_active=is_active)
    assert "'prompt'" in error.message
    assert "local/grayscale" in error.message
    assert error.details == {"field": "prompt"}


def test_stale_settings_are_refused_when_the_provider_changes() -> None:
    slot = make_slot(provider="gemini", operation="image_edit", settings={"prompt": "p"})
    error = refused(slot, provider="local", operation="grayscale")
    assert error.details == {"field": "prompt"}
    fixed = slot.reconfigure(now=T1, provider="local", operation="grayscale", settings={})
    assert fixed.settings == {}


@pytest.mark.parametrize("delay_ms", [0, 1, 60_000, 120_000])
def test_delay_ms_in_range_is_accepted(delay_ms: int) -> None:
    assert make_slot().reconfigure(now=T1, settings={"delay_ms": delay_ms}).settings == {
        "delay_ms": delay_ms
    }


@pytest.mark.parametrize("delay_ms", [-1, 120_001, 10**9, True, False, 1.5, 10.0, "10", None, [10]])
def test_bad_delay_ms_is_refused_even_when_inactive(delay_ms: object) -> None:
    error = refused(make_slot(), settings={"delay_ms": delay_ms})
    assert "'delay_ms'" in error.message
    assert "invalid" in error.message
    assert error.details == {"field": "delay_ms"}


@pytest.mark.parametrize("template_id", ["not-a-uuid", "", "123", None, 42, "0b7e2c4a-5d6f"])
def test_template_ids_must_be_uuids(template_id: object) -> None:
    error = refused(make_slot(), operation="overlay", settings={"overlay_template_id": template_id})
    assert error.details == {"field": "overlay_template_id"}


def test_template_id_may_be_a_uuid_object() -> None:
    changed = make_slot().reconfigure(
        now=T1, operation="overlay", settings={"overlay_template_id": UUID(TEMPLATE)}
    )
    assert changed.template_ids() == {"overlay_template_id": TEMPLATE}


@pytest.mark.parametrize("prompt", ["", "   ", "\n", None, 5, ["p"]])
def test_blank_or_non_text_prompt_is_refused(prompt: object) -> None:
    slot = make_slot(provider="gemini", operation="image_edit", settings={})
    error = refused(slot, settings={"prompt": prompt})
    assert error.details == {"field": "prompt"}


def test_a_refused_reconfiguration_leaves_the_slot_unchanged() -> None:
    slot = make_slot()
    before = dataclasses.asdict(slot)
    refused(slot, name="New", settings={"delay_ms": -5})
    assert dataclasses.asdict(slot) == before


# --- validate and template_ids -----------------------------------------------------------------


@pytest.mark.parametrize("slot_id", ["slot-000", "slot-016", "slot-1", "booth"])
def test_validate_refuses_an_unknown_slot_id(slot_id: str) -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        make_slot(id=slot_id).validate()
    assert caught.value.details == {"field": "id"}
    assert repr(slot_id) in caught.value.message


def test_validate_accepts_a_consistent_slot() -> None:
    make_slot(id="slot-015").validate()


def test_validate_refuses_an_incomplete_active_slot() -> None:
    with pytest.raises(InvalidConfiguration):
        make_slot(operation="overlay", settings={}, is_active=True).validate()


def test_template_ids_lists_every_template_reference() -> None:
    slot = make_slot(
        provider="gemini",
        operation="style_transfer",
        settings={"prompt": "p", "style_template_id": TEMPLATE},
    )
    assert slot.template_ids() == {"style_template_id": TEMPLATE}
    assert make_slot().template_ids() == {}
    several = make_slot(
        settings={"style_template_id": TEMPLATE, "face_template_id": OTHER_TEMPLATE}
    )
    assert several.template_ids() == {
        "style_template_id": TEMPLATE,
        "face_template_id": OTHER_TEMPLATE,
    }


def test_template_ids_are_normalised_to_the_canonical_form() -> None:
    upper = make_slot(settings={"overlay_template_id": TEMPLATE.upper().replace("-", "")})
    assert upper.template_ids() == {"overlay_template_id": TEMPLATE}
