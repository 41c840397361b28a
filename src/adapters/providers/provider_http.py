"""The HTTP side every provider adapter shares: its client and connection pool, each call
bounded by the job's deadline and cancelled at most once, and the API key kept out of every
message a failure carries."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, TypeVar

import httpx

from adapters.providers.cancel_once import cancel_once
from application.ports import Clock
from domain.deadlines import SYNC_TIMEOUT_MAX_SEC, calculate_deadline_info
from domain.errors import ProviderFailed

T = TypeVar("T")


class ProviderHttp:
    """One provider's HTTP client, made on first use unless one is given (then it is the
    caller's to close). ``provider`` names the provider in the messages of failed calls."""

    def __init__(
        self,
        *,
        provider: str,
        api_key: str,
        clock: Clock,
        client: httpx.AsyncClient | None,
        max_connections: int,
        redacted: str = "[redacted]",
    ) -> None:
        self._provider = provider
        self._api_key = api_key
        self._clock = clock
        self._client = client
        self._owns_client = client is None
        self._max_connections = max_connections
        self._redacted = redacted

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            # The timeout is only a fallback: every request passes the job's remaining time.
            # The pool follows the concurrency setting: httpx's default (100 connections)
            # would otherwise cap the calls in flight whatever the setting says.
            n = self._max_connections
            self._client = httpx.AsyncClient(
                timeout=SYNC_TIMEOUT_MAX_SEC,
                limits=httpx.Limits(max_connections=n, max_keepalive_connections=n),
            )
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client if it was made here."""
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    def redact(self, text: str) -> str:
        """Belt and braces: an error page that echoes our request must not leak the key."""
        return text.replace(self._api_key, self._redacted) if self._api_key else text

    def seconds_left(self, deadline: datetime) -> float:
        return calculate_deadline_info(deadline, now=self._clock.now()).remaining_seconds

    def remaining(self, deadline: datetime) -> float:
        """Seconds left for the job; ``TimeoutError`` when none are, so no request starts."""
        info = calculate_deadline_info(deadline, now=self._clock.now())
        if info.is_expired or info.remaining_seconds <= 0:
            raise TimeoutError(f"the job's deadline passed before {self._provider} answered")
        return info.remaining_seconds

    async def call(
        self, deadline: datetime, exchange: Callable[[float], Coroutine[Any, Any, T]]
    ) -> T:
        """``exchange(seconds_left)`` bounded by the remaining time (its body read under the
        same bound): a timeout is ``TimeoutError``, a transport failure ``ProviderFailed``."""
        remaining = self.remaining(deadline)
        provider = self._provider
        try:
            async with asyncio.timeout(remaining):
                return await cancel_once(exchange(remaining))
        except (TimeoutError, httpx.TimeoutException):
            raise TimeoutError(f"{provider} did not answer before the job's deadline") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            message = self.redact(f"{provider} could not be reached: {type(exc).__name__}: {exc}")
            raise ProviderFailed(message, {"error": type(exc).__name__}) from None
