"""FailedPasswordGuard: a per-client sliding window of failed ingest passwords."""

from __future__ import annotations

import pytest
from fakes import FakeClock

from application.password_guard import FailedPasswordGuard
from domain.errors import RateLimited


@pytest.fixture
def guard(clock: FakeClock) -> FailedPasswordGuard:
    return FailedPasswordGuard(clock, max_failures=3, window_seconds=60.0)


def _fail(guard: FailedPasswordGuard, client: str, times: int) -> None:
    for _ in range(times):
        guard.check(client)
        guard.record_failure(client)


async def test_clients_under_the_limit_pass(guard: FailedPasswordGuard) -> None:
    _fail(guard, "a", 2)
    guard.check("a")


async def test_at_the_limit_the_client_waits_until_the_oldest_failure_leaves_the_window(
    guard: FailedPasswordGuard, clock: FakeClock
) -> None:
    guard.record_failure("a")
    await clock.advance(10)
    _fail(guard, "a", 2)
    await clock.advance(5)

    with pytest.raises(RateLimited) as limited:
        guard.check("a")
    assert limited.value.retry_after == 45
    assert limited.value.code == "rate_limited"

    await clock.advance(44.999)
    with pytest.raises(RateLimited) as limited:
        guard.check("a")
    assert limited.value.retry_after == 1  # rounded up, never 0

    await clock.advance(0.001)
    guard.check("a")


async def test_other_clients_are_not_affected(guard: FailedPasswordGuard) -> None:
    _fail(guard, "a", 3)
    with pytest.raises(RateLimited):
        guard.check("a")
    guard.check("b")


async def test_a_success_forgets_the_failures(guard: FailedPasswordGuard) -> None:
    _fail(guard, "a", 2)
    guard.record_success("a")
    _fail(guard, "a", 2)
    guard.check("a")


async def test_old_failures_do_not_count(guard: FailedPasswordGuard, clock: FakeClock) -> None:
    for _ in range(5):
        _fail(guard, "a", 1)
        await clock.advance(30)  # at most two failures are ever inside the 60 s window
    guard.check("a")
