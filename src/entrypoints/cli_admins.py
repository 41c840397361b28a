"""``photochanger admins``: the operator accounts of the admin API and console."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from application.administrators import NewAdministrator
from domain.administrator import Administrator, Role
from domain.audit import CLI_ACTOR
from entrypoints.cli_runtime import run_with_service
from entrypoints.container import Container
from entrypoints.runtime import Roles


def _read_password(prompt: str, username: str) -> str:
    """Prompt (hidden, twice) on a terminal; otherwise one line from stdin, for scripts."""
    if sys.stdin.isatty():
        return str(click.prompt(prompt, hide_input=True, confirmation_prompt=True))
    secret = sys.stdin.readline().rstrip("\r\n")
    if not secret:  # nothing piped in (say, run from cron or CI): not "too short"
        command = f"{click.get_current_context().command_path} {username}"
        raise click.UsageError(
            f'no password on stdin: pipe it as one line (echo "$PW" | {command}), or run the '
            "command in a terminal to be prompted"
        )
    return secret


@click.group()
def admins() -> None:
    """Administrator accounts: admin (everything) or viewer (read only)."""


@admins.command("add")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice([role.value for role in Role]),
    default=Role.ADMIN.value,
    show_default=True,
)
@click.pass_context
def admins_add(ctx: click.Context, username: str, role: str) -> None:
    """Create USERNAME; the password is prompted for, or read as one line from stdin."""
    secret = _read_password(f"Password for {username}", username)

    async def add(container: Container) -> Administrator:
        new = NewAdministrator(username=username, password=secret, role=Role(role), actor=CLI_ACTOR)
        return await container.add_administrator()(new)

    added = run_with_service(ctx, Roles(), add)
    click.echo(f"added {added.role.value} {added.username}")


@admins.command("list")
@click.pass_context
def admins_list(ctx: click.Context) -> None:
    """One line per administrator: username, role, created, last login."""

    async def read(container: Container) -> Sequence[Administrator]:
        return await container.list_administrators()()

    for admin in run_with_service(ctx, Roles(), read):
        last = admin.last_login_at.isoformat(timespec="seconds") if admin.last_login_at else "never"
        created = admin.created_at.isoformat(timespec="seconds")
        click.echo(
            f"{admin.username:<20} {admin.role.value:<7} created {created}  last login {last}"
        )


@admins.command("remove")
@click.argument("username")
@click.pass_context
def admins_remove(ctx: click.Context, username: str) -> None:
    """Delete USERNAME (its sessions end at once); the last admin cannot be removed."""

    async def remove(container: Container) -> Administrator:
        return await container.remove_administrator()(username, actor=CLI_ACTOR)

    removed = run_with_service(ctx, Roles(), remove)
    click.echo(f"removed {removed.role.value} {removed.username}")


@admins.command("set-password")
@click.argument("username")
@click.pass_context
def admins_set_password(ctx: click.Context, username: str) -> None:
    """New password for USERNAME (prompt, or one line on stdin); its other sessions end."""
    secret = _read_password(f"New password for {username}", username)

    async def apply(container: Container) -> None:
        await container.set_administrator_password()(username, secret, actor=CLI_ACTOR)

    run_with_service(ctx, Roles(), apply)
    click.echo(f"password of {username} updated")
