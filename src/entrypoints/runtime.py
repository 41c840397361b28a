"""Start-up and shutdown shared by every entrypoint: database, migrations, password, loops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

from adapters.postgres.embedded import EmbeddedPostgres
from adapters.postgres.migrate import apply_migrations
from adapters.postgres.pool import open_pool
from entrypoints.allocator import limit_retained_memory
from entrypoints.config import Settings
from entrypoints.container import Container, worker_identity
from entrypoints.worker import WorkerLanes, run_purge_loop

log = logging.getLogger(__name__)


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[str]:
    """Yield ``PHOTOCHANGER_DATABASE_URL``, or the URL of the embedded server under the data
    directory: started now if not already running, and stopped on exit unless another process
    (say a CLI command next to ``serve``) still uses it."""
    if settings.database_url:
        yield settings.database_url
        return
    settings.data_path.mkdir(parents=True, exist_ok=True)
    embedded = EmbeddedPostgres(settings.embedded_pgdata)
    try:
        yield embedded.start()
    finally:
        embedded.stop()


def build_container(settings: Settings, database_url: str) -> Container:
    return Container(settings=settings, database_url=database_url)


@dataclass(frozen=True, slots=True)
class Roles:
    """Which loops this process runs besides whatever entrypoint started it."""

    worker: bool = False
    purge: bool = False
    provision_password: bool = False
    # The process answers ingests: its own jobs wake its worker lanes, the idle poll only
    # looks for other processes' jobs (so it may be slower).
    ingests: bool = False


@contextlib.asynccontextmanager
async def running(container: Container, roles: Roles) -> AsyncIterator[Container]:
    """Open the pool, migrate, make sure an ingest password exists, run the background loops;
    on exit stop the loops (jobs in hand go back to the queue) and close everything."""
    settings: Settings = container.settings()
    limit_retained_memory()  # RSS falls back after a burst of photos (see allocator)
    pool = container.pool()
    await open_pool(pool, settings.db_connect_timeout_sec)
    tasks: list[asyncio.Task[None]] = []
    try:
        applied = await apply_migrations(pool)
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
        if roles.provision_password:
            await _provision_password(container, settings)
        if roles.worker:
            log.info("providers configured: %s", ", ".join(container.providers_registry().names()))
            lanes = WorkerLanes(
                container.claim_and_process(),
                container.work_tokens(),
                worker_id=worker_identity(),
                concurrency=settings.worker_concurrency,
                poll_interval=settings.worker_idle_poll_seconds(serves_ingests=roles.ingests),
            )
            tasks.append(asyncio.create_task(lanes.run(), name="worker"))
        if roles.purge:
            purge = container.purge_artifacts()
            tasks.append(
                asyncio.create_task(
                    run_purge_loop(purge, settings.purge_interval_sec, metrics=container.metrics()),
                    name="purge",
                )
            )
        yield container
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await container.waiter().aclose()
        await container.lease_keeper().aclose()
        await container.providers_registry().aclose()
        await pool.close()


_WILDCARD_HOSTS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104


def console_url(settings: Settings) -> str:
    """Where an operator opens the console: under the public address when one is configured,
    else where ``serve`` listens (``serve`` puts its ``--host``/``--port`` in the settings); a
    wildcard host is reached through loopback on this machine."""
    if settings.public_base_url:
        return f"{settings.public_base_url.rstrip('/')}/admin"
    host = _WILDCARD_HOSTS.get(settings.host, settings.host)
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    return f"http://{host}:{settings.port}/admin"


async def _provision_password(container: Container, settings: Settings) -> None:
    outcome = await container.ensure_ingest_password()(settings.ingest_password)
    if outcome.generated is not None:
        # Printed once, to the operator's terminal; only its hash is stored.
        print(
            "\n  No ingest password was set, so one was generated (shown only this once):\n"
            f"\n      {outcome.generated}\n\n"
            "  Change it with `photochanger password set` or PHOTOCHANGER_INGEST_PASSWORD.\n",
            file=sys.stderr,
            flush=True,
        )
    first_admin = await container.ensure_first_administrator()()
    if first_admin is not None:
        # Same rule: printed once; only the hash is stored.
        print(
            "\n  No administrator existed, so one was created (password shown only this once):\n"
            f"\n      username: {first_admin.username}\n      password: {first_admin.password}\n\n"
            f"  Log in to the operator console at {console_url(settings)} (scripts: POST "
            "/api/login); change it with "
            f"`photochanger admins set-password {first_admin.username}`.\n",
            file=sys.stderr,
            flush=True,
        )
