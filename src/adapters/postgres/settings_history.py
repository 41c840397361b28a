"""``PostgresSettingsHistory``: who last changed each ``app_settings`` key, and when.

Only the key, time and author are read, never a value: the password hash stays in the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from adapters.postgres.pool import Pool, fetch_all
from adapters.postgres.rows import utc
from application.query_ports import SettingChange

LAST_CHANGES = """
SELECT key, updated_at, updated_by FROM app_settings
WHERE key = ANY(%(keys)s) AND value IS NOT NULL AND jsonb_typeof(value) <> 'null'
"""


class PostgresSettingsHistory:
    """Implements ``application.query_ports.SettingsHistory``."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def last_changes(self, keys: Sequence[str]) -> list[SettingChange]:
        rows = await fetch_all(self._pool, LAST_CHANGES, {"keys": list(keys)})
        found = {
            row["key"]: SettingChange(
                key=row["key"], updated_at=utc(row["updated_at"]), updated_by=row["updated_by"]
            )
            for row in rows
        }
        return [found[key] for key in keys if key in found]


if TYPE_CHECKING:  # mypy proves the adapter satisfies its port
    from application.query_ports import SettingsHistory

    _port: type[SettingsHistory] = PostgresSettingsHistory
