"""Pass at most one cancellation to an in-flight provider request.

httpx closes a connection when its request is cancelled, but a second cancellation arriving
while that close is under way interrupts it and leaves the socket open: the provider goes on
working (and billing) for a client that has gone. The deadline timer, the lease keeper and an
adapter's own timeout can all cancel the same call at the same moment, so every provider
request runs through :func:`cancel_once`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


async def cancel_once(request: Coroutine[Any, Any, T]) -> T:
    """Await ``request`` in its own task. When the caller is cancelled (any number of times),
    the request is cancelled exactly once and allowed to finish its clean-up; then the
    caller's cancellation goes on as usual."""
    inner = asyncio.ensure_future(request)
    try:
        return await asyncio.shield(inner)
    except asyncio.CancelledError:
        inner.cancel()
        while not inner.done():
            try:
                await asyncio.wait({inner})
            except asyncio.CancelledError:
                continue  # already passed on once; the clean-up must not be cut short
        if not inner.cancelled():
            inner.exception()  # retrieved: it lost the race with our cancellation
        raise
