"""An upload is judged whole or not from its structure: every cut-short file is refused."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from adapters.storage.image_type import sniff_image_file
from domain.errors import UnsupportedMediaType


def encode(fmt: str, size: tuple[int, int] = (96, 64), **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise(size, 40).convert("RGB").save(buffer, format=fmt, **options)
    return buffer.getvalue()


IMAGES = {
    "jpeg": encode("JPEG"),
    "progressive-jpeg": encode("JPEG", progressive=True),
    "png": encode("PNG"),
    "webp": encode("WEBP"),
    "lossless-webp": encode("WEBP", lossless=True),
}
MIMES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


def judge(tmp_path: Path, data: bytes) -> str | None:
    path = tmp_path / "upload"
    path.write_bytes(data)
    return sniff_image_file(path)


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_whole_images_pass(tmp_path: Path, name: str) -> None:
    assert judge(tmp_path, IMAGES[name]) == MIMES[name.rsplit("-", 1)[-1]]


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(IMAGES)), data=st.data())
def test_every_cut_short_image_is_refused(tmp_path: Path, name: str, data: st.DataObject) -> None:
    image = IMAGES[name]
    cut = data.draw(st.integers(0, len(image) - 1), label="cut")
    try:
        mime = judge(tmp_path, image[:cut])
    except UnsupportedMediaType as refused:
        assert refused.details["reason"] in ("truncated", "corrupt"), refused.message
    else:
        assert mime is None, f"{name} cut at {cut} of {len(image)} was taken as {mime}"


def test_bytes_after_the_end_of_a_jpeg_are_allowed(tmp_path: Path) -> None:
    """Phones append a video after the JPEG's end (motion photos); the photo is still whole."""
    assert (
        judge(tmp_path, IMAGES["jpeg"] + b"\x00\x00\x00\x18ftypmp42" + bytes(100)) == "image/jpeg"
    )


def test_an_exif_thumbnail_does_not_hide_a_cut_main_image(tmp_path: Path) -> None:
    """The embedded thumbnail has its own end-of-image marker, before the main image's scan."""
    image = Image.effect_noise((320, 240), 40).convert("RGB")
    buffer = io.BytesIO()
    exif = image.getexif()
    exif[0x010F] = "Canon"
    image.save(buffer, format="JPEG", exif=exif.tobytes())
    whole = buffer.getvalue()
    assert judge(tmp_path, whole) == "image/jpeg"
    with pytest.raises(UnsupportedMediaType, match="end-of-image"):
        judge(tmp_path, whole[: len(whole) * 2 // 3])


def png_announcing(width: int, height: int) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload)
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("width", "height", "reason"),
    [(0, 48, "no_pixels"), (64, 0, "no_pixels"), (20_000, 20_000, "too_many_pixels")],
)
def test_images_without_pixels_or_with_too_many_are_refused(
    tmp_path: Path, width: int, height: int, reason: str
) -> None:
    with pytest.raises(UnsupportedMediaType) as refused:
        judge(tmp_path, png_announcing(width, height))
    assert refused.value.details["reason"] == reason


def test_the_pixel_cap_follows_pillow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 96 * 64 - 1)
    with pytest.raises(UnsupportedMediaType, match="too many pixels"):
        judge(tmp_path, IMAGES["jpeg"])
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 96 * 64)
    assert judge(tmp_path, IMAGES["jpeg"]) == "image/jpeg"


def test_heif_boxes_must_fit_in_the_file(tmp_path: Path) -> None:
    ftyp = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"
    mdat = (8 + 100).to_bytes(4, "big") + b"mdat" + bytes(100)
    assert judge(tmp_path, ftyp + mdat) == "image/heic"
    with pytest.raises(UnsupportedMediaType, match="cut short"):
        judge(tmp_path, ftyp + mdat[:-1])


def test_what_is_no_image_stays_unrecognised(tmp_path: Path) -> None:
    assert judge(tmp_path, b"just text, named photo.jpg\n" * 10) is None
    assert judge(tmp_path, b"") is None
