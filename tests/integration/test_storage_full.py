"""A full or read-only MEDIA_ROOT on a real filesystem (a small tmpfs, see ``disk_faults``):
writes fail as ``StorageUnavailable`` leaving no partial file, an ingest is refused with 503
at once, a result that cannot be stored ends the job ``storage_error`` and the booth hears 503
long before the deadline; the new failure reason goes through PostgreSQL and the purge."""

from __future__ import annotations

import io
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from disk_faults import MIB, Disks
from PIL import Image
from service_harness import Service, eventually, serve

from adapters.postgres.jobs import PostgresJobRepository
from adapters.postgres.pool import Pool
from adapters.storage.filesystem import FilesystemMediaStorage
from domain.errors import StorageUnavailable
from domain.job import FailureReason, Job, Payload
from domain.media import MediaArea


@pytest.fixture
def disks(monkeypatch: pytest.MonkeyPatch) -> Iterator[Disks]:
    broken = Disks(monkeypatch)
    yield broken
    broken.undo()


def booth_photo(megabytes: float = 2.0) -> bytes:
    """An incompressible JPEG of about ``megabytes``, like a DSLR shot."""
    side = int((megabytes * MIB / 1.2) ** 0.5)  # noise JPEG at q95: ~1.2 bytes per pixel
    buffer = io.BytesIO()
    Image.frombytes("L", (side, side), os.urandom(side * side)).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


async def chunked(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name != "ballast")


# --- the adapter ------------------------------------------------------------------------


async def test_an_upload_that_fills_the_disk_midway_leaves_nothing_behind(
    tmp_path: Path, disks: Disks
) -> None:
    storage = FilesystemMediaStorage(tmp_path / "media")
    disks.full(storage.root / "payload", free_bytes=1 * MIB)
    photo = booth_photo(2.0)

    with pytest.raises(StorageUnavailable) as caught:
        await storage.save_stream(MediaArea.PAYLOAD, chunked(photo), max_bytes=25 * MIB)

    assert caught.value.code == "service_unavailable"
    assert caught.value.message == "storage full"
    assert caught.value.details == {"storage": "full"}
    assert leftovers(storage.root / "payload") == [], "the partial temp file is removed"
    if disks.mounting:  # the space the partial file took is given back
        assert shutil.disk_usage(storage.root / "payload").free >= 1 * MIB


async def test_result_public_and_template_writes_on_a_full_disk_are_storage_full(
    tmp_path: Path, disks: Disks
) -> None:
    storage = FilesystemMediaStorage(tmp_path / "media")
    for area in ("results", "public", "templates"):
        disks.full(storage.root / area, size_bytes=1 * MIB)
    image = booth_photo(0.5)

    for area in (MediaArea.RESULTS, MediaArea.PUBLIC):
        with pytest.raises(StorageUnavailable, match="storage full"):
            await storage.save_bytes(area, image, mime="image/jpeg")
    with pytest.raises(StorageUnavailable, match="storage full"):
        await storage.save_stream(MediaArea.TEMPLATES, chunked(image), max_bytes=25 * MIB)

    for area in ("results", "public", "templates"):
        assert leftovers(storage.root / area) == []


async def test_a_read_only_disk_is_storage_not_writable(tmp_path: Path, disks: Disks) -> None:
    storage = FilesystemMediaStorage(tmp_path / "media")
    disks.read_only(storage.root / "results")

    with pytest.raises(StorageUnavailable) as caught:
        await storage.save_bytes(MediaArea.RESULTS, booth_photo(0.1), mime="image/jpeg")

    assert caught.value.message == "storage not writable"
    assert caught.value.details == {"storage": "not_writable"}
    assert str(tmp_path) not in str(caught.value.details)


# --- through the running service ----------------------------------------------------------


def assert_storage_full(
    response: httpx.Response, *, started: float, why: str = "storage full"
) -> dict[str, object]:
    elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["error"]["code"] == "service_unavailable"
    assert body["error"]["message"].startswith(why)
    assert elapsed < 5.0, f"answered after {elapsed:.1f} s: at once, not at the deadline"
    return body  # type: ignore[no-any-return]


