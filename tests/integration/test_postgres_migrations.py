"""Migrations: idempotent, safe when two processes run them at once, seed as the spec says."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import psycopg
import pytest
from psycopg import AsyncConnection

from adapters.postgres.migrate import apply_migrations, packaged_migrations
from adapters.postgres.pool import Pool
from adapters.postgres.slots import PostgresSlotRepository
from domain.errors import ServiceUnavailable
from domain.slot import SLOT_IDS

ALL_VERSIONS = ["0001_schema", "0002_seed", "0003_admit_job"]

OpenPool = Callable[..., Awaitable[Pool]]  # the ``open_pool`` fixture


def test_packaged_migrations_are_found_in_order() -> None:
    versions = [m.version for m in packaged_migrations()]
    assert versions[: len(ALL_VERSIONS)] == ALL_VERSIONS
    assert versions == sorted(versions)


async def test_second_run_applies_nothing(empty_database_url: str) -> None:
    assert await apply_migrations(empty_database_url) == [m.version for m in packaged_migrations()]
    assert await apply_migrations(empty_database_url) == []


async def test_concurrent_runs_apply_each_migration_once(empty_database_url: str) -> None:
    async with (
        await AsyncConnection.connect(empty_database_url) as first,
        await AsyncConnection.connect(empty_database_url) as second,
    ):
        results = await asyncio.gather(apply_migrations(first), apply_migrations(second))
        await first.commit()
        await second.commit()
    applied = sorted(results, key=len)
    assert applied[0] == []
    assert applied[1] == [m.version for m in packaged_migrations()]
    with psycopg.connect(empty_database_url) as conn:
        rows = conn.execute("SELECT version FROM schema_migration ORDER BY version").fetchall()
        slots = conn.execute("SELECT count(*) FROM slot").fetchone()
    assert [r[0] for r in rows] == applied[1]
    assert slots == (15,)


async def test_accepts_an_open_pool(empty_database_url: str, open_pool: OpenPool) -> None:
    pool: Pool = await open_pool(empty_database_url)
    assert await apply_migrations(pool) == [m.version for m in packaged_migrations()]
    assert await apply_migrations(pool) == []


async def test_seed_has_fifteen_slots_with_only_slot_001_active(pool: Pool) -> None:
    slots = await PostgresSlotRepository(pool).list()

    assert [s.id for s in slots] == list(SLOT_IDS)
    assert [s.name for s in slots] == [f"Slot {n}" for n in range(1, 16)]
    assert all(s.provider == "local" and s.operation == "grayscale" for s in slots)
    assert all(s.settings == {} for s in slots)
    assert [s.id for s in slots if s.is_active] == ["slot-001"]
    for slot in slots:
        slot.validate()  # the seed satisfies the domain's own rules


def test_seed_settings_have_defaults_and_no_password(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        rows: dict[str, object] = dict(
            conn.execute("SELECT key, value FROM app_settings").fetchall()
        )
    assert rows == {"ingest.sync_response_timeout_sec": 48, "media.result_retention_sec": 259200}


@pytest.mark.parametrize(
    "statement",
    [
        # finalized without finalized_at
        "UPDATE job SET is_finalized = true",
        # a failure reason on an active job
        "UPDATE job SET failure_reason = 'timeout'",
        # a status outside the state machine
        "UPDATE job SET status = 'done'",
        # processing without a lease: a dead worker's job could never be re-claimed
        "UPDATE job SET status = 'processing'",
    ],
)
def test_schema_refuses_impossible_job_states(database_url: str, statement: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO job (id, slot_id, provider, operation, settings, expires_at,"
            " created_at, updated_at) VALUES (gen_random_uuid(), 'slot-001', 'local',"
            " 'grayscale', '{}', now(), now(), now())"
        )
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(statement)


async def test_unreachable_server_is_service_unavailable() -> None:
    with pytest.raises(ServiceUnavailable) as caught:
        await apply_migrations("postgresql://postgres:secret@127.0.0.1:1/nowhere")
    assert "secret" not in str(caught.value)
    assert "secret" not in repr(caught.value.details)
