"""``PostgresSlotRepository``: the fifteen slots, saved with optimistic locking."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from psycopg.types.json import Jsonb

from adapters.postgres.pool import Pool, fetch_all, fetch_one
from adapters.postgres.rows import slot_from_row
from domain.slot import Slot

GET = "SELECT * FROM slot WHERE id = %(id)s"

LIST = "SELECT * FROM slot ORDER BY id"

SAVE = """
UPDATE slot
SET name = %(name)s, provider = %(provider)s, operation = %(operation)s,
    settings = %(settings)s, is_active = %(is_active)s, updated_at = %(updated_at)s
WHERE id = %(id)s AND updated_at = %(expected_updated_at)s
RETURNING id
"""


class PostgresSlotRepository:
    """Implements ``application.ports.SlotRepository``."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def get(self, slot_id: str) -> Slot | None:
        row = await fetch_one(self._pool, GET, {"id": slot_id})
        return None if row is None else slot_from_row(row)

    async def list(self) -> list[Slot]:
        rows = await fetch_all(self._pool, LIST)
        return [slot_from_row(row) for row in rows]

    async def save(self, slot: Slot, *, expected_updated_at: datetime) -> bool:
        """False when someone saved the slot since it was read (the row is left untouched)."""
        params = {
            "id": slot.id,
            "name": slot.name,
            "provider": slot.provider,
            "operation": slot.operation,
            "settings": Jsonb(dict(slot.settings)),
            "is_active": slot.is_active,
            "updated_at": slot.updated_at,
            "expected_updated_at": expected_updated_at,
        }
        return await fetch_one(self._pool, SAVE, params) is not None


if TYPE_CHECKING:  # mypy proves the adapter satisfies its port
    from application.ports import SlotRepository

    _port: type[SlotRepository] = PostgresSlotRepository
