"""Figures the console shows live: the TTLs of a sync timeout being typed (before saving), the
service status from ``/api/status``, and NO_IMAGE answers on the provider health badge."""

from __future__ import annotations

import re

from console_harness import Console, log_in, snap
from playwright.async_api import Page, expect


async def test_the_ttls_follow_the_sync_timeout_as_it_is_typed(
    page: Page, console: Console
) -> None:
    await log_in(page, start="/admin/settings")
    timeout = page.get_by_label("Sync response timeout (seconds)")
    deadline = page.locator("#ttl-job-deadline")
    await expect(deadline).to_have_text("48 s")

    await timeout.fill("50")

    for ttl in ("#ttl-public-link", "#ttl-ingest", "#ttl-job-deadline"):
        await expect(page.locator(ttl)).to_have_text("50 s")
    await expect(page.locator("#ttl-pending")).to_be_visible()
    saved = await console.svc.container.get_settings()()
    assert saved.app.sync_timeout_sec == 48  # nothing was saved
    await snap(page, "settings-live-ttls")

    await timeout.fill("70")  # out of range: said at once, and the TTLs in force come back
    error = page.locator('[data-error-for="sync_timeout_sec"]')
    await expect(error).to_contain_text("60")
    await expect(deadline).to_have_text("48 s")
    await expect(page.locator("#ttl-pending")).to_be_hidden()

    await timeout.fill("48")
    await expect(error).to_be_hidden()
    await expect(deadline).to_have_text("48 s")


async def test_the_dashboard_shows_the_service_status_and_no_image_answers(
    page: Page, console: Console
) -> None:
    await console.svc.configure(
        "slot-006",
        name="Watercolour",
        provider="gemini",
        operation="image_edit",
        settings={"prompt": "a watercolour"},
        is_active=True,
    )
    console.gemini.script.append("no_image")  # then an image: the booth still gets its photo
    booth = await console.svc.ingest("slot-006")
    assert booth.status_code == 200, booth.text

    await log_in(page)

    await expect(page.locator("#status-database")).to_have_text("ok")
    await expect(page.locator("#status-queue")).to_have_text("0 waiting · 0 processing")
    await expect(page.locator("#status-disk")).to_have_text(
        re.compile(r"^\d+(\.\d)? (B|KiB|MiB) · \d+(\.\d)? (B|KiB|MiB|GiB|TiB) free$")
    )
    badge = page.locator('.slot-card[data-slot-id="slot-006"] .health')
    await expect(badge).to_have_text("gemini: 0 % failed (1 h) · NO_IMAGE 100 % (1 answer)")
    await expect(badge).to_have_class(re.compile(r"\bwarn\b"))
    await snap(page, "dashboard-no-image")


async def test_the_slot_form_takes_ranges_choices_and_kinds_from_the_catalogue(
    page: Page, console: Console
) -> None:
    await log_in(page, start="/admin/slots/slot-007")
    await expect(page.locator("body")).to_have_attribute("data-loaded", "true")
    await page.locator("#slot-provider").select_option("turbotext")
    await page.locator("#slot-operation").select_option("image_edit")

    strength = page.locator('input[data-setting="strength"]')
    for name, value in (("type", "number"), ("min", "0"), ("max", "80"), ("step", "1")):
        await expect(strength).to_have_attribute(name, value)
    scale = page.locator('input[data-setting="scale"]')
    await expect(scale).to_have_attribute("min", "1")
    await expect(scale).to_have_attribute("max", "20")
    await expect(page.locator('textarea[data-setting="negative_prompt"]')).to_be_visible()
    await expect(
        page.locator('input[type="text"][data-setting="original_language"]')
    ).to_be_visible()

    await page.get_by_label("prompt (required)").fill("an oil painting")
    await strength.fill("30")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.locator("#slot-saved")).to_have_text("Saved; the slot is inactive.")
    saved = await console.svc.container.slots().get("slot-007")
    assert saved is not None and dict(saved.settings) == {
        "prompt": "an oil painting",
        "strength": 30,
    }

    await page.locator("#slot-operation").select_option("identity_transfer")
    restore = page.locator('select[data-setting="face_restore"]')
    assert await restore.locator("option").all_inner_texts() == [
        "— not set (provider default) —",
        "true",
        "false",
    ]
    await page.locator("#slot-provider").select_option("gemini")
    await page.locator("#slot-operation").select_option("image_edit")
    await expect(page.locator('input[data-setting="model"]')).to_have_attribute(
        "placeholder", "gemini-2.5-flash-image"
    )
    size = page.locator('select[data-setting="image_config.image_size"]')
    assert await size.locator("option").all_inner_texts() == [
        "— not set (provider default) —",
        "1K",
        "2K",
        "4K",
    ]
    await snap(page, "slot-form-from-catalogue")
