"""Connection pool factory and the one place where psycopg errors become domain errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import psycopg
from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import DictRow, TupleRow, dict_row
from psycopg_pool import AsyncConnectionPool

from domain.errors import PhotoChangerError, ServiceUnavailable

Pool = AsyncConnectionPool[AsyncConnection[TupleRow]]
Params = Mapping[str, Any]


def create_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> Pool:
    """Build a closed pool; the owner opens it with ``await pool.open(wait=True)``.

    Nothing connects at construction time, so building the container never does I/O.

    Connections are in autocommit mode: nearly every repository call is one statement, and
    a BEGIN/COMMIT pair around it would triple its round trips on the ingest hot path.
    Calls that need several statements atomically use ``transaction``. There is no
    per-checkout liveness check either (another round trip per call); a connection broken
    by a database restart fails its one call (503) and the pool replaces it.
    """
    return AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        open=False,
        kwargs={"autocommit": True},
        name="photochanger",
    )


@contextmanager
def translate_errors() -> Iterator[None]:
    """Turn psycopg exceptions into domain errors so none leaves the adapters.

    Connection trouble (server down, pool exhausted or closed, cancelled statement) is
    ``ServiceUnavailable`` (SPEC §4: 503); anything else is a bug and becomes an
    ``internal_error``. Messages are fixed strings and details hold only the exception class
    and SQLSTATE, so no connection string (or its password) can leak into a response or log.
    """
    try:
        yield
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        raise ServiceUnavailable("database unavailable", {"reason": type(exc).__name__}) from exc
    except psycopg.Error as exc:
        raise PhotoChangerError(
            "database error", {"reason": type(exc).__name__, "sqlstate": exc.sqlstate}
        ) from exc


def _reraise_swallowed_cancellation() -> None:
    """psycopg_pool can hand a connection to a task that was cancelled while it waited for
    one (on Python 3.11 ``wait_for`` drops a cancellation that races with a result), and the
    call then completes as if nothing happened. A loop that retries on errors, like the
    lease heartbeat, would never stop. Deliver the cancellation here instead."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


@asynccontextmanager
async def statement(pool: Pool) -> AsyncIterator[AsyncCursor[DictRow]]:
    """A dict-row cursor on an autocommit connection: each statement commits by itself."""
    with translate_errors():
        async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            yield cur
    _reraise_swallowed_cancellation()


@asynccontextmanager
async def transaction(pool: Pool) -> AsyncIterator[AsyncCursor[DictRow]]:
    """Several statements in one short transaction, committed when the block exits cleanly."""
    with translate_errors():
        async with (
            pool.connection() as conn,
            conn.transaction(),
            conn.cursor(row_factory=dict_row) as cur,
        ):
            yield cur
    _reraise_swallowed_cancellation()


async def fetch_one(
    pool: Pool, query: str, params: Params | None = None, *, prepare: bool | None = None
) -> DictRow | None:
    """One statement; its first row (``RETURNING`` rows too), or None.

    ``prepare=True`` prepares the statement on its connection's first use of it: for the
    polls that run every few hundred milliseconds. Otherwise psycopg prepares a statement once
    a connection has run it ``prepare_threshold`` (5) times."""
    async with statement(pool) as cur:
        await cur.execute(query, params, prepare=prepare)
        return await cur.fetchone()


async def fetch_all(
    pool: Pool, query: str, params: Params | None = None, *, prepare: bool | None = None
) -> list[DictRow]:
    """One statement; all its rows (``prepare`` as in ``fetch_one``)."""
    async with statement(pool) as cur:
        await cur.execute(query, params, prepare=prepare)
        return await cur.fetchall()


async def execute(pool: Pool, query: str, params: Params | None = None) -> int:
    """One statement without result rows; how many rows it changed."""
    async with statement(pool) as cur:
        await cur.execute(query, params)
        return cur.rowcount


async def ping(pool: Pool, *, limit_seconds: float = 2.0) -> bool:
    """Readiness probe: True when a pooled connection answers ``SELECT 1`` in time."""
    try:
        async with asyncio.timeout(limit_seconds), pool.connection() as conn:
            await conn.execute("SELECT 1")
    except (psycopg.Error, TimeoutError):
        return False
    return True


async def open_pool(pool: Pool, timeout_seconds: float) -> None:
    """Open the pool, waiting for its first connections; an unreachable database becomes
    ``ServiceUnavailable`` after ``timeout_seconds`` (no URL in the message)."""
    try:
        with translate_errors():
            await pool.open(wait=True, timeout=timeout_seconds)
    except ServiceUnavailable:
        await pool.close()
        raise ServiceUnavailable(
            f"the database did not answer within {timeout_seconds:g} s; check "
            "PHOTOCHANGER_DATABASE_URL and that PostgreSQL is running"
        ) from None
