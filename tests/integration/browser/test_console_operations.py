"""Running an event: cancel a job while the booth waits, tune the sync timeout and the
ingest password, read stats and the audit log, and what a viewer may (not) do."""

from __future__ import annotations

import asyncio
import re

from console_harness import VIEWER, Console, log_in, snap
from playwright.async_api import Page, expect
from service_harness import PASSWORD


async def test_a_waiting_job_cancelled_on_the_jobs_page_ends_the_booth_request(
    page: Page, console: Console
) -> None:
    await console.svc.configure(
        "slot-008", operation="grayscale", settings={"delay_ms": 30_000}, is_active=True
    )
    await log_in(page, start="/admin/jobs")
    booth = asyncio.create_task(console.svc.ingest("slot-008"))

    row = page.locator('#waiting tr[data-slot-id="slot-008"]')
    countdown = row.locator(".countdown")
    await expect(countdown).to_have_text(re.compile(r"^\d+\.\d s$"))
    first = await countdown.text_content()
    await expect(countdown).not_to_have_text(first or "")  # it counts down between polls
    await snap(page, "jobs-waiting")
    await row.get_by_role("button", name="Cancel").click()

    answer = await asyncio.wait_for(booth, timeout=10)
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["code"] == "cancelled"
    job_id = answer.json()["error"]["details"]["job_id"]
    await expect(row).to_have_count(0)
    await page.get_by_label("Outcome").select_option("cancelled")
    finished = page.locator(f'#finished tr[data-job-id="{job_id}"]')
    await expect(finished).to_have_attribute("data-state", "cancelled")


async def test_the_sync_timeout_and_its_ttls_and_the_ingest_password(
    page: Page, console: Console
) -> None:
    await log_in(page, start="/admin/settings")
    timeout = page.get_by_label("Sync response timeout (seconds)")
    await expect(page.locator("#ttl-job-deadline")).not_to_have_text("…")

    await timeout.fill("75")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator('[data-error-for="sync_timeout_sec"]')).to_contain_text("60")

    await timeout.fill("55")
    await expect(page.locator("#ttl-pending")).to_be_visible()
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator("#settings-saved")).to_be_visible()
    for ttl in ("#ttl-public-link", "#ttl-ingest", "#ttl-job-deadline"):
        await expect(page.locator(ttl)).to_have_text("55 s")
    await expect(page.locator("#ttl-pending")).to_be_hidden()
    await expect(page.locator('tr[data-provider="gemini"]')).to_contain_text("configured")
    await expect(page.locator('tr[data-provider="turbotext"]')).to_contain_text("not set")
    await snap(page, "settings")

    await page.reload()
    await expect(timeout).to_have_value("55")
    settings = await console.svc.container.get_settings()()
    assert settings.app.sync_timeout_sec == 55

    await page.get_by_role("button", name="Generate a new password").click()
    generated = page.locator("#generated-password")
    await expect(generated).not_to_have_value("")
    new_password = await generated.input_value()
    assert (await console.svc.ingest("slot-001")).status_code == 401
    assert (await console.svc.ingest("slot-001", password=new_password)).status_code == 200

    await page.get_by_label("Or type one").fill(PASSWORD)  # back to what the other tests send
    await page.get_by_role("button", name="Set this password").click()
    await expect(page.locator("#password-saved")).to_be_visible()
    await expect(generated).to_be_hidden()
    assert (await console.svc.ingest("slot-001")).status_code == 200


async def test_stats_and_the_audit_log_show_what_happened(page: Page, console: Console) -> None:
    assert (await console.svc.ingest("slot-001")).status_code == 200
    await console.svc.configure("slot-009", name="Audited name")

    await log_in(page, start="/admin/stats")
    await page.get_by_role("button", name="Last hour").click()
    await expect(page.locator("body")).to_have_attribute("data-loaded", "1h")
    row = page.locator('#slot-stats tr[data-key="slot-001"]')
    await expect(row.locator("td.succeeded")).not_to_have_text("0")
    await expect(page.locator("#outcomes-chart svg rect.succeeded").first).to_be_attached()
    await expect(page.locator("#latency-chart svg .p50").first).to_be_attached()
    await expect(page.locator('#provider-stats tr[data-key="local"]')).to_be_visible()
    await snap(page, "stats")

    await page.get_by_role("link", name="Audit").click()
    entry = page.locator('#audit tr[data-action="slot.update"][data-target="slot-009"]')
    await expect(entry.first).to_contain_text("Audited name")
    await snap(page, "audit")


async def test_a_viewer_sees_everything_and_can_change_nothing(
    page: Page, console: Console
) -> None:
    await log_in(page, VIEWER)
    await expect(page.locator(".slot-card")).to_have_count(15)
    await expect(page.locator("#read-only-notice")).to_be_visible()

    await page.goto("/admin/slots/slot-001")
    await expect(page.locator("body")).to_have_attribute("data-loaded", "true")
    await expect(page.get_by_label("Name")).to_be_disabled()
    await expect(page.get_by_label("Provider")).to_be_disabled()
    await expect(page.locator("#slot-form button")).to_have_count(0)
    await expect(page.get_by_role("button", name="Run test")).to_have_count(0)
    await expect(page.locator("#ingest-url")).to_have_value(re.compile(r"/ingest/slot-001$"))
    await snap(page, "viewer-slot")

    for path in ("/admin/templates", "/admin/jobs", "/admin/settings"):
        await page.goto(path)
        await expect(page.locator("body")).to_have_attribute("data-loaded", re.compile("."))
        await expect(page.locator("main button:visible")).to_have_count(0)
    await expect(page.get_by_label("Sync response timeout (seconds)")).to_be_disabled()

    # The API refuses too, even when the viewer's browser sends a well-formed console request.
    status = await page.evaluate(
        """async () => {
            const csrf = document.cookie.match(/photochanger_csrf=([^;]+)/)[1];
            const r = await fetch('/api/settings', {method: 'PATCH',
              headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
              body: JSON.stringify({sync_timeout_sec: 50})});
            return r.status;
        }"""
    )
    assert status == 403


async def test_a_failed_job_shows_the_providers_own_words(page: Page, console: Console) -> None:
    await console.svc.configure(
        "slot-010",
        provider="gemini",
        operation="image_edit",
        settings={"prompt": "a watercolour"},
        is_active=True,
    )
    console.gemini.script.append(403)
    booth = await console.svc.ingest("slot-010")
    assert booth.status_code == 502, booth.text
    job_id = booth.json()["error"]["details"]["job_id"]

    await log_in(page, start="/admin/jobs")
    await page.get_by_label("Slot").select_option("slot-010")
    await page.get_by_label("Outcome").select_option("provider_error")
    row = page.locator(f'#finished tr[data-job-id="{job_id}"]')
    await expect(row).to_contain_text("provider error")
    await expect(row.locator("td.detail")).to_contain_text("permission")
    await snap(page, "jobs-failed")
