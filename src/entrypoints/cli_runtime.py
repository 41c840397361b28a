"""What every ``photochanger`` command shares: reading the configuration, running an action
against the service's container."""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from entrypoints.config import Settings, load_settings
from entrypoints.container import Container
from entrypoints.logging_setup import configure_logging
from entrypoints.runtime import Roles, build_container, database, running

T = TypeVar("T")


def cli_settings(ctx: click.Context) -> Settings:
    """Read the configuration when a command needs it (so ``--help`` works even when it is
    broken) and set up logging from it."""
    state: dict[str, Settings] = ctx.ensure_object(dict)
    if "settings" not in state:
        settings = state["settings"] = load_settings()
        configure_logging(settings.log_level, settings.log_format)
    return state["settings"]


def run_with_service(
    ctx: click.Context, roles: Roles, action: Callable[[Container], Awaitable[T]]
) -> T:
    """Build the container on the configured (or embedded) database and run ``action``."""
    settings = cli_settings(ctx)
    with database(settings) as url:
        container = build_container(settings, url)

        async def main() -> T:
            async with running(container, roles):
                return await action(container)

        return asyncio.run(main())


def ensure_can_listen(host: str, port: int) -> None:
    """Bind ``host:port`` as uvicorn will (``SO_REUSEADDR``) and let go at once: a port already
    taken (``make run`` twice) or an address this machine does not have is one clear error
    before the database starts and any job is claimed, not a log line after start-up."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:  # socket.gaierror too: a host name that does not resolve
        if exc.errno == errno.EADDRINUSE:
            hint = (
                "another PhotoChanger (or another program) is listening there; stop it, or "
                "choose another port with --port or PHOTOCHANGER_PORT"
            )
        else:
            hint = "check --host/--port or PHOTOCHANGER_HOST/PHOTOCHANGER_PORT"
        reason = exc.strerror or str(exc)
        raise click.ClickException(f"cannot listen on {host}:{port}: {reason}; {hint}") from None
