"""Image types are recognised from the bytes only; non-images and bombs are refused."""

from __future__ import annotations

import io
import random
import warnings

import pytest
from PIL import Image

from adapters.storage.image_type import extension_for_mime, sniff_heif_brand, sniff_image_mime


def encode(fmt: str, mode: str = "RGB", size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "orange" if mode != "1" else 1).save(buffer, format=fmt)
    return buffer.getvalue()


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    """An ISO-BMFF ``ftyp`` box followed by some filler, as at the start of a HEIC file."""
    body = b"ftyp" + major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (len(body) + 4).to_bytes(4, "big") + body + b"\x00\x00\x00\x08mdat" + b"\x00" * 64


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [
        ("JPEG", "image/jpeg"),
        ("PNG", "image/png"),
        ("WEBP", "image/webp"),
        ("GIF", "image/gif"),
        ("BMP", "image/bmp"),
        ("TIFF", "image/tiff"),
    ],
)
def test_pillow_formats_are_recognised(fmt: str, mime: str) -> None:
    assert sniff_image_mime(encode(fmt)) == mime


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (ftyp(b"heic", b"mif1", b"heic"), "image/heic"),
        (ftyp(b"heix", b"mif1"), "image/heic"),
        (ftyp(b"hevc", b"msf1"), "image/heic"),
        (ftyp(b"mif1", b"mif1", b"heic"), "image/heic"),
        (ftyp(b"mif1", b"mif1", b"miaf"), "image/heif"),
        (ftyp(b"msf1", b"msf1"), "image/heif"),
    ],
)
def test_heic_and_heif_are_recognised_from_the_ftyp_brand(data: bytes, mime: str) -> None:
    assert sniff_image_mime(data) == mime


@pytest.mark.parametrize(
    "data",
    [
        ftyp(b"avif", b"mif1", b"avif"),  # AVIF shares mif1 but is not HEIF
        ftyp(b"mif1", b"mif1", b"avif"),
        ftyp(b"isom", b"isom", b"mp41"),  # an MP4 video
        b"\x00\x00\x00\x03ftypheic" + b"\x00" * 16,  # impossible box size
    ],
)
def test_other_iso_bmff_files_are_not_heif(data: bytes) -> None:
    assert sniff_heif_brand(data) is None
    assert sniff_image_mime(data) is None


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"this is not a photo, just text in a file called photo.jpg\n" * 20,
        random.Random(7).randbytes(4096),
        b"\xff\xd8",  # a JPEG start marker and nothing else
        b"\x89PNG\r\n\x1a\n",  # PNG signature without any chunk
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    ],
    ids=["empty", "text", "random", "jpeg-marker-only", "png-signature-only", "svg"],
)
def test_non_images_are_not_recognised(data: bytes) -> None:
    assert sniff_image_mime(data) is None


def test_decompression_bomb_is_not_an_acceptable_image(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode("PNG")  # 64 x 48 = 3072 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow raises past twice the limit
    assert sniff_image_mime(data) is None
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 3000)  # Pillow only warns just past it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        assert sniff_image_mime(data) is None
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 3072)
    assert sniff_image_mime(data) == "image/png"


@pytest.mark.parametrize(
    ("mime", "extension"),
    [
        ("image/jpeg", ".jpg"),
        ("image/png", ".png"),
        ("image/webp", ".webp"),
        ("image/heic", ".heic"),
        ("image/heif", ".heif"),
        ("image/gif", ".gif"),
        ("application/octet-stream", ".bin"),
    ],
)
def test_extension_follows_the_mime(mime: str, extension: str) -> None:
    assert extension_for_mime(mime) == extension
