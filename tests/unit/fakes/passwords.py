"""``PasswordHasher`` without a KDF, so tests can read what was stored."""

from __future__ import annotations

import asyncio
import hmac
import itertools


class PlainPasswordHasher:
    """``PasswordHasher`` with a visible salt and no KDF; suspends like a real slow hash."""

    def __init__(self) -> None:
        self._salts = itertools.count(1)

    def encode(self, password: str) -> str:
        return f"plain${next(self._salts)}${password}"

    async def hash(self, password: str) -> str:
        await asyncio.sleep(0)
        return self.encode(password)

    async def verify(self, password: str, encoded: str) -> bool:
        await asyncio.sleep(0)
        scheme, _, rest = encoded.partition("$")
        _, _, stored = rest.partition("$")
        return scheme == "plain" and hmac.compare_digest(stored.encode(), password.encode())
