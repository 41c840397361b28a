"""The ``photochanger`` command line: help, migrate, slots, settings, password, configuration.

Most tests drive ``entrypoints.cli.main`` in-process through click's ``CliRunner`` against a
fresh database per test; two run the installed ``photochanger`` script as a real subprocess.
Every refusal must exit non-zero with one clear line naming the problem, never a traceback,
and must leave the database untouched.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import psycopg
import pytest
from click.testing import CliRunner, Result
from PIL import Image
from psycopg.rows import dict_row

from adapters.postgres.migrate import packaged_migrations
from adapters.security.password import ScryptPasswordHasher
from entrypoints.cli import main

PREFIX = "PHOTOCHANGER_"
SLOT_IDS = [f"slot-{n:03d}" for n in range(1, 16)]
MISSING_TEMPLATE = "00000000-0000-4000-8000-000000000001"


class Invoke(Protocol):
    def __call__(
        self, *args: str, stdin: str | None = None, env: Mapping[str, str] | None = None
    ) -> Result: ...


@pytest.fixture(autouse=True)
def _no_ambient_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """PHOTOCHANGER_* variables of the shell running the tests must not leak in."""
    for key in list(os.environ):
        if key.startswith(PREFIX):
            monkeypatch.delenv(key)


def _invoker(database_url: str | None, data_dir: Path) -> Invoke:
    base = {f"{PREFIX}DATA_DIR": str(data_dir)}
    if database_url is not None:
        base[f"{PREFIX}DATABASE_URL"] = database_url

    def invoke(
        *args: str, stdin: str | None = None, env: Mapping[str, str] | None = None
    ) -> Result:
        # A new runner (and so a new click context object) per call: settings are re-read.
        return CliRunner().invoke(main, list(args), input=stdin, env={**base, **(env or {})})

    return invoke


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Invoke:
    """The CLI on this test's fresh, migrated database."""
    return _invoker(database_url, tmp_path)


@pytest.fixture
def offline_cli(tmp_path: Path) -> Invoke:
    """The CLI with no database configured, for commands that must never reach one."""
    return _invoker(None, tmp_path)


def ok(result: Result) -> str:
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}"
    assert result.exception is None, repr(result.exception)
    return result.stdout


def refused(result: Result, *fragments: str, usage: bool = False) -> str:
    """Assert a clean refusal: non-zero exit, handled by click (no traceback), nothing on
    stdout, and an error line containing every fragment. Returns stderr."""
    assert result.exit_code != 0, f"accepted: {result.output}"
    # An unhandled exception is stored as is; click's own errors end as SystemExit.
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.stdout == ""
    if usage:
        assert result.exit_code == 2  # click's usage-error status
    stderr = result.stderr
    assert "Error: " in stderr
    for fragment in fragments:
        assert fragment in stderr, f"{fragment!r} not in {stderr!r}"
    return stderr


def slot_json(cli: Invoke, slot_id: str) -> dict[str, Any]:
    shown: dict[str, Any] = json.loads(ok(cli("slots", "show", slot_id)))
    return shown


