"""One log format for every process: the service, uvicorn's own lines and every CLI command.

``text`` is for a terminal; ``json`` is one object per line for a log collector. Both carry
the request, slot and job ids bound in ``application.log_context`` where they are known.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import msgspec

from application import log_context

LogFormat = Literal["text", "json"]
HANDLER_NAME = "photochanger"
# httpx logs every request at INFO, URL included; a provider's result URL may be signed.
QUIET_LIBRARIES = ("httpx", "httpcore")
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")
_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's ANSI-coloured copy of the message
    "taskName",
}


def configure_logging(level: str, log_format: LogFormat) -> None:
    """Send every record (ours, uvicorn's, libraries') to stderr in one format.

    Idempotent: a second call replaces the handler installed by the first; handlers that
    others installed on the root logger (a test's capture) are left alone."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == HANDLER_NAME:
            root.removeHandler(handler)
    handler = StderrHandler()
    handler.set_name(HANDLER_NAME)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    numeric = logging.getLevelName(level.upper())
    handler.setLevel(numeric)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))


def uvicorn_logging(level: str, *, access_log: bool) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run``/``uvicorn.Config``: uvicorn gets no handlers of
    its own, so its error lines and (if on) one access line per request propagate to the
    root handler above and come out in the same format."""
    return {
        "log_config": {
            "version": 1,
            "disable_existing_loggers": False,
            "loggers": {name: {"handlers": [], "propagate": True} for name in UVICORN_LOGGERS},
        },
        "log_level": level.lower(),
        "access_log": access_log,
    }


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at the time of the record (not at set-up time),
    like logging's last-resort handler, so a redirected or replaced stderr is followed."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        """Fixed to the current stderr; nothing to set."""


class ContextFilter(logging.Filter):
    """Stamps the bound request/slot/job ids on the record as it is emitted; a value given
    explicitly with ``extra=`` wins."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in log_context.current().items():
            if getattr(record, key, None) is None:
                setattr(record, key, value)
        return True


def timestamp(record: logging.LogRecord) -> str:
    """UTC, ISO 8601, milliseconds: ``2026-05-04T10:11:12.345Z``."""
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _context_of(record: logging.LogRecord) -> dict[str, str]:
    found = {key: getattr(record, key, None) for key in log_context.KEYS}
    return {key: str(value) for key, value in found.items() if value is not None}


class TextFormatter(logging.Formatter):
    """``2026-05-04T10:11:12.345Z WARNING application.process_job job_id=… slot_id=…: text``,
    then the traceback, if any, on the following lines."""

    def format(self, record: logging.LogRecord) -> str:
        context = "".join(f" {key}={value}" for key, value in _context_of(record).items())
        line = f"{timestamp(record)} {record.levelname} {record.name}{context}: "
        line += record.getMessage()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``message``; ``request_id``,
    ``slot_id``, ``job_id`` where known; ``exc`` with the traceback; uvicorn's access lines
    also as ``client``, ``method``, ``path``, ``status``; any ``extra=`` fields as given."""

    _encoder = msgspec.json.Encoder(enc_hook=repr)

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_context_of(record),
        }
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            doc.update(zip(_ACCESS_FIELDS, args, strict=True))
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                doc.setdefault(key, value)
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            doc["exc"] = record.exc_text
        if record.stack_info:
            doc["stack"] = self.formatStack(record.stack_info)
        return self._encoder.encode(doc).decode("utf-8")
