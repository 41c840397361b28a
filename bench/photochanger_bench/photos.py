"""Booth photos of realistic size and content, generated at run time from a fixed seed.

A flat colour or a tiny thumbnail compresses to nothing and makes every per-byte cost of the
service (multipart parsing, file writes, base64 for Gemini) vanish from the figures. These
images have what makes a camera JPEG big: smooth light falloff, blurred background shapes,
sharp foreground edges, fine texture and sensor grain. The JPEG quality is then searched so the
file lands near the size a booth really sends (about 1 MB at 1,600×1,067, 4 MB at 4,000×2,667).
Nothing is downloaded; results are cached on disk, keyed by the recipe version.
"""

from __future__ import annotations

import io
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageOps

RECIPE = "v1"  # bump when the drawing changes, so old cached files are not reused
SEED = 20_240_601
CACHE_DIR = Path(tempfile.gettempdir()) / "photochanger-bench-photos" / RECIPE
FULL_SIZE = (4000, 2667)


@dataclass(frozen=True)
class PhotoSpec:
    """One booth photo: its label in the report, pixel size, byte target and grain."""

    label: str
    size: tuple[int, int]
    target_bytes: int
    grain: float  # blend weight of the noise layer; more grain = bigger JPEG
    mime: str = "image/jpeg"


@dataclass(frozen=True)
class Photo:
    label: str
    data: bytes
    size: tuple[int, int]
    mime: str
    quality: int | None  # JPEG quality the search settled on (None for PNG)

    @property
    def filename(self) -> str:
        return f"booth-{self.label.replace(' ', '')}.{'png' if self.mime == 'image/png' else 'jpg'}"

    def describe(self) -> str:
        q = f", quality {self.quality}" if self.quality is not None else ""
        w, h = self.size
        return f"{self.label}: {w}×{h} {self.mime}, {len(self.data):,} bytes{q}"


PHOTO_1MB = PhotoSpec("1 MB", (1600, 1067), 1_000_000, grain=0.1)
PHOTO_4MB = PhotoSpec("4 MB", FULL_SIZE, 4_000_000, grain=0.07)
# What the fake Gemini sends back: Gemini's 3:2 output size, as a PNG like the real model.
RESULT_PNG = PhotoSpec("result", (1248, 832), 800_000, grain=0.004, mime="image/png")


