"""Read a provider's HTTP answer whole, but never more than a limit: a faulty or hostile
server must not make the worker hold an unbounded body in memory."""

from __future__ import annotations

import httpx

from domain.errors import ProviderFailed


async def read_capped(response: httpx.Response, limit: int, what: str) -> bytes:
    """The body, refusing (before reading, when Content-Length tells) anything over ``limit``."""
    declared = response.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise ProviderFailed(f"{what} is larger than {limit} bytes", {"limit_bytes": limit})
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise ProviderFailed(f"{what} is larger than {limit} bytes", {"limit_bytes": limit})
        chunks.append(chunk)
    return b"".join(chunks)
