"""The API reference at /schema works on a network without internet: every file the page
needs comes from the service itself."""

from __future__ import annotations

from urllib.parse import urlsplit

from console_harness import Console, snap
from playwright.async_api import Page, Route, expect


async def test_the_api_reference_renders_with_nothing_fetched_from_outside(
    page: Page, console: Console
) -> None:
    service = urlsplit(console.svc.base_url).netloc
    outside: list[str] = []
    local: list[str] = []

    async def only_the_service(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).netloc == service or url.startswith(("data:", "blob:")):
            local.append(url)
            await route.continue_()
        else:  # what a booth network without internet would do to the request
            outside.append(url)
            await route.abort("internetdisconnected")

    await page.context.route("**/*", only_the_service)
    response = await page.goto("/schema")
    assert response is not None and response.status == 200

    await expect(page.locator(".info .title")).to_contain_text("PhotoChanger")
    await expect(page.get_by_text("The process is up")).to_be_visible()  # GET /healthz
    assert outside == []
    assert any(url.endswith("/schema/static/swagger-ui-bundle.js") for url in local)
    await snap(page, "api-reference")
