"""What the fake synchronous providers (``fake_gemini``, ``fake_openai``) share: the request
log tests wait on instead of sleeping, latency that ends early when the client hangs up, and
serving on a loopback socket that lets waiting requests go on exit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Generic, Protocol, Self, TypeVar

from asgi_server import running_app
from litestar import Litestar, Request
from litestar.response import Response


class Recorded(Protocol):
    """A logged request: ``outcome`` is ``pending``, ``waiting``, ``answered`` or
    ``client_gone``."""

    outcome: str

    @property
    def client_went_away(self) -> bool: ...


RecordT = TypeVar("RecordT", bound=Recorded)


class FakeProvider(Generic[RecordT]):
    """The request log and its waiting helpers; subclasses speak the provider's protocol."""

    def __init__(self) -> None:
        self.requests: list[RecordT] = []
        self.base_url = ""
        self._changed = asyncio.Condition()
        self._closing = asyncio.Event()

    # --- waiting helpers for tests (no fixed sleeps) ---------------------------------------

    async def wait_until(self, predicate: Callable[[Self], bool], *, timeout: float = 10.0) -> None:
        """Block until ``predicate(self)`` holds; re-checked on every request event."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: predicate(self))

    async def wait_for_requests(self, count: int, *, timeout: float = 10.0) -> None:
        await self.wait_until(lambda fake: len(fake.requests) >= count, timeout=timeout)

    async def wait_for_client_gone(self, *, timeout: float = 10.0) -> RecordT:
        """The first request whose client closed the connection before the answer."""
        await self.wait_until(
            lambda fake: any(r.client_went_away for r in fake.requests), timeout=timeout
        )
        return next(r for r in self.requests if r.client_went_away)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- answering ------------------------------------------------------------------------

    async def _record(self, record: RecordT) -> None:
        self.requests.append(record)
        await self._notify()

    async def _client_left_during(
        self, request: Request[Any, Any, Any], record: RecordT, latency: float
    ) -> bool:
        """Wait out ``latency`` (``record`` is ``waiting`` meanwhile); True when the client
        hung up first."""
        if latency <= 0:
            return False
        record.outcome = "waiting"
        await self._notify()
        return await self._client_left_within(request, latency)

    async def _answered(self, record: RecordT) -> None:
        record.outcome = "answered"
        await self._notify()

    async def _gone(self, record: RecordT) -> Response[bytes]:
        record.outcome = "client_gone"
        await self._notify()
        return Response(content=b"", status_code=499)  # nobody reads it: the client left

    async def _client_left_within(self, request: Request[Any, Any, Any], seconds: float) -> bool:
        """Wait ``seconds`` unless the client disconnects first (True) or the fake shuts down."""

        async def disconnected() -> None:
            while (await request.receive())["type"] != "http.disconnect":
                pass

        watcher = asyncio.ensure_future(disconnected())
        closing = asyncio.ensure_future(self._closing.wait())
        try:
            await asyncio.wait(
                {watcher, closing}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in (watcher, closing):
                task.cancel()
        return watcher.done() and not watcher.cancelled() and watcher.exception() is None


FakeT = TypeVar("FakeT", bound=FakeProvider[Any])


@asynccontextmanager
async def serving(fake: FakeT, app: Litestar) -> AsyncIterator[FakeT]:
    """Serve ``app`` (built around ``fake``) on a loopback port; ``fake.base_url`` points at
    it. On exit, requests still waiting out their latency are let go so the server stops at
    once."""
    async with running_app(app) as base_url:
        fake.base_url = base_url
        try:
            yield fake
        finally:
            fake._closing.set()
