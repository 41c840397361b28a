"""Slots (optimistic locking) and app settings (round trip, race-safe first password)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import psycopg

from adapters.postgres.app_settings import PostgresSettingsRepository
from adapters.postgres.pool import Pool
from adapters.postgres.slots import PostgresSlotRepository
from domain.settings import AppSettings

OpenPool = Callable[..., Awaitable[Pool]]  # the ``open_pool`` fixture


async def test_slot_get_and_unknown(pool: Pool) -> None:
    repo = PostgresSlotRepository(pool)
    slot = await repo.get("slot-007")
    assert slot is not None and slot.name == "Slot 7" and not slot.is_active
    assert slot.updated_at.utcoffset() == timedelta(0)
    assert await repo.get("slot-016") is None


async def test_slot_save_wins_only_against_the_version_it_read(pool: Pool) -> None:
    repo = PostgresSlotRepository(pool)
    read = await repo.get("slot-002")
    assert read is not None
    first = read.reconfigure(
        now=read.updated_at + timedelta(seconds=1),
        name="Watercolour",
        settings={"delay_ms": 5},
        is_active=True,
    )
    second = read.reconfigure(now=read.updated_at + timedelta(seconds=2), name="Sepia")

    assert await repo.save(first, expected_updated_at=read.updated_at)
    assert not await repo.save(second, expected_updated_at=read.updated_at)

    assert await repo.get("slot-002") == first


async def test_slot_concurrent_saves_from_the_same_read_one_wins(open_pool: OpenPool) -> None:
    pools = [await open_pool() for _ in range(2)]
    repos = [PostgresSlotRepository(p) for p in pools]
    read = await repos[0].get("slot-003")
    assert read is not None
    edits = [
        read.reconfigure(now=read.updated_at + timedelta(seconds=n), name=f"Edit {n}")
        for n in (1, 2)
    ]

    outcomes = await asyncio.gather(
        *(r.save(e, expected_updated_at=read.updated_at) for r, e in zip(repos, edits, strict=True))
    )

    assert sorted(outcomes) == [False, True]
    assert await repos[0].get("slot-003") == edits[outcomes.index(True)]


async def test_settings_load_seeded_defaults_and_round_trip(pool: Pool) -> None:
    repo = PostgresSettingsRepository(pool)
    assert await repo.load() == AppSettings(sync_timeout_sec=48.0, result_retention_sec=259200.0)

    await repo.save(AppSettings(sync_timeout_sec=52.5, result_retention_sec=3600), updated_by="ops")

    loaded = await repo.load()
    assert loaded == AppSettings(sync_timeout_sec=52.5, result_retention_sec=3600.0)
    assert isinstance(loaded.result_retention_sec, float)


async def test_settings_fall_back_to_defaults_for_missing_keys(
    database_url: str, pool: Pool
) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("DELETE FROM app_settings")
    assert await PostgresSettingsRepository(pool).load() == AppSettings()


async def test_password_hash_set_and_replace(pool: Pool) -> None:
    repo = PostgresSettingsRepository(pool)
    assert await repo.get_password_hash() is None

    assert await repo.set_password_hash("scrypt$one", updated_by="boot", only_if_unset=True)
    assert not await repo.set_password_hash("scrypt$two", updated_by="boot", only_if_unset=True)
    assert await repo.get_password_hash() == "scrypt$one"

    assert await repo.set_password_hash("scrypt$three", updated_by="admin", only_if_unset=False)
    assert await repo.get_password_hash() == "scrypt$three"


async def test_password_hash_null_value_counts_as_unset(database_url: str, pool: Pool) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO app_settings (key, value, updated_at, updated_by)"
            " VALUES ('ingest.password_hash', NULL, now(), 'seed')"
        )
    repo = PostgresSettingsRepository(pool)
    assert await repo.get_password_hash() is None
    assert await repo.set_password_hash("scrypt$x", updated_by="boot", only_if_unset=True)
    assert await repo.get_password_hash() == "scrypt$x"


async def test_first_password_race_has_exactly_one_winner(open_pool: OpenPool) -> None:
    pools = [await open_pool() for _ in range(4)]
    repos = [PostgresSettingsRepository(p) for p in pools]

    outcomes = await asyncio.gather(
        *(
            repo.set_password_hash(f"scrypt${n}", updated_by=f"proc{n}", only_if_unset=True)
            for n, repo in enumerate(repos)
        )
    )

    assert outcomes.count(True) == 1
    assert await repos[0].get_password_hash() == f"scrypt${outcomes.index(True)}"
