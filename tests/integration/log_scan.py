"""pytest plugin: nothing logged during the test session may contain a secret or image bytes.

SPEC §9: no passwords, API keys or tokens and no image bytes in logs. The text of every
record of the session (message, traceback, stack) is kept; at the end it is searched for

- every secret the tests handed the service: each ``api_key`` a provider adapter was built
  with and each password hashed or checked (the plugin wraps those entry points for the
  session, so every test's keys and passwords are known without each test listing them),
  plus anything given to ``register_secret`` (for tokens a fixture mints);
- a ``Bearer`` credential and any base64-looking run longer than 200 characters.

A finding turns the session's exit status into "tests failed" and is listed in the summary
(masked). Every record any logger handles is collected (``Logger.handle`` is wrapped for the
session), whatever handlers are installed. The root logger is lowered to INFO (the service's
default) and our own packages to DEBUG, so what the service would log is what is scanned.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
import pkgutil
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

MIN_SECRET_CHARS = 8  # shorter values ("changed", "nobody") would match ordinary words
BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{201,}={0,2}|[A-Za-z0-9_-]{201,}")
BEARER = re.compile(r"Bearer\s+[A-Za-z0-9._~+/=-]{8,}")
OUR_PACKAGES = ("domain", "application", "adapters", "entrypoints")
APP_HANDLER_NAME = "photochanger"  # entrypoints.logging_setup.HANDLER_NAME

_secrets: set[str] = set()


def register_secret(*values: str | None) -> None:
    """A value that must never appear in a log line (empty and very short ones are ignored)."""
    _secrets.update(v for v in values if v and len(v) >= MIN_SECRET_CHARS)


@dataclass(frozen=True, slots=True)
class Finding:
    logger: str
    what: str
    excerpt: str


def _mask(secret: str) -> str:
    return f"{secret[:2]}…({len(secret)} chars)"


def find_leaks(records: Iterable[tuple[str, str]], secrets: Iterable[str]) -> list[Finding]:
    """``records`` are (logger name, logged text) pairs; the excerpt never shows the secret."""
    known = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True)
    findings: list[Finding] = []
    for logger, text in records:
        for secret in known:
            if secret in text:
                excerpt = text.replace(secret, "<SECRET>")[:200]
                findings.append(Finding(logger, f"secret {_mask(secret)}", excerpt))
        for pattern, what in ((BEARER, "a Bearer credential"), (BASE64_RUN, "a base64 run")):
            match = pattern.search(text)
            if match:
                start = max(match.start() - 40, 0)
                excerpt = text[start : match.start()] + f"<{len(match.group())} chars>"
                findings.append(Finding(logger, what, excerpt))
    return findings


class RecordCollector:
    """Keeps the distinct texts logged, formatted at once (records may hold mutable args)."""

    def __init__(self) -> None:
        self.texts: set[tuple[str, str]] = set()
        self.count = 0

    def collect(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a broken format call is the test's problem, not a leak
            text = f"{record.msg!r} {record.args!r}"
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        if record.stack_info:
            text += "\n" + record.stack_info
        self.count += 1
        self.texts.add((record.name, text))


def _wrap_secret_argument(owner: type, name: str, argument: str) -> Callable[[], None]:
    """Make ``owner.name`` register its ``argument`` as a secret; returns the undo."""
    original = owner.__dict__[name]
    signature = inspect.signature(original)

    def remember(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        value = signature.bind_partial(*args, **kwargs).arguments.get(argument)
        register_secret(value if isinstance(value, str) else None)

    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            remember(args, kwargs)
            return await original(*args, **kwargs)
    else:

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
            remember(args, kwargs)
            return original(*args, **kwargs)

    setattr(owner, name, wrapper)
    return lambda: setattr(owner, name, original)


def _secret_entry_points() -> Iterator[tuple[type, str, str]]:
    """Every provider adapter taking an ``api_key``, and the password hashers."""
    import adapters.providers
    from adapters.security import password

    for info in pkgutil.iter_modules(adapters.providers.__path__, "adapters.providers."):
        try:
            module = importlib.import_module(info.name)
        except Exception:  # noqa: S112 - a broken module fails the tests that use it, not all
            continue
        for cls in vars(module).values():
            if (
                inspect.isclass(cls)
                and cls.__module__ == module.__name__
                and "__init__" in cls.__dict__
                and "api_key" in inspect.signature(cls.__init__).parameters
            ):
                yield cls, "__init__", "api_key"
    for cls in vars(password).values():
        if inspect.isclass(cls) and cls.__module__ == password.__name__:
            for method in ("hash", "verify"):
                if method in cls.__dict__:
                    yield cls, method, "password"


def _collect_every_record() -> Callable[[], None]:
    """Wrap ``Logger.handle``, which every record passes once (on the logger that made it)
    before any handler: a handler on the root logger would miss records of loggers that do
    not propagate (uvicorn's default set-up) and would be dropped whenever something
    reconfigures the root logger (a Litestar app with its default logging config does).
    Returns the undo."""
    original = logging.Logger.handle

    @functools.wraps(original)
    def handle(self: logging.Logger, record: logging.LogRecord) -> None:
        _collector.collect(record)
        original(self, record)

    logging.Logger.handle = handle  # type: ignore[method-assign]

    def undo() -> None:
        logging.Logger.handle = original  # type: ignore[method-assign]

    return undo


def collecting() -> bool:
    """Whether this session's records are being collected now."""
    return logging.Logger.handle is not _ORIGINAL_HANDLE


_ORIGINAL_HANDLE = logging.Logger.handle
PLUGIN_NAME = "photochanger-log-scan"
_collector = RecordCollector()
_findings: list[Finding] = []
_undo: list[Callable[[], None]] = []


def install(config: pytest.Config) -> None:
    """Register this module as a plugin (from a conftest, which pytest may load mid-session)."""
    if not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(sys.modules[__name__], PLUGIN_NAME)


def pytest_configure(config: pytest.Config) -> None:
    """Start collecting at once: a conftest's plugin may be registered after the session
    started, so this does not wait for ``pytest_sessionstart``."""
    if _undo:
        return
    root = logging.getLogger()
    for name in ("", *OUR_PACKAGES):
        level = logging.getLogger(name).level
        _undo.append(functools.partial(logging.getLogger(name).setLevel, level))
    root.setLevel(min(root.level, logging.INFO))
    for name in OUR_PACKAGES:
        logging.getLogger(name).setLevel(logging.DEBUG)
    _undo.append(_collect_every_record())
    _undo.extend(_wrap_secret_argument(*entry) for entry in _secret_entry_points())


@pytest.fixture(autouse=True)
def _service_logging_undone() -> Iterator[None]:
    """A test that set up the service's logging (in-process CLI, ``serve``) leaves the next
    test the session's logging: its stderr handler removed, levels restored."""
    watched = ("", "httpx", "httpcore")
    levels = {name: logging.getLogger(name).level for name in watched}
    yield
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == APP_HANDLER_NAME:
            root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def pytest_sessionfinish(session: pytest.Session) -> None:
    while _undo:
        _undo.pop()()
    _findings[:] = find_leaks(_collector.texts, _secrets)
    if _findings:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    scanned = f"{_collector.count} log records, {len(_secrets)} secrets"
    if not _findings:
        terminalreporter.write_line(f"log scan: {scanned}: no secret, no image bytes")
        return
    terminalreporter.section("log scan: secrets or image bytes were logged", red=True)
    for finding in _findings:
        terminalreporter.write_line(f"{finding.logger}: {finding.what}: {finding.excerpt}")
    terminalreporter.write_line(f"log scan: {scanned}: {len(_findings)} finding(s)")
