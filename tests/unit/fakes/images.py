"""Image bytes the fakes recognise by their magic bytes (see ``storage.sniff_mime``)."""

from __future__ import annotations

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"booth-photo" * 8
PNG = b"\x89PNG\r\n\x1a\n" + b"png-image" * 8
GIF = b"GIF89a" + b"gif-image" * 8
RESULT_PNG = b"\x89PNG\r\n\x1a\n" + b"provider-result" * 8
