"""``PostgresAdministratorRepository``: operator accounts (``administrator`` table)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from adapters.postgres.pool import Pool, execute, fetch_all, fetch_one, transaction
from adapters.postgres.rows import Row, utc, utc_or_none
from domain.administrator import Administrator, Role
from domain.errors import LastAdministrator

ADD = """
INSERT INTO administrator (username, password_hash, role, created_at, last_login_at)
VALUES (%(username)s, %(password_hash)s, %(role)s, %(created_at)s, %(last_login_at)s)
ON CONFLICT (username) DO NOTHING
RETURNING username
"""

GET = "SELECT * FROM administrator WHERE username = %(username)s"

LIST = "SELECT * FROM administrator ORDER BY username"

HAS_ANY = "SELECT EXISTS (SELECT 1 FROM administrator) AS any"

# Every admin row is locked first, so a concurrent removal of another admin waits and then
# sees this one gone: two removals can never leave no admin.
LOCK_ADMINS = "SELECT username FROM administrator WHERE role = 'admin' FOR UPDATE"

REMOVE = "DELETE FROM administrator WHERE username = %(username)s RETURNING *"

CHANGE_HASH = """
UPDATE administrator SET password_hash = %(password_hash)s WHERE username = %(username)s
"""

RECORD_LOGIN = "UPDATE administrator SET last_login_at = %(at)s WHERE username = %(username)s"


def administrator_from_row(row: Row) -> Administrator:
    return Administrator(
        username=row["username"],
        role=Role(row["role"]),
        created_at=utc(row["created_at"]),
        password_hash=row["password_hash"],
        last_login_at=utc_or_none(row["last_login_at"]),
    )


class PostgresAdministratorRepository:
    """Implements ``application.operator_ports.AdministratorRepository``."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def add(self, administrator: Administrator) -> bool:
        params = {
            "username": administrator.username,
            "password_hash": administrator.password_hash,
            "role": administrator.role.value,
            "created_at": administrator.created_at,
            "last_login_at": administrator.last_login_at,
        }
        return await fetch_one(self._pool, ADD, params) is not None

    async def get(self, username: str) -> Administrator | None:
        row = await fetch_one(self._pool, GET, {"username": username})
        return None if row is None else administrator_from_row(row)

    async def list(self) -> Sequence[Administrator]:
        return [administrator_from_row(row) for row in await fetch_all(self._pool, LIST)]

    async def remove(self, username: str) -> Administrator | None:
        async with transaction(self._pool) as cur:
            await cur.execute(LOCK_ADMINS)
            admins = {row["username"] for row in await cur.fetchall()}
            if admins == {username}:
                raise LastAdministrator(
                    f"{username!r} is the last admin; add another admin before removing it"
                )
            await cur.execute(REMOVE, {"username": username})
            row = await cur.fetchone()
        return None if row is None else administrator_from_row(row)

    async def set_password_hash(self, username: str, password_hash: str) -> bool:
        params = {"username": username, "password_hash": password_hash}
        return await execute(self._pool, CHANGE_HASH, params) == 1

    async def record_login(self, username: str, at: datetime) -> None:
        await execute(self._pool, RECORD_LOGIN, {"username": username, "at": at})

    async def has_any(self) -> bool:
        row = await fetch_one(self._pool, HAS_ANY)
        return bool(row and row["any"])


if TYPE_CHECKING:  # mypy proves the adapter satisfies its port
    from application.operator_ports import AdministratorRepository

    _port: type[AdministratorRepository] = PostgresAdministratorRepository
