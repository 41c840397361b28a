"""``photochanger serve --processes N``: N API processes sharing one listening socket.

Python runs one thread of Python code at a time, so one process uses one core however many
photos it handles; N uvicorn worker processes on the same port use N. The parent does what
must happen once: it starts the embedded PostgreSQL (when no ``DATABASE_URL`` is given),
migrates, provisions the ingest password and the first administrator (printing generated
passwords once), then hands the database URL to its children through the environment and
supervises them (uvicorn restarts a child that dies). Every child runs the worker and purge
loops unless they are turned off: claims use ``FOR UPDATE SKIP LOCKED`` and purge is
idempotent, so several processes never take the same job, and an ingest wakes a worker lane
in its own process at once instead of waiting for another process's poll.

A scrape of the shared port reaches one child, so the children keep their metrics in one
directory the parent creates (prometheus_client's multiprocess mode) and any of them answers
the sum; with ``PHOTOCHANGER_METRICS=off`` there is no directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

from litestar import Litestar

from adapters.metrics.multiprocess import counters_shared_on_disk
from entrypoints.config import PREFIX, Settings, load_settings
from entrypoints.logging_setup import configure_logging, uvicorn_logging
from entrypoints.runtime import Roles, build_container, running

CHILD_APP = "entrypoints.multiprocess:child_app"


def child_app() -> Litestar:
    """The app of one child process (uvicorn imports it by name in each process): the
    configuration the parent left in the environment, no password provisioning."""
    from entrypoints.http.app import create_app

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    if not settings.database_url:
        raise RuntimeError(f"{PREFIX}DATABASE_URL must be set by the parent process")
    roles = Roles(worker=settings.run_worker, purge=settings.run_purge)
    return create_app(build_container(settings, settings.database_url), roles)


def serve_processes(
    settings: Settings, database_url: str, roles: Roles, *, host: str, port: int, processes: int
) -> None:
    """Prepare the database once, then run ``processes`` children until SIGTERM/SIGINT."""
    import uvicorn

    async def prepare() -> None:
        async with running(build_container(settings, database_url), Roles(provision_password=True)):
            pass

    asyncio.run(prepare())
    # Children are spawned, not forked: they read these from the environment they inherit.
    os.environ[f"{PREFIX}DATABASE_URL"] = database_url
    os.environ[f"{PREFIX}RUN_WORKER"] = "true" if roles.worker else "false"
    os.environ[f"{PREFIX}RUN_PURGE"] = "true" if roles.purge else "false"
    with contextlib.ExitStack() as scope:
        if settings.metrics == "on":
            scope.enter_context(counters_shared_on_disk())  # before the children start
        uvicorn.run(
            CHILD_APP,
            factory=True,
            workers=processes,
            host=host,
            port=port,
            **uvicorn_logging(settings.log_level, access_log=settings.access_log),
        )