def _scene(rng: random.Random) -> Image.Image:
    """The noiseless picture at full size: a lit backdrop, bokeh, people-like shapes, props."""
    width, height = FULL_SIZE
    backdrop = ImageOps.colorize(
        Image.linear_gradient("L").resize((width, height)),
        black=(48, 62, 96),
        mid=(170, 140, 120),
        white=(222, 196, 160),
    )
    light = Image.radial_gradient("L").resize((width, height)).point(lambda v: 255 - v)
    backdrop = Image.composite(backdrop, Image.new("RGB", (width, height), (20, 20, 28)), light)

    bokeh = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(bokeh)
    for _ in range(140):
        x, y, r = rng.randrange(width), rng.randrange(height // 2), rng.randrange(30, 180)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=_colour(rng, 120, 255))
    backdrop = Image.blend(backdrop, bokeh.filter(ImageFilter.GaussianBlur(40)), 0.35)

    fore = ImageDraw.Draw(backdrop)
    for person in range(5):  # bodies and heads, sharp-edged like subjects in focus
        cx = int(width * (0.15 + 0.17 * person)) + rng.randrange(-80, 80)
        top = int(height * 0.35) + rng.randrange(-100, 100)
        fore.rounded_rectangle(
            (cx - 260, top + 330, cx + 260, height), radius=160, fill=_colour(rng, 20, 200)
        )
        fore.ellipse((cx - 150, top, cx + 150, top + 380), fill=_skin(rng))
        for _ in range(900):  # hair, fabric: short strokes of fine detail
            x0 = cx + rng.randrange(-260, 260)
            y0 = top + rng.randrange(-40, 900)
            fore.line(
                (x0, y0, x0 + rng.randrange(-30, 30), y0 + rng.randrange(-30, 30)),
                fill=_colour(rng, 10, 240),
                width=rng.choice((1, 2, 3)),
            )
    for _ in range(400):  # props and confetti scattered over the frame
        x, y, r = rng.randrange(width), rng.randrange(height), rng.randrange(4, 40)
        shape = rng.choice((fore.ellipse, fore.rectangle))
        shape((x, y, x + r, y + r * rng.choice((1, 2))), fill=_colour(rng, 0, 255))
    top = 3 * height // 4  # a patterned floor: fractal detail at every scale
    fractal = Image.effect_mandelbrot((width, height - top), (-0.76, 0.08, -0.73, 0.10), 255)
    floor = ImageOps.colorize(fractal, black=(60, 40, 30), white=(200, 170, 140))
    backdrop.paste(Image.blend(backdrop.crop((0, top, width, height)), floor, 0.5), (0, top))
    return backdrop.filter(ImageFilter.GaussianBlur(1.2))  # lens softness


def _colour(rng: random.Random, low: int, high: int) -> tuple[int, int, int]:
    return (rng.randint(low, high), rng.randint(low, high), rng.randint(low, high))


def _skin(rng: random.Random) -> tuple[int, int, int]:
    base = rng.randint(120, 220)
    return (base + 30 if base < 225 else 255, base, int(base * 0.8))


def _with_grain(image: Image.Image, weight: float, rng: random.Random) -> Image.Image:
    """Sensor grain: seeded per-pixel noise, slightly blurred, blended in."""
    noise = Image.frombytes("RGB", image.size, rng.randbytes(image.width * image.height * 3))
    return Image.blend(image, noise.filter(ImageFilter.GaussianBlur(0.5)), weight)


def _encode(image: Image.Image, spec: PhotoSpec) -> tuple[bytes, int | None]:
    """JPEG: the quality (86–97) whose size is closest to the target. PNG: as is."""
    if spec.mime == "image/png":
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=6)
        return buffer.getvalue(), None
    best: tuple[int, bytes, int] | None = None
    low, high = 86, 97
    while low <= high:
        quality = (low + high) // 2
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=quality, subsampling=0 if quality >= 90 else 2)
        data = buffer.getvalue()
        gap = abs(len(data) - spec.target_bytes)
        if best is None or gap < best[0]:
            best = (gap, data, quality)
        if len(data) < spec.target_bytes:
            low = quality + 1
        else:
            high = quality - 1
    assert best is not None
    return best[1], best[2]


def make_photo(spec: PhotoSpec) -> Photo:
    """Build (or load from the cache) the photo ``spec`` describes."""
    suffix = "png" if spec.mime == "image/png" else "jpg"
    name = f"{spec.size[0]}x{spec.size[1]}-{spec.target_bytes}-{spec.grain}.{suffix}"
    path = CACHE_DIR / name
    quality_path = path.with_suffix(".quality")
    if path.exists() and quality_path.exists():
        quality_text = quality_path.read_text().strip()
        quality = int(quality_text) if quality_text else None
        return Photo(spec.label, path.read_bytes(), spec.size, spec.mime, quality)
    rng = random.Random(SEED)
    scene = _scene(rng)
    if scene.size != spec.size:
        scene = scene.resize(spec.size, Image.Resampling.LANCZOS)
    data, quality = _encode(_with_grain(scene, spec.grain, rng), spec)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    quality_path.write_text("" if quality is None else str(quality))
    return Photo(spec.label, data, spec.size, spec.mime, quality)


def tiny_jpeg() -> Photo:
    """The old 320×240 (~10 KB) shot: the overhead floor, where bytes cost nothing."""
    image = Image.effect_mandelbrot((320, 240), (-2.0, -1.2, 1.0, 1.2), 64).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return Photo("10 KB", buffer.getvalue(), (320, 240), "image/jpeg", 85)


if __name__ == "__main__":
    for one in (PHOTO_1MB, PHOTO_4MB, RESULT_PNG):
        print(make_photo(one).describe())
