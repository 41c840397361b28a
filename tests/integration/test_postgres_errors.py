"""psycopg exceptions never leave the adapters: they arrive as domain errors."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from adapters.postgres.jobs import PostgresJobRepository
from adapters.postgres.pool import Pool, create_pool, ping
from domain.errors import PhotoChangerError, ServiceUnavailable
from domain.job import Job

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


async def test_a_pool_that_is_not_open_is_service_unavailable() -> None:
    closed = create_pool("postgresql://postgres:secret@127.0.0.1:1/nowhere")
    repo = PostgresJobRepository(closed)

    with pytest.raises(ServiceUnavailable) as caught:
        await repo.get(uuid4())

    assert caught.value.code == "service_unavailable"
    assert "secret" not in caught.value.message and "secret" not in repr(caught.value.details)
    assert not await ping(closed)


async def test_ping_answers_on_an_open_pool(pool: Pool) -> None:
    assert await ping(pool)


async def test_a_broken_statement_is_an_internal_error_not_a_psycopg_one(pool: Pool) -> None:
    orphan = Job(
        id=uuid4(),
        slot_id="slot-999",  # no such slot: foreign key violation
        provider="local",
        operation="grayscale",
        settings={},
        expires_at=T0 + timedelta(seconds=48),
        created_at=T0,
        updated_at=T0,
    )

    with pytest.raises(PhotoChangerError) as caught:
        await PostgresJobRepository(pool).add_if_capacity(orphan, max_unfinished=10)

    assert type(caught.value) is PhotoChangerError
    assert caught.value.code == "internal_error"
    assert caught.value.details["sqlstate"] == "23503"


async def test_a_cancelled_caller_is_never_left_running(
    open_pool: Callable[..., Awaitable[Pool]],
) -> None:
    """A heartbeat-like loop that retries on database errors must stop when cancelled, even
    when the pool hands it a connection in the same instant (the cancellation is otherwise
    dropped and the loop runs forever)."""
    small = await open_pool(max_size=3)
    repo = PostgresJobRepository(small)

    async def heartbeat() -> None:
        while True:
            await asyncio.sleep(0.001)
            with contextlib.suppress(PhotoChangerError):
                await repo.count_unfinished()

    for _ in range(100):  # the race is narrow; many rounds make it show up every time
        loops = [asyncio.create_task(heartbeat()) for _ in range(20)]
        await asyncio.sleep(random.random() * 0.02)
        for loop in loops:
            loop.cancel()
        _, still_running = await asyncio.wait(loops, timeout=5)
        assert not still_running, "a cancelled task kept running"
