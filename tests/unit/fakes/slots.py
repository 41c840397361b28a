"""``SlotRepository`` in memory, and a valid slot to put in it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from domain.slot import Slot
from fakes.clock import START, round_trip


class InMemorySlotRepository:
    """``SlotRepository`` with the optimistic lock on ``updated_at``."""

    def __init__(self, slots: Iterable[Slot] = ()) -> None:
        self.rows: dict[str, Slot] = {slot.id: slot for slot in slots}

    async def get(self, slot_id: str) -> Slot | None:
        await round_trip()
        return self.rows.get(slot_id)

    async def list(self) -> list[Slot]:
        await round_trip()
        return [self.rows[key] for key in sorted(self.rows)]

    async def save(self, slot: Slot, *, expected_updated_at: datetime) -> bool:
        await round_trip()
        current = self.rows.get(slot.id)
        if current is None or current.updated_at != expected_updated_at:
            return False
        self.rows[slot.id] = slot
        return True


def make_slot(
    slot_id: str,
    *,
    provider: str = "local",
    operation: str = "grayscale",
    settings: Mapping[str, Any] | None = None,
    is_active: bool = True,
    name: str | None = None,
    at: datetime = START - timedelta(days=1),
) -> Slot:
    slot = Slot(
        id=slot_id,
        name=name or f"Slot {slot_id[-3:]}",
        provider=provider,
        operation=operation,
        settings=dict(settings or {}),
        is_active=is_active,
        created_at=at,
        updated_at=at,
    )
    slot.validate()
    return slot
