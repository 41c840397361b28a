"""LocalProvider with real Pillow images: effects, overlay alpha, formats, errors, delay."""

from __future__ import annotations

import asyncio
import io
import uuid
import warnings
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PIL import Image

from adapters.clock import SystemClock
from adapters.providers.local import OPERATIONS, LocalProvider
from adapters.providers.registry import StaticProviderRegistry
from application.ports import InputImage, ProviderInput, ProviderOutput
from domain.errors import ProviderFailed
from domain.providers import PROVIDERS

SIZE = (64, 48)


def encode(img: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def colourful(mode: str = "RGB") -> Image.Image:
    """Four coloured quadrants so that a grayscale or sepia change is visible everywhere."""
    img = Image.new(mode, SIZE, (255, 0, 0, 255) if mode == "RGBA" else (255, 0, 0))
    img.paste((0, 200, 0), (32, 0, 64, 24))
    img.paste((0, 0, 220), (0, 24, 32, 48))
    img.paste((250, 220, 10), (32, 24, 64, 48))
    return img


def request(
    image: bytes,
    operation: str,
    settings: Mapping[str, Any] | None = None,
    templates: Mapping[str, tuple[bytes, str]] | None = None,
) -> ProviderInput:
    return ProviderInput(
        job_id=uuid.uuid4(),
        operation=operation,
        settings=settings or {},
        photo=InputImage(
            mime="image/octet-stream", data=image
        ),  # the bytes are trusted, not the label
        templates={
            field: InputImage(mime=mime, data=data)
            for field, (data, mime) in (templates or {}).items()
        },
        deadline=datetime.now(UTC) + timedelta(seconds=60),
    )


def decoded(output: ProviderOutput) -> Image.Image:
    img = Image.open(io.BytesIO(output.image))
    img.load()
    return img


class ControlledClock:
    """A clock whose sleeps last until the test releases them, and which records them."""

    def __init__(self, *, release_immediately: bool = False) -> None:
        self.sleeps: list[float] = []
        self.sleeping = asyncio.Event()
        self.release = asyncio.Event()
        if release_immediately:
            self.release.set()

    def now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.sleeping.set()
        await self.release.wait()

    async def wait_for_event(self, event: asyncio.Event, seconds: float) -> bool:
        await event.wait()
        return True


@pytest.fixture
def provider() -> LocalProvider:
    return LocalProvider(ControlledClock(release_immediately=True))


def test_operations_match_the_domain_catalogue() -> None:
    assert set(OPERATIONS) == set(PROVIDERS["local"].operations)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
async def test_grayscale_makes_every_pixel_grey(provider: LocalProvider, fmt: str) -> None:
    out = decoded(await provider.transform(request(encode(colourful(), fmt), "grayscale")))
    rgb = out.convert("RGB")
    pixels = [rgb.getpixel((x, y)) for x in range(SIZE[0]) for y in range(SIZE[1])]
    assert all(r == g == b for r, g, b in pixels)  # type: ignore[misc]
    assert len({p[0] for p in pixels}) > 1  # type: ignore[index]  # the picture is still there


async def test_sepia_turns_grey_warm(provider: LocalProvider) -> None:
    grey = Image.new("RGB", SIZE, (128, 128, 128))
    out = decoded(await provider.transform(request(encode(grey, "PNG"), "sepia")))
    r, g, b = out.convert("RGB").getpixel((10, 10))  # type: ignore[misc]
    assert r >= g >= b
    assert r > b


async def test_effects_keep_the_alpha_channel(provider: LocalProvider) -> None:
    img = colourful("RGBA")
    img.putalpha(Image.linear_gradient("L").resize(SIZE))
    for operation in ("grayscale", "sepia"):
        out = decoded(await provider.transform(request(encode(img, "PNG"), operation)))
        assert out.mode == "RGBA"
        assert out.getchannel("A").tobytes() == img.getchannel("A").tobytes()


def half_opaque_red_template() -> bytes:
    """Left half opaque red, right half fully transparent; half the photo's size."""
    template = Image.new("RGBA", (32, 24), (0, 0, 0, 0))
    template.paste((255, 0, 0, 255), (0, 0, 16, 24))
    return encode(template, "PNG")


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
async def test_overlay_covers_only_where_the_template_is_opaque(
    provider: LocalProvider, fmt: str
) -> None:
    photo = Image.new("RGB", SIZE, (0, 0, 255))
    options = {"lossless": True} if fmt == "WEBP" else {}
    out = decoded(
        await provider.transform(
            request(
                encode(photo, fmt, **options),
                "overlay",
                {"overlay_template_id": str(uuid.uuid4())},
                {"overlay_template_id": (half_opaque_red_template(), "image/png")},
            )
        )
    )
    assert out.size == SIZE  # the template was stretched to the photo
    rgb = out.convert("RGB")
    # Away from the edge at x=32, where resampling blends the two halves.
    opaque_side = [rgb.getpixel((x, y)) for x in range(0, 24) for y in range(SIZE[1])]
    transparent_side = [rgb.getpixel((x, y)) for x in range(40, 64) for y in range(SIZE[1])]
    if fmt == "PNG":  # lossless all the way: exact colours
        assert set(opaque_side) == {(255, 0, 0)}
        assert set(transparent_side) == {(0, 0, 255)}
    else:
        assert all(r > 200 and b < 60 for r, _, b in opaque_side)  # type: ignore[misc]
        assert all(r < 60 and b > 200 for r, _, b in transparent_side)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("fmt", "mime"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
@pytest.mark.parametrize("operation", ["grayscale", "sepia", "overlay"])
async def test_output_keeps_the_input_format(
    provider: LocalProvider, fmt: str, mime: str, operation: str
) -> None:
    templates = {"overlay_template_id": (half_opaque_red_template(), "image/png")}
    output = await provider.transform(
        request(encode(colourful(), fmt), operation, templates=templates)
    )
    assert output.mime == mime
    assert decoded(output).format == fmt
    assert decoded(output).size == SIZE


async def test_jpeg_output_from_a_photo_with_alpha_in_palette_png(
    provider: LocalProvider,
) -> None:
    palette = colourful().convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    data = encode(palette, "PNG", transparency=0)
    out = decoded(await provider.transform(request(data, "sepia")))
    assert (out.format, out.mode) == ("PNG", "RGBA")


async def test_exif_orientation_is_applied(provider: LocalProvider) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, meant to be shown rotated 90° clockwise
    data = encode(colourful(), "JPEG", exif=exif)
    out = decoded(await provider.transform(request(data, "grayscale")))
    assert out.size == (SIZE[1], SIZE[0])
    assert out.getexif().get(0x0112, 1) == 1  # nobody rotates it a second time


@pytest.mark.parametrize(
    "data",
    [b"not an image at all", b"", encode(colourful(), "JPEG")[:300]],
    ids=["text", "empty", "truncated-jpeg"],
)
async def test_corrupt_photo_is_a_provider_failure(provider: LocalProvider, data: bytes) -> None:
    with pytest.raises(ProviderFailed, match="could not be decoded") as caught:
        await provider.transform(request(data, "grayscale"))
    assert "\\x" not in caught.value.message and "JFIF" not in caught.value.message


async def test_decompression_bomb_is_refused(
    provider: LocalProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = encode(colourful(), "PNG")
    for limit in (1000, 3000):  # Pillow raises past twice the limit, only warns just past it
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with pytest.raises(ProviderFailed, match="photo"):
                await provider.transform(request(data, "grayscale"))


async def test_unknown_operation_is_a_provider_failure(provider: LocalProvider) -> None:
    with pytest.raises(ProviderFailed, match="no operation 'cartoon'"):
        await provider.transform(request(encode(colourful(), "PNG"), "cartoon"))


async def test_overlay_without_its_template_is_a_provider_failure(
    provider: LocalProvider,
) -> None:
    with pytest.raises(ProviderFailed, match="overlay_template_id"):
        await provider.transform(request(encode(colourful(), "PNG"), "overlay"))


async def test_corrupt_template_is_a_provider_failure(provider: LocalProvider) -> None:
    templates = {"overlay_template_id": (b"garbage", "image/png")}
    with pytest.raises(ProviderFailed, match="overlay template could not be decoded"):
        await provider.transform(request(encode(colourful(), "PNG"), "overlay", {}, templates))


async def test_delay_waits_on_the_clock_before_answering() -> None:
    clock = ControlledClock(release_immediately=True)
    output = await LocalProvider(clock).transform(
        request(encode(colourful(), "PNG"), "grayscale", {"delay_ms": 250})
    )
    assert clock.sleeps == [0.25]
    assert output.mime == "image/png"


async def test_no_delay_means_no_sleep() -> None:
    clock = ControlledClock(release_immediately=True)
    await LocalProvider(clock).transform(request(encode(colourful(), "PNG"), "sepia"))
    assert clock.sleeps == []


async def test_delay_is_cancellable() -> None:
    clock = ControlledClock()  # sleeps until released, which never happens here
    provider = LocalProvider(clock)
    task = asyncio.create_task(
        provider.transform(request(encode(colourful(), "PNG"), "grayscale", {"delay_ms": 60_000}))
    )
    await clock.sleeping.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.sleeps == [60.0]


def test_registry_returns_the_configured_adapter(provider: LocalProvider) -> None:
    registry = StaticProviderRegistry({"local": provider})
    assert registry.get("local") is provider
    with pytest.raises(ProviderFailed, match="provider gemini is not configured"):
        registry.get("gemini")


# SystemClock is the provider's default clock.


async def test_system_clock_is_aware_utc_and_waits_for_events() -> None:
    clock = SystemClock()
    assert clock.now().utcoffset() == timedelta(0)
    event = asyncio.Event()
    assert await clock.wait_for_event(event, 0) is False
    event.set()
    assert await clock.wait_for_event(event, 60) is True

    later = asyncio.Event()
    waiter = asyncio.create_task(clock.wait_for_event(later, 60))
    await asyncio.sleep(0)  # let the waiter start waiting
    later.set()
    assert await waiter is True
