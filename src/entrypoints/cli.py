"""``photochanger``: run the service, its worker and purge, and migrate; the administration
commands (slots, settings, password, templates, admins) are in ``cli_*`` modules."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from dataclasses import asdict
from typing import Any

import click
import msgspec

from domain.errors import PhotoChangerError
from entrypoints.cli_runtime import cli_settings, ensure_can_listen, run_with_service
from entrypoints.container import Container
from entrypoints.runtime import Roles, build_container, console_url, database

log = logging.getLogger(__name__)


class _CliGroup(click.Group):
    """Turns business errors into one clear ``Error: …`` line and exit status 1, never a
    traceback (usage errors keep click's status 2)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PhotoChangerError as exc:
            raise click.ClickException(exc.message) from None


@click.group(cls=_CliGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx: click.Context) -> None:
    """PhotoChanger: AI-edit photo booth shots while the booth waits.

    Configuration comes from PHOTOCHANGER_* environment variables (see README). With no
    PHOTOCHANGER_DATABASE_URL an embedded PostgreSQL under PHOTOCHANGER_DATA_DIR is used.
    """
    ctx.ensure_object(dict)


@main.command()
@click.option("--host", default=None, help="Interface to listen on [PHOTOCHANGER_HOST, 127.0.0.1]")
@click.option(
    "--port", type=click.IntRange(1, 65_535), default=None, help="Port [PHOTOCHANGER_PORT, 8000]"
)
@click.option("--no-worker", is_flag=True, help="Do not process jobs in this process.")
@click.option("--no-purge", is_flag=True, help="Do not run the periodic cleanup in this process.")
@click.option(
    "--processes",
    type=click.IntRange(1, 64),
    default=None,
    help="API processes sharing the port, each with its own worker and purge loops "
    "[PHOTOCHANGER_PROCESSES, 1]",
)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    no_worker: bool,
    no_purge: bool,
    processes: int | None,
) -> None:
    """Run the HTTP API (with the worker and purge loops inside, unless disabled)."""
    import uvicorn

    from entrypoints.http.app import create_app
    from entrypoints.logging_setup import uvicorn_logging

    settings = cli_settings(ctx)
    roles = Roles(
        worker=settings.run_worker and not no_worker,
        purge=settings.run_purge and not no_purge,
        provision_password=True,
    )
    bind_host, bind_port = host or settings.host, port or settings.port
    processes = processes or settings.processes
    ensure_can_listen(bind_host, bind_port)  # port taken: one clear line, nothing started
    settings = msgspec.structs.replace(settings, host=bind_host, port=bind_port)
    # uvicorn re-raises SIGTERM after its graceful shutdown; turn it into a normal exit so the
    # embedded database handle below is released and the server stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with database(settings) as url:
        if processes > 1:
            from entrypoints.multiprocess import serve_processes

            click.echo(
                f"PhotoChanger listening on http://{bind_host}:{bind_port} ({processes} processes)"
            )
            click.echo(f"Operator console: {console_url(settings)}")
            serve_processes(
                settings, url, roles, host=bind_host, port=bind_port, processes=processes
            )
            return
        app = create_app(build_container(settings, url), roles)
        # stdout: the start-up line for the operator; stderr: log lines only, in one format
        click.echo(f"PhotoChanger listening on http://{bind_host}:{bind_port}")
        click.echo(f"Operator console: {console_url(settings)}")
        uvicorn.run(
            app,
            host=bind_host,
            port=bind_port,
            **uvicorn_logging(settings.log_level, access_log=settings.access_log),
        )


@main.command()
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65_535),
    default=None,
    help="Serve /metrics on this port of PHOTOCHANGER_HOST [PHOTOCHANGER_METRICS_PORT, none]",
)
@click.pass_context
def worker(ctx: click.Context, metrics_port: int | None) -> None:
    """Process jobs only (no API; /metrics if a metrics port is set); stops cleanly on
    SIGTERM/SIGINT, handing back held jobs."""

    async def until_stopped(container: Container) -> None:
        from adapters.metrics.scrape_server import metrics_http_server

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        settings = container.settings()
        port = metrics_port or settings.metrics_port
        async with contextlib.AsyncExitStack() as scope:
            shown = ""
            if port is not None and settings.metrics == "off":
                log.warning("PHOTOCHANGER_METRICS=off: no metrics on port %d", port)
            elif port is not None:
                scraped = metrics_http_server(container.metrics(), settings.host, port)
                bound = await scope.enter_async_context(scraped)
                shown = f"; metrics at http://{settings.host}:{bound}/metrics"
            click.echo(f"worker running{shown}; Ctrl-C to stop")  # stdout; stderr: log lines
            await stop.wait()

    run_with_service(ctx, Roles(worker=True), until_stopped)


@main.command()
@click.option("--once", is_flag=True, help="One cleanup round, then exit (for cron).")
@click.pass_context
def purge(ctx: click.Context, once: bool) -> None:
    """Time out overdue jobs and delete expired payloads, links, results and orphan files."""

    async def one_round(container: Container) -> None:
        report = await container.purge_artifacts()()
        click.echo(json.dumps(asdict(report)))

    async def until_stopped(container: Container) -> None:
        # The loop itself is Roles(purge=True); SIGTERM (systemd, docker stop) must end it as
        # cleanly as Ctrl-C, or the embedded database would be left running.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        interval = container.settings().purge_interval_sec
        click.echo(f"purge running every {interval:g} s; Ctrl-C to stop")  # stdout, like worker
        await stop.wait()

    if once:
        run_with_service(ctx, Roles(), one_round)
    else:
        run_with_service(ctx, Roles(purge=True), until_stopped)


@main.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Apply database migrations (also done automatically at every start)."""

    async def nothing(_: Container) -> None:
        click.echo("database schema is up to date")

    run_with_service(ctx, Roles(), nothing)


def _register_subcommands() -> None:
    """The administration commands live in modules of their own, one purpose each."""
    from entrypoints.cli_admins import admins
    from entrypoints.cli_settings import password, settings_group
    from entrypoints.cli_slots import slots
    from entrypoints.cli_templates import templates

    main.add_command(slots)
    main.add_command(settings_group)
    main.add_command(password)
    main.add_command(templates)
    main.add_command(admins)


_register_subcommands()