def query(url: str, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description is not None else []


def slot_row(url: str, slot_id: str) -> dict[str, Any]:
    (row,) = query(url, "SELECT * FROM slot WHERE id = %(id)s", {"id": slot_id})
    return row


def app_settings(url: str) -> dict[str, Any]:
    return {r["key"]: r for r in query(url, "SELECT * FROM app_settings")}


# --- help ---------------------------------------------------------------------------------

HELP_CASES: dict[tuple[str, ...], tuple[str, ...]] = {
    (): (
        "serve",
        "worker",
        "purge",
        "migrate",
        "slots",
        "settings",
        "password",
        "templates",
        "--help",
    ),
    ("serve",): ("--host", "--port", "--no-worker", "--no-purge", "PHOTOCHANGER_PORT"),
    ("worker",): ("SIGTERM", "--help"),
    ("purge",): ("--once", "cron"),
    ("migrate",): ("Apply database migrations", "--help"),
    ("slots",): ("list", "show", "set"),
    ("slots", "list"): ("One line per slot", "--help"),
    ("slots", "show"): ("SLOT", "JSON"),
    ("slots", "set"): ("SLOT", "--provider", "--operation", "--settings", "--name", "--active"),
    ("settings",): ("show", "set"),
    ("settings", "show"): ("deadlines", "--help"),
    ("settings", "set"): ("--sync-timeout", "--result-retention", "45..60"),
    ("password",): ("set",),
    ("password", "set"): ("stdin", "scrypt", "--help"),
    ("templates",): ("add", "list", "remove"),
    ("templates", "add"): ("FILE", "--label", "--uploaded-by"),
    ("templates", "list"): ("One line per template", "--help"),
    ("templates", "remove"): ("ID", "--force"),
}


@pytest.mark.parametrize(
    ("command", "mentions"), list(HELP_CASES.items()), ids=lambda v: " ".join(v) or "main"
)
def test_help_works_on_every_command_and_mentions_its_options(
    offline_cli: Invoke, command: tuple[str, ...], mentions: tuple[str, ...]
) -> None:
    out = ok(offline_cli(*command, "--help"))

    assert out.startswith(f"Usage: {' '.join(('main', *command))} ")
    for word in mentions:
        assert word in out, f"{word!r} missing from the help of {command}"


def test_short_help_option_and_the_inactive_flag_are_documented(offline_cli: Invoke) -> None:
    out = ok(offline_cli("slots", "set", "-h"))

    assert "--active / --inactive" in out


# --- migrate and slots --------------------------------------------------------------------


def test_migrate_creates_the_schema_once_and_then_changes_nothing(
    empty_database_url: str, tmp_path: Path
) -> None:
    cli = _invoker(empty_database_url, tmp_path)
    tables = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    assert query(empty_database_url, tables) == []

    assert ok(cli("migrate")) == "database schema is up to date\n"

    names = {r["tablename"] for r in query(empty_database_url, tables)}
    assert {"slot", "job", "app_settings", "media_object", "template_media"} <= names
    ledger = query(empty_database_url, "SELECT * FROM schema_migration ORDER BY version")
    assert [r["version"] for r in ledger] == [m.version for m in packaged_migrations()]

    lines = ok(cli("slots", "list")).splitlines()
    assert [line.split()[0] for line in lines] == SLOT_IDS
    assert lines[0].split()[:3] == ["slot-001", "active", "local/grayscale"]
    assert lines[0].endswith("Slot 1")
    assert all(line.split()[1] == "inactive" for line in lines[1:])

    query(empty_database_url, "UPDATE slot SET name = 'Kept' WHERE id = 'slot-002'")
    assert ok(cli("migrate")) == "database schema is up to date\n"

    assert query(empty_database_url, "SELECT * FROM schema_migration ORDER BY version") == ledger
    assert slot_row(empty_database_url, "slot-002")["name"] == "Kept"


def test_slots_show_prints_the_slot_as_json(cli: Invoke) -> None:
    shown = slot_json(cli, "slot-001")

    updated_at = datetime.fromisoformat(shown.pop("updated_at"))
    assert updated_at.utcoffset() == timedelta(0)
    assert shown == {
        "id": "slot-001",
        "name": "Slot 1",
        "provider": "local",
        "operation": "grayscale",
        "settings": {},
        "is_active": True,
    }


@pytest.mark.parametrize(
    "command",
    [("slots", "show", "slot-099"), ("slots", "set", "slot-099", "--name", "Ghost")],
    ids=["show", "set"],
)
def test_an_unknown_slot_is_refused_by_name(cli: Invoke, command: tuple[str, ...]) -> None:
    refused(cli(*command), "'slot-099'")


def test_slots_set_changes_persist_and_leave_the_rest_alone(cli: Invoke, database_url: str) -> None:
    before = slot_json(cli, "slot-002")
    untouched = slot_row(database_url, "slot-003")

    echoed = json.loads(ok(cli("slots", "set", "slot-002", "--operation", "sepia", "--active")))
    shown = slot_json(cli, "slot-002")
    assert echoed == shown
    assert (shown["operation"], shown["is_active"], shown["name"]) == ("sepia", True, "Slot 2")
    assert datetime.fromisoformat(shown["updated_at"]) > datetime.fromisoformat(
        before["updated_at"]
    )

    ok(cli("slots", "set", "slot-002", "--name", "Sepia booth"))
    ok(cli("slots", "set", "slot-002", "--settings", '{"delay_ms": 100}'))
    shown = slot_json(cli, "slot-002")
    assert shown["name"] == "Sepia booth"
    assert shown["settings"] == {"delay_ms": 100}
    assert (shown["provider"], shown["operation"], shown["is_active"]) == ("local", "sepia", True)

    ok(cli("slots", "set", "slot-002", "--inactive"))
    shown = slot_json(cli, "slot-002")
    assert shown["is_active"] is False
    assert (shown["name"], shown["operation"], shown["settings"]) == (
        "Sepia booth",
        "sepia",
        {"delay_ms": 100},
    )
    assert slot_row(database_url, "slot-003") == untouched


REFUSALS: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool]] = {
    # id: (arguments after ``slots set slot-002``, fragments of the error, usage error?)
    "unknown provider": (("--provider", "nope"), ("unknown provider 'nope'", "local"), False),
    "unknown operation": (("--operation", "blur"), ("operation 'blur'", "sepia"), False),
    "bad json": (("--settings", "{bad"), ("--settings", "not valid JSON"), True),
    "non-object json": (("--settings", "[1, 2]"), ("--settings", "JSON object"), True),
    "unknown settings key": (("--settings", '{"foo": 1}'), ("'foo'", "delay_ms"), False),
    "delay_ms too large": (("--settings", '{"delay_ms": 120001}'), ("'delay_ms'",), False),
    "delay_ms negative": (("--settings", '{"delay_ms": -1}'), ("'delay_ms'",), False),
    "delay_ms not an integer": (("--settings", '{"delay_ms": "100"}'), ("'delay_ms'",), False),
    "empty name": (("--name", "  "), ("name",), False),
    "overlay without template": (
        ("--operation", "overlay", "--active"),
        ("overlay_template_id",),
        False,
    ),
    "overlay with missing template": (
        (
            "--operation",
            "overlay",
            "--settings",
            json.dumps({"overlay_template_id": MISSING_TEMPLATE}),
        ),
        ("overlay_template_id", MISSING_TEMPLATE, "does not exist"),
        False,
    ),
    "turbotext without public url": (
        (
            *("--provider", "turbotext", "--operation", "image_edit"),
            *("--settings", '{"prompt": "watercolour"}', "--active"),
        ),
        ("PHOTOCHANGER_PUBLIC_BASE_URL",),
        False,
    ),
    "gemini without api key": (
        (
            *("--provider", "gemini", "--operation", "image_edit"),
            *("--settings", '{"prompt": "watercolour"}', "--active"),
        ),
        ("PHOTOCHANGER_GEMINI_API_KEY",),
        False,
    ),
    "openai without api key": (
        (
            *("--provider", "openai", "--operation", "image_edit"),
            *("--settings", '{"prompt": "watercolour"}', "--active"),
        ),
        ("PHOTOCHANGER_OPENAI_API_KEY",),
        False,
    ),
    "openai model that is not gpt-image": (
        (
            *("--provider", "openai", "--operation", "image_edit"),
            *("--settings", '{"prompt": "oil", "model": "dall-e-3"}'),
        ),
        ("'model'", "gpt-image-*", "'dall-e-3'"),
        False,
    ),
    "gemini image size in lower case": (
        (
            *("--provider", "gemini", "--operation", "image_edit"),
            *("--settings", '{"prompt": "oil", "image_config": {"image_size": "4k"}}'),
        ),
        ("'image_config.image_size'", "'4k'"),
        False,
    ),
    "gemini style transfer without its template": (
        (
            *("--provider", "gemini", "--operation", "style_transfer"),
            *("--settings", '{"prompt": "oil"}', "--active"),
        ),
        ("style_template_id",),
        False,
    ),
    "gemini model that could leave the url path": (
        (
            *("--provider", "gemini", "--operation", "image_edit"),
            *("--settings", '{"prompt": "oil", "model": "../files"}'),
        ),
        ("'model'",),
        False,
    ),
    "turbotext strength out of range": (
        (
            *("--provider", "turbotext", "--operation", "image_edit"),
            *("--settings", '{"prompt": "oil", "strength": 81}'),
        ),
        ("'strength'", "0..80"),
        False,
    ),
}


