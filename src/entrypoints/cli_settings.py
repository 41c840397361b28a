"""``photochanger settings`` and ``photochanger password``: the service-wide values stored in
the database (timeouts, result retention) and the global ingest password."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Any

import click

from domain.audit import CLI_ACTOR
from entrypoints.cli_runtime import run_with_service
from entrypoints.container import Container
from entrypoints.runtime import Roles


@click.group("settings")
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


@click.group()
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
