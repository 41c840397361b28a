"""The key that signs operator sessions: generated once, stored in the database so every
process and every restart accepts the same tokens; never shown, never logged."""

from __future__ import annotations

import asyncio
import secrets

from application.operator_ports import SecretStore

SESSION_SECRET_KEY = "admin.session_secret"  # noqa: S105 - a key name, not a secret


class SessionSecret:
    """Reads (or creates) the secret on first use and keeps it for the process's life."""

    def __init__(self, store: SecretStore) -> None:
        self._store = store
        self._value: str | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        if self._value is None:
            async with self._lock:
                if self._value is None:
                    self._value = await self._store.get_or_create(
                        SESSION_SECRET_KEY, secrets.token_urlsafe(48)
                    )
        return self._value

    def __repr__(self) -> str:
        return "SessionSecret(***)"
