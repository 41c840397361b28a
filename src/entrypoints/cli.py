"""``photochanger``: run the service, its worker and purge, and administer slots and settings."""

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

from domain.audit import CLI_ACTOR
from domain.errors import PhotoChangerError
from domain.slot import Slot
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


def _slot_dict(slot: Slot) -> dict[str, Any]:
    return {
        "id": slot.id,
        "name": slot.name,
        "provider": slot.provider,
        "operation": slot.operation,
        "settings": dict(slot.settings),
        "is_active": slot.is_active,
        "updated_at": slot.updated_at.isoformat(),
    }


@main.group()
def slots() -> None:
    """Inspect and configure the 15 ingest slots."""


@slots.command("list")
@click.pass_context
def slots_list(ctx: click.Context) -> None:
    """One line per slot: id, state, provider/operation, name."""

    async def show(container: Container) -> list[Slot]:
        return await container.slots().list()

    for slot in run_with_service(ctx, Roles(), show):
        state = "active  " if slot.is_active else "inactive"
        kind = f"{slot.provider}/{slot.operation}"
        click.echo(f"{slot.id}  {state}  {kind:<28} {slot.name}")


@slots.command("show")
@click.argument("slot_id", metavar="SLOT")
@click.pass_context
def slots_show(ctx: click.Context, slot_id: str) -> None:
    """Print one slot as JSON."""

    async def show(container: Container) -> Slot | None:
        return await container.slots().get(slot_id)

    slot = run_with_service(ctx, Roles(), show)
    if slot is None:
        raise click.ClickException(f"no slot {slot_id!r} (slots are slot-001 … slot-015)")
    click.echo(json.dumps(_slot_dict(slot), indent=2))


@slots.command("set")
@click.argument("slot_id", metavar="SLOT")
@click.option("--provider", help="local, gemini, turbotext or openai")
@click.option("--operation", help="e.g. grayscale, sepia, overlay (local); image_edit, …")
@click.option("--settings", "settings_json", help="JSON object, e.g. '{\"delay_ms\": 500}'")
@click.option("--name", help="Display name")
@click.option("--active/--inactive", default=None, help="Accept ingests on this slot or not")
@click.pass_context
def slots_set(
    ctx: click.Context,
    slot_id: str,
    provider: str | None,
    operation: str | None,
    settings_json: str | None,
    name: str | None,
    active: bool | None,
) -> None:
    """Change a slot; refuses (naming the problem) anything the provider cannot run."""
    from application.configure_slot import SlotChanges

    if (provider, operation, settings_json, name, active) == (None,) * 5:
        # Saving nothing would still bump updated_at (an open console editor would then say
        # "changed by someone else") and write an audit entry.
        raise click.UsageError(
            "nothing to change: give --provider, --operation, --settings, --name, "
            "--active or --inactive (see the slot with `photochanger slots show`)"
        )
    parsed: dict[str, Any] | None = None
    if settings_json is not None:
        try:
            parsed = json.loads(settings_json)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"not valid JSON: {exc}", param_hint="--settings") from None
        if not isinstance(parsed, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--settings")
    changes = SlotChanges(
        slot_id=slot_id,
        name=name,
        provider=provider,
        operation=operation,
        settings=parsed,
        is_active=active,
        actor=CLI_ACTOR,
    )

    async def apply(container: Container) -> Slot:
        return await container.configure_slot()(changes)

    click.echo(json.dumps(_slot_dict(run_with_service(ctx, Roles(), apply)), indent=2))


@main.group("settings")
def settings_group() -> None:
    """Show or change the service-wide settings stored in the database."""


@settings_group.command("show")
@click.pass_context
def settings_show(ctx: click.Context) -> None:
    """Current values and the deadlines they imply for new jobs."""

    async def show(container: Container) -> dict[str, Any]:
        current = await container.app_settings().load_for_ingest()  # values + hash, one query
        app, bounds = current.app, container.settings().timeout_bounds
        has_password = current.password_hash is not None
        return {
            "sync_timeout_sec": app.sync_timeout_sec,
            "result_retention_sec": app.result_retention_sec,
            "public_link_ttl_sec": app.public_link_ttl(bounds),
            "ingest_ttl_sec": app.ingest_ttl(bounds),
            "job_deadline_sec": app.job_deadline(bounds),
            "ingest_password_set": has_password,
        }

    click.echo(json.dumps(run_with_service(ctx, Roles(), show), indent=2))


@settings_group.command("set")
@click.option("--sync-timeout", type=float, help="Seconds an ingest may wait (45..60)")
@click.option(
    "--result-retention",
    type=float,
    help="Seconds results stay downloadable (60..2592000, i.e. 30 days; default 259200 = 72 h)",
)
@click.pass_context
def settings_set(
    ctx: click.Context, sync_timeout: float | None, result_retention: float | None
) -> None:
    """Change values for new jobs; running jobs keep theirs."""
    from application.app_settings_admin import SettingsChanges

    if sync_timeout is None and result_retention is None:
        raise click.UsageError("give --sync-timeout and/or --result-retention")

    async def apply(container: Container) -> Any:
        return await container.update_settings()(
            SettingsChanges(
                sync_timeout_sec=sync_timeout,
                result_retention_sec=result_retention,
                actor=CLI_ACTOR,
            )
        )

    updated = run_with_service(ctx, Roles(), apply)
    click.echo(json.dumps(asdict(updated), indent=2))


@main.group()
def password() -> None:
    """Manage the global ingest password."""


@password.command("set")
@click.pass_context
def password_set(ctx: click.Context) -> None:
    """Set the ingest password: prompts on a terminal, else reads one line from stdin.

    Only a salted scrypt hash is stored; running services use it on the next ingest.
    """
    if sys.stdin.isatty():
        secret = click.prompt("New ingest password", hide_input=True, confirmation_prompt=True)
    else:
        secret = sys.stdin.readline().rstrip("\r\n")
        if not secret:
            raise click.UsageError(
                'no password on stdin: pipe it as one line (echo "$PW" | photochanger password '
                "set), or run the command in a terminal to be prompted"
            )

    async def apply(container: Container) -> None:
        await container.set_ingest_password()(secret, actor=CLI_ACTOR)

    run_with_service(ctx, Roles(), apply)
    click.echo("ingest password updated")


def _register_subcommands() -> None:
    from entrypoints.cli_admins import admins
    from entrypoints.cli_templates import templates

    main.add_command(templates)
    main.add_command(admins)


_register_subcommands()
