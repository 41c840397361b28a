"""Ports of the operator side (SPEC §10): administrator accounts, the audit trail and the
secret that signs operator sessions. Same rules as ``ports.py``: async, domain types, each
docstring states the promise an adapter keeps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from domain.administrator import Administrator
from domain.audit import AuditEntry


class AdministratorRepository(Protocol):
    """The ``administrator`` table."""

    async def add(self, administrator: Administrator) -> bool:
        """Insert; False (nothing written) when the username is taken."""
        ...

    async def get(self, username: str) -> Administrator | None: ...

    async def list(self) -> Sequence[Administrator]:
        """All administrators, by username."""
        ...

    async def remove(self, username: str) -> Administrator | None:
        """Delete ``username`` and return its row; None when there is no such user. Raises
        ``LastAdministrator`` (deleting nothing) when it is the last ``admin``: one statement,
        so two concurrent removals can never leave no admin."""
        ...

    async def set_password_hash(self, username: str, password_hash: str) -> bool:
        """False when there is no such user."""
        ...

    async def record_login(self, username: str, at: datetime) -> None:
        """Set ``last_login_at``."""
        ...

    async def has_any(self) -> bool: ...


class AuditLog(Protocol):
    """The ``audit_log`` table: append-only."""

    async def record(self, entry: AuditEntry) -> None:
        """Append ``entry`` (its ``id`` is ignored and assigned by the store)."""
        ...

    async def page(self, limit: int, before: int | None = None) -> list[AuditEntry]:
        """Up to ``limit`` entries, newest first (by ``at``, then ``id``); with ``before``,
        only entries older than the entry with that id (keyset paging: pass the last id of
        the previous page)."""
        ...


class SecretStore(Protocol):
    """Secrets the service generates for itself and shares between its processes (the
    operator-session signing key); kept in ``app_settings``, never returned by any API."""

    async def get_or_create(self, key: str, candidate: str) -> str:
        """The stored value of ``key``; stores ``candidate`` first if none is stored. Race-safe:
        concurrent callers all get the one value that won."""
        ...
