"""FilesystemMediaStorage on real files: atomic writes, size cap, sniffing, confinement."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from adapters.storage.filesystem import WRITE_BATCH_BYTES, FilesystemMediaStorage
from adapters.storage.image_type import sniff_image_file
from domain.errors import (
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    UnsupportedMediaType,
)
from domain.media import MediaArea

NAME = re.compile(r"^[0-9a-f]{32}\.[a-z]+$")


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(buffer, format=fmt)
    return buffer.getvalue()


def noise_png(side: int) -> bytes:
    """An incompressible PNG, large enough to span several write batches."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, "PNG")
    return buffer.getvalue()


async def chunked(data: bytes, size: int = 8192) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.fixture
def storage(tmp_path: Path) -> FilesystemMediaStorage:
    return FilesystemMediaStorage(tmp_path / "media")


def test_init_creates_one_folder_per_area(tmp_path: Path) -> None:
    FilesystemMediaStorage(tmp_path / "media")
    assert files_in(tmp_path / "media") == ["payload", "public", "results", "templates"]


@pytest.mark.parametrize(("fmt", "ext"), [("JPEG", ".jpg"), ("PNG", ".png"), ("WEBP", ".webp")])
async def test_save_stream_writes_the_file_under_a_server_name(
    storage: FilesystemMediaStorage, fmt: str, ext: str
) -> None:
    data = image_bytes(fmt)
    stored = await storage.save_stream(MediaArea.PAYLOAD, chunked(data, 100), max_bytes=10**6)

    area, name = stored.path.split("/")
    assert area == "payload"
    assert NAME.match(name) and name.endswith(ext)
    assert stored.mime == f"image/{'jpeg' if fmt == 'JPEG' else fmt.lower()}"
    assert stored.size_bytes == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert await storage.read(stored.path) == data
    assert files_in(storage.root / "payload") == [name]  # no temp file left behind


async def test_large_upload_spanning_many_batches_is_hashed_exactly(
    storage: FilesystemMediaStorage,
) -> None:
    data = noise_png(540)
    assert len(data) > 3 * WRITE_BATCH_BYTES
    stored = await storage.save_stream(MediaArea.PAYLOAD, chunked(data, 65536), max_bytes=10**7)
    assert stored.size_bytes == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert Path(storage.absolute_path(stored.path)).read_bytes() == data


async def test_heic_is_stored_with_its_extension(storage: FilesystemMediaStorage) -> None:
    ftyp = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"
    stored = await storage.save_stream(
        MediaArea.PAYLOAD, chunked(ftyp + b"\x00" * 500), max_bytes=10**6
    )
    assert (stored.mime, stored.path[-5:]) == ("image/heic", ".heic")


async def test_exactly_max_bytes_is_accepted(storage: FilesystemMediaStorage) -> None:
    data = image_bytes()
    stored = await storage.save_stream(MediaArea.PAYLOAD, chunked(data), max_bytes=len(data))
    assert stored.size_bytes == len(data)


async def test_size_cap_raises_and_leaves_nothing_behind(storage: FilesystemMediaStorage) -> None:
    data = noise_png(200)
    with pytest.raises(PayloadTooLarge) as caught:
        await storage.save_stream(MediaArea.PAYLOAD, chunked(data, 1000), max_bytes=len(data) - 1)
    assert caught.value.details == {"max_bytes": len(data) - 1}
    assert files_in(storage.root / "payload") == []


@pytest.mark.parametrize(
    "data",
    [b"just some text, named photo.jpg by the client\n" * 50, os.urandom(5000)],
    ids=["text", "random"],
)
async def test_non_image_bytes_are_refused_and_removed(
    storage: FilesystemMediaStorage, data: bytes
) -> None:
    with pytest.raises(UnsupportedMediaType):
        await storage.save_stream(MediaArea.PAYLOAD, chunked(data), max_bytes=10**6)
    assert files_in(storage.root / "payload") == []


async def test_empty_upload_is_an_invalid_request(storage: FilesystemMediaStorage) -> None:
    with pytest.raises(InvalidRequest):
        await storage.save_stream(MediaArea.PAYLOAD, chunked(b""), max_bytes=10**6)
    assert files_in(storage.root / "payload") == []


async def test_upload_broken_mid_stream_leaves_nothing(storage: FilesystemMediaStorage) -> None:
    async def disconnecting() -> AsyncIterator[bytes]:
        yield image_bytes()[:100]
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await storage.save_stream(MediaArea.PAYLOAD, disconnecting(), max_bytes=10**6)
    assert files_in(storage.root / "payload") == []


async def test_cancelled_upload_leaves_nothing(storage: FilesystemMediaStorage) -> None:
    first_chunk_taken = asyncio.Event()
    never = asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        yield image_bytes() + b"\0" * WRITE_BATCH_BYTES  # a full batch: it goes to disk
        first_chunk_taken.set()
        await never.wait()
        yield b""

    task = asyncio.create_task(storage.save_stream(MediaArea.PAYLOAD, stalled(), max_bytes=10**6))
    await first_chunk_taken.wait()
    assert len(files_in(storage.root / "payload")) == 1  # the temp file exists meanwhile
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert files_in(storage.root / "payload") == []


