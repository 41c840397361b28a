"""Logging in, the dashboard, and what every console page promises about security."""

from __future__ import annotations

import re

from console_harness import ADMIN, Console, log_in, snap
from playwright.async_api import Page, expect


async def test_a_logged_out_visitor_logs_in_and_sees_the_fifteen_slots(
    page: Page, console: Console
) -> None:
    root = await page.goto("/")
    assert root is not None
    await expect(page).to_have_url(re.compile(r"/admin/login\?next=%2Fadmin$"))
    await page.get_by_label("Username").fill("ann")
    await page.get_by_label("Password").fill("not-the-password")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("#login-error")).to_have_text("Wrong username or password.")

    await page.get_by_label("Password").fill(ADMIN[1])
    await page.get_by_role("button", name="Log in").click()

    await expect(page).to_have_url(re.compile(r"/admin$"))
    cards = page.locator(".slot-card")
    await expect(cards).to_have_count(15)
    first = cards.first
    await expect(first.locator(".provider-operation")).to_have_text("local / grayscale")
    await expect(first.locator(".state")).to_have_text("active")
    await expect(cards.nth(1).locator(".state")).to_have_text("inactive")
    await expect(page.locator("#status-database")).to_have_text("ok")
    await expect(page.locator("#status-queue")).to_have_text(re.compile(r"^\d+\+? waiting"))
    await expect(page.locator("#status-disk")).to_have_text(re.compile(r"\d+(\.\d)? (B|KiB|MiB)"))
    await snap(page, "dashboard")


async def test_pages_send_a_strict_policy_and_an_httponly_session(
    page: Page, console: Console
) -> None:
    await log_in(page)
    cookies = {c["name"]: c for c in await page.context.cookies()}
    session = cookies["photochanger_session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Strict"
    assert cookies["photochanger_csrf"]["httpOnly"] is False  # echoed by the page's script

    response = await page.goto("/admin/settings")
    assert response is not None and response.status == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    html = await response.text()
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None, "an inline script"
    assert re.search(r"\son[a-z]+=", html) is None, "an inline event handler"
    assert session["value"] not in html


async def test_logging_out_ends_the_session(page: Page, console: Console) -> None:
    await log_in(page)
    await page.get_by_role("button", name="Log out").click()
    await expect(page).to_have_url(re.compile(r"/admin/login$"))
    await page.goto("/admin/jobs")
    await expect(page).to_have_url(re.compile(r"/admin/login\?next=%2Fadmin%2Fjobs$"))


PAGES = (
    "/admin",
    "/admin/slots/slot-001",
    "/admin/templates",
    "/admin/jobs",
    "/admin/gallery",
    "/admin/stats",
    "/admin/settings",
    "/admin/audit",
)


async def test_every_page_fits_a_laptop_and_a_tablet(page: Page, console: Console) -> None:
    await log_in(page)
    for width, height in ((1280, 800), (768, 1024)):
        await page.set_viewport_size({"width": width, "height": height})
        for path in PAGES:
            await page.goto(path)
            await expect(page.locator("body")).to_have_attribute("data-loaded", re.compile("."))
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} is {overflow} px too wide at {width} px"
    await page.goto("/admin")
    await expect(page.locator(".slot-card")).to_have_count(15)
    await expect(page.locator("#status-database")).to_have_text("ok")
    await snap(page, "dashboard-tablet")