@pytest.mark.parametrize(("args", "fragments", "usage"), REFUSALS.values(), ids=REFUSALS)
def test_slots_set_refuses_clearly_and_saves_nothing(
    cli: Invoke, database_url: str, args: tuple[str, ...], fragments: tuple[str, ...], usage: bool
) -> None:
    before = slot_row(database_url, "slot-002")

    refused(cli("slots", "set", "slot-002", *args), *fragments, usage=usage)

    assert slot_row(database_url, "slot-002") == before


def test_the_refused_configurations_are_accepted_once_complete(
    cli: Invoke, database_url: str
) -> None:
    """The positive side of the refusals above: an existing template, a public URL, keys."""
    template = uuid.uuid4()
    query(
        database_url,
        "INSERT INTO template_media VALUES (%(id)s, 'templates/frame.png', 'image/png', 10, "
        "'00', 'frame', 'test', now())",
        {"id": template},
    )
    overlay = {"overlay_template_id": str(template), "delay_ms": 120000}
    overlay_args = ("--operation", "overlay", "--settings", json.dumps(overlay), "--active")
    shown = json.loads(ok(cli("slots", "set", "slot-002", *overlay_args)))
    assert (shown["operation"], shown["settings"], shown["is_active"]) == ("overlay", overlay, True)

    turbotext = ("--provider", "turbotext", "--operation", "image_edit")
    turbotext_args = (*turbotext, "--settings", '{"prompt": "watercolour"}', "--active")
    env = {
        f"{PREFIX}PUBLIC_BASE_URL": "https://booth.example.com",
        f"{PREFIX}TURBOTEXT_API_KEY": "turbotext-key",
        f"{PREFIX}GEMINI_API_KEY": "gemini-key",
        f"{PREFIX}OPENAI_API_KEY": "sk-openai-key",
    }
    ok(cli("slots", "set", "slot-003", *turbotext_args, env=env))
    row = slot_row(database_url, "slot-003")
    assert (row["provider"], row["operation"], row["is_active"]) == (
        "turbotext",
        "image_edit",
        True,
    )
    assert row["settings"] == {"prompt": "watercolour"}

    gemini = ("--provider", "gemini", "--operation", "image_edit", "--active")
    ok(cli("slots", "set", "slot-004", *gemini, "--settings", '{"prompt": "p"}', env=env))
    assert slot_row(database_url, "slot-004")["provider"] == "gemini"

    openai = ("--provider", "openai", "--operation", "image_edit", "--active")
    settings = {"prompt": "p", "model": "gpt-image-1", "quality": "high"}
    ok(cli("slots", "set", "slot-005", *openai, "--settings", json.dumps(settings), env=env))
    row = slot_row(database_url, "slot-005")
    assert (row["provider"], row["settings"], row["is_active"]) == ("openai", settings, True)


