"""Is an uploaded image whole and of a usable size? Answered from its structure, not a decode.

Pillow opens images lazily: a JPEG cut off after its header "opens" fine and only fails when
the provider decodes it, long after the booth was told its photo was accepted. So before a
job exists, the container of the three everyday formats is walked — JPEG markers up to the
scan and its end-of-image marker, PNG chunks up to ``IEND``, the WebP RIFF size — and the
dimensions are read from the headers. Nothing is decompressed; a valid 20 MB photo costs a
few small reads plus one ``find`` over its bytes. Each refusal says why (SPEC §4: 415).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image

from domain.errors import UnsupportedMediaType

SCAN_CHUNK_BYTES = 1024 * 1024
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (C4 DHT, C8 JPG and CC DAC share the range but are not frames).
_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD})
_JPEG_SOF |= {0xCE, 0xCF}
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


@dataclass(frozen=True, slots=True)
class Dimensions:
    width: int
    height: int


def max_pixels() -> int | None:
    """The pixel cap: Pillow's decompression-bomb limit (~89 megapixels), read at call time."""
    return Image.MAX_IMAGE_PIXELS


def container_format(head: bytes) -> str | None:
    """``JPEG``, ``PNG`` or ``WEBP`` from the magic bytes; the formats checked here."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(_PNG_SIGNATURE):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def check_container(f: BinaryIO, image_format: str) -> Dimensions:
    """Walk the container of ``image_format``; raise ``UnsupportedMediaType`` saying what is
    wrong (cut short, damaged header, no pixels, too many pixels)."""
    size = os.fstat(f.fileno()).st_size
    walk = {"JPEG": _walk_jpeg, "PNG": _walk_png, "WEBP": _walk_webp}[image_format]
    dimensions = walk(f, size)
    check_dimensions(dimensions.width, dimensions.height)
    return dimensions


def check_dimensions(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise UnsupportedMediaType(
            f"the image has no pixels ({width}×{height})", {"reason": "no_pixels"}
        )
    limit = max_pixels()
    if limit is not None and width * height > limit:
        raise too_many_pixels(f"{width}×{height}", limit)


def too_many_pixels(size: str, limit: int) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        f"the image has too many pixels ({size}; at most {limit} are accepted)",
        {"reason": "too_many_pixels", "max_pixels": limit},
    )


def truncated(image_format: str, what: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        f"the {image_format} image is incomplete ({what}); the upload was probably cut short",
        {"reason": "truncated"},
    )


def damaged(image_format: str, what: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        f"the {image_format} image is damaged ({what})", {"reason": "corrupt"}
    )


def _read_exact(f: BinaryIO, count: int, image_format: str, what: str) -> bytes:
    data = f.read(count)
    if len(data) < count:
        raise truncated(image_format, f"it ends inside {what}")
    return data


def _walk_jpeg(f: BinaryIO, size: int) -> Dimensions:
    """Markers from SOI to the first scan (SOS); the frame header gives the size; the image
    must then reach its EOI marker. Data after EOI (a phone's motion-photo video) is allowed."""
    f.seek(2)
    dimensions: Dimensions | None = None
    while True:
        prefix = _read_exact(f, 2, "JPEG", "a marker")
        while prefix[1] == 0xFF:  # fill bytes before a marker
            prefix = prefix[1:] + _read_exact(f, 1, "JPEG", "a marker")
        if prefix[0] != 0xFF:
            raise damaged("JPEG", "a marker is missing between segments")
        marker = prefix[1]
        if marker in _JPEG_STANDALONE:
            continue
        if marker == 0xD9:
            raise damaged("JPEG", "it ends before any image data")
        (length,) = struct.unpack(">H", _read_exact(f, 2, "JPEG", "a segment header"))
        if length < 2:
            raise damaged("JPEG", "a segment has an impossible length")
        start = f.tell()
        if start + length - 2 > size:
            raise truncated("JPEG", "it ends inside a header segment")
        if marker in _JPEG_SOF:
            frame = _read_exact(f, 5, "JPEG", "the frame header")
            height, width = struct.unpack(">HH", frame[1:5])
            dimensions = Dimensions(width, height)
            check_dimensions(width, height)  # before scanning megabytes of data
        if marker == 0xDA:
            if dimensions is None:
                raise damaged("JPEG", "image data comes before the frame header")
            if not _ends_with_eoi(f, start + length - 2, size):
                raise truncated("JPEG", "the end-of-image marker is missing")
            return dimensions
        f.seek(start + length - 2)


def _ends_with_eoi(f: BinaryIO, scan_start: int, size: int) -> bool:
    """Whether the image data from ``scan_start`` reaches an EOI marker. Entropy-coded data
    never holds FF D9 (a data FF is followed by 00), so the first one is the image's end;
    the usual file ends right there, which one read of its last bytes confirms."""
    if size - scan_start >= 2:
        f.seek(size - 2)
        if f.read(2) == b"\xff\xd9":
            return True
    f.seek(scan_start)
    carry = b""
    while chunk := f.read(SCAN_CHUNK_BYTES):
        if b"\xff\xd9" in chunk or (carry == b"\xff" and chunk[:1] == b"\xd9"):
            return True
        carry = chunk[-1:]
    return False


def _walk_png(f: BinaryIO, size: int) -> Dimensions:
    """Chunk headers from IHDR to IEND, seeking over the data (CRCs are not checked)."""
    f.seek(len(_PNG_SIGNATURE))
    length, kind = struct.unpack(">I4s", _read_exact(f, 8, "PNG", "the header chunk"))
    if kind != b"IHDR" or length != 13:
        raise damaged("PNG", "the header chunk is missing")
    width, height = struct.unpack(">II", _read_exact(f, 8, "PNG", "the header chunk"))
    check_dimensions(width, height)
    position = len(_PNG_SIGNATURE) + 8 + length + 4
    while True:
        if position > size:
            raise truncated("PNG", "it ends inside a chunk")
        f.seek(position)
        header = f.read(8)
        if len(header) < 8:
            raise truncated("PNG", "the IEND chunk is missing")
        length, kind = struct.unpack(">I4s", header)
        position += 8 + length + 4
        if kind == b"IEND":
            if position > size:
                raise truncated("PNG", "it ends inside the IEND chunk")
            return Dimensions(width, height)


def _walk_webp(f: BinaryIO, size: int) -> Dimensions:
    """The RIFF size must fit in the file; the first chunk gives the canvas size."""
    f.seek(0)
    header = _read_exact(f, 20, "WebP", "the header")
    (riff_size,) = struct.unpack("<I", header[4:8])
    if riff_size + 8 > size:
        raise truncated("WebP", f"the RIFF header announces {riff_size + 8} bytes, got {size}")
    kind = header[12:16]
    data = _read_exact(f, 5 if kind == b"VP8L" else 10, "WebP", "the first chunk")
    if kind == b"VP8X":
        width = 1 + int.from_bytes(data[4:7], "little")
        height = 1 + int.from_bytes(data[7:10], "little")
    elif kind == b"VP8 ":
        if data[3:6] != b"\x9d\x01\x2a":
            raise damaged("WebP", "the VP8 frame header is missing")
        width = int.from_bytes(data[6:8], "little") & 0x3FFF
        height = int.from_bytes(data[8:10], "little") & 0x3FFF
    elif kind == b"VP8L":
        if data[0] != 0x2F:
            raise damaged("WebP", "the VP8L header is missing")
        bits = int.from_bytes(data[1:5], "little")
        width = 1 + (bits & 0x3FFF)
        height = 1 + ((bits >> 14) & 0x3FFF)
    else:
        raise damaged("WebP", "the first chunk is not an image chunk")
    return Dimensions(width, height)


def check_heif_boxes(f: BinaryIO) -> None:
    """HEIC/HEIF (not decodable here): every top-level ISO-BMFF box must fit in the file."""
    size = os.fstat(f.fileno()).st_size
    position = 0
    while position < size:
        f.seek(position)
        header = f.read(16)
        if len(header) < 8:
            raise truncated("HEIF", "it ends inside a box header")
        box_size = int.from_bytes(header[0:4], "big")
        if box_size == 0:  # the last box runs to the end of the file
            return
        if box_size == 1:
            if len(header) < 16:
                raise truncated("HEIF", "it ends inside a box header")
            box_size = int.from_bytes(header[8:16], "big")
        if box_size < 8:
            raise damaged("HEIF", "a box has an impossible size")
        position += box_size
    if position > size:
        raise truncated("HEIF", "the last box is cut short")
