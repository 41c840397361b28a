"""A provider's 429/503 is asked again after a backoff that honours what the server asks for,
only while the deadline leaves time, then fails as provider_error (SPEC §5): Gemini against
the fake Gemini, Turbotext's create_queue against the fake Turbotext, over real sockets."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from fake_gemini import RPC_ERRORS, Answer, FakeGemini, fake_gemini_server, rpc_error, small_png
from fake_turbotext import FakeTurbotext, fake_turbotext_server

from adapters.clock import SystemClock
from adapters.providers.gemini import GeminiProvider
from adapters.providers.retry_policy import RetryPolicy
from adapters.providers.turbotext import TurbotextProvider
from application.ports import InputImage, ProviderInput
from domain.errors import ProviderFailed

PHOTO = small_png((10, 20, 30), (16, 12))
# Small pauses so that a test takes fractions of a second; the server's wait is larger.
FAST = RetryPolicy(max_attempts=4, base_seconds=0.05, max_seconds=0.4, min_call_seconds=0.2)


def gemini_job(seconds: float = 10.0) -> ProviderInput:
    return ProviderInput(
        job_id=uuid4(),
        operation="image_edit",
        settings={"prompt": "make it a watercolour"},
        photo=InputImage(mime="image/png", data=PHOTO),
        templates={},
        deadline=datetime.now(UTC) + timedelta(seconds=seconds),
    )


@asynccontextmanager
async def gemini(fake: FakeGemini, **options: Any) -> AsyncIterator[GeminiProvider]:
    provider = GeminiProvider(
        base_url=fake.base_url,
        api_key=fake.api_key,
        clock=SystemClock(),
        **{"retry": FAST, **options},
    )
    try:
        yield provider
    finally:
        await provider.aclose()


def busy(status: int, *, retry_after: str | None = None, retry_delay: str | None = None) -> Answer:
    """Google's RPC error for ``status``, with a ``Retry-After`` header and/or a
    ``google.rpc.RetryInfo`` detail as the real API sends with quota errors."""
    name, message = RPC_ERRORS[status]
    body = rpc_error(status, name, message).body
    if retry_delay is not None:
        body["error"]["details"] = [
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay}
        ]
    headers = {"Retry-After": retry_after} if retry_after is not None else None
    return Answer(status=status, body=body, headers=headers)


def gaps(fake: FakeGemini) -> list[float]:
    times = [r.arrived_at for r in fake.requests]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


@pytest.mark.parametrize("status", [429, 503])
async def test_gemini_busy_answers_are_asked_again_with_a_growing_backoff(
    status: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="adapters.providers.gemini")
    async with (
        fake_gemini_server(script=[status, status, "image"]) as fake,
        gemini(fake) as provider,
    ):
        output = await provider.transform(gemini_job())

        assert output.image == fake.image
        assert [r.status for r in fake.requests] == [status, status, 200]
        first, second = gaps(fake)
        assert first >= 0.05 and second >= 0.1  # base, then twice the base
    retries = [r for r in caplog.records if "trying again" in r.getMessage()]
    assert [r.levelno for r in retries] == [logging.INFO, logging.INFO]


async def test_gemini_retry_after_header_is_honoured() -> None:
    async with (
        fake_gemini_server(script=[busy(429, retry_after="1")]) as fake,
        gemini(fake) as provider,
    ):
        await provider.transform(gemini_job())
        [gap] = gaps(fake)
        assert gap >= 1.0  # the server's wait, not the 0.05 s backoff


async def test_gemini_retry_info_delay_is_honoured() -> None:
    async with (
        fake_gemini_server(script=[busy(429, retry_delay="0.7s")]) as fake,
        gemini(fake) as provider,
    ):
        await provider.transform(gemini_job())
        [gap] = gaps(fake)
        assert gap >= 0.7


async def test_gemini_wait_longer_than_the_deadline_allows_fails_at_once() -> None:
    async with (
        fake_gemini_server(script=[busy(429, retry_after="30")]) as fake,
        gemini(fake) as provider,
    ):
        started = time.monotonic()
        with pytest.raises(ProviderFailed, match=r"no time left to wait 30\.0 s") as caught:
            await provider.transform(gemini_job(seconds=5))
        assert time.monotonic() - started < 2  # a 502 now, not a 504 at the deadline
        assert len(fake.requests) == 1
    assert "HTTP 429 RESOURCE_EXHAUSTED" in caught.value.message
    assert caught.value.details["http_status"] == 429


async def test_gemini_keeps_answering_busy_fails_after_the_attempts() -> None:
    async with fake_gemini_server(script=[503] * 10) as fake, gemini(fake) as provider:
        with pytest.raises(
            ProviderFailed, match=r"HTTP 503 UNAVAILABLE.*after 4 attempts"
        ) as caught:
            await provider.transform(gemini_job())
        assert len(fake.requests) == FAST.max_attempts
    assert caught.value.details["attempts"] == FAST.max_attempts


async def test_gemini_no_retry_is_sent_after_the_deadline() -> None:
    """The backoff never pushes a request past the deadline: the last one leaves the call at
    least ``min_call_seconds``."""
    policy = RetryPolicy(max_attempts=50, base_seconds=0.2, max_seconds=0.2, min_call_seconds=0.2)
    async with (
        fake_gemini_server(script=[503] * 50) as fake,
        gemini(fake, retry=policy) as provider,
    ):
        request = gemini_job(seconds=1.5)
        with pytest.raises(ProviderFailed, match="no time left"):
            await provider.transform(request)
        assert 2 <= len(fake.requests) < 50
        assert all(
            r.arrived_at_utc <= request.deadline - timedelta(seconds=0.2) for r in fake.requests
        )


async def test_gemini_other_errors_are_not_retried() -> None:
    async with fake_gemini_server(script=[500, "image"]) as fake, gemini(fake) as provider:
        with pytest.raises(ProviderFailed, match="HTTP 500 INTERNAL"):
            await provider.transform(gemini_job())
        assert len(fake.requests) == 1


# --- Turbotext: create_queue only after a 429 ------------------------------------------------

TT_KEY = "tt-retry-key-0123456789"


def turbotext_job(fake: FakeTurbotext, seconds: float = 5.0) -> ProviderInput:
    photo = InputImage("image/png", url=fake.add_input("photo.png", PHOTO, "image/png"))
    return ProviderInput(
        job_id=uuid4(),
        operation="image_edit",
        settings={"prompt": "make it snow"},
        photo=photo,
        templates={},
        deadline=datetime.now(UTC) + timedelta(seconds=seconds),
    )


@asynccontextmanager
async def turbotext(**knobs: Any) -> AsyncIterator[tuple[FakeTurbotext, TurbotextProvider]]:
    async with fake_turbotext_server(api_key=TT_KEY, **knobs) as fake:
        provider = TurbotextProvider(
            base_url=fake.base_url,
            api_key=TT_KEY,
            clock=SystemClock(),
            poll_interval_seconds=0.05,
            retry=FAST,
        )
        try:
            yield fake, provider
        finally:
            await provider.aclose()


async def test_turbotext_create_queue_is_asked_again_after_a_429_honouring_retry_after() -> None:
    async with turbotext() as (fake, provider):
        fake.create_statuses = [429]
        fake.retry_after = "1"
        output = await provider.transform(turbotext_job(fake))

        assert output.image == fake.result_bytes
        creates = [r for r in fake.requests if r.do == "create_queue"]
        assert [r.status for r in creates] == [429, 200]
        assert creates[1].at - creates[0].at >= 1.0


async def test_turbotext_create_queue_429_with_no_time_left_fails_at_once() -> None:
    async with turbotext() as (fake, provider):
        fake.create_statuses = [429]
        fake.retry_after = "60"
        with pytest.raises(ProviderFailed, match=r"no time left to wait 60\.0 s"):
            await provider.transform(turbotext_job(fake))
        assert [r.do for r in fake.requests] == ["create_queue"]


async def test_turbotext_create_queue_is_never_repeated_after_a_503() -> None:
    """A 5xx may come after the job was queued: asking again could run (and bill) it twice."""
    async with turbotext() as (fake, provider):
        fake.create_statuses = [503]
        with pytest.raises(ProviderFailed, match="create_queue answered HTTP 503"):
            await provider.transform(turbotext_job(fake))
        assert [r.do for r in fake.requests] == ["create_queue"]
