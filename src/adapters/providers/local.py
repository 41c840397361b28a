"""The built-in offline provider: grayscale, sepia and template overlay with Pillow.

It lets the service run end to end with no API key, and ``delay_ms`` makes it behave like a
slow remote provider for demos and deadline tests. Output keeps the photo's format (JPEG in,
JPEG out) so the booth gets what it sent.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from PIL import Image, ImageOps, UnidentifiedImageError

from adapters.clock import SystemClock
from application.ports import Clock, InputImage, ProviderInput, ProviderOutput
from domain.errors import ProviderFailed

OVERLAY_TEMPLATE = "overlay_template_id"
JPEG_QUALITY = 90
WEBP_QUALITY = 90

# Classic sepia matrix (RGB -> RGB, row per output channel): a grey input comes out warm,
# red >= green >= blue.
_SEPIA = (
    0.393, 0.769, 0.189, 0.0,
    0.349, 0.686, 0.168, 0.0,
    0.272, 0.534, 0.131, 0.0,
)  # fmt: skip

# Pillow format -> (output format, MIME). Anything else is written as PNG (lossless).
_OUTPUT: dict[str, tuple[str, str]] = {
    "JPEG": ("JPEG", "image/jpeg"),
    "MPO": ("JPEG", "image/jpeg"),
    "PNG": ("PNG", "image/png"),
    "WEBP": ("WEBP", "image/webp"),
}
_DEFAULT_OUTPUT = ("PNG", "image/png")
_DECODERS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
# Pillow reports undecodable input through any of these.
_DECODE_ERRORS = (
    UnidentifiedImageError,
    Image.DecompressionBombError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    TypeError,
)

Operation = Callable[[Image.Image, Mapping[str, InputImage]], Image.Image]


class _Decoded(NamedTuple):
    image: Image.Image  # upright, RGB or RGBA
    source_format: str
    icc_profile: bytes | None  # kept for RGB sources so colours look the same afterwards


def _decode(data: bytes, what: str) -> _Decoded:
    """Fully decode, apply the EXIF orientation and normalise the mode to RGB or RGBA."""
    try:
        with Image.open(io.BytesIO(data), formats=_DECODERS) as img:
            limit = Image.MAX_IMAGE_PIXELS
            if limit is not None and img.width * img.height > limit:
                raise ProviderFailed(f"the {what} is too large to process")
            source_format = img.format or ""
            profile = img.info.get("icc_profile")
            rgb_source = img.mode in ("RGB", "RGBA")
            img.load()
            upright = ImageOps.exif_transpose(img) or img
            has_alpha = upright.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
                "transparency" in upright.info
            )
            converted = upright.convert("RGBA" if has_alpha else "RGB")
    except ProviderFailed:
        raise
    except _DECODE_ERRORS as exc:
        raise ProviderFailed(
            f"the {what} could not be decoded as an image", {"reason": type(exc).__name__}
        ) from None
    icc = profile if rgb_source and isinstance(profile, bytes) else None
    return _Decoded(converted, source_format, icc)


def _keep_alpha(img: Image.Image, effect: Callable[[Image.Image], Image.Image]) -> Image.Image:
    """Apply an RGB effect and put the original alpha channel back."""
    if img.mode != "RGBA":
        return effect(img)
    result = effect(img.convert("RGB"))
    result.putalpha(img.getchannel("A"))
    return result


def _grayscale(img: Image.Image, _templates: Mapping[str, InputImage]) -> Image.Image:
    return _keep_alpha(img, lambda rgb: ImageOps.grayscale(rgb).convert("RGB"))


def _sepia(img: Image.Image, _templates: Mapping[str, InputImage]) -> Image.Image:
    return _keep_alpha(img, lambda rgb: rgb.convert("RGB", _SEPIA))


def _overlay(img: Image.Image, templates: Mapping[str, InputImage]) -> Image.Image:
    """Composite the template, stretched to the photo, over it using the template's alpha."""
    template_image = templates.get(OVERLAY_TEMPLATE)
    if template_image is None:
        raise ProviderFailed(
            f"overlay needs the template image {OVERLAY_TEMPLATE!r}",
            {"setting": OVERLAY_TEMPLATE},
        )
    template = _decode(template_image.data, "overlay template").image.convert("RGBA")
    if template.size != img.size:
        template = template.resize(img.size, Image.Resampling.LANCZOS)
    composed = Image.alpha_composite(img.convert("RGBA"), template)
    return composed if img.mode == "RGBA" else composed.convert("RGB")


OPERATIONS: Mapping[str, Operation] = {
    "grayscale": _grayscale,
    "sepia": _sepia,
    "overlay": _overlay,
}


def _encode(img: Image.Image, source_format: str, icc_profile: bytes | None) -> ProviderOutput:
    output_format, mime = _OUTPUT.get(source_format, _DEFAULT_OUTPUT)
    options: dict[str, Any] = {}
    if icc_profile:
        options["icc_profile"] = icc_profile
    if output_format == "JPEG":
        if img.mode == "RGBA":  # JPEG has no alpha: flatten onto white, not onto black
            background = Image.new("RGB", img.size, (255, 255, 255))
            background.paste(img, mask=img.getchannel("A"))
            img = background
        options.update(quality=JPEG_QUALITY, optimize=False)
    elif output_format == "WEBP":
        options.update(quality=WEBP_QUALITY)
    buffer = io.BytesIO()
    img.save(buffer, format=output_format, **options)
    return ProviderOutput(image=buffer.getvalue(), mime=mime)


def _run(operation: Operation, request: ProviderInput) -> ProviderOutput:
    """The blocking Pillow part: decode, transform, encode."""
    photo = _decode(request.photo.data, "photo")
    result = operation(photo.image, request.templates)
    try:
        return _encode(result, photo.source_format, photo.icc_profile)
    except (OSError, ValueError) as exc:
        raise ProviderFailed(
            "the result image could not be encoded", {"reason": type(exc).__name__}
        ) from None


class LocalProvider:
    """``ProviderAdapter`` for provider ``local``; Pillow work runs in a worker thread."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or SystemClock()

    async def transform(self, request: ProviderInput) -> ProviderOutput:
        operation = OPERATIONS.get(request.operation)
        if operation is None:
            known = ", ".join(sorted(OPERATIONS))
            raise ProviderFailed(
                f"local provider has no operation {request.operation!r} (known: {known})",
                {"operation": request.operation},
            )
        delay_ms = request.settings.get("delay_ms", 0)
        if isinstance(delay_ms, int) and not isinstance(delay_ms, bool) and delay_ms > 0:
            await self._clock.sleep(delay_ms / 1000.0)  # cancellable: the deadline wins
        return await asyncio.to_thread(_run, operation, request)
