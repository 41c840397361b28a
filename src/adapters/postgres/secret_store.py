"""``PostgresSecretStore``: service-generated secrets shared by every process, kept in
``app_settings`` under keys no API or command ever reads back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from psycopg.types.json import Jsonb

from adapters.postgres.pool import Pool, fetch_one

# One statement: the loser of two concurrent first-time writers waits on the key's unique
# index, then DO UPDATE sees the winner's committed row and returns its value unchanged.
GET_OR_CREATE = """
INSERT INTO app_settings (key, value, updated_at, updated_by)
VALUES (%(key)s, %(value)s, now(), 'first-start')
ON CONFLICT (key) DO UPDATE
SET value = COALESCE(NULLIF(app_settings.value, 'null'::jsonb), EXCLUDED.value)
RETURNING value
"""


class PostgresSecretStore:
    """Implements ``application.operator_ports.SecretStore``."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def get_or_create(self, key: str, candidate: str) -> str:
        row = await fetch_one(self._pool, GET_OR_CREATE, {"key": key, "value": Jsonb(candidate)})
        value = None if row is None else row["value"]
        if not isinstance(value, str) or not value:
            raise ValueError(f"app_settings {key} does not hold a usable secret")
        return value


if TYPE_CHECKING:  # mypy proves the adapter satisfies its port
    from application.operator_ports import SecretStore

    _port: type[SecretStore] = PostgresSecretStore
