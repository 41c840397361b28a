"""Migration runner: applies the packaged ``migrations/*.sql`` files in name order, once.

Safe when several processes start together: everything happens in one transaction that first
takes a transaction-scoped advisory lock, so the second runner waits and then finds nothing
left to do. A failing file rolls the whole run back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool

from adapters.postgres.pool import Pool, translate_errors

_log = logging.getLogger(__name__)

# Arbitrary constant shared by every PhotoChanger process ("PhCh" + "migr" in ASCII).
MIGRATION_LOCK_KEY = 0x5068_4368_6D69_6772

LOCK = "SELECT pg_advisory_xact_lock(%(key)s)"
CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migration (
    version     text PRIMARY KEY,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""
APPLIED = "SELECT version FROM schema_migration"
RECORD = "INSERT INTO schema_migration (version) VALUES (%(version)s)"


@dataclass(frozen=True, slots=True)
class Migration:
    version: str  # file name without ``.sql``, e.g. ``0001_schema``
    sql: bytes


def packaged_migrations() -> list[Migration]:
    """The SQL files shipped in ``adapters.postgres/migrations``, sorted by name."""
    folder = resources.files("adapters.postgres").joinpath("migrations")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    return [Migration(f.name.removesuffix(".sql"), f.read_bytes()) for f in files]


async def apply_migrations(conn_or_url: AsyncConnection[Any] | Pool | str) -> list[str]:
    """Apply missing migrations; return the versions this call applied (``[]`` if none).

    Accepts a URL (a connection is opened and closed here), an open pool or a connection.
    """
    with translate_errors():
        if isinstance(conn_or_url, str):
            async with await AsyncConnection.connect(conn_or_url) as conn:
                return await _apply(conn)
        if isinstance(conn_or_url, AsyncConnectionPool):
            async with conn_or_url.connection() as conn:
                return await _apply(conn)
        return await _apply(conn_or_url)


async def _apply(conn: AsyncConnection[Any]) -> list[str]:
    applied_now: list[str] = []
    async with conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute(LOCK, {"key": MIGRATION_LOCK_KEY})
        await cur.execute(CREATE_LEDGER)
        await cur.execute(APPLIED)
        done = {str(row[0]) for row in await cur.fetchall()}
        for migration in packaged_migrations():
            if migration.version in done:
                continue
            _log.info("applying migration %s", migration.version)
            # Bytes: a parameterless multi-statement script, so ``%`` is never a placeholder.
            await cur.execute(migration.sql)
            await cur.execute(RECORD, {"version": migration.version})
            applied_now.append(migration.version)
    return applied_now
