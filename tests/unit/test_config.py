"""``load_settings``: PHOTOCHANGER_* variables into one typed, validated ``Settings``."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.deadlines import TimeoutBounds
from domain.errors import InvalidConfiguration
from entrypoints.config import Settings, load_settings

P = "PHOTOCHANGER_"


def test_defaults_when_nothing_is_set() -> None:
    settings = load_settings({})

    assert settings == Settings()
    assert settings.database_url is None
    assert settings.public_base_url is None
    assert settings.ingest_password is None
    assert (settings.data_dir, settings.media_root) == ("./var", None)
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert (settings.run_worker, settings.run_purge) == (True, True)
    assert settings.result_waiter == "shared"
    assert settings.max_upload_bytes == 25 * 1024 * 1024
    assert settings.log_level == "INFO"
    assert settings.timeout_bounds == TimeoutBounds(45.0, 60.0)


def test_only_prefixed_variables_are_read() -> None:
    settings = load_settings({"PORT": "1", "DATABASE_URL": "postgresql://elsewhere", "HOME": "/"})

    assert settings == Settings()


def test_the_process_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{P}PORT", "8123")

    assert load_settings().port == 8123
    assert load_settings({}).port == 8000  # an explicit mapping replaces os.environ


def test_strings_are_coerced_to_the_field_types() -> None:
    settings = load_settings(
        {
            f"{P}PORT": "8001",
            f"{P}RUN_WORKER": "false",
            f"{P}RUN_PURGE": "0",
            f"{P}LEASE_SEC": "2.5",
            f"{P}RESULT_WAITER": "per_request",
            f"{P}DATABASE_URL": "postgresql://db/photochanger",
        }
    )

    assert settings.port == 8001 and type(settings.port) is int
    assert settings.run_worker is False
    assert settings.run_purge is False
    assert settings.lease_sec == 2.5
    assert settings.result_waiter == "per_request"
    assert settings.database_url == "postgresql://db/photochanger"


@pytest.mark.parametrize(("text", "value"), [("false", False), ("False", False), ("true", True)])
def test_booleans_read_as_an_operator_writes_them(text: str, value: bool) -> None:
    assert load_settings({f"{P}RUN_WORKER": text}).run_worker is value


def test_empty_values_count_as_unset() -> None:
    settings = load_settings({f"{P}PORT": "", f"{P}DATABASE_URL": "", f"{P}RUN_WORKER": ""})

    assert (settings.port, settings.database_url, settings.run_worker) == (8000, None, True)


def test_overrides_win_over_the_environment_and_none_means_not_given() -> None:
    settings = load_settings({f"{P}PORT": "8001", f"{P}HOST": "10.1.2.3"}, port=9000, host=None)

    assert (settings.port, settings.host) == (9000, "10.1.2.3")


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("PROT", "1", "unknown variable PHOTOCHANGER_PROT"),
        ("PORT", "abc", "PHOTOCHANGER_PORT"),
        ("PORT", "8.5", "PHOTOCHANGER_PORT"),
        ("RUN_WORKER", "maybe", "PHOTOCHANGER_RUN_WORKER"),
        ("RESULT_WAITER", "bogus", "PHOTOCHANGER_RESULT_WAITER"),
        ("PORT", "0", "PHOTOCHANGER_PORT"),
        ("PORT", "65536", "PHOTOCHANGER_PORT"),
        ("WORKER_CONCURRENCY", "-1", "PHOTOCHANGER_WORKER_CONCURRENCY"),
        ("LEASE_SEC", "0", "PHOTOCHANGER_LEASE_SEC"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(
    variable: str, value: str, fragment: str
) -> None:
    with pytest.raises(InvalidConfiguration) as raised:
        load_settings({f"{P}{variable}": value})

    assert fragment in raised.value.message
    assert "$." not in raised.value.message


def test_media_and_database_directories_default_under_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings({f"{P}DATA_DIR": str(tmp_path / "data")})

    assert settings.data_path == tmp_path / "data"
    assert settings.media_path == tmp_path / "data" / "media"
    assert settings.embedded_pgdata == tmp_path / "data" / "postgres"


def test_relative_and_home_directories_are_resolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))

    assert load_settings({}).data_path == tmp_path / "var"
    assert load_settings({}).media_path.is_absolute()
    assert load_settings({f"{P}DATA_DIR": "~/pc"}).embedded_pgdata == tmp_path / "home/pc/postgres"


def test_an_explicit_media_root_is_used_and_the_database_stays_under_data_dir(
    tmp_path: Path,
) -> None:
    settings = load_settings(
        {f"{P}DATA_DIR": str(tmp_path / "data"), f"{P}MEDIA_ROOT": str(tmp_path / "media")}
    )

    assert settings.media_path == tmp_path / "media"
    assert settings.embedded_pgdata == tmp_path / "data" / "postgres"


def test_timeout_bounds_come_from_the_environment() -> None:
    settings = load_settings({f"{P}SYNC_TIMEOUT_MIN_SEC": "2", f"{P}SYNC_TIMEOUT_MAX_SEC": "3"})

    assert settings.timeout_bounds == TimeoutBounds(2.0, 3.0)
    assert load_settings({f"{P}SYNC_TIMEOUT_MIN_SEC": "60"}).timeout_bounds == TimeoutBounds(
        60.0, 60.0
    )


@pytest.mark.parametrize(("low", "high"), [("70", "60"), ("0", "60"), ("-5", "60")])
def test_impossible_timeout_bounds_are_refused(low: str, high: str) -> None:
    with pytest.raises(InvalidConfiguration, match=f"{P}SYNC_TIMEOUT_MIN_SEC"):
        load_settings({f"{P}SYNC_TIMEOUT_MIN_SEC": low, f"{P}SYNC_TIMEOUT_MAX_SEC": high})


def test_provider_concurrency_maps_each_provider_to_its_limit() -> None:
    assert load_settings({}).provider_concurrency == {
        "local": 64,
        "gemini": 512,
        "turbotext": 64,
        "openai": 15,
    }
    settings = load_settings(
        {
            f"{P}GEMINI_CONCURRENCY": "7",
            f"{P}TURBOTEXT_CONCURRENCY": "1",
            f"{P}OPENAI_CONCURRENCY": "3",
        }
    )
    assert settings.provider_concurrency == {
        "local": 64,
        "gemini": 7,
        "turbotext": 1,
        "openai": 3,
    }


@pytest.mark.parametrize("provider", ["LOCAL", "GEMINI", "TURBOTEXT", "OPENAI"])
def test_a_provider_concurrency_below_one_is_refused_by_name(provider: str) -> None:
    with pytest.raises(InvalidConfiguration, match=f"{P}{provider}_CONCURRENCY"):
        load_settings({f"{P}{provider}_CONCURRENCY": "0"})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LEASE_SEC", "nan"),
        ("PURGE_INTERVAL_SEC", "inf"),
        ("SYNC_TIMEOUT_MAX_SEC", "inf"),
        ("ORPHAN_GRACE_SEC", "-1"),
        ("RETRY_AFTER_SEC", "-1"),
        ("PASSWORD_MAX_FAILURES", "0"),
        ("PER_REQUEST_POLL_INTERVAL_MS", "0"),
        ("LOG_LEVEL", "verbose"),
    ],
)
def test_nonsensical_values_are_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(InvalidConfiguration, match=f"{P}{name}"):
        load_settings({f"{P}{name}": value})


def test_provider_settings_default_to_the_real_services_without_keys() -> None:
    settings = load_settings({})

    assert settings.gemini_base_url == "https://generativelanguage.googleapis.com"
    assert settings.turbotext_base_url == "https://www.turbotext.ru"
    assert settings.openai_base_url == "https://api.openai.com"
    assert (settings.gemini_api_key, settings.turbotext_api_key) == (None, None)
    assert settings.openai_api_key is None
    assert settings.provider_concurrency["openai"] == 15  # every slot at once
    assert settings.turbotext_poll_interval_sec == 2.5
    assert settings.gemini_no_image_attempts == 3


def test_provider_settings_are_read_from_the_environment() -> None:
    settings = load_settings(
        {
            f"{P}GEMINI_API_KEY": "g-key",
            f"{P}GEMINI_BASE_URL": "http://127.0.0.1:9001",
            f"{P}TURBOTEXT_API_KEY": "t-key",
            f"{P}TURBOTEXT_POLL_INTERVAL_SEC": "2",
            f"{P}GEMINI_CONCURRENCY": "1",
        }
    )

    assert (settings.gemini_api_key, settings.turbotext_api_key) == ("g-key", "t-key")
    assert settings.gemini_base_url == "http://127.0.0.1:9001"
    assert settings.turbotext_poll_interval_sec == 2.0
    assert settings.provider_concurrency["gemini"] == 1


@pytest.mark.parametrize(
    "name", ["PUBLIC_BASE_URL", "GEMINI_BASE_URL", "TURBOTEXT_BASE_URL", "OPENAI_BASE_URL"]
)
@pytest.mark.parametrize("value", ["ftp://files.example", "photos.example.com", "https://"])
def test_service_urls_must_be_http_urls(name: str, value: str) -> None:
    with pytest.raises(InvalidConfiguration) as refused:
        load_settings({f"{P}{name}": value})
    assert f"{P}{name}" in refused.value.message


def test_secrets_never_appear_in_the_settings_repr() -> None:
    settings = load_settings(
        {
            f"{P}GEMINI_API_KEY": "AIza-very-secret",
            f"{P}TURBOTEXT_API_KEY": "tt-very-secret",
            f"{P}OPENAI_API_KEY": "sk-very-secret",
            f"{P}INGEST_PASSWORD": "booth-very-secret",
            f"{P}DATABASE_URL": "postgresql://u:db-very-secret@db/x",
            f"{P}PUBLIC_BASE_URL": "https://photos.example.com",
        }
    )

    shown = repr(settings)
    assert "very-secret" not in shown
    assert "gemini_api_key='***'" in shown and "turbotext_api_key='***'" in shown
    assert "openai_api_key='***'" in shown
    assert "https://photos.example.com" in shown  # the rest stays readable
    assert "turbotext_api_key=None" in repr(load_settings({}))


def test_the_idle_claim_poll_follows_the_process_role_unless_set() -> None:
    """``serve`` wakes its lanes for its own ingests, so its poll (for other processes'
    jobs) can be slow; a standalone worker has only the poll."""
    defaults = load_settings({})
    assert defaults.worker_idle_poll_seconds(serves_ingests=True) == 1.0
    assert defaults.worker_idle_poll_seconds(serves_ingests=False) == 0.2
    chosen = load_settings({f"{P}WORKER_POLL_INTERVAL_MS": "300"})
    assert chosen.worker_idle_poll_seconds(serves_ingests=True) == 0.3
    assert chosen.worker_idle_poll_seconds(serves_ingests=False) == 0.3


def test_the_defaults_let_an_events_booths_run_at_once() -> None:
    """SPEC §5: 15 booths shooting together never wait for each other's provider calls; the
    worker holds at least as many jobs as any provider may run."""
    settings = load_settings({})
    assert min(settings.provider_concurrency.values()) >= 15
    assert settings.worker_concurrency >= max(settings.provider_concurrency.values())


def test_the_defaults_answer_a_burst_of_500_photos_on_a_slow_provider() -> None:
    """Issue 10: 500 photos at once on a 30 s Gemini are all admitted and all at the provider
    together (none queued behind a lane limit past the 48 s deadline)."""
    settings = load_settings({})
    assert settings.max_unfinished_jobs >= 500
    assert settings.worker_concurrency >= 500
    assert settings.provider_concurrency["gemini"] >= 500
