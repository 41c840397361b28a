"""Media records: temporary public links and permanent template images (SPEC §2)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True, slots=True)
class MediaObject:
    """A temporary public link to a job input; never extended, gone after ``expires_at``."""

    id: UUID
    job_id: UUID
    path: str | None
    mime: str
    size_bytes: int
    expires_at: datetime
    created_at: datetime

    def is_available(self, *, now: datetime) -> bool:
        """Served only while unexpired and its file not yet purged."""
        return self.path is not None and now < self.expires_at


@dataclass(frozen=True, slots=True)
class TemplateMedia:
    """A permanent image referenced from slot settings (style image, overlay frame)."""

    id: UUID
    path: str
    mime: str
    size_bytes: int
    checksum: str
    label: str
    uploaded_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StoredFile:
    """What storage reports after an atomic write: where it is and what it contains."""

    path: str
    mime: str
    size_bytes: int
    sha256: str


class MediaArea(enum.StrEnum):
    """Folders under the media root (``MEDIA_ROOT/<area>/``)."""

    PAYLOAD = "payload"
    RESULTS = "results"
    PUBLIC = "public"
    TEMPLATES = "templates"


_FILE_EXTENSIONS: dict[str, str] = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "image/tiff": ".tiff",
    "image/heic": ".heic",
    "image/heif": ".heif",
}


def extension_for_mime(mime: str) -> str:
    """File extension for an image type (stored files, download names); ``.bin`` otherwise."""
    return _FILE_EXTENSIONS.get(mime, ".bin")
