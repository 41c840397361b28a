"""Recognise an image type from its bytes, never from a client's file name or header.

Pillow identifies the formats it decodes; HEIC/HEIF (which Pillow cannot open without a
plugin) is recognised from the ISO-BMFF ``ftyp`` box. Anything else, including text named
``photo.jpg``, is not an image. Decompression bombs count as "not an acceptable image".
For a stored file, :func:`sniff_image_file` also checks that the image is whole and of a
usable size (``image_check``), so every upload is judged in this one place.
"""

from __future__ import annotations

import io
import os
from typing import IO

from PIL import Image, UnidentifiedImageError

from adapters.storage.image_check import (
    check_container,
    check_dimensions,
    check_heif_boxes,
    container_format,
    damaged,
    max_pixels,
    too_many_pixels,
)
from domain.media import extension_for_mime

__all__ = ["extension_for_mime", "sniff_heif_brand", "sniff_image_file", "sniff_image_mime"]

# Pillow format id -> MIME. MPO is the multi-picture JPEG some cameras write.
PILLOW_FORMAT_MIME: dict[str, str] = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
}
# Only these decoders are tried: weak-signature formats (TGA, …) would claim random bytes.
_PILLOW_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")


_HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"heim", b"heis", b"hevm", b"hevs"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})

# Enough for the ftyp box of any real HEIC file.
HEAD_BYTES = 4096


def sniff_heif_brand(head: bytes) -> str | None:
    """``image/heic`` or ``image/heif`` from the ``ftyp`` box at the start of the file."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return None
    box_size = int.from_bytes(head[0:4], "big")
    if box_size < 16 or box_size % 4:
        return None
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)}
    if major in _HEIC_BRANDS:
        return "image/heic"
    if major in _HEIF_BRANDS:
        if compatible & _HEIC_BRANDS:
            return "image/heic"
        if compatible & _AVIF_BRANDS:
            return None  # AVIF shares the mif1 brand but is not HEIF/HEVC
        return "image/heif"
    return None


# Truncated or malformed headers surface as any of these.
_HEADER_ERRORS = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    TypeError,
)


def _pillow_header(fp: str | os.PathLike[str] | IO[bytes]) -> tuple[str, int, int] | None:
    """Pillow's format and size from the header (no decode); None when Pillow cannot read it.
    ``DecompressionBombError`` (past twice the pixel cap) propagates."""
    try:
        with Image.open(fp, formats=_PILLOW_FORMATS) as img:
            width, height = img.size
            image_format = img.format
    except Image.DecompressionBombError:
        raise
    except _HEADER_ERRORS:
        return None
    mime = PILLOW_FORMAT_MIME.get(image_format or "")
    return None if mime is None else (mime, width, height)


def _identify(fp: str | os.PathLike[str] | IO[bytes]) -> str | None:
    """Let Pillow parse the header; unknown, broken or oversized images give None."""
    try:
        header = _pillow_header(fp)
    except Image.DecompressionBombError:
        return None
    if header is None:
        return None
    mime, width, height = header
    if width <= 0 or height <= 0:
        return None
    limit = max_pixels()
    if limit is not None and width * height > limit:
        return None
    return mime


def sniff_image_mime(head: bytes) -> str | None:
    """MIME of the image whose first bytes are ``head``, or None.

    Pillow needs the header up to the frame size; a JPEG with a large EXIF block may need
    more than a few KB, so prefer :func:`sniff_image_file` when the whole file is on disk.
    """
    return sniff_heif_brand(head[:HEAD_BYTES]) or _identify(io.BytesIO(head))


def sniff_image_file(path: str | os.PathLike[str]) -> str | None:
    """MIME of the image stored at ``path``, or None when the bytes are no image we know.

    An image that is recognised but unusable — cut short, damaged, without pixels or with
    too many — raises ``UnsupportedMediaType`` saying why. Blocking: call it from a thread.
    """
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES)
        heif = sniff_heif_brand(head)
        if heif is not None:
            check_heif_boxes(f)
            return heif
        image_format = container_format(head)
        if image_format is not None:
            check_container(f, image_format)
        f.seek(0)
        try:
            header = _pillow_header(f)
        except Image.DecompressionBombError:
            limit = max_pixels() or 0
            raise too_many_pixels(f"over {2 * limit}", limit) from None
    if header is None:
        if image_format is not None:
            raise damaged(image_format, "its header cannot be read")
        return None
    mime, width, height = header
    check_dimensions(width, height)
    return mime
