"""The one typed settings object, read from ``PHOTOCHANGER_*`` environment variables."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import msgspec

from domain.deadlines import TimeoutBounds
from domain.errors import InvalidConfiguration

PREFIX = "PHOTOCHANGER_"
MB = 1024 * 1024
IDLE_POLL_MS_WITH_INGESTS = 1000
IDLE_POLL_MS_WORKER_ONLY = 200


Positive = Annotated[int, msgspec.Meta(gt=0)]
Seconds = Annotated[float, msgspec.Meta(gt=0, le=10 * 365 * 86_400)]  # also refuses nan, inf
Port = Annotated[int, msgspec.Meta(ge=1, le=65_535)]
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Deployment configuration. Operator-tunable business values (sync timeout, result
    retention, password) live in the database instead, so they change without a restart."""

    database_url: str | None = None
    data_dir: str = "./var"
    media_root: str | None = None
    media_min_free_bytes: Annotated[int, msgspec.Meta(ge=0)] = 100 * MB  # /readyz; 0 = off
    host: str = "127.0.0.1"
    port: Port = 8000
    processes: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1  # serve: API processes on the port
    ingest_password: str | None = None
    public_base_url: str | None = None
    max_upload_bytes: Positive = 25 * MB
    max_form_fields: Positive = 64  # parts of one ingest form, the photo included
    max_form_field_bytes: Positive = 16 * 1024  # one text field of an ingest form
    # Back-pressure. A photo waiting its turn holds no memory (its bytes are on disk), a job
    # at its provider holds ~3 MiB (1 MB photo) to ~10 MiB (4 MB): 512 lets 500 booths'
    # photos all be answered on a 30 s provider, for ~1.6 GiB at that peak.
    max_unfinished_jobs: Positive = 512
    admission_concurrency: Positive = 4
    retry_after_sec: Positive = 5
    run_worker: bool = True
    run_purge: bool = True
    # An event's booths never wait for each other: every job a process holds can be at its
    # provider at once (the provider limits below match), and a lane costs only an idle task.
    worker_concurrency: Positive = 512
    # Idle claim poll; unset = 1000 ms in `serve` (its own ingests wake its lanes at once, the
    # poll only finds other processes' jobs) and 200 ms in `photochanger worker` (only the
    # poll finds its jobs).
    worker_poll_interval_ms: Positive | None = None
    lease_sec: Seconds = 10.0
    result_poll_interval_ms: Positive = 50
    result_waiter: Literal["shared", "per_request"] = "shared"
    per_request_poll_interval_ms: Positive = 1000
    purge_interval_sec: Seconds = 30.0
    orphan_grace_sec: Seconds = 3600.0
    # Calls in flight per process (and the size of each provider's HTTP connection pool).
    # A limit is for an account's rate limit; a 429/503 is retried with backoff anyway.
    local_concurrency: Positive = 64
    gemini_concurrency: Positive = 512
    turbotext_concurrency: Positive = 64
    gemini_base_url: str = "https://generativelanguage.googleapis.com"
    gemini_api_key: str | None = None
    gemini_no_image_attempts: Annotated[int, msgspec.Meta(ge=1, le=10)] = 3
    turbotext_base_url: str = "https://www.turbotext.ru"
    turbotext_api_key: str | None = None
    turbotext_poll_interval_sec: Annotated[float, msgspec.Meta(gt=0, le=60)] = 2.5
    openai_base_url: str = "https://api.openai.com"
    openai_api_key: str | None = None
    openai_concurrency: Positive = 15  # one call per slot: a busy event never queues
    provider_result_max_bytes: Positive = 50 * MB
    sync_timeout_min_sec: Seconds = 45.0
    sync_timeout_max_sec: Seconds = 60.0
    password_max_failures: Positive = 10
    password_failure_window_sec: Seconds = 60.0
    admin_token_ttl_sec: Annotated[float, msgspec.Meta(ge=60, le=30 * 86_400)] = 43_200.0
    admin_cookie_secure: bool = False  # set when operators reach the service over https
    db_pool_size: Positive = 10
    db_connect_timeout_sec: Seconds = 10.0
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object per line
    access_log: bool = True  # one line per HTTP request, in the same format
    metrics: Literal["on", "off"] = "on"  # GET /metrics (Prometheus); off removes the route
    metrics_port: Port | None = None  # `photochanger worker`: /metrics on HOST:this port

    def __repr__(self) -> str:
        """Never shows the password or API keys (settings may end up in a log or traceback)."""
        shown = {
            name: ("***" if name in _SECRETS and getattr(self, name) else getattr(self, name))
            for name in self.__struct_fields__
        }
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    def __post_init__(self) -> None:
        for name in ("public_base_url", "gemini_base_url", "turbotext_base_url", "openai_base_url"):
            _require_http_url(name, getattr(self, name))
        if self.log_level.upper() not in LOG_LEVELS:
            raise InvalidConfiguration(
                f"{PREFIX}LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}"
            )
        if self.sync_timeout_min_sec > self.sync_timeout_max_sec:
            raise InvalidConfiguration(
                f"{PREFIX}SYNC_TIMEOUT_MIN_SEC ({self.sync_timeout_min_sec:g}) is above "
                f"{PREFIX}SYNC_TIMEOUT_MAX_SEC ({self.sync_timeout_max_sec:g})"
            )

    @property
    def timeout_bounds(self) -> TimeoutBounds:
        """Valid by construction: both positive (field constraints), min ≤ max (checked above)."""
        return TimeoutBounds(self.sync_timeout_min_sec, self.sync_timeout_max_sec)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser().resolve()

    @property
    def media_path(self) -> Path:
        return (
            Path(self.media_root).expanduser().resolve()
            if self.media_root
            else (self.data_path / "media")
        )

    @property
    def embedded_pgdata(self) -> Path:
        return self.data_path / "postgres"

    def worker_idle_poll_seconds(self, *, serves_ingests: bool) -> float:
        """The idle claim poll of a process's worker lanes (``worker_poll_interval_ms``, or
        its default for the process's role)."""
        if self.worker_poll_interval_ms is not None:
            return self.worker_poll_interval_ms / 1000
        return (IDLE_POLL_MS_WITH_INGESTS if serves_ingests else IDLE_POLL_MS_WORKER_ONLY) / 1000

    @property
    def provider_concurrency(self) -> dict[str, int]:
        return {
            "local": self.local_concurrency,
            "gemini": self.gemini_concurrency,
            "turbotext": self.turbotext_concurrency,
            "openai": self.openai_concurrency,
        }


