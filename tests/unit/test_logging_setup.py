"""The one log format: JSON and text formatters, context ids, the set-up, the request id."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Iterator
from uuid import UUID

import pytest

from application import log_context
from domain.errors import InvalidConfiguration
from entrypoints.config import load_settings
from entrypoints.http.request_context import request_id_from
from entrypoints.logging_setup import (
    HANDLER_NAME,
    ContextFilter,
    JsonFormatter,
    TextFormatter,
    configure_logging,
    uvicorn_logging,
)

JOB = UUID("12345678-1234-5678-1234-567812345678")


def record(
    message: str = "hello %s",
    args: tuple[object, ...] = ("world",),
    *,
    name: str = "application.process_job",
    level: int = logging.WARNING,
    exc: bool = False,
    **extra: object,
) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom\nsecond line")
        except ValueError:
            exc_info = sys.exc_info()
    made = logging.LogRecord(name, level, __file__, 1, message, args, exc_info)
    made.__dict__.update(extra)
    ContextFilter().filter(made)
    return made


def as_json(line: str) -> dict[str, object]:
    assert "\n" not in line  # one object per line, whatever the message holds
    parsed = json.loads(line)
    assert isinstance(parsed, dict)
    return parsed


def test_json_has_the_fields_and_no_context_when_none_is_bound() -> None:
    doc = as_json(JsonFormatter().format(record()))
    assert doc.keys() == {"ts", "level", "logger", "message"}
    assert doc["level"] == "WARNING" and doc["logger"] == "application.process_job"
    assert doc["message"] == "hello world"
    assert isinstance(doc["ts"], str) and doc["ts"].endswith("Z") and "T" in doc["ts"]


def test_json_carries_the_bound_ids() -> None:
    with log_context.bound(request_id="req-1", slot_id="slot-004", job_id=JOB):
        doc = as_json(JsonFormatter().format(record()))
    assert doc["request_id"] == "req-1"
    assert doc["slot_id"] == "slot-004"
    assert doc["job_id"] == str(JOB)


def test_json_puts_the_traceback_in_exc_and_stays_one_line() -> None:
    doc = as_json(JsonFormatter().format(record("multi\nline", (), exc=True)))
    assert doc["message"] == "multi\nline"
    assert isinstance(doc["exc"], str)
    assert doc["exc"].startswith("Traceback") and "ValueError: boom" in doc["exc"]


def test_json_keeps_extra_fields_and_an_explicit_id_wins() -> None:
    with log_context.bound(job_id=JOB):
        doc = as_json(JsonFormatter().format(record(job_id="explicit", error_id="e-1", n=3)))
    assert doc["job_id"] == "explicit"
    assert doc["error_id"] == "e-1" and doc["n"] == 3


def test_json_splits_uvicorns_access_line_into_fields() -> None:
    access = record(
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", "/ingest/slot-001", "1.1", 200),
        name="uvicorn.access",
        level=logging.INFO,
    )
    doc = as_json(JsonFormatter().format(access))
    assert doc["message"] == '127.0.0.1:5000 - "POST /ingest/slot-001 HTTP/1.1" 200'
    assert (doc["method"], doc["path"], doc["status"]) == ("POST", "/ingest/slot-001", 200)
    assert "color_message" not in doc


def test_text_shows_the_ids_when_known() -> None:
    with log_context.bound(slot_id="slot-002", job_id=JOB):
        line = TextFormatter().format(record())
    assert line.endswith(
        f" WARNING application.process_job slot_id=slot-002 job_id={JOB}: hello world"
    )
    plain = TextFormatter().format(record())
    assert plain.endswith(" WARNING application.process_job: hello world")


def test_text_appends_the_traceback() -> None:
    lines = TextFormatter().format(record(exc=True)).splitlines()
    assert lines[0].endswith(": hello world")
    assert lines[1].startswith("Traceback")


def test_bound_values_reach_tasks_and_end_with_the_block() -> None:
    async def seen_by_a_task() -> dict[str, str]:
        return dict(log_context.current())

    async def main() -> dict[str, str]:
        with log_context.bound(job_id=JOB):
            log_context.bind(slot_id="slot-009")
            inside = await asyncio.create_task(seen_by_a_task())
        assert dict(log_context.current()) == {}
        return inside

    assert asyncio.run(main()) == {"job_id": str(JOB), "slot_id": "slot-009"}


def test_a_hostile_value_cannot_forge_or_flood_a_line() -> None:
    with log_context.bound(slot_id="slot-001\n2026 ERROR forged" + "x" * 500):
        value = log_context.current()["slot_id"]
    assert "\n" not in value
    assert len(value) <= log_context.MAX_VALUE_CHARS + 1


@pytest.fixture
def root_logging() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in quiet.items():
        logging.getLogger(name).setLevel(old)


def test_configure_logging_installs_one_handler_and_keeps_others(
    root_logging: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = logging.NullHandler()
    root_logging.addHandler(foreign)
    configure_logging("info", "text")
    configure_logging("INFO", "json")
    ours = [h for h in root_logging.handlers if h.get_name() == HANDLER_NAME]
    assert len(ours) == 1 and foreign in root_logging.handlers
    assert root_logging.level == logging.INFO
    assert logging.getLogger("httpx").level == logging.WARNING

    with log_context.bound(request_id="r-7"):
        logging.getLogger("entrypoints.test").info("started %d", 1)
    logging.getLogger("entrypoints.test").debug("below the level")

    lines = capsys.readouterr().err.splitlines()  # stderr as it is now, not at set-up time
    assert len(lines) == 1
    doc = as_json(lines[0])
    assert (doc["message"], doc["request_id"], doc["level"]) == ("started 1", "r-7", "INFO")


def test_uvicorn_gets_no_handlers_of_its_own() -> None:
    options = uvicorn_logging("WARNING", access_log=True)
    assert options["log_level"] == "warning" and options["access_log"] is True
    loggers = options["log_config"]["loggers"]
    assert {"uvicorn", "uvicorn.error", "uvicorn.access"} <= loggers.keys()
    assert all(cfg == {"handlers": [], "propagate": True} for cfg in loggers.values())
    assert "root" not in options["log_config"]  # the root handler is ours, not uvicorn's


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        (b"booth-42", True),
        (b"0f3c2a9e-1b7d-4c55-9a51-7f0e5d1f2b11", True),
        (b"x" * 64, True),
        (b"x" * 65, False),
        (b"has space", False),
        (b"new\nline", False),
        (b"", False),
        ("caf\u00e9".encode("latin-1"), False),
    ],
)
def test_an_incoming_request_id_is_kept_only_when_short_and_plain(
    incoming: bytes, kept: bool
) -> None:
    scope = {"type": "http", "headers": [(b"x-request-id", incoming)]}
    chosen = request_id_from(scope)  # type: ignore[arg-type]
    if kept:
        assert chosen == incoming.decode()
    else:
        assert len(chosen) == 32 and int(chosen, 16) >= 0  # a fresh uuid4 hex


def test_a_request_without_an_id_gets_a_fresh_one_each_time() -> None:
    scope = {"type": "http", "headers": []}
    assert request_id_from(scope) != request_id_from(scope)  # type: ignore[arg-type]


def test_the_format_and_access_log_come_from_the_environment() -> None:
    assert (load_settings({}).log_format, load_settings({}).access_log) == ("text", True)
    chosen = load_settings({"PHOTOCHANGER_LOG_FORMAT": "json", "PHOTOCHANGER_ACCESS_LOG": "false"})
    assert (chosen.log_format, chosen.access_log) == ("json", False)
    with pytest.raises(InvalidConfiguration, match="PHOTOCHANGER_LOG_FORMAT"):
        load_settings({"PHOTOCHANGER_LOG_FORMAT": "xml"})
