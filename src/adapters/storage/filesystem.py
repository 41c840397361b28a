"""Media files under ``MEDIA_ROOT``: server-generated names, atomic writes, streamed uploads.

Every write goes to ``.<uuid>.tmp`` in the target folder, is fsynced and then renamed with
``os.replace``, so a reader never sees half a file and a crash leaves only a temp file for the
purge to collect. Paths handed out are relative to the root (``payload/<hex>.jpg``); any path
that is not exactly ``<area>/<name>`` inside the root is treated as not found.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, ParamSpec, TypeVar

from adapters.storage.image_type import extension_for_mime, sniff_image_file
from application.ports import FileEntry
from domain.errors import (
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    StorageUnavailable,
    UnsupportedMediaType,
)
from domain.media import MediaArea, StoredFile

# Chunks are gathered up to this size before one write in a worker thread: few thread hops,
# bounded memory.
WRITE_BATCH_BYTES = 256 * 1024
_AREAS = frozenset(area.value for area in MediaArea)
# Write failures no retry can cure: they end the upload or the job at once (SPEC §4: 503).
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
_NOT_WRITABLE = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})

_P = ParamSpec("_P")
_T = TypeVar("_T")


class _TempFile:
    """A temp file in the destination folder, hashed while written; blocking methods."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / f".{uuid.uuid4().hex}.tmp"
        self.sha256 = hashlib.sha256()
        self.size = 0
        self._file: BinaryIO = open(self.path, "xb")  # noqa: SIM115 - closed in commit/discard

    def write(self, data: bytes | bytearray) -> None:
        self._file.write(data)
        self.sha256.update(data)
        self.size += len(data)

    def write_all(self, parts: list[bytes]) -> None:
        for part in parts:
            self.write(part)

    def flush_to_disk(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def commit(self, extension: str) -> Path:
        """Rename to a fresh server-generated name and make the rename durable."""
        final = self.directory / f"{uuid.uuid4().hex}{extension}"
        os.replace(self.path, final)
        _fsync_directory(self.directory)
        return final

    def discard(self) -> None:
        """Close and remove; safe to call more than once and after a failed write."""
        with contextlib.suppress(OSError):
            self._file.close()
        with contextlib.suppress(OSError):  # gone already, or left for the purge to collect
            self.path.unlink()


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can fsync a directory
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


async def _io(func: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Run blocking file I/O in a thread; a failing disk becomes ``ServiceUnavailable``."""
    try:
        return await asyncio.to_thread(func, *args, **kwargs)
    except OSError as exc:
        # Error class and errno only: paths and OS messages stay out of client answers.
        raise ServiceUnavailable(
            "media storage is unavailable", {"reason": type(exc).__name__, "errno": exc.errno}
        ) from exc


async def _write_io(func: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """``_io`` for writes: a full or read-only disk becomes ``StorageUnavailable``."""
    try:
        return await asyncio.to_thread(func, *args, **kwargs)
    except OSError as exc:
        raise write_failure(exc) from exc


def write_failure(exc: OSError) -> ServiceUnavailable:
    """The domain error for a failed write: ``StorageUnavailable`` when the disk is full or
    refuses writes, else the generic storage error. Error names only, never a path."""
    if exc.errno in _FULL:
        return StorageUnavailable("storage full", {"storage": "full"})
    if exc.errno in _NOT_WRITABLE:
        return StorageUnavailable("storage not writable", {"storage": "not_writable"})
    return ServiceUnavailable(
        "media storage is unavailable", {"reason": type(exc).__name__, "errno": exc.errno}
    )


class FilesystemMediaStorage:
    """``MediaStorage`` on a local directory; one subfolder per ``MediaArea``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        for area in MediaArea:
            (self.root / area.value).mkdir(parents=True, exist_ok=True)

    async def save_stream(
        self, area: MediaArea, chunks: AsyncIterator[bytes], *, max_bytes: int
    ) -> StoredFile:
        """Stream to disk with a size cap; the MIME comes from the bytes, not the client.

        Chunks are gathered (by reference, not copied) up to ``WRITE_BATCH_BYTES`` before one
        write in a worker thread; the last ones are written, synced, sniffed and renamed in
        a single thread hop, so a photo that arrives as one chunk (the usual booth shot,
        spooled in memory) costs at most two hops and no copy.
        """
        directory = self.root / area.value
        temp: _TempFile | None = None
        try:
            received = 0
            pending: list[bytes] = []
            pending_bytes = 0
            async for chunk in chunks:
                received += len(chunk)
                if received > max_bytes:
                    raise PayloadTooLarge(
                        f"the file is larger than {max_bytes} bytes", {"max_bytes": max_bytes}
                    )
                pending.append(chunk)
                pending_bytes += len(chunk)
                if pending_bytes >= WRITE_BATCH_BYTES:
                    if temp is None:
                        temp = await _write_io(_TempFile, directory)
                    batch, pending, pending_bytes = pending, [], 0
                    await _write_io(temp.write_all, batch)
                    del batch
            if received == 0:
                raise InvalidRequest("the uploaded file is empty")
            return await _write_io(self._finish_upload, area, temp, pending)
        finally:
            # Synchronous on purpose: it must also run when the task is being cancelled.
            # After a successful commit the temp path is gone and this is a no-op.
            if temp is not None:
                temp.discard()

    def _finish_upload(
        self, area: MediaArea, temp: _TempFile | None, tail: list[bytes]
    ) -> StoredFile:
        """Write the last chunks (to a new temp file if none was needed yet), sync, sniff, and
        rename; a refused or failed file is removed."""
        own = temp is None
        file = _TempFile(self.root / area.value) if temp is None else temp
        try:
            file.write_all(tail)
            file.flush_to_disk()
            mime = sniff_image_file(file.path)
            if mime is None:
                raise UnsupportedMediaType("the file is not a recognised image")
            final = file.commit(extension_for_mime(mime))
        finally:
            if own:
                file.discard()
        return StoredFile(
            path=f"{area.value}/{final.name}",
            mime=mime,
            size_bytes=file.size,
            sha256=file.sha256.hexdigest(),
        )

    async def save_bytes(self, area: MediaArea, data: bytes, *, mime: str) -> StoredFile:
        """Atomic write of bytes we produced ourselves (results); ``mime`` names the type."""

        def write() -> StoredFile:
            temp = _TempFile(self.root / area.value)
            try:
                temp.write(data)
                temp.flush_to_disk()
                final = temp.commit(extension_for_mime(mime))
            finally:
                temp.discard()
            return StoredFile(
                path=f"{area.value}/{final.name}",
                mime=mime,
                size_bytes=temp.size,
                sha256=temp.sha256.hexdigest(),
            )

        return await _write_io(write)

    async def read(self, path: str) -> bytes:
        target = self._resolve(path)

        def read_bytes() -> bytes | None:
            try:
                return target.read_bytes()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                return None

        data = await _io(read_bytes)
        if data is None:
            raise NotFound(f"file {path!r} does not exist")
        return data

    def absolute_path(self, path: str) -> str:
        return str(self._resolve(path))

    async def delete(self, path: str) -> bool:
        target = self._resolve(path)

        def unlink() -> bool:
            try:
                target.unlink()
            except FileNotFoundError:
                return False
            return True

        return await _io(unlink)

    async def list_files(self, area: MediaArea) -> list[FileEntry]:
        """Every regular file in ``area``, temp files included: the purge decides by age."""
        directory = self.root / area.value

        def scan() -> list[FileEntry]:
            entries: list[FileEntry] = []
            with os.scandir(directory) as it:
                for entry in it:
                    try:
                        if not entry.is_file(follow_symlinks=False):
                            continue
                        mtime = entry.stat(follow_symlinks=False).st_mtime
                    except FileNotFoundError:
                        continue  # removed while we looked
                    entries.append(
                        FileEntry(
                            path=f"{area.value}/{entry.name}",
                            modified_at=datetime.fromtimestamp(mtime, UTC),
                        )
                    )
            return entries

        return await _io(scan)

    def _resolve(self, path: str) -> Path:
        """``<area>/<name>`` inside the root, or ``NotFound`` — never a path elsewhere."""
        parts = path.split("/")
        if (
            len(parts) != 2
            or parts[0] not in _AREAS
            or parts[1] in ("", ".", "..")
            or "\\" in path
            or "\x00" in path
        ):
            raise NotFound(f"file {path!r} does not exist")
        target = self.root / parts[0] / parts[1]
        # Defence in depth: a symlink planted in an area must not lead outside the root. The
        # root is resolved already, so only a link as the area or the file can lead out: two
        # lstat calls, and the full resolution only when one of them is a link.
        if (os.path.islink(target) or os.path.islink(target.parent)) and not (
            target.resolve().is_relative_to(self.root)
        ):
            raise NotFound(f"file {path!r} does not exist")
        return target
