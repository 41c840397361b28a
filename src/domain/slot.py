"""Slot: one of the fifteen static ingest endpoints and the transformation it applies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.errors import InvalidConfiguration
from domain.providers import validate_operation_settings

SLOT_COUNT = 15
SLOT_IDS: tuple[str, ...] = tuple(f"slot-{n:03d}" for n in range(1, SLOT_COUNT + 1))
_KNOWN_SLOT_IDS = frozenset(SLOT_IDS)
MAX_NAME_LENGTH = 100


def is_slot_id(value: str) -> bool:
    """One of the fifteen: membership says it all (no pattern needed on top)."""
    return value in _KNOWN_SLOT_IDS


@dataclass(frozen=True, slots=True)
class Slot:
    """``updated_at`` doubles as the optimistic-locking version."""

    id: str
    name: str
    provider: str
    operation: str
    settings: Mapping[str, Any]
    is_active: bool
    created_at: datetime
    updated_at: datetime

    def reconfigure(
        self,
        *,
        now: datetime,
        name: str | None = None,
        provider: str | None = None,
        operation: str | None = None,
        settings: Mapping[str, Any] | None = None,
        is_active: bool | None = None,
    ) -> Slot:
        """Return the changed slot, or raise naming the first rule it breaks.

        An inactive slot may be saved half-configured; an active one must be complete.
        """
        changed = replace(
            self,
            name=self.name if name is None else name.strip(),
            provider=self.provider if provider is None else provider,
            operation=self.operation if operation is None else operation,
            settings=self.settings if settings is None else dict(settings),
            is_active=self.is_active if is_active is None else is_active,
            updated_at=now,
        )
        changed.validate()
        return changed

    def validate(self) -> None:
        if not is_slot_id(self.id):
            raise InvalidConfiguration(f"unknown slot id {self.id!r}", {"field": "id"})
        if not self.name or len(self.name) > MAX_NAME_LENGTH:
            raise InvalidConfiguration(
                f"slot name must be 1..{MAX_NAME_LENGTH} characters", {"field": "name"}
            )
        validate_operation_settings(
            self.provider, self.operation, self.settings, require_complete=self.is_active
        )

    def template_ids(self) -> dict[str, str]:
        """TemplateMedia ids this slot's settings reference, by settings field."""
        return {k: str(UUID(str(v))) for k, v in self.settings.items() if k.endswith("template_id")}
