"""SPEC §2 app settings: defaults, allowed ranges and the TTLs derived from them."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.deadlines import PRODUCT_BOUNDS, TimeoutBounds, ingest_ttl, job_deadline
from domain.deadlines import public_link_ttl as module_public_link_ttl
from domain.errors import InvalidConfiguration
from domain.settings import (
    DEFAULT_RESULT_RETENTION_SEC,
    DEFAULT_SYNC_TIMEOUT_SEC,
    MAX_RESULT_RETENTION_SEC,
    MIN_RESULT_RETENTION_SEC,
    PASSWORD_HASH_KEY,
    RESULT_RETENTION_KEY,
    SYNC_TIMEOUT_KEY,
    AppSettings,
    validate_result_retention,
    validate_sync_timeout,
)

DEMO_BOUNDS = TimeoutBounds(2.0, 5.0)


def test_setting_keys_match_the_spec() -> None:
    assert SYNC_TIMEOUT_KEY == "ingest.sync_response_timeout_sec"
    assert PASSWORD_HASH_KEY == "ingest.password_hash"
    assert RESULT_RETENTION_KEY == "media.result_retention_sec"


def test_defaults_are_48_seconds_and_72_hours() -> None:
    settings = AppSettings()
    assert settings.sync_timeout_sec == DEFAULT_SYNC_TIMEOUT_SEC == 48.0
    assert settings.result_retention_sec == DEFAULT_RESULT_RETENTION_SEC == 259_200.0 == 72 * 3600


def test_defaults_are_valid_and_validated_returns_the_same_object() -> None:
    settings = AppSettings()
    assert settings.validated() is settings


def test_app_settings_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        AppSettings().sync_timeout_sec = 50.0  # type: ignore[misc]


# --- sync timeout ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [45.0, 45, 45.1, 48.0, 52.5, 59.9, 60.0, 60])
def test_sync_timeout_from_45_to_60_is_allowed(value: float) -> None:
    assert validate_sync_timeout(value) == value
    assert AppSettings(sync_timeout_sec=value).validated().sync_timeout_sec == value


@pytest.mark.parametrize(
    "value", [44.9, 44.999, 60.1, 60.001, 0.0, -48.0, 30.0, 1000.0, math.inf, -math.inf, math.nan]
)
def test_sync_timeout_outside_45_to_60_is_refused(value: float) -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        validate_sync_timeout(value)
    error = caught.value
    assert error.code == "invalid_configuration"
    assert error.details == {"field": SYNC_TIMEOUT_KEY, "min": 45.0, "max": 60.0}
    assert "between 45 and 60 seconds" in error.message
    with pytest.raises(InvalidConfiguration):
        AppSettings(sync_timeout_sec=value).validated()


@pytest.mark.parametrize(
    ("value", "allowed"), [(1.9, False), (2.0, True), (5.0, True), (5.1, False)]
)
def test_sync_timeout_range_follows_custom_bounds(value: float, allowed: bool) -> None:
    settings = AppSettings(sync_timeout_sec=value)
    if allowed:
        assert validate_sync_timeout(value, DEMO_BOUNDS) == value
        assert settings.validated(DEMO_BOUNDS) is settings
    else:
        with pytest.raises(InvalidConfiguration) as caught:
            settings.validated(DEMO_BOUNDS)
        assert caught.value.details["min"] == 2.0
        assert caught.value.details["max"] == 5.0
        assert "between 2 and 5 seconds" in caught.value.message


def test_demo_values_are_refused_under_product_bounds_and_vice_versa() -> None:
    with pytest.raises(InvalidConfiguration):
        AppSettings(sync_timeout_sec=3.0).validated()
    with pytest.raises(InvalidConfiguration):
        AppSettings(sync_timeout_sec=48.0).validated(DEMO_BOUNDS)
    assert AppSettings(sync_timeout_sec=3.0).validated(DEMO_BOUNDS).sync_timeout_sec == 3.0


@given(value=st.floats(allow_nan=True, allow_infinity=True))
def test_sync_timeout_is_allowed_exactly_inside_the_product_range(value: float) -> None:
    inside = 45.0 <= value <= 60.0
    try:
        validate_sync_timeout(value, PRODUCT_BOUNDS)
    except InvalidConfiguration:
        assert not inside
    else:
        assert inside


# --- result retention --------------------------------------------------------------------------


def test_result_retention_range() -> None:
    assert MIN_RESULT_RETENTION_SEC == 60.0
    assert MAX_RESULT_RETENTION_SEC == 30 * 86_400.0
    assert MIN_RESULT_RETENTION_SEC <= DEFAULT_RESULT_RETENTION_SEC <= MAX_RESULT_RETENTION_SEC


@pytest.mark.parametrize("value", [60.0, 3600.0, 259_200.0, 30 * 86_400.0])
def test_result_retention_in_range_is_allowed(value: float) -> None:
    assert validate_result_retention(value) == value
    assert AppSettings(result_retention_sec=value).validated().result_retention_sec == value


@pytest.mark.parametrize(
    "value", [59.9, 0.0, -1.0, -259_200.0, 30 * 86_400.0 + 1, math.inf, math.nan]
)
def test_result_retention_out_of_range_is_refused(value: float) -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        validate_result_retention(value)
    assert caught.value.details == {"field": RESULT_RETENTION_KEY}
    assert "result retention" in caught.value.message
    with pytest.raises(InvalidConfiguration) as again:
        AppSettings(result_retention_sec=value).validated()
    assert again.value.details["field"] == RESULT_RETENTION_KEY


def test_retention_is_checked_independently_of_the_timeout_bounds() -> None:
    settings = AppSettings(sync_timeout_sec=3.0, result_retention_sec=10.0)
    with pytest.raises(InvalidConfiguration) as caught:
        settings.validated(DEMO_BOUNDS)
    assert caught.value.details["field"] == RESULT_RETENTION_KEY


def test_each_invalid_value_is_reported() -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        AppSettings(sync_timeout_sec=30.0, result_retention_sec=259_200.0).validated()
    assert caught.value.details["field"] == SYNC_TIMEOUT_KEY
    with pytest.raises(InvalidConfiguration) as caught:
        AppSettings(sync_timeout_sec=48.0, result_retention_sec=1.0).validated()
    assert caught.value.details["field"] == RESULT_RETENTION_KEY


# --- derived TTLs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sync", "link", "ingest", "deadline"),
    [
        (45.0, 45.0, 45.0, 45.0),
        (48.0, 48.0, 48.0, 48.0),
        (60.0, 60.0, 60.0, 60.0),
        # out-of-range values are refused by validated(), but the formulas still hold
        (30.0, 45.0, 30.0, 45.0),
        (90.0, 60.0, 60.0, 90.0),
    ],
)
def test_derived_ttls_with_product_bounds(
    sync: float, link: float, ingest: float, deadline: float
) -> None:
    settings = AppSettings(sync_timeout_sec=sync)
    assert settings.public_link_ttl() == link
    assert settings.ingest_ttl() == ingest
    assert settings.job_deadline() == deadline


@pytest.mark.parametrize(
    ("sync", "link", "ingest", "deadline"),
    [
        (1.0, 2.0, 1.0, 2.0),
        (2.0, 2.0, 2.0, 2.0),
        (3.5, 3.5, 3.5, 3.5),
        (5.0, 5.0, 5.0, 5.0),
        (6.0, 5.0, 5.0, 6.0),
        (48.0, 5.0, 5.0, 48.0),
    ],
)
def test_derived_ttls_with_custom_bounds(
    sync: float, link: float, ingest: float, deadline: float
) -> None:
    settings = AppSettings(sync_timeout_sec=sync)
    assert settings.public_link_ttl(DEMO_BOUNDS) == link
    assert settings.ingest_ttl(DEMO_BOUNDS) == ingest
    assert settings.job_deadline(DEMO_BOUNDS) == deadline


@given(
    sync=st.floats(min_value=0.001, max_value=10_000.0),
    a=st.floats(min_value=0.001, max_value=1000.0),
    b=st.floats(min_value=0.001, max_value=1000.0),
)
def test_derived_ttls_delegate_to_the_deadline_functions(sync: float, a: float, b: float) -> None:
    settings = AppSettings(sync_timeout_sec=sync)
    for bounds in (PRODUCT_BOUNDS, TimeoutBounds(min(a, b), max(a, b))):
        assert settings.public_link_ttl(bounds) == module_public_link_ttl(sync, bounds)
        assert settings.ingest_ttl(bounds) == ingest_ttl(sync, bounds)
        assert settings.job_deadline(bounds) == job_deadline(sync, bounds)


def test_retention_does_not_influence_the_deadline() -> None:
    short = AppSettings(result_retention_sec=60.0)
    long = AppSettings(result_retention_sec=30 * 86_400.0)
    assert short.job_deadline() == long.job_deadline() == 48.0
    assert short.ingest_ttl() == long.ingest_ttl()
    assert short.public_link_ttl() == long.public_link_ttl()
