"""What the console journeys share: the browser binary, the running service, logging in
through the login page, and the screenshot each journey leaves behind."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from admin_harness import ADMIN_PASSWORD, VIEWER_PASSWORD
from fake_gemini import FakeGemini
from PIL import Image, ImageDraw
from playwright.async_api import Page, expect
from service_harness import Service

CHROMIUM = "/usr/lib/chromium/chromium"  # Debian's binary (/usr/bin/chromium is a wrapper)
INSTALL_COMMAND = (
    "apt-get install -y --no-install-recommends chromium chromium-driver fonts-liberation"
)
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"

ADMIN = ("ann", ADMIN_PASSWORD)
VIEWER = ("vic", VIEWER_PASSWORD)


def guest_photo(fmt: str = "JPEG", tint: tuple[int, int, int] = (70, 120, 200)) -> bytes:
    """A 480 × 360 stand-in for a booth shot (a figure on a gradient), so that screenshots
    show recognisable pictures; ``fmt`` is a Pillow format name."""
    picture = Image.new("RGB", (480, 360))
    draw = ImageDraw.Draw(picture)
    for y in range(360):
        shade = tuple(int(c * (0.55 + 0.45 * y / 360)) for c in tint)
        draw.line([(0, y), (479, y)], fill=shade)
    draw.ellipse((190, 70, 290, 170), fill=(236, 200, 170))  # head
    draw.rounded_rectangle((150, 180, 330, 360), radius=40, fill=(220, 60, 60))  # shoulders
    buffer = io.BytesIO()
    picture.save(buffer, format=fmt)
    return buffer.getvalue()


def frame_png() -> bytes:
    """An overlay template: a gold frame around a transparent middle."""
    frame = Image.new("RGBA", (480, 360), (0, 0, 0, 0))
    ImageDraw.Draw(frame).rectangle((0, 0, 479, 359), outline=(212, 175, 55, 255), width=24)
    buffer = io.BytesIO()
    frame.save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class Console:
    svc: Service
    gemini: FakeGemini


async def log_in(page: Page, account: tuple[str, str] = ADMIN, *, start: str = "/admin") -> None:
    """Open ``start`` logged out (the console sends us to its login page), log in, and land
    back on ``start``."""
    await page.goto(start)
    await expect(page).to_have_url(re.compile(r"/admin/login\?next="))
    await page.get_by_label("Username").fill(account[0])
    await page.get_by_label("Password").fill(account[1])
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(re.compile(re.escape(start) + r"$"))


async def snap(page: Page, name: str) -> Path:
    """The journey's screenshot, kept as a test artifact (``test-artifacts/screenshots``)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
