"""Slot journeys: configure and activate a slot, watch a booth photo arrive, test-run unsaved
settings, use an uploaded template, and meet someone else's edit."""

from __future__ import annotations

import io
import re

import pytest
from console_harness import Console, frame_png, guest_photo, log_in, snap
from PIL import Image
from playwright.async_api import Page, expect


async def _editor(page: Page, slot_id: str) -> None:
    await log_in(page, start=f"/admin/slots/{slot_id}")
    await expect(page.locator("body")).to_have_attribute("data-loaded", "true")


async def test_a_slot_set_up_in_the_editor_serves_the_booth_and_its_photo_shows_up(
    page: Page, console: Console
) -> None:
    await _editor(page, "slot-002")
    await page.get_by_label("Name").fill("Old times")
    await page.get_by_label("Operation").select_option("sepia")
    await page.get_by_role("button", name="Save and activate").click()
    await expect(page.locator("#slot-saved")).to_have_text("Saved; the slot is active.")
    await expect(page.locator("#slot-state")).to_have_text("active")
    ingest_url = page.locator("#ingest-url")
    await expect(ingest_url).to_have_value(f"{console.svc.base_url}/ingest/slot-002")
    await expect(page.get_by_text("fileToUpload")).to_be_visible()
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await page.get_by_role("button", name="Copy").click()
    copied = await page.evaluate("navigator.clipboard.readText()")
    assert copied == f"{console.svc.base_url}/ingest/slot-002"
    await snap(page, "slot-editor")

    await page.get_by_role("link", name="Dashboard").click()
    card = page.locator('.slot-card[data-slot-id="slot-002"]')
    await expect(card.locator(".provider-operation")).to_have_text("local / sepia")
    await expect(card.locator(".slot-name")).to_have_text("Old times")
    await expect(card.locator(".count-succeeded")).to_have_text("0")
    await page.evaluate("window.notReloaded = true")

    booth = await console.svc.ingest("slot-002", guest_photo())
    assert booth.status_code == 200, booth.text
    red, green, blue = Image.open(io.BytesIO(booth.content)).convert("RGB").getpixel((5, 5))
    assert red > green > blue  # sepia, not the blue photo that was sent

    await expect(card.locator(".count-succeeded")).to_have_text("1")  # by polling, no reload
    thumbnail = card.locator(".thumb img")
    await expect(thumbnail).to_have_js_property("complete", True)
    assert await thumbnail.evaluate("img => img.naturalWidth") > 0
    assert await page.evaluate("window.notReloaded") is True
    await snap(page, "dashboard-after-ingest")

    job_id = booth.headers["X-Job-Id"]
    await page.get_by_role("link", name="Gallery").click()
    await page.get_by_label("Slot").select_option("slot-002")
    tile = page.locator(f'#gallery [data-job-id="{job_id}"]')
    await expect(tile).to_contain_text("slot-002")
    await expect(tile).to_contain_text("expires")
    download = await tile.get_by_role("link", name="Download").get_attribute("href")
    assert download is not None
    fetched = await page.request.get(download)
    assert fetched.ok and await fetched.body() == booth.content
    await snap(page, "gallery")