async def test_an_ingest_onto_a_full_media_root_is_refused_at_once(
    database_url: str, tmp_path: Path, disks: Disks
) -> None:
    """The issue's case: MEDIA_ROOT is a full 3 MB tmpfs and the booth sends a 2 MB photo."""
    media = tmp_path / "media"
    FilesystemMediaStorage(media)  # the area folders exist before the disk fills up
    disks.full(media)
    async with serve(database_url, tmp_path, media_root=str(media)) as svc:
        started = time.monotonic()
        response = await svc.ingest(photo=booth_photo(2.0))

        assert_storage_full(response, started=started)
        assert await count_jobs(database_url) == 0, "nothing was created"
        for area in ("payload", "results", "public"):
            assert leftovers(media / area) == []


@pytest.mark.parametrize("broken", ["full", "read_only"])
async def test_a_result_that_cannot_be_stored_ends_the_job_and_the_booth_hears_503(
    database_url: str, tmp_path: Path, disks: Disks, broken: str
) -> None:
    media = tmp_path / "media"
    FilesystemMediaStorage(media)
    # The photo is accepted; only its result cannot be written.
    if broken == "full":
        disks.full(media / "results")
    else:
        disks.read_only(media / "results")
    why = "storage full" if broken == "full" else "storage not writable"
    async with serve(database_url, tmp_path, media_root=str(media)) as svc:
        started = time.monotonic()
        response = await svc.ingest(photo=booth_photo(0.5))

        body = assert_storage_full(response, started=started, why=why + ": ")
        job_id = uuid.UUID(body["error"]["details"]["job_id"])  # type: ignore[index]
        job = await svc.container.jobs().get(job_id)
        assert job is not None and job.is_finalized
        assert job.failure_reason is FailureReason.STORAGE_ERROR
        assert job.failure_detail == why
        assert job.attempts == 1, "claimed once, never re-claimed"
        assert job.finalized_at is not None and job.finalized_at < job.expires_at
        assert job.result is None

        async def payload_gone() -> bool:
            row = await svc.container.jobs().get(job_id)
            return row is not None and row.payload is None and not leftovers(media / "payload")

        await eventually(payload_gone)
        assert leftovers(media / "results") == []
        await svc.container.purge_artifacts()()  # reads the storage_error row without trouble
        assert await still_final(svc, job_id)


async def still_final(svc: Service, job_id: uuid.UUID) -> bool:
    row = await svc.container.jobs().get(job_id)
    return row is not None and row.failure_reason is FailureReason.STORAGE_ERROR


async def count_jobs(database_url: str) -> int:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT count(*) FROM job")
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


# --- the new failure reason in PostgreSQL -------------------------------------------------


async def test_storage_error_is_stored_read_back_and_its_payload_purged(pool: Pool) -> None:
    repo = PostgresJobRepository(pool)
    now = datetime.now(UTC)
    job = Job(
        id=uuid.uuid4(),
        slot_id="slot-001",
        provider="local",
        operation="grayscale",
        settings={},
        expires_at=now + timedelta(seconds=48),
        created_at=now,
        updated_at=now,
        payload=Payload(
            path=f"payload/{uuid.uuid4().hex}.jpg",
            mime="image/jpeg",
            size_bytes=10,
            sha256="ab" * 32,
            expires_at=now + timedelta(seconds=45),
        ),
    )
    assert await repo.add_if_capacity(job, max_unfinished=10)

    assert await repo.finalize_failure(job.id, FailureReason.STORAGE_ERROR, now=now)
    assert not await repo.finalize_failure(job.id, FailureReason.TIMEOUT, now=now)

    row = await repo.get(job.id)
    assert row is not None and row.failure_reason is FailureReason.STORAGE_ERROR
    assert [j.id for j in await repo.payloads_to_purge(now=now, limit=10)] == [job.id]
    assert await repo.finalized_among([job.id]) == [job.id]


async def test_the_failure_reason_check_still_refuses_unknown_reasons(database_url: str) -> None:
    with psycopg.connect(database_url) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "INSERT INTO job (id, slot_id, provider, operation, is_finalized, failure_reason,"
            " finalized_at, expires_at, created_at, updated_at)"
            " VALUES (gen_random_uuid(), 'slot-001', 'local', 'grayscale', true, 'disk_on_fire',"
            " now(), now(), now(), now())"
        )
