"""In-memory fakes of the operator-side ports (``application.operator_ports``)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from domain.administrator import Administrator, Role
from domain.audit import AuditEntry
from domain.errors import LastAdministrator


class InMemoryAdministratorRepository:
    def __init__(self) -> None:
        self.rows: dict[str, Administrator] = {}

    async def add(self, administrator: Administrator) -> bool:
        if administrator.username in self.rows:
            return False
        self.rows[administrator.username] = administrator
        return True

    async def get(self, username: str) -> Administrator | None:
        return self.rows.get(username)

    async def list(self) -> Sequence[Administrator]:
        return [self.rows[name] for name in sorted(self.rows)]

    async def remove(self, username: str) -> Administrator | None:
        admins = {a.username for a in self.rows.values() if a.role is Role.ADMIN}
        if admins == {username}:
            raise LastAdministrator(f"{username!r} is the last admin")
        return self.rows.pop(username, None)

    async def set_password_hash(self, username: str, password_hash: str) -> bool:
        current = self.rows.get(username)
        if current is None:
            return False
        self.rows[username] = replace(current, password_hash=password_hash)
        return True

    async def record_login(self, username: str, at: datetime) -> None:
        current = self.rows.get(username)
        if current is not None:
            self.rows[username] = replace(current, last_login_at=at)

    async def has_any(self) -> bool:
        return bool(self.rows)


class InMemoryAuditLog:
    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []  # in insertion order
        self._ids = itertools.count(1)

    async def record(self, entry: AuditEntry) -> None:
        self.entries.append(replace(entry, id=next(self._ids)))

    async def page(self, limit: int, before: int | None = None) -> list[AuditEntry]:
        newest_first = sorted(self.entries, key=lambda e: (e.at, e.id or 0), reverse=True)
        if before is not None:
            cursor = next((e for e in self.entries if e.id == before), None)
            if cursor is None:
                return []
            key = (cursor.at, cursor.id or 0)
            newest_first = [e for e in newest_first if (e.at, e.id or 0) < key]
        return newest_first[:limit]

    def actions(self) -> list[str]:
        return [entry.action for entry in self.entries]


class InMemorySecretStore:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def get_or_create(self, key: str, candidate: str) -> str:
        return self.values.setdefault(key, candidate)


if TYPE_CHECKING:  # mypy proves the fakes satisfy their ports
    from application.operator_ports import AdministratorRepository, AuditLog, SecretStore

    _admins: type[AdministratorRepository] = InMemoryAdministratorRepository
    _audit: type[AuditLog] = InMemoryAuditLog
    _secrets: type[SecretStore] = InMemorySecretStore
