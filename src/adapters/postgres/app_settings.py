"""``PostgresSettingsRepository``: the ``app_settings`` key → jsonb value table."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from psycopg.types.json import Jsonb

from adapters.postgres.pool import Pool, execute, fetch_all, fetch_one, transaction
from application.ports import IngestSettings
from domain.settings import (
    DEFAULT_RESULT_RETENTION_SEC,
    DEFAULT_SYNC_TIMEOUT_SEC,
    PASSWORD_HASH_KEY,
    RESULT_RETENTION_KEY,
    SYNC_TIMEOUT_KEY,
    AppSettings,
)

_log = logging.getLogger(__name__)

LOAD = "SELECT key, value FROM app_settings WHERE key = ANY(%(keys)s)"

GET_VALUE = "SELECT value FROM app_settings WHERE key = %(key)s"

# ``updated_at`` is audit only (no rule reads it), so the database clock is good enough here.
UPSERT = """
INSERT INTO app_settings (key, value, updated_at, updated_by)
VALUES (%(key)s, %(value)s, now(), %(updated_by)s)
ON CONFLICT (key) DO UPDATE
SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
"""

# One statement, so two concurrent first-time setters cannot both win: the loser waits on the
# key's unique index, then sees a non-null value and updates nothing.
SET_IF_UNSET = """
INSERT INTO app_settings (key, value, updated_at, updated_by)
VALUES (%(key)s, %(value)s, now(), %(updated_by)s)
ON CONFLICT (key) DO UPDATE
SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
WHERE app_settings.value IS NULL OR jsonb_typeof(app_settings.value) = 'null'
RETURNING key
"""


def _seconds(values: dict[str, Any], key: str, default: float) -> float:
    value = values.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        _log.warning("app_settings %s holds a non-number; using the default", key)
        return default
    return float(value)


def _number(value: float) -> int | float:
    """Store 48 rather than 48.0 so the table reads as an operator would write it."""
    return int(value) if float(value).is_integer() else value


class PostgresSettingsRepository:
    """Implements ``application.ports.SettingsRepository``."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def load(self) -> AppSettings:
        return (await self.load_for_ingest()).app

    async def load_for_ingest(self) -> IngestSettings:
        keys = [SYNC_TIMEOUT_KEY, RESULT_RETENTION_KEY, PASSWORD_HASH_KEY]
        rows = await fetch_all(self._pool, LOAD, {"keys": keys})
        values = {row["key"]: row["value"] for row in rows}
        password_hash = values.get(PASSWORD_HASH_KEY)
        return IngestSettings(
            app=AppSettings(
                sync_timeout_sec=_seconds(values, SYNC_TIMEOUT_KEY, DEFAULT_SYNC_TIMEOUT_SEC),
                result_retention_sec=_seconds(
                    values, RESULT_RETENTION_KEY, DEFAULT_RESULT_RETENTION_SEC
                ),
            ),
            password_hash=password_hash if isinstance(password_hash, str) else None,
        )

    async def save(self, settings: AppSettings, *, updated_by: str) -> None:
        """Both values in one transaction, so readers never see half a change."""
        async with transaction(self._pool) as cur:
            for key, value in (
                (SYNC_TIMEOUT_KEY, settings.sync_timeout_sec),
                (RESULT_RETENTION_KEY, settings.result_retention_sec),
            ):
                params = {"key": key, "value": Jsonb(_number(value)), "updated_by": updated_by}
                await cur.execute(UPSERT, params)

    async def get_password_hash(self) -> str | None:
        row = await fetch_one(self._pool, GET_VALUE, {"key": PASSWORD_HASH_KEY})
        value = None if row is None else row["value"]
        return value if isinstance(value, str) else None

    async def set_password_hash(
        self, encoded: str, *, updated_by: str, only_if_unset: bool
    ) -> bool:
        params = {"key": PASSWORD_HASH_KEY, "value": Jsonb(encoded), "updated_by": updated_by}
        if not only_if_unset:
            await execute(self._pool, UPSERT, params)
            return True
        return await fetch_one(self._pool, SET_IF_UNSET, params) is not None


if TYPE_CHECKING:  # mypy proves the adapter satisfies its port
    from application.ports import SettingsRepository

    _port: type[SettingsRepository] = PostgresSettingsRepository
