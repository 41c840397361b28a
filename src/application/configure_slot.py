"""ConfigureSlot: change a slot's provider, operation, settings, name or activity."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from typing import Any
from uuid import UUID

from application.operator_ports import AuditLog
from application.ports import Clock, SlotRepository, TemplateRepository
from domain.audit import AuditEntry
from domain.errors import ConcurrentModification, InvalidConfiguration, SlotNotFound
from domain.providers import provider_spec
from domain.slot import Slot


@dataclass(frozen=True, slots=True)
class SlotChanges:
    slot_id: str
    name: str | None = None
    provider: str | None = None
    operation: str | None = None
    settings: Mapping[str, Any] | None = None
    is_active: bool | None = None
    # The ``updated_at`` the caller last read (admin API): stale → ConcurrentModification.
    expected_updated_at: datetime | None = None
    actor: str = dataclass_field(kw_only=True)  # who asks: an administrator's username, or "cli"


def slot_snapshot(slot: Slot) -> dict[str, Any]:
    """What an operator can change on a slot, as the audit trail shows it."""
    return {
        "name": slot.name,
        "provider": slot.provider,
        "operation": slot.operation,
        "settings": dict(slot.settings),
        "is_active": slot.is_active,
    }


class ConfigureSlot:
    """Validate the whole resulting slot (operation, required settings, referenced templates,
    public URL for URL-based providers, the provider's API key) and save it under optimistic
    locking. Jobs already created keep their snapshot. The change is audited."""

    def __init__(
        self,
        *,
        slots: SlotRepository,
        templates: TemplateRepository,
        clock: Clock,
        audit: AuditLog,
        public_base_url: str | None,
        unconfigured_providers: Mapping[str, str] | None = None,
    ) -> None:
        self._slots = slots
        self._audit = audit
        self._templates = templates
        self._clock = clock
        self._public_base_url = public_base_url
        self._unconfigured = dict(unconfigured_providers or {})

    async def __call__(self, changes: SlotChanges) -> Slot:
        current = await self._slots.get(changes.slot_id)
        if current is None:
            raise SlotNotFound(f"slot {changes.slot_id!r} does not exist (slot-001..slot-015)")
        expected = changes.expected_updated_at or current.updated_at
        if expected != current.updated_at:
            raise ConcurrentModification(
                f"slot {current.id} was changed since you read it; reload and try again",
                {"updated_at": current.updated_at.isoformat()},
            )
        provider_changed = changes.provider not in (None, current.provider)
        settings = changes.settings
        if provider_changed and settings is None:
            settings = {}  # another provider's settings would not fit
        updated = current.reconfigure(
            now=self._clock.now(),
            name=changes.name,
            provider=changes.provider,
            operation=changes.operation,
            settings=settings,
            is_active=changes.is_active,
        )
        await self._check_templates(updated)
        needs_url = provider_spec(updated.provider).needs_public_urls
        if updated.is_active and needs_url and not self._public_base_url:
            raise InvalidConfiguration(
                f"provider {updated.provider!r} downloads inputs from public links; set "
                "PHOTOCHANGER_PUBLIC_BASE_URL before activating this slot",
                {"field": "is_active"},
            )
        missing = self._unconfigured.get(updated.provider)
        if updated.is_active and missing:
            raise InvalidConfiguration(
                f"provider {updated.provider!r} is not configured: {missing} before activating "
                "this slot",
                {"field": "is_active"},
            )
        if not await self._slots.save(updated, expected_updated_at=expected):
            raise ConcurrentModification(f"slot {current.id} was changed meanwhile; try again")
        await self._audit.record(
            AuditEntry(
                actor=changes.actor,
                action="slot.update",
                target=updated.id,
                at=updated.updated_at,
                before=slot_snapshot(current),
                after=slot_snapshot(updated),
            )
        )
        return updated

    async def _check_templates(self, slot: Slot) -> None:
        for field, template_id in slot.template_ids().items():
            if await self._templates.get(UUID(template_id)) is None:
                raise InvalidConfiguration(
                    f"{field}: template {template_id} does not exist", {"field": field}
                )
