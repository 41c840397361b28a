"""Browser journeys: Debian's Chromium, driven by Playwright, against the running service.

One browser per session and one service per module (real uvicorn on a socket, a real
PostgreSQL database cloned from the migrated template, the local provider and a fake Gemini),
so a module's journeys share what they set up and the service stops before other tests run.
Each test gets a fresh browser context (its own cookies) and a 1,280 × 800 page; it fails when
the page logs a script error or a Content-Security-Policy violation. Playwright never downloads a
browser here: the system binary is launched, and a missing one fails with the apt command
that installs it (``scripts/ensure-chromium`` runs it before ``make test``).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest
from admin_harness import add_operator
from console_harness import ADMIN, CHROMIUM, INSTALL_COMMAND, VIEWER, Console, guest_photo
from fake_gemini import fake_gemini_server
from playwright.async_api import Browser, ConsoleMessage, Error, Page, async_playwright, expect
from psycopg import sql
from service_harness import serve

from domain.administrator import Role

expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
async def browser(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium is not installed at {CHROMIUM}; install it with: {INSTALL_COMMAND}")
    home = tmp_path_factory.mktemp("chromium-home")  # Chromium writes config and cache here
    env = {**os.environ, "XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home)}
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, env=env
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(scope="module")
def console_database_url(
    postgres_server: Any, admin_connection: psycopg.Connection[Any], migrated_template: str
) -> Iterator[str]:
    """A migrated database for the module's service (a module's journeys share one)."""
    name = f"photochanger_console_{secrets.token_hex(4)}"
    admin_connection.execute(
        sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(migrated_template)
        )
    )
    try:
        yield postgres_server.url_for(name)
    finally:
        admin_connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="module")
async def console(
    console_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Console]:
    watercolour = guest_photo("PNG", tint=(200, 150, 90))  # what the fake Gemini draws
    async with (
        fake_gemini_server(image=watercolour) as gemini,
        serve(
            console_database_url,
            tmp_path_factory.mktemp("console-data"),
            gemini_api_key=gemini.api_key,
            gemini_base_url=gemini.base_url,
        ) as svc,
    ):
        await add_operator(svc, *ADMIN, Role.ADMIN)
        await add_operator(svc, *VIEWER, Role.VIEWER)
        yield Console(svc=svc, gemini=gemini)


@pytest.fixture
async def page(browser: Browser, console: Console) -> AsyncIterator[Page]:
    context = await browser.new_context(
        base_url=console.svc.base_url, viewport={"width": 1280, "height": 800}
    )
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console error: {message.text}")

    def on_page_error(error: Error) -> None:
        problems.append(f"script error: {error}")

    opened = await context.new_page()
    opened.on("console", on_console)
    opened.on("pageerror", on_page_error)
    try:
        yield opened
    finally:
        await context.close()
    # A failed fetch the page shows to the operator (e.g. an expected 409) is logged by
    # Chromium as a resource error; script errors and CSP violations are never expected.
    unexpected = [p for p in problems if "Failed to load resource" not in p]
    assert not unexpected, "\n".join(unexpected)
