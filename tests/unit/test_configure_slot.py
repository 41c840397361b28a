"""ConfigureSlot: the whole resulting slot is validated, then saved under optimistic locking."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any
from uuid import uuid4

import pytest
from fakes import FakeClock, InMemorySlotRepository, InMemoryTemplateRepository, make_slot
from operator_fakes import InMemoryAuditLog

from application.configure_slot import ConfigureSlot, SlotChanges
from domain.errors import ConcurrentModification, InvalidConfiguration, SlotNotFound
from domain.media import TemplateMedia

PUBLIC_URL = "https://booth.example.com"


@pytest.fixture
def audit() -> InMemoryAuditLog:
    return InMemoryAuditLog()


@pytest.fixture
def configure(
    slots: InMemorySlotRepository,
    templates: InMemoryTemplateRepository,
    clock: FakeClock,
    audit: InMemoryAuditLog,
) -> ConfigureSlot:
    return ConfigureSlot(
        slots=slots, templates=templates, clock=clock, audit=audit, public_base_url=PUBLIC_URL
    )


@pytest.fixture
def configure_without_url(
    slots: InMemorySlotRepository, templates: InMemoryTemplateRepository, clock: FakeClock
) -> ConfigureSlot:
    return ConfigureSlot(
        slots=slots,
        templates=templates,
        clock=clock,
        audit=InMemoryAuditLog(),
        public_base_url=None,
    )


async def test_a_valid_change_is_saved_with_a_new_version(
    configure: ConfigureSlot, slots: InMemorySlotRepository, clock: FakeClock
) -> None:
    before = slots.rows["slot-002"]

    updated = await configure(
        SlotChanges(
            actor="ann",
            slot_id="slot-002",
            name="  Watercolour  ",
            provider="gemini",
            operation="image_edit",
            settings={"prompt": "watercolour portrait"},
            is_active=True,
        )
    )

    assert slots.rows["slot-002"] == updated
    assert updated.name == "Watercolour"
    assert (updated.provider, updated.operation, updated.is_active) == (
        "gemini",
        "image_edit",
        True,
    )
    assert updated.settings == {"prompt": "watercolour portrait"}
    assert updated.updated_at == clock.now() != before.updated_at
    assert updated.created_at == before.created_at


async def test_an_unknown_slot_is_not_found(configure: ConfigureSlot) -> None:
    with pytest.raises(SlotNotFound):
        await configure(SlotChanges(actor="ann", slot_id="slot-016", name="x"))


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"name": "  "}, "name", "name"),
        ({"name": "x" * 101}, "name", "name"),
        ({"provider": "dalle"}, "provider", "dalle"),
        ({"operation": "cartoon"}, "operation", "cartoon"),
        ({"settings": {"prompt": "x"}}, "prompt", "prompt"),  # grayscale has no prompt
        ({"settings": {"delay_ms": -1}}, "delay_ms", "delay_ms"),
        ({"settings": {"delay_ms": True}}, "delay_ms", "delay_ms"),
        (
            {
                "provider": "turbotext",
                "operation": "image_edit",
                "settings": {"prompt": "p", "strength": 81},
            },
            "strength",
            "strength",
        ),
        ({"provider": "gemini", "operation": "image_edit"}, "prompt", "prompt"),  # required
        (
            {"provider": "gemini", "operation": "style_transfer", "settings": {"prompt": "p"}},
            "style_template_id",
            "style_template_id",
        ),
    ],
)
async def test_validation_errors_name_the_field(
    configure: ConfigureSlot,
    slots: InMemorySlotRepository,
    changes: dict[str, Any],
    field: str,
    words: str,
) -> None:
    before = slots.rows["slot-001"]

    with pytest.raises(InvalidConfiguration) as refused:
        await configure(SlotChanges(actor="ann", slot_id="slot-001", **changes))

    assert refused.value.details["field"] == field
    assert words in refused.value.message
    assert slots.rows["slot-001"] == before


async def test_an_inactive_slot_may_be_saved_half_configured(
    configure: ConfigureSlot, slots: InMemorySlotRepository
) -> None:
    updated = await configure(
        SlotChanges(actor="ann", slot_id="slot-002", provider="gemini", operation="style_transfer")
    )
    assert not updated.is_active and updated.settings == {}

    with pytest.raises(InvalidConfiguration) as refused:
        await configure(SlotChanges(actor="ann", slot_id="slot-002", is_active=True))
    assert refused.value.details["field"] == "prompt"
    assert not slots.rows["slot-002"].is_active


async def test_a_missing_template_is_refused(
    configure: ConfigureSlot, slots: InMemorySlotRepository
) -> None:
    missing = uuid4()
    with pytest.raises(InvalidConfiguration) as refused:
        await configure(
            SlotChanges(
                actor="ann",
                slot_id="slot-002",
                operation="overlay",
                settings={"overlay_template_id": str(missing)},
            )
        )
    assert str(missing) in refused.value.message
    assert slots.rows["slot-002"].operation == "sepia"


async def test_an_existing_template_is_accepted(
    configure: ConfigureSlot, overlay: TemplateMedia
) -> None:
    updated = await configure(
        SlotChanges(
            actor="ann",
            slot_id="slot-002",
            operation="overlay",
            settings={"overlay_template_id": str(overlay.id)},
            is_active=True,
        )
    )
    assert updated.template_ids() == {"overlay_template_id": str(overlay.id)}


async def test_turbotext_cannot_be_activated_without_a_public_base_url(
    configure_without_url: ConfigureSlot, configure: ConfigureSlot, slots: InMemorySlotRepository
) -> None:
    changes = SlotChanges(
        actor="ann",
        slot_id="slot-002",
        provider="turbotext",
        operation="image_edit",
        settings={"prompt": "oil painting"},
        is_active=True,
    )
    with pytest.raises(InvalidConfiguration) as refused:
        await configure_without_url(changes)
    assert refused.value.details["field"] == "is_active"
    assert "PUBLIC_BASE_URL" in refused.value.message
    assert slots.rows["slot-002"].provider == "local"

    inactive = await configure_without_url(
        SlotChanges(
            actor="ann",
            slot_id="slot-002",
            provider="turbotext",
            operation="image_edit",
            settings={"prompt": "oil painting"},
        )
    )
    assert inactive.provider == "turbotext" and not inactive.is_active
    assert (await configure(SlotChanges(actor="ann", slot_id="slot-002", is_active=True))).is_active


async def test_a_concurrent_change_is_refused_and_the_first_one_kept(
    configure: ConfigureSlot, slots: InMemorySlotRepository
) -> None:
    outcomes = await asyncio.gather(
        configure(SlotChanges(actor="ann", slot_id="slot-001", name="First")),
        configure(SlotChanges(actor="ann", slot_id="slot-001", name="Second")),
        return_exceptions=True,
    )

    assert [type(o) for o in outcomes if isinstance(o, BaseException)] == [ConcurrentModification]
    assert slots.rows["slot-001"].name == "First"


@pytest.mark.parametrize("operation", [None, "image_edit"])
async def test_changing_the_provider_resets_its_settings(
    configure: ConfigureSlot, slots: InMemorySlotRepository, operation: str | None
) -> None:
    slots.rows["slot-005"] = make_slot(
        "slot-005", provider="gemini", operation="image_edit",
        settings={"prompt": "anime", "model": "gemini-2.5-flash-image"}, is_active=False,
    )  # fmt: skip

    updated = await configure(
        SlotChanges(actor="ann", slot_id="slot-005", provider="turbotext", operation=operation)
    )

    assert updated.provider == "turbotext"
    assert updated.operation == "image_edit"
    assert updated.settings == {}  # "model" would not even be valid for turbotext


async def test_given_settings_are_used_when_the_provider_changes(
    configure: ConfigureSlot,
) -> None:
    updated = await configure(
        SlotChanges(
            actor="ann",
            slot_id="slot-001",
            provider="gemini",
            operation="image_edit",
            settings={"prompt": "p"},
        )
    )
    assert updated.settings == {"prompt": "p"}


async def test_keeping_the_provider_keeps_the_settings(
    configure: ConfigureSlot, slots: InMemorySlotRepository
) -> None:
    updated = await configure(
        SlotChanges(actor="ann", slot_id="slot-003", provider="turbotext", name="TT")
    )
    assert updated.settings == slots.rows["slot-003"].settings == {"prompt": "x"}


async def test_a_provider_without_its_api_key_cannot_be_activated(
    slots: InMemorySlotRepository, templates: InMemoryTemplateRepository, clock: FakeClock
) -> None:
    configure = ConfigureSlot(
        slots=slots,
        templates=templates,
        clock=clock,
        audit=InMemoryAuditLog(),
        public_base_url=PUBLIC_URL,
        unconfigured_providers={"gemini": "set PHOTOCHANGER_GEMINI_API_KEY"},
    )
    changes = SlotChanges(
        actor="ann",
        slot_id="slot-002",
        provider="gemini",
        operation="image_edit",
        settings={"prompt": "make it a watercolour"},
        is_active=True,
    )
    with pytest.raises(InvalidConfiguration) as refused:
        await configure(changes)
    assert refused.value.details["field"] == "is_active"
    assert "PHOTOCHANGER_GEMINI_API_KEY" in refused.value.message
    assert slots.rows["slot-002"].provider == "local"

    prepared = await configure(replace(changes, is_active=False))  # may be prepared meanwhile
    assert (prepared.provider, prepared.is_active) == ("gemini", False)
    turbotext = await configure(
        SlotChanges(
            actor="ann",
            slot_id="slot-003",
            provider="turbotext",
            operation="image_edit",
            settings={"prompt": "oil painting"},
            is_active=True,
        )
    )
    assert turbotext.is_active  # only the provider without a key is refused


async def test_a_saved_change_is_audited_with_who_and_before_after(
    configure: ConfigureSlot, slots: InMemorySlotRepository, audit: InMemoryAuditLog
) -> None:
    before = slots.rows["slot-002"]

    updated = await configure(
        SlotChanges(slot_id="slot-002", name="Old times", operation="sepia", actor="ann")
    )

    [entry] = audit.entries
    assert (entry.actor, entry.action, entry.target) == ("ann", "slot.update", "slot-002")
    assert entry.at == updated.updated_at
    assert entry.before is not None and entry.after is not None
    assert (entry.before["name"], entry.before["operation"]) == (before.name, before.operation)
    assert (entry.after["name"], entry.after["operation"]) == ("Old times", "sepia")
    assert entry.after["settings"] == dict(updated.settings)
    assert entry.after["is_active"] is updated.is_active


async def test_refused_and_lost_changes_leave_no_audit_entry(
    configure: ConfigureSlot, audit: InMemoryAuditLog
) -> None:
    with pytest.raises(InvalidConfiguration):
        await configure(SlotChanges(slot_id="slot-001", name="  ", actor="ann"))
    with pytest.raises(SlotNotFound):
        await configure(SlotChanges(slot_id="slot-016", name="x", actor="ann"))
    await asyncio.gather(
        configure(SlotChanges(slot_id="slot-001", name="First", actor="ann")),
        configure(SlotChanges(slot_id="slot-001", name="Second", actor="bob")),
        return_exceptions=True,
    )

    assert [(e.actor, e.after and e.after["name"]) for e in audit.entries] == [("ann", "First")]