async def test_concurrent_saves_get_distinct_names(storage: FilesystemMediaStorage) -> None:
    data = image_bytes("PNG")
    stored = await asyncio.gather(
        *(storage.save_stream(MediaArea.PAYLOAD, chunked(data), max_bytes=10**6) for _ in range(20))
    )
    paths = {s.path for s in stored}
    assert len(paths) == 20
    assert len(files_in(storage.root / "payload")) == 20


async def test_save_bytes_is_atomic_and_named_by_mime(storage: FilesystemMediaStorage) -> None:
    data = image_bytes("PNG")
    stored = await storage.save_bytes(MediaArea.RESULTS, data, mime="image/png")
    assert stored.path.startswith("results/") and stored.path.endswith(".png")
    assert (stored.size_bytes, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert await storage.read(stored.path) == data
    assert files_in(storage.root / "results") == [stored.path.split("/")[1]]

    unknown = await storage.save_bytes(MediaArea.RESULTS, b"\x00\x01", mime="application/x-odd")
    assert unknown.path.endswith(".bin")


async def test_read_of_a_missing_file_is_not_found(storage: FilesystemMediaStorage) -> None:
    with pytest.raises(NotFound):
        await storage.read("payload/0123456789abcdef0123456789abcdef.jpg")


async def test_delete_is_idempotent(storage: FilesystemMediaStorage) -> None:
    stored = await storage.save_bytes(MediaArea.PUBLIC, image_bytes(), mime="image/jpeg")
    assert await storage.delete(stored.path) is True
    assert await storage.delete(stored.path) is False
    assert files_in(storage.root / "public") == []


ESCAPES = [
    "../outside.txt",
    "payload/../../outside.txt",
    "payload/..",
    "payload/.",
    "payload/",
    "payload",
    "/etc/passwd",
    "payload//etc/passwd",
    "elsewhere/file.jpg",
    "payload/sub/file.jpg",
    "payload\\..\\..\\outside.txt",
    "payload/file\x00.jpg",
    "",
]


@pytest.mark.parametrize("path", ESCAPES)
async def test_paths_outside_the_areas_are_refused(
    storage: FilesystemMediaStorage, tmp_path: Path, path: str
) -> None:
    (tmp_path / "outside.txt").write_text("secret")
    with pytest.raises(NotFound):
        storage.absolute_path(path)
    with pytest.raises(NotFound):
        await storage.read(path)
    with pytest.raises(NotFound):
        await storage.delete(path)
    assert (tmp_path / "outside.txt").exists()


async def test_symlink_leading_out_of_the_root_is_refused(
    storage: FilesystemMediaStorage, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(image_bytes())
    (storage.root / "payload" / "link.jpg").symlink_to(secret)
    with pytest.raises(NotFound):
        await storage.read("payload/link.jpg")
    with pytest.raises(NotFound):
        storage.absolute_path("payload/link.jpg")


async def test_absolute_path_points_into_the_root(storage: FilesystemMediaStorage) -> None:
    stored = await storage.save_bytes(MediaArea.TEMPLATES, image_bytes(), mime="image/jpeg")
    assert storage.absolute_path(stored.path) == str(storage.root / stored.path)


async def test_list_files_reports_every_file_with_an_aware_utc_mtime(
    storage: FilesystemMediaStorage,
) -> None:
    stored = await storage.save_bytes(MediaArea.PAYLOAD, image_bytes(), mime="image/jpeg")
    leftover = storage.root / "payload" / ".0123456789abcdef0123456789abcdef.tmp"
    leftover.write_bytes(b"half an upload")
    old = datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    os.utime(leftover, (old.timestamp(), old.timestamp()))
    (storage.root / "payload" / "a-directory").mkdir()

    entries = {e.path: e.modified_at for e in await storage.list_files(MediaArea.PAYLOAD)}

    assert set(entries) == {stored.path, "payload/" + leftover.name}
    assert entries["payload/" + leftover.name] == old
    fresh = entries[stored.path]
    assert fresh.tzinfo is not None and fresh.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - fresh) < timedelta(minutes=5)
    assert await storage.list_files(MediaArea.RESULTS) == []


async def test_a_broken_media_root_is_service_unavailable(
    storage: FilesystemMediaStorage,
) -> None:
    (storage.root / "results").rmdir()
    with pytest.raises(ServiceUnavailable) as caught:
        await storage.save_bytes(MediaArea.RESULTS, image_bytes(), mime="image/jpeg")
    assert str(storage.root) not in str(caught.value.details)
    with pytest.raises(ServiceUnavailable):
        await storage.list_files(MediaArea.RESULTS)


def test_sniffing_a_file_reads_past_a_large_exif_block(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x010E] = "x" * 20_000  # ImageDescription: pushes the frame header past 20 KB
    path = tmp_path / "big-exif.jpg"
    Image.new("RGB", (64, 48), "teal").save(path, format="JPEG", exif=exif)
    assert sniff_image_file(path) == "image/jpeg"