# --- settings -----------------------------------------------------------------------------


def test_settings_show_prints_the_defaults_and_derived_ttls(cli: Invoke) -> None:
    assert json.loads(ok(cli("settings", "show"))) == {
        "sync_timeout_sec": 48,
        "result_retention_sec": 259200,
        "public_link_ttl_sec": 48,
        "ingest_ttl_sec": 48,
        "job_deadline_sec": 48,
        "ingest_password_set": False,
    }


def test_settings_set_sync_timeout_persists(cli: Invoke, database_url: str) -> None:
    echoed = json.loads(ok(cli("settings", "set", "--sync-timeout", "50")))
    assert echoed == {"sync_timeout_sec": 50, "result_retention_sec": 259200}

    shown = json.loads(ok(cli("settings", "show")))
    assert shown["sync_timeout_sec"] == 50
    assert shown["result_retention_sec"] == 259200
    assert (shown["public_link_ttl_sec"], shown["job_deadline_sec"]) == (50, 50)
    row = app_settings(database_url)["ingest.sync_response_timeout_sec"]
    assert (row["value"], row["updated_by"]) == (50, "cli")


@pytest.mark.parametrize("value", ["44", "61"])
def test_settings_set_refuses_a_sync_timeout_out_of_range(
    cli: Invoke, database_url: str, value: str
) -> None:
    before = app_settings(database_url)

    refused(cli("settings", "set", "--sync-timeout", value), "between 45 and 60", value)

    assert app_settings(database_url) == before


def test_settings_set_without_any_option_is_a_usage_error(offline_cli: Invoke) -> None:
    refused(offline_cli("settings", "set"), "--sync-timeout", "--result-retention", usage=True)


def test_settings_set_result_retention_persists(cli: Invoke, database_url: str) -> None:
    echoed = json.loads(ok(cli("settings", "set", "--result-retention", "3600")))

    assert echoed == {"sync_timeout_sec": 48, "result_retention_sec": 3600}
    stored = app_settings(database_url)
    assert stored["media.result_retention_sec"]["value"] == 3600
    assert stored["ingest.sync_response_timeout_sec"]["value"] == 48


# --- password -----------------------------------------------------------------------------

PASSWORD_HASH = "SELECT value #>> '{}' AS hash FROM app_settings WHERE key = 'ingest.password_hash'"


def test_password_set_reads_stdin_and_stores_only_a_scrypt_hash(
    cli: Invoke, database_url: str
) -> None:
    assert ok(cli("password", "set", stdin="new-password-123\n")) == "ingest password updated\n"

    (row,) = query(database_url, PASSWORD_HASH)
    encoded: str = row["hash"]
    assert encoded.startswith("scrypt$")
    assert "new-password-123" not in encoded
    hasher = ScryptPasswordHasher()
    assert asyncio.run(hasher.verify("new-password-123", encoded))  # newline stripped
    assert not asyncio.run(hasher.verify("new-password-123\n", encoded))
    assert json.loads(ok(cli("settings", "show")))["ingest_password_set"] is True


