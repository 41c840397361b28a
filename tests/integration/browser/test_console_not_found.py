"""A console path that names nothing answers a page in the console's layout (status 404) with
a way back to the dashboard; the API keeps answering JSON."""

from __future__ import annotations

import re

from console_harness import Console, log_in, snap
from playwright.async_api import Page, expect


async def test_an_unknown_slot_page_is_a_console_page_leading_back_to_the_dashboard(
    page: Page, console: Console
) -> None:
    await log_in(page)
    response = await page.goto("/admin/slots/slot-999")
    assert response is not None and response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    policies = [
        h for h in await response.headers_array() if h["name"].lower() == "content-security-policy"
    ]
    assert len(policies) == 1 and "script-src 'self'" in policies[0]["value"]

    await expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    await expect(page.locator("#not-found-reason")).to_have_text("There is no slot 'slot-999'.")
    await expect(page.locator("#operator-name")).to_have_text("ann")  # the usual layout
    await snap(page, "console-not-found")

    await page.get_by_role("link", name="Back to the dashboard").click()
    await expect(page).to_have_url(re.compile(r"/admin$"))
    await expect(page.locator(".slot-card")).to_have_count(15)


async def test_a_path_no_console_route_matches_is_the_same_page(
    page: Page, console: Console
) -> None:
    response = await page.goto("/admin/nonexistent")
    assert response is not None and response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    await expect(page.locator("#not-found-reason")).to_have_text(
        "There is no console page at /admin/nonexistent."
    )
    await page.get_by_role("link", name="Back to the dashboard").click()
    await expect(page).to_have_url(re.compile(r"/admin/login\?next=%2Fadmin$"))  # logged out


async def test_the_api_and_the_console_files_keep_answering_json(
    page: Page, console: Console
) -> None:
    for path in ("/api/nonexistent", "/admin/static/nonexistent.css", "/nonexistent"):
        response = await page.request.get(path)
        assert response.status == 404, path
        assert response.headers["content-type"].startswith("application/json"), path
        assert (await response.json())["error"]["code"] == "not_found", path