_SECRETS = frozenset(
    {"ingest_password", "gemini_api_key", "turbotext_api_key", "openai_api_key", "database_url"}
)


def _require_http_url(name: str, value: str | None) -> None:
    if value is None:
        return
    parsed = urlsplit(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InvalidConfiguration(
            f"{PREFIX}{name.upper()} must be an http(s) URL such as https://photos.example.com, "
            f"got {value!r}"
        )


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Read ``PHOTOCHANGER_*`` variables (empty values count as unset); refuse unknown ones so a
    typo is reported rather than silently ignored."""
    env = os.environ if environ is None else environ
    raw: dict[str, object] = {
        key[len(PREFIX) :].lower(): value
        for key, value in env.items()
        if key.startswith(PREFIX) and value != ""
    }
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidConfiguration(f"bad configuration: {_env_name(str(exc), raw)}") from None


def _env_name(message: str, raw: Mapping[str, object]) -> str:
    """msgspec says ``at `$.port```; operators know the variable as PHOTOCHANGER_PORT, and a
    stray space or quote shows only in the value as given (never a secret's)."""
    if message.startswith("Object contains unknown field `"):
        field = message.split("`")[1]
        close = difflib.get_close_matches(field, Settings.__struct_fields__, n=1)
        hint = f" (did you mean {PREFIX}{close[0].upper()}?)" if close else ""
        return f"unknown variable {PREFIX}{field.upper()}{hint}"
    if "`$." in message:
        head, _, tail = message.partition("`$.")
        field, _, rest = tail.partition("`")
        if field in raw and field not in _SECRETS and not rest:
            return f"{PREFIX}{field.upper()}={raw[field]!r}: {head.removesuffix(' - at ')}"
        return f"{head}{PREFIX}{field.upper()}{rest}"
    return message