def test_password_set_refuses_a_short_password(cli: Invoke, database_url: str) -> None:
    refused(cli("password", "set", stdin="short\n"), "at least 8 characters")

    assert query(database_url, PASSWORD_HASH) == []


# --- configuration from the environment ---------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"), [("PROT", "1"), ("PORT", "abc"), ("RESULT_WAITER", "bogus")]
)
def test_a_bad_environment_variable_is_refused_by_name(
    offline_cli: Invoke, variable: str, value: str
) -> None:
    stderr = refused(offline_cli("slots", "list", env={f"{PREFIX}{variable}": value}))

    assert f"{PREFIX}{variable}" in stderr
    assert "$." not in stderr  # msgspec's JSON path is translated to the variable name


# --- the installed script -----------------------------------------------------------------


@pytest.fixture
def script_env(database_url: str, tmp_path: Path) -> Callable[..., dict[str, str]]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
    base.update({f"{PREFIX}DATABASE_URL": database_url, f"{PREFIX}DATA_DIR": str(tmp_path)})

    def env(**extra: str) -> dict[str, str]:
        return {**base, **{f"{PREFIX}{k}": v for k, v in extra.items()}}

    return env


def _script(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("photochanger")
    assert script.is_file(), f"the photochanger script is not installed at {script}"
    return subprocess.run(
        [str(script), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_installed_script_shows_a_slot(script_env: Callable[..., dict[str, str]]) -> None:
    done = _script("slots", "show", "slot-001", env=script_env())

    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert (shown["id"], shown["provider"], shown["is_active"]) == ("slot-001", "local", True)


def test_the_installed_script_refuses_without_a_traceback(
    script_env: Callable[..., dict[str, str]],
) -> None:
    unknown = _script("slots", "show", "slot-099", env=script_env())
    typo = _script("slots", "list", env=script_env(PROT="1"))

    for done in (unknown, typo):
        assert done.returncode != 0
        assert done.stdout == ""
        assert "Traceback" not in done.stderr
    assert "Error: " in unknown.stderr and "'slot-099'" in unknown.stderr
    assert "PHOTOCHANGER_PROT" in typo.stderr


def test_the_installed_script_refuses_an_unknown_log_level_by_name(
    script_env: Callable[..., dict[str, str]],
) -> None:
    # A subprocess: under pytest the root logger already has handlers, so basicConfig is a
    # no-op in-process and a bad level would not show through CliRunner.
    done = _script("slots", "list", env=script_env(LOG_LEVEL="verbose"))

    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    assert "PHOTOCHANGER_LOG_LEVEL" in done.stderr


# --- templates -----------------------------------------------------------------------------


def test_templates_add_list_use_and_remove(cli: Invoke, database_url: str, tmp_path: Path) -> None:
    frame = tmp_path / "frame.png"
    Image.new("RGBA", (32, 24), (255, 0, 0, 128)).save(frame, format="PNG")

    added = json.loads(ok(cli("templates", "add", str(frame), "--label", "wedding frame")))
    assert added["label"] == "wedding frame" and added["mime"] == "image/png"
    assert added["size_bytes"] == frame.stat().st_size
    (row,) = query(database_url, "SELECT * FROM template_media")
    stored = tmp_path / "media" / row["path"]
    assert stored.read_bytes() == frame.read_bytes()
    assert added["id"] in ok(cli("templates", "list"))

    ok(
        cli(
            "slots",
            "set",
            "slot-002",
            "--operation",
            "overlay",
            "--active",
            "--settings",
            json.dumps({"overlay_template_id": added["id"]}),
        )
    )
    refused = cli("templates", "remove", added["id"])
    assert refused.exit_code != 0 and "slot-002" in refused.output
    assert "Traceback" not in refused.output
    assert stored.exists() and query(database_url, "SELECT id FROM template_media")

    assert "removed template" in ok(cli("templates", "remove", added["id"], "--force"))
    assert not stored.exists()
    assert query(database_url, "SELECT id FROM template_media") == []


def test_templates_add_refuses_what_is_not_an_image(cli: Invoke, tmp_path: Path) -> None:
    text = tmp_path / "frame.png"
    text.write_text("not an image at all")
    refused = cli("templates", "add", str(text), "--label", "bogus")
    assert refused.exit_code != 0 and "not a recognised image" in refused.output
    assert list((tmp_path / "media" / "templates").iterdir()) == []
