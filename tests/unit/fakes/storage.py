"""``MediaStorage`` in memory (and one whose disk is full), and uploads as streamed chunks."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from application.ports import (
    FileEntry,
)
from domain.errors import (
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    StorageUnavailable,
    UnsupportedMediaType,
)
from domain.media import MediaArea, StoredFile
from fakes.clock import FakeClock

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG", "image/png"),
    (b"GIF8", "image/gif"),
)
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif"}


def sniff_mime(data: bytes) -> str | None:
    """The image type from magic bytes; GIF is recognised so a test can send an image type
    that no provider accepts."""
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    return None


@dataclass(frozen=True, slots=True)
class Blob:
    data: bytes
    mime: str
    modified_at: datetime


class InMemoryMediaStorage:
    """``MediaStorage`` in a dict of ``<area>/<name>`` → bytes; files are stamped with the
    clock's time so orphan grace periods can be tested."""

    def __init__(self, clock: FakeClock) -> None:
        self.files: dict[str, Blob] = {}
        self._clock = clock

    def paths(self, area: MediaArea) -> set[str]:
        return {p for p in self.files if p.startswith(f"{area.value}/")}

    def plant(
        self, area: MediaArea, data: bytes, *, mime: str, modified_at: datetime | None = None
    ) -> str:
        """Put a file directly (test set-up), e.g. an orphan left by a crash."""
        return self.store(area, data, mime, modified_at).path

    def touch(self, path: str, modified_at: datetime) -> None:
        """Backdate a file (test set-up)."""
        self.files[path] = replace(self.files[path], modified_at=modified_at)

    def store(
        self, area: MediaArea, data: bytes, mime: str, modified_at: datetime | None = None
    ) -> StoredFile:
        path = f"{area.value}/{uuid.uuid4().hex}{_EXTENSIONS.get(mime, '.bin')}"
        self.files[path] = Blob(data, mime, modified_at or self._clock.now())
        return StoredFile(
            path=path, mime=mime, size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest()
        )

    async def save_stream(
        self, area: MediaArea, chunks: AsyncIterator[bytes], *, max_bytes: int
    ) -> StoredFile:
        received = bytearray()
        async for chunk in chunks:
            received += chunk
            if len(received) > max_bytes:
                raise PayloadTooLarge(
                    f"the file is larger than {max_bytes} bytes", {"max_bytes": max_bytes}
                )
        if not received:
            raise InvalidRequest("the uploaded file is empty")
        mime = sniff_mime(bytes(received))
        if mime is None:
            raise UnsupportedMediaType("the file is not a recognised image")
        return self.store(area, bytes(received), mime)

    async def save_bytes(self, area: MediaArea, data: bytes, *, mime: str) -> StoredFile:
        await asyncio.sleep(0)
        return self.store(area, data, mime)

    async def read(self, path: str) -> bytes:
        await asyncio.sleep(0)
        blob = self.files.get(path)
        if blob is None:
            raise NotFound(f"file {path!r} does not exist")
        return blob.data

    def absolute_path(self, path: str) -> str:
        return f"/media/{path}"

    async def delete(self, path: str) -> bool:
        await asyncio.sleep(0)
        return self.files.pop(path, None) is not None

    async def list_files(self, area: MediaArea) -> list[FileEntry]:
        await asyncio.sleep(0)
        return [
            FileEntry(path=path, modified_at=self.files[path].modified_at)
            for path in sorted(self.paths(area))
        ]


class FullMediaStorage(InMemoryMediaStorage):
    """A media root whose ``full`` areas refuse every write as a full disk does (the real
    adapter turns ``ENOSPC`` into ``StorageUnavailable``); reads and deletes still work.
    ``read_only=True`` refuses as a read-only mount does (``EROFS``)."""

    def __init__(self, clock: FakeClock, *, full: Iterable[MediaArea] = ()) -> None:
        super().__init__(clock)
        self.full = set(full)
        self.read_only = False
        self.refused: list[MediaArea] = []

    def _refuse(self, area: MediaArea) -> None:
        self.refused.append(area)
        if self.read_only:
            raise StorageUnavailable("storage not writable", {"storage": "not_writable"})
        raise StorageUnavailable("storage full", {"storage": "full"})

    async def save_stream(
        self, area: MediaArea, chunks: AsyncIterator[bytes], *, max_bytes: int
    ) -> StoredFile:
        if area in self.full:
            async for _ in chunks:  # the upload is read until the first write fails
                break
            self._refuse(area)
        return await super().save_stream(area, chunks, max_bytes=max_bytes)

    async def save_bytes(self, area: MediaArea, data: bytes, *, mime: str) -> StoredFile:
        if area in self.full:
            await asyncio.sleep(0)
            self._refuse(area)
        return await super().save_bytes(area, data, mime=mime)


async def chunks_of(data: bytes, size: int = 1024) -> AsyncIterator[bytes]:
    """An upload as the HTTP layer streams it."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def repeated(chunk: bytes, times: int) -> AsyncIterator[bytes]:
    """A large upload without holding it whole."""
    for _ in range(times):
        yield chunk
