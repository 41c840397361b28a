"""The shared retry policy for a provider's 429/503 (pure): the pause, whether the deadline
leaves time for another call, and the waits Google asks for in its error bodies."""

from __future__ import annotations

import json

import pytest

from adapters.providers.gemini_errors import is_retryable, retry_delay_seconds
from adapters.providers.retry_policy import RetryPolicy, duration_seconds
from domain.errors import ProviderFailed


def test_the_pause_doubles_up_to_the_cap_and_never_undercuts_the_server() -> None:
    policy = RetryPolicy(base_seconds=0.5, max_seconds=4.0)
    assert [policy.pause(n, None) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert policy.pause(1, 3.0) == 3.0
    assert policy.pause(4, 1.0) == 4.0


def test_a_retry_is_worth_it_only_if_the_call_keeps_its_minimum_time() -> None:
    policy = RetryPolicy(min_call_seconds=0.5)
    assert policy.leaves_time(1.0, seconds_left=1.6)
    assert not policy.leaves_time(1.0, seconds_left=1.5)
    assert not policy.leaves_time(0.0, seconds_left=0.3)


def test_a_retry_pauses_while_attempts_and_time_remain() -> None:
    policy = RetryPolicy(max_attempts=3, base_seconds=0.5, max_seconds=4.0, min_call_seconds=0.5)
    pause = policy.pause_or_fail(2, 1.5, seconds_left=10.0, message="busy", details={})
    assert pause == 1.5


@pytest.mark.parametrize(
    ("attempt", "retryable", "seconds_left", "expected"),
    [
        (1, False, 10.0, "busy"),
        (2, False, 10.0, "busy (after 2 attempts)"),
        (3, True, 10.0, "busy (after 3 attempts)"),
        (1, True, 0.9, "busy; the job has no time left to wait 0.5 s and try again"),
    ],
)
def test_a_retry_that_cannot_help_fails_with_the_servers_message(
    attempt: int, retryable: bool, seconds_left: float, expected: str
) -> None:
    policy = RetryPolicy(max_attempts=3, base_seconds=0.5, max_seconds=4.0, min_call_seconds=0.5)
    with pytest.raises(ProviderFailed) as failed:
        policy.pause_or_fail(
            attempt,
            None,
            seconds_left=seconds_left,
            message="busy",
            details={"attempts": attempt},
            retryable=retryable,
        )
    assert failed.value.message == expected
    assert failed.value.details == {"attempts": attempt}


@pytest.mark.parametrize(
    "options",
    [{"max_attempts": 0}, {"base_seconds": -1.0}, {"base_seconds": 2.0, "max_seconds": 1.0}],
)
def test_nonsense_policies_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("37s", 37.0), ("0.5s", 0.5), ("0s", 0.0), ("1e9s", 86_400.0)],
)
def test_protobuf_durations_are_read(value: str, expected: float) -> None:
    assert duration_seconds(value) == expected


@pytest.mark.parametrize("value", [None, 37, "37", "-1s", "nans", "abc s", ""])
def test_anything_else_is_not_a_duration(value: object) -> None:
    assert duration_seconds(value) is None


def _google_error(*details: object) -> bytes:
    error = {"code": 429, "message": "Quota exceeded.", "status": "RESOURCE_EXHAUSTED"}
    return json.dumps({"error": {**error, "details": list(details)}}).encode()


def test_googles_retry_info_gives_the_delay() -> None:
    raw = _google_error(
        {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [{"quotaId": "GenerateRequestsPerMinutePerProjectPerModel"}],
        },
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"},
    )
    assert retry_delay_seconds(raw) == 12.0


@pytest.mark.parametrize(
    "raw",
    [
        _google_error({"@type": "type.googleapis.com/google.rpc.Help"}),
        _google_error(),
        b"<html>busy</html>",
        b"",
    ],
)
def test_no_retry_info_no_delay(raw: bytes) -> None:
    assert retry_delay_seconds(raw) is None


@pytest.mark.parametrize(("status", "expected"), [(429, True), (503, True), (500, False)])
def test_only_rate_limits_and_overload_are_retried(status: int, expected: bool) -> None:
    assert is_retryable(status) is expected
