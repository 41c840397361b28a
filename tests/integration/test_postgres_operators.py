"""Administrators, the audit log and the session secret against real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from adapters.postgres.administrators import PostgresAdministratorRepository
from adapters.postgres.audit import PostgresAuditLog
from adapters.postgres.pool import Pool, fetch_one
from adapters.postgres.secret_store import PostgresSecretStore
from application.session_secret import SESSION_SECRET_KEY
from domain.administrator import Administrator, Role
from domain.audit import AuditEntry
from domain.errors import LastAdministrator, PhotoChangerError

OpenPool = Callable[..., Awaitable[Pool]]  # the ``open_pool`` fixture
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def account(username: str, role: Role = Role.ADMIN, *, hash_: str = "scrypt$x") -> Administrator:
    return Administrator(username=username, role=role, created_at=T0, password_hash=hash_)


async def test_administrator_round_trip_list_and_duplicates(pool: Pool) -> None:
    repo = PostgresAdministratorRepository(pool)
    assert not await repo.has_any()

    assert await repo.add(account("zoe", Role.VIEWER))
    assert await repo.add(account("ann", hash_="scrypt$ann"))
    assert not await repo.add(account("ann", Role.VIEWER, hash_="scrypt$other"))

    ann = await repo.get("ann")
    assert ann == account("ann", hash_="scrypt$ann")
    assert ann is not None and ann.created_at.utcoffset() == timedelta(0)
    assert [a.username for a in await repo.list()] == ["ann", "zoe"]
    assert await repo.has_any()
    assert await repo.get("nobody") is None


async def test_password_hash_and_login_time_are_updated(pool: Pool) -> None:
    repo = PostgresAdministratorRepository(pool)
    await repo.add(account("ann"))

    assert await repo.set_password_hash("ann", "scrypt$new")
    assert not await repo.set_password_hash("nobody", "scrypt$new")
    await repo.record_login("ann", T0 + timedelta(hours=1))

    ann = await repo.get("ann")
    assert ann is not None
    assert (ann.password_hash, ann.last_login_at) == ("scrypt$new", T0 + timedelta(hours=1))


async def test_removal_keeps_the_last_admin(pool: Pool) -> None:
    repo = PostgresAdministratorRepository(pool)
    for admin in (account("ann"), account("bob"), account("vic", Role.VIEWER)):
        await repo.add(admin)

    removed = await repo.remove("vic")
    assert removed is not None and removed.role is Role.VIEWER
    assert await repo.remove("nobody") is None
    assert (await repo.remove("bob")) is not None
    with pytest.raises(LastAdministrator):
        await repo.remove("ann")
    assert [a.username for a in await repo.list()] == ["ann"]


async def test_two_concurrent_removals_never_leave_no_admin(open_pool: OpenPool) -> None:
    """Two admins removed at once, each on its own connection, many times over."""
    setup = await open_pool(max_size=1)
    repo = PostgresAdministratorRepository(setup)
    first = PostgresAdministratorRepository(await open_pool(max_size=1))
    second = PostgresAdministratorRepository(await open_pool(max_size=1))
    for _ in range(20):
        await repo.add(account("ann"))
        await repo.add(account("bob"))

        outcomes = await asyncio.gather(
            first.remove("ann"), second.remove("bob"), return_exceptions=True
        )

        assert sum(isinstance(o, LastAdministrator) for o in outcomes) == 1, outcomes
        assert len(await repo.list()) == 1
        async with setup.connection() as conn:
            await conn.execute("DELETE FROM administrator")


async def test_the_table_refuses_bad_usernames_and_roles(pool: Pool) -> None:
    repo = PostgresAdministratorRepository(pool)
    with pytest.raises(PhotoChangerError, match="database error"):
        await repo.add(account("Ann"))
    async with pool.connection() as conn:
        with pytest.raises(psycopg.errors.CheckViolation):
            await conn.execute(
                "INSERT INTO administrator (username, password_hash, role, created_at) "
                "VALUES ('ann', 'x', 'root', now())"
            )


async def test_audit_pages_newest_first_with_a_keyset_cursor(pool: Pool) -> None:
    log = PostgresAuditLog(pool)
    # Recorded out of time order (several processes): the time decides, then the id.
    for minute, target in [(1, "a"), (3, "c"), (2, "b"), (3, "d"), (0, "first")]:
        await log.record(
            AuditEntry(
                actor="ann",
                action="slot.update",
                target=target,
                at=T0 + timedelta(minutes=minute),
                before={"name": "old", "settings": {"prompt": "p"}},
                after={"name": target, "is_active": True},
            )
        )

    page1 = await log.page(2)
    assert [e.target for e in page1] == ["d", "c"]
    page2 = await log.page(2, before=page1[-1].id)
    assert [e.target for e in page2] == ["b", "a"]
    page3 = await log.page(2, before=page2[-1].id)
    assert [e.target for e in page3] == ["first"]
    assert await log.page(2, before=page3[-1].id) == []
    assert await log.page(2, before=999_999) == []

    newest = page1[0]
    assert newest.id is not None and newest.at == T0 + timedelta(minutes=3)
    assert newest.at.utcoffset() == timedelta(0)
    assert (newest.actor, newest.action) == ("ann", "slot.update")
    assert newest.before == {"name": "old", "settings": {"prompt": "p"}}
    assert newest.after == {"name": "d", "is_active": True}


async def test_audit_keeps_absent_before_and_after_as_null(pool: Pool) -> None:
    log = PostgresAuditLog(pool)
    await log.record(AuditEntry(actor="cli", action="template.remove", target="t", at=T0))
    [entry] = await log.page(10)
    assert entry.before is None and entry.after is None


async def test_audit_paging_uses_the_newest_first_index(pool: Pool) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO audit_log (at, actor, action, target) "
            "SELECT now() - n * interval '1 second', 'a', 'x', 't' FROM generate_series(1, 5000) n"
        )
        await conn.execute("ANALYZE audit_log")
        cur = await conn.execute(
            "EXPLAIN SELECT * FROM audit_log WHERE (at, id) < "
            "(SELECT at, id FROM audit_log WHERE id = 100) ORDER BY at DESC, id DESC LIMIT 50"
        )
        plan = "\n".join(str(row[0]) for row in await cur.fetchall())
    assert "audit_log_newest_idx" in plan, plan


async def test_the_session_secret_is_created_once_even_when_raced(
    pool: Pool, open_pool: OpenPool
) -> None:
    stores = [PostgresSecretStore(await open_pool(max_size=1)) for _ in range(4)]

    values = await asyncio.gather(
        *(
            store.get_or_create(SESSION_SECRET_KEY, f"candidate-{n}")
            for n, store in enumerate(stores)
        )
    )

    assert len(set(values)) == 1 and values[0].startswith("candidate-")
    assert await stores[0].get_or_create(SESSION_SECRET_KEY, "late") == values[0]
    row = await fetch_one(
        pool, "SELECT updated_by FROM app_settings WHERE key = %(k)s", {"k": SESSION_SECRET_KEY}
    )
    assert row is not None and row["updated_by"] == "first-start"
