"""What the Gemini and OpenAI adapters share (``ProviderHttp``), against each fake server over
real loopback sockets: every call ends at the job's deadline, a cancelled job hangs up on the
provider (also when a second cancellation comes during the close), an unreachable server is a
clear ``ProviderFailed`` without the key, and an injected HTTP client is used and left open."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fake_gemini import fake_gemini_server
from fake_openai import fake_openai_server
from fake_provider import FakeProvider
from provider_jobs import job

from adapters.clock import SystemClock
from adapters.providers.gemini import GeminiProvider
from adapters.providers.openai_images import OpenAIImagesProvider
from domain.errors import ProviderFailed


@dataclass(frozen=True, slots=True)
class SyncProvider:
    name: str  # as the adapter's messages name it
    serve: Callable[..., AbstractAsyncContextManager[Any]]
    adapter: Callable[..., Any]
    path: str  # what the default job is sent to
    logger: str


GEMINI = SyncProvider(
    "Gemini",
    fake_gemini_server,
    GeminiProvider,
    "/v1beta/models/gemini-2.5-flash-image:generateContent",
    "adapters.providers.gemini",
)
OPENAI = SyncProvider(
    "OpenAI",
    fake_openai_server,
    OpenAIImagesProvider,
    "/v1/images/edits",
    "adapters.providers.openai_images",
)


@pytest.fixture(params=[GEMINI, OPENAI], ids=["gemini", "openai"])
def kind(request: pytest.FixtureRequest) -> SyncProvider:
    provider: SyncProvider = request.param
    return provider


@asynccontextmanager
async def adapter_for(
    kind: SyncProvider, base_url: str, api_key: str, **options: Any
) -> AsyncIterator[GeminiProvider | OpenAIImagesProvider]:
    adapter = kind.adapter(base_url=base_url, api_key=api_key, clock=SystemClock(), **options)
    try:
        yield adapter
    finally:
        await adapter.aclose()


def waiting(fake: FakeProvider[Any]) -> bool:
    return bool(fake.requests) and fake.requests[0].outcome == "waiting"


async def test_a_slow_answer_times_out_at_the_deadline(kind: SyncProvider) -> None:
    async with (
        kind.serve(latency=30.0) as fake,
        adapter_for(kind, fake.base_url, fake.api_key) as adapter,
    ):
        request = job(seconds=0.8)
        with pytest.raises(TimeoutError):
            await adapter.transform(request)
        raised_at = time.time()
        deadline = request.deadline.timestamp()
        assert deadline - 0.05 <= raised_at <= deadline + 0.5
        gone = await fake.wait_for_client_gone()  # the request was aborted, not left hanging
        assert fake.requests == [gone]
        assert gone.arrived_at_utc <= request.deadline


async def test_nothing_is_sent_when_the_deadline_has_passed(kind: SyncProvider) -> None:
    async with kind.serve() as fake, adapter_for(kind, fake.base_url, fake.api_key) as adapter:
        with pytest.raises(TimeoutError):
            await adapter.transform(job(seconds=-1))
        assert fake.requests == []


@pytest.mark.parametrize("yields", [None, 0, 1, 2, 3])
async def test_cancelling_the_job_aborts_the_request(
    kind: SyncProvider, yields: int | None
) -> None:
    """``yields`` not None: a second cancellation (the deadline timer and the lease keeper at
    once) arrives after that many turns of the loop, while the first may be closing the
    connection; the close must not be cut short (the provider would go on generating)."""
    async with (
        kind.serve(latency=30.0) as fake,
        adapter_for(kind, fake.base_url, fake.api_key) as adapter,
    ):
        task = asyncio.create_task(adapter.transform(job(seconds=60)))
        await fake.wait_until(waiting)
        task.cancel()
        if yields is not None:
            for _ in range(yields):
                await asyncio.sleep(0)  # let the first cancellation reach the client's cleanup
            task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        gone = await fake.wait_for_client_gone(timeout=5)
        assert gone.outcome == "client_gone" and gone.status is None


async def test_an_unreachable_server_fails_clearly(
    kind: SyncProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=kind.logger)
    with socket.socket() as probe:  # a port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    key = "sk-secret-key-1"
    async with adapter_for(kind, f"http://127.0.0.1:{port}", key) as adapter:
        with pytest.raises(
            ProviderFailed, match=f"{kind.name} could not be reached: ConnectError"
        ) as caught:
            await adapter.transform(job())
    assert key not in str(caught.value) and key not in repr(caught.value.details)
    assert key not in caplog.text


async def test_an_injected_client_is_used_and_left_open(kind: SyncProvider) -> None:
    sent: list[str] = []

    async def on_request(request: httpx.Request) -> None:
        sent.append(request.url.path)

    async with (
        kind.serve() as fake,
        httpx.AsyncClient(event_hooks={"request": [on_request]}) as client,
    ):
        async with adapter_for(kind, fake.base_url + "/", fake.api_key, client=client) as adapter:
            await adapter.transform(job())
        assert not client.is_closed
        assert sent == [kind.path]