async def test_a_test_run_tries_an_unsaved_prompt_on_an_inactive_slot(
    page: Page, console: Console
) -> None:
    await console.svc.configure(
        "slot-005",
        name="Watercolour",
        provider="gemini",
        operation="image_edit",
        settings={"prompt": "the saved prompt"},
        is_active=False,
    )
    await _editor(page, "slot-005")
    await expect(page.locator("#slot-state")).to_have_text("inactive")
    await page.get_by_label("prompt").fill("an unsaved watercolour prompt")
    await page.get_by_label("Photo").set_input_files(
        files=[{"name": "guest.jpg", "mimeType": "image/jpeg", "buffer": guest_photo()}]
    )
    await page.get_by_role("button", name="Run test").click()

    result = page.locator("#test-result")
    await expect(result).to_be_visible()
    await expect(result).to_have_js_property("complete", True)
    assert await result.evaluate("img => img.naturalWidth") > 0
    await expect(page.locator("#test-original")).to_be_visible()
    await expect(page.locator("#test-timing")).to_have_text(re.compile(r"in the service"))
    assert any("an unsaved watercolour prompt" in t for t in console.gemini.requests[-1].texts)
    await snap(page, "test-run")

    console.gemini.script.append(403)  # the provider refuses the next one
    await page.get_by_role("button", name="Run test").click()
    error = page.locator("#test-error")
    await expect(error).to_contain_text("The provider failed.")
    await expect(error).to_contain_text("PERMISSION_DENIED")  # the provider's own words
    await expect(result).to_be_hidden()

    stored = await console.svc.client.get("/api/slots/slot-005")  # unauthenticated: refused
    assert stored.status_code == 401
    slot = await console.svc.container.slots().get("slot-005")
    assert slot is not None
    assert (slot.settings["prompt"], slot.is_active) == ("the saved prompt", False)


async def test_an_uploaded_template_is_picked_for_an_overlay_slot(
    page: Page, console: Console
) -> None:
    await log_in(page, start="/admin/templates")
    await page.get_by_label("Image").set_input_files(
        files=[{"name": "frame.png", "mimeType": "image/png", "buffer": frame_png()}]
    )
    await page.get_by_label("Label").fill("wedding frame")
    await page.get_by_role("button", name="Upload").click()
    tile = page.locator("#templates figure", has_text="wedding frame")
    await expect(tile).to_contain_text("Not used")
    await expect(tile.locator("img")).to_have_js_property("complete", True)

    await page.goto("/admin/slots/slot-004")
    await expect(page.locator("body")).to_have_attribute("data-loaded", "true")
    await page.get_by_label("Operation").select_option("overlay")
    await page.get_by_role("button", name="wedding frame").click()
    await page.get_by_role("button", name="Save and activate").click()
    await expect(page.locator("#slot-saved")).to_have_text("Saved; the slot is active.")

    booth = await console.svc.ingest("slot-004", guest_photo())
    assert booth.status_code == 200, booth.text
    framed = Image.open(io.BytesIO(booth.content)).convert("RGB")
    assert framed.getpixel((5, 5)) == pytest.approx((212, 175, 55), abs=12)  # the frame

    await page.get_by_role("link", name="Templates").click()
    await expect(tile).to_contain_text("Used by slot-004")
    await tile.get_by_role("button", name="Delete").click()
    await expect(tile.locator(".tile-error")).to_have_text(re.compile(r"In use by slot-004"))
    await snap(page, "templates")


async def test_saving_over_someone_elses_change_shows_the_conflict(
    page: Page, console: Console
) -> None:
    await _editor(page, "slot-006")
    await console.svc.configure("slot-006", name="Renamed elsewhere")  # after the page read it

    await page.get_by_label("Name").fill("My name")
    await page.get_by_role("button", name="Save", exact=True).click()

    conflict = page.locator("#slot-conflict")
    await expect(conflict).to_contain_text("Changed by someone else — reload")
    await snap(page, "conflict")
    await conflict.get_by_role("button", name="Reload").click()
    await expect(conflict).to_be_hidden()
    await expect(page.get_by_label("Name")).to_have_value("Renamed elsewhere")


async def test_a_setting_the_api_refuses_is_named_next_to_its_field(
    page: Page, console: Console
) -> None:
    await _editor(page, "slot-007")
    await page.get_by_label("Provider").select_option("gemini")
    await page.get_by_label("Operation").select_option("image_edit")
    await page.get_by_label("model").fill("bad model/name")
    await page.get_by_label("prompt").fill("a prompt")
    await page.get_by_role("button", name="Save", exact=True).click()
    error = page.locator('[data-error-for="model"]')
    await expect(error).to_contain_text("model")
    await expect(page.locator("#slot-error")).to_be_hidden()
