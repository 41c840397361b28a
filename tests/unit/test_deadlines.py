"""SPEC §3: derived TTLs and the four deadline functions, with their exact semantics."""

from __future__ import annotations

import dataclasses
import inspect
import math
from datetime import UTC, datetime, timedelta, timezone, tzinfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from domain.deadlines import (
    PRODUCT_BOUNDS,
    SYNC_TIMEOUT_MAX_SEC,
    SYNC_TIMEOUT_MIN_SEC,
    DeadlineInfo,
    TimeoutBounds,
    calculate_artifact_expiry,
    calculate_deadline_info,
    calculate_job_expires_at,
    calculate_result_expires_at,
    ingest_ttl,
    job_deadline,
    public_link_ttl,
)

T0 = datetime(2026, 11, 3, 12, 0, 0, tzinfo=UTC)
NAIVE = datetime(2026, 11, 3, 12, 0, 0)
PLUS_THREE = timezone(timedelta(hours=3))


class _NoOffset(tzinfo):
    """A tzinfo that is present but gives no offset: still not timezone-aware."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return "none"


NO_OFFSET = datetime(2026, 11, 3, 12, 0, 0, tzinfo=_NoOffset())
NOT_AWARE = [pytest.param(NAIVE, id="naive"), pytest.param(NO_OFFSET, id="tzinfo-without-offset")]

durations = st.floats(min_value=0.001, max_value=10_000.0, allow_nan=False, allow_infinity=False)
utc_datetimes = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


def _exact_floor_ms(delta: timedelta) -> int:
    """floor(delta * 1000) in milliseconds, using integer microseconds only."""
    total_us = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return total_us // 1000


# --- TimeoutBounds -----------------------------------------------------------------------------


def test_product_bounds_are_45_to_60_seconds() -> None:
    assert (SYNC_TIMEOUT_MIN_SEC, SYNC_TIMEOUT_MAX_SEC) == (45.0, 60.0)
    assert (PRODUCT_BOUNDS.low, PRODUCT_BOUNDS.high) == (45.0, 60.0)
    assert TimeoutBounds() == PRODUCT_BOUNDS


@pytest.mark.parametrize(("low", "high"), [(1.0, 3.0), (0.001, 0.001), (45.0, 45.0), (0.5, 1e6)])
def test_timeout_bounds_accepts_positive_ordered_ranges(low: float, high: float) -> None:
    bounds = TimeoutBounds(low, high)
    assert (bounds.low, bounds.high) == (low, high)


@pytest.mark.parametrize(
    ("low", "high"),
    [(0.0, 60.0), (-1.0, 60.0), (60.0, 45.0), (3.0, 2.999), (-5.0, -1.0), (math.nan, 60.0)],
)
def test_timeout_bounds_refuses_empty_or_non_positive_ranges(low: float, high: float) -> None:
    with pytest.raises(ValueError, match="invalid timeout bounds"):
        TimeoutBounds(low, high)


def test_timeout_bounds_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        PRODUCT_BOUNDS.low = 1.0  # type: ignore[misc]


# --- derived TTLs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sync", "expected"),
    [
        (0.5, 45.0),
        (30.0, 45.0),
        (44.9, 45.0),
        (44.999, 45.0),
        (45.0, 45.0),
        (45.1, 45.1),
        (48.0, 48.0),
        (59.9, 59.9),
        (60.0, 60.0),
        (60.1, 60.0),
        (90.0, 60.0),
        (3600.0, 60.0),
    ],
)
def test_public_link_ttl_clamps_sync_timeout_to_45_60(sync: float, expected: float) -> None:
    assert public_link_ttl(sync) == expected


@pytest.mark.parametrize(
    ("sync", "expected"),
    [(30.0, 30.0), (44.9, 44.9), (45.0, 45.0), (48.0, 48.0), (60.0, 60.0), (60.1, 60.0)],
)
def test_ingest_ttl_is_min_of_sync_timeout_and_link_ttl(sync: float, expected: float) -> None:
    assert ingest_ttl(sync) == expected


@pytest.mark.parametrize(
    ("sync", "expected"),
    [(30.0, 45.0), (44.9, 45.0), (45.0, 45.0), (48.0, 48.0), (60.0, 60.0), (60.1, 60.1)],
)
def test_job_deadline_is_max_of_sync_timeout_and_link_ttl(sync: float, expected: float) -> None:
    assert job_deadline(sync) == expected


@pytest.mark.parametrize(
    ("sync", "link", "ingest", "deadline"),
    [
        (0.5, 1.0, 0.5, 1.0),
        (1.0, 1.0, 1.0, 1.0),
        (2.0, 2.0, 2.0, 2.0),
        (3.0, 3.0, 3.0, 3.0),
        (4.0, 3.0, 3.0, 4.0),
        (48.0, 3.0, 3.0, 48.0),
    ],
)
def test_derived_ttls_use_custom_bounds(
    sync: float, link: float, ingest: float, deadline: float
) -> None:
    bounds = TimeoutBounds(1.0, 3.0)
    assert public_link_ttl(sync, bounds) == link
    assert ingest_ttl(sync, bounds) == ingest
    assert job_deadline(sync, bounds) == deadline


@given(sync=durations)
def test_derived_ttl_invariants(sync: float) -> None:
    link = public_link_ttl(sync)
    ingest = ingest_ttl(sync)
    deadline = job_deadline(sync)
    assert 45.0 <= link <= 60.0
    assert ingest <= sync and ingest <= link
    assert ingest in (sync, link)
    assert deadline >= sync and deadline >= link
    assert deadline in (sync, link)
    assert ingest <= deadline
    # min + max of the same two numbers is their sum
    assert ingest + deadline == sync + link


@given(sync=st.floats(min_value=45.0, max_value=60.0))
def test_derived_ttls_all_equal_sync_timeout_inside_product_range(sync: float) -> None:
    assert public_link_ttl(sync) == ingest_ttl(sync) == job_deadline(sync) == sync


@given(
    a=st.floats(min_value=0.001, max_value=1000.0),
    b=st.floats(min_value=0.001, max_value=1000.0),
    sync=durations,
)
def test_link_ttl_stays_inside_any_custom_bounds(a: float, b: float, sync: float) -> None:
    bounds = TimeoutBounds(min(a, b), max(a, b))
    link = public_link_ttl(sync, bounds)
    assert bounds.low <= link <= bounds.high
    if bounds.low <= sync <= bounds.high:
        assert link == sync
    assert job_deadline(sync, bounds) == max(sync, link)
    assert ingest_ttl(sync, bounds) == min(sync, link)


# --- signatures: the domain provides exactly the SPEC functions --------------------------------


@pytest.mark.parametrize(
    ("function", "parameters"),
    [
        (calculate_job_expires_at, ["created_at", "sync_timeout", "public_link_ttl"]),
        (calculate_deadline_info, ["expires_at", "now"]),
        (calculate_artifact_expiry, ["created_at", "job_expires_at", "limit_seconds"]),
        (calculate_result_expires_at, ["finalized_at", "result_retention"]),
    ],
)
def test_spec_function_signatures(function: object, parameters: list[str]) -> None:
    assert list(inspect.signature(function).parameters) == parameters  # type: ignore[arg-type]


def test_deadline_info_now_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        calculate_deadline_info(T0, T0)  # type: ignore[call-arg]


# --- calculate_job_expires_at ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sync", "link", "expected"),
    [
        (48.0, 48.0, timedelta(seconds=48)),
        (30.0, 45.0, timedelta(seconds=45)),
        (90.0, 60.0, timedelta(seconds=90)),
        (45.0, 60.0, timedelta(seconds=60)),
        (60.0, 45.0, timedelta(seconds=60)),
        (1.5, 1.0, timedelta(milliseconds=1500)),
        (0.25, 0.75, timedelta(milliseconds=750)),
    ],
)
def test_job_expires_at_is_created_plus_max(sync: float, link: float, expected: timedelta) -> None:
    assert calculate_job_expires_at(T0, sync, link) == T0 + expected


def test_job_expires_at_uses_the_derived_deadline() -> None:
    sync = 30.0
    expires_at = calculate_job_expires_at(T0, sync, public_link_ttl(sync))
    assert expires_at == T0 + timedelta(seconds=job_deadline(sync)) == T0 + timedelta(seconds=45)


def test_job_expires_at_keeps_the_callers_timezone() -> None:
    created_at = T0.astimezone(PLUS_THREE)
    expires_at = calculate_job_expires_at(created_at, 48.0, 48.0)
    assert expires_at.utcoffset() == timedelta(hours=3)
    assert expires_at == T0 + timedelta(seconds=48)


@pytest.mark.parametrize("created_at", NOT_AWARE)
def test_job_expires_at_refuses_naive_created_at(created_at: datetime) -> None:
    with pytest.raises(ValueError, match="created_at must be timezone-aware"):
        calculate_job_expires_at(created_at, 48.0, 48.0)


@given(created_at=utc_datetimes, sync=durations, link=durations)
def test_job_expires_at_property(created_at: datetime, sync: float, link: float) -> None:
    expires_at = calculate_job_expires_at(created_at, sync, link)
    assert expires_at - created_at == timedelta(seconds=max(sync, link))
    assert expires_at - created_at >= timedelta(seconds=sync)
    assert expires_at - created_at >= timedelta(seconds=link)


@given(created_at=utc_datetimes, sync=durations)
def test_job_deadline_covers_sync_timeout_and_link_ttl(created_at: datetime, sync: float) -> None:
    link = public_link_ttl(sync)
    expires_at = calculate_job_expires_at(created_at, sync, link)
    assert expires_at - created_at == timedelta(seconds=job_deadline(sync))
    assert expires_at >= created_at + timedelta(seconds=sync)
    assert expires_at >= created_at + timedelta(seconds=link)


# --- calculate_deadline_info -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("remaining", "expected_ms", "expired"),
    [
        (timedelta(seconds=48), 48_000, False),
        (timedelta(milliseconds=1500), 1500, False),
        (timedelta(microseconds=1500), 1, False),
        (timedelta(milliseconds=1), 1, False),
        (timedelta(microseconds=999), 0, False),
        (timedelta(microseconds=500), 0, False),
        (timedelta(microseconds=1), 0, False),
        (timedelta(0), 0, True),
        (timedelta(microseconds=-1), -1, True),
        (timedelta(microseconds=-500), -1, True),
        (timedelta(microseconds=-999), -1, True),
        (timedelta(milliseconds=-1), -1, True),
        (timedelta(microseconds=-1001), -2, True),
        (timedelta(microseconds=-1999), -2, True),
        (timedelta(seconds=-2.5), -2500, True),
        (timedelta(days=-1, microseconds=-1), -86_400_001, True),
        (timedelta(days=2, microseconds=1), 172_800_000, False),
    ],
)
def test_deadline_info_floors_remaining_milliseconds(
    remaining: timedelta, expected_ms: int, expired: bool
) -> None:
    expires_at = T0 + timedelta(seconds=48)
    info = calculate_deadline_info(expires_at, now=expires_at - remaining)
    assert info.remaining_ms == expected_ms
    assert type(info.remaining_ms) is int
    assert info.is_expired is expired
    assert info.expires_at == expires_at


def test_half_a_millisecond_either_side_of_the_deadline() -> None:
    expires_at = T0 + timedelta(seconds=48)
    before = calculate_deadline_info(expires_at, now=expires_at - timedelta(microseconds=500))
    after = calculate_deadline_info(expires_at, now=expires_at + timedelta(microseconds=500))
    assert (before.remaining_ms, before.is_expired) == (0, False)
    assert (after.remaining_ms, after.is_expired) == (-1, True)


def test_deadline_is_expired_exactly_at_expires_at() -> None:
    info = calculate_deadline_info(T0, now=T0)
    assert info == DeadlineInfo(expires_at=T0, remaining_ms=0, is_expired=True)
    assert info.remaining_seconds == 0.0


def test_deadline_info_is_exact_where_float_seconds_would_round() -> None:
    # (expires_at - now).total_seconds() * 1000 rounds up to a whole number of ms here.
    now = datetime(2000, 1, 1, tzinfo=UTC)
    delta = timedelta(days=999_999, microseconds=-1)
    info = calculate_deadline_info(now + delta, now=now)
    assert info.remaining_ms == 86_399_913_599_999
    assert info.is_expired is False


def test_deadline_info_compares_instants_across_timezones() -> None:
    expires_at = T0 + timedelta(seconds=10)
    now_elsewhere = T0.astimezone(PLUS_THREE)
    info = calculate_deadline_info(expires_at, now=now_elsewhere)
    assert info.remaining_ms == 10_000
    assert not info.is_expired
    same_instant = calculate_deadline_info(expires_at.astimezone(PLUS_THREE), now=expires_at)
    assert same_instant.remaining_ms == 0
    assert same_instant.is_expired


@pytest.mark.parametrize(
    ("remaining_ms", "seconds"),
    [(48_000, 48.0), (1500, 1.5), (1, 0.001), (0, 0.0), (-1, 0.0), (-86_400_000, 0.0)],
)
def test_remaining_seconds_is_never_negative(remaining_ms: int, seconds: float) -> None:
    info = DeadlineInfo(expires_at=T0, remaining_ms=remaining_ms, is_expired=remaining_ms <= 0)
    assert info.remaining_seconds == seconds


def test_deadline_info_is_immutable() -> None:
    info = calculate_deadline_info(T0, now=T0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.remaining_ms = 5  # type: ignore[misc]


@pytest.mark.parametrize("naive", NOT_AWARE)
def test_deadline_info_refuses_naive_expires_at(naive: datetime) -> None:
    with pytest.raises(ValueError, match="expires_at must be timezone-aware"):
        calculate_deadline_info(naive, now=T0)


@pytest.mark.parametrize("naive", NOT_AWARE)
def test_deadline_info_refuses_naive_now(naive: datetime) -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        calculate_deadline_info(T0, now=naive)


@given(expires_at=utc_datetimes, now=utc_datetimes)
@example(expires_at=T0, now=T0)
@example(expires_at=T0, now=T0 - timedelta(microseconds=500))
@example(expires_at=T0, now=T0 + timedelta(microseconds=500))
def test_remaining_ms_is_the_exact_integer_floor(expires_at: datetime, now: datetime) -> None:
    info = calculate_deadline_info(expires_at, now=now)
    total_us = (expires_at - now) // timedelta(microseconds=1)
    assert info.remaining_ms == _exact_floor_ms(expires_at - now) == total_us // 1000
    assert info.remaining_ms * 1000 <= total_us < (info.remaining_ms + 1) * 1000
    assert info.is_expired is (now >= expires_at) is (total_us <= 0)
    if info.remaining_ms < 0:
        assert info.is_expired
    if info.is_expired:
        assert info.remaining_ms <= 0
    assert info.remaining_seconds == max(info.remaining_ms, 0) / 1000


@given(
    expires_at=utc_datetimes,
    now=utc_datetimes,
    later=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=1)),
)
def test_remaining_ms_never_grows_as_time_passes(
    expires_at: datetime, now: datetime, later: timedelta
) -> None:
    first = calculate_deadline_info(expires_at, now=now)
    second = calculate_deadline_info(expires_at, now=now + later)
    assert second.remaining_ms <= first.remaining_ms
    assert second.is_expired or not first.is_expired


# --- calculate_artifact_expiry -----------------------------------------------------------------


def test_artifact_expiry_is_the_limit_when_it_ends_first() -> None:
    job_expires_at = T0 + timedelta(seconds=48)
    assert calculate_artifact_expiry(T0, job_expires_at, 45.0) == T0 + timedelta(seconds=45)


def test_artifact_expiry_is_the_job_deadline_when_it_ends_first() -> None:
    job_expires_at = T0 + timedelta(seconds=48)
    assert calculate_artifact_expiry(T0, job_expires_at, 60.0) == job_expires_at


def test_artifact_expiry_when_both_end_together() -> None:
    job_expires_at = T0 + timedelta(seconds=48)
    assert calculate_artifact_expiry(T0, job_expires_at, 48.0) == job_expires_at


def test_artifact_created_late_never_outlives_its_job() -> None:
    job_expires_at = T0 + timedelta(seconds=48)
    created_late = T0 + timedelta(seconds=10)
    assert calculate_artifact_expiry(created_late, job_expires_at, 45.0) == job_expires_at
    created_after_deadline = T0 + timedelta(seconds=50)
    assert calculate_artifact_expiry(created_after_deadline, job_expires_at, 45.0) == (
        job_expires_at
    )


def test_artifact_expiry_with_fractional_limit() -> None:
    job_expires_at = T0 + timedelta(seconds=48)
    assert calculate_artifact_expiry(T0, job_expires_at, 0.25) == T0 + timedelta(milliseconds=250)


def test_artifact_expiry_compares_instants_across_timezones() -> None:
    job_expires_at = (T0 + timedelta(seconds=48)).astimezone(PLUS_THREE)
    assert calculate_artifact_expiry(T0, job_expires_at, 45.0) == T0 + timedelta(seconds=45)
    assert calculate_artifact_expiry(T0, job_expires_at, 50.0) == T0 + timedelta(seconds=48)


@pytest.mark.parametrize("naive", NOT_AWARE)
def test_artifact_expiry_refuses_naive_created_at(naive: datetime) -> None:
    with pytest.raises(ValueError, match="created_at must be timezone-aware"):
        calculate_artifact_expiry(naive, T0, 45.0)


@pytest.mark.parametrize("naive", NOT_AWARE)
def test_artifact_expiry_refuses_naive_job_expires_at(naive: datetime) -> None:
    with pytest.raises(ValueError, match="job_expires_at must be timezone-aware"):
        calculate_artifact_expiry(T0, naive, 45.0)


@given(
    created_at=utc_datetimes,
    job_expires_at=utc_datetimes,
    limit=durations,
)
def test_artifact_expiry_is_the_min_and_never_after_the_job(
    created_at: datetime, job_expires_at: datetime, limit: float
) -> None:
    expiry = calculate_artifact_expiry(created_at, job_expires_at, limit)
    by_limit = created_at + timedelta(seconds=limit)
    assert expiry <= job_expires_at
    assert expiry <= by_limit
    assert expiry == min(job_expires_at, by_limit)


@given(created_at=utc_datetimes, sync=durations)
def test_payload_and_link_expiry_fit_inside_a_fresh_job(created_at: datetime, sync: float) -> None:
    link = public_link_ttl(sync)
    job_expires_at = calculate_job_expires_at(created_at, sync, link)
    payload = calculate_artifact_expiry(created_at, job_expires_at, ingest_ttl(sync))
    public = calculate_artifact_expiry(created_at, job_expires_at, link)
    assert created_at < payload <= public <= job_expires_at
    assert payload == created_at + timedelta(seconds=ingest_ttl(sync))
    assert public == created_at + timedelta(seconds=link)


# --- calculate_result_expires_at ---------------------------------------------------------------


def test_result_expires_after_default_retention() -> None:
    assert calculate_result_expires_at(T0, 259_200.0) == T0 + timedelta(hours=72)


@pytest.mark.parametrize(
    ("retention", "expected"),
    [(60.0, timedelta(minutes=1)), (0.5, timedelta(milliseconds=500)), (0.0, timedelta(0))],
)
def test_result_expires_at_is_finalized_plus_retention(
    retention: float, expected: timedelta
) -> None:
    assert calculate_result_expires_at(T0, retention) == T0 + expected


def test_result_expiry_is_independent_of_the_job_deadline() -> None:
    job_expires_at = calculate_job_expires_at(T0, 48.0, 48.0)
    finalized_at = T0 + timedelta(seconds=47)
    result_expires_at = calculate_result_expires_at(finalized_at, 259_200.0)
    assert result_expires_at == finalized_at + timedelta(seconds=259_200)
    assert result_expires_at > job_expires_at


def test_result_expires_at_keeps_the_callers_timezone() -> None:
    finalized_at = T0.astimezone(PLUS_THREE)
    result_expires_at = calculate_result_expires_at(finalized_at, 60.0)
    assert result_expires_at.utcoffset() == timedelta(hours=3)
    assert result_expires_at == T0 + timedelta(minutes=1)


@pytest.mark.parametrize("naive", NOT_AWARE)
def test_result_expires_at_refuses_naive_finalized_at(naive: datetime) -> None:
    with pytest.raises(ValueError, match="finalized_at must be timezone-aware"):
        calculate_result_expires_at(naive, 60.0)


@given(finalized_at=utc_datetimes, retention=st.floats(min_value=0.0, max_value=30 * 86_400.0))
def test_result_expires_at_property(finalized_at: datetime, retention: float) -> None:
    assert calculate_result_expires_at(finalized_at, retention) - finalized_at == timedelta(
        seconds=retention
    )
