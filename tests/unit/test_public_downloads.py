"""Public downloads: results until their expiry, temporary input links until theirs."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from fakes import (
    JPEG,
    RESULT_PNG,
    FakeClock,
    InMemoryJobRepository,
    InMemoryMediaObjectRepository,
    InMemoryMediaStorage,
    QueueJob,
)

from application.public_downloads import Download, GetPublicMedia, GetResult
from domain.errors import Gone, NotFound
from domain.job import FailureReason, Job, JobResult
from domain.media import MediaArea, MediaObject


async def _with_result(
    job: Job,
    jobs: InMemoryJobRepository,
    storage: InMemoryMediaStorage,
    clock: FakeClock,
    *,
    mime: str = "image/png",
    retention: timedelta = timedelta(hours=1),
) -> str:
    stored = storage.store(MediaArea.RESULTS, RESULT_PNG, mime)
    result = JobResult(
        file_path=stored.path,
        mime=mime,
        size_bytes=stored.size_bytes,
        checksum=stored.sha256,
        expires_at=clock.now() + retention,
    )
    assert await jobs.finalize_success(job.id, result, now=clock.now())
    return stored.path


@pytest.mark.parametrize(
    ("mime", "extension"),
    [("image/png", "png"), ("image/jpeg", "jpg"), ("image/webp", "webp"), ("image/x-raw", "bin")],
)
async def test_a_result_is_served_as_an_attachment_until_it_expires(
    get_result: GetResult,
    queue_job: QueueJob,
    jobs: InMemoryJobRepository,
    storage: InMemoryMediaStorage,
    clock: FakeClock,
    mime: str,
    extension: str,
) -> None:
    job = await queue_job()
    path = await _with_result(job, jobs, storage, clock, mime=mime)
    await clock.advance(3599.999)

    download = await get_result(job.id)

    assert download == Download(
        file=storage.absolute_path(path), mime=mime, filename=f"photochanger-{job.id}.{extension}"
    )
    await clock.advance(0.001)
    with pytest.raises(Gone) as gone:
        await get_result(job.id)
    assert gone.value.details == {"job_id": str(job.id)}


async def test_unknown_jobs_and_jobs_without_result_are_not_found(
    get_result: GetResult,
    queue_job: QueueJob,
    jobs: InMemoryJobRepository,
    clock: FakeClock,
) -> None:
    still_open = await queue_job()
    failed = await queue_job()
    await jobs.finalize_failure(failed.id, FailureReason.PROVIDER_ERROR, now=clock.now())

    for job_id in (uuid4(), still_open.id, failed.id):
        with pytest.raises(NotFound):
            await get_result(job_id)


async def test_a_purged_result_is_gone_even_before_its_expiry(
    get_result: GetResult,
    queue_job: QueueJob,
    jobs: InMemoryJobRepository,
    storage: InMemoryMediaStorage,
    clock: FakeClock,
) -> None:
    job = await queue_job()
    await _with_result(job, jobs, storage, clock)
    await jobs.clear_result_file(job.id)

    with pytest.raises(Gone):
        await get_result(job.id)


async def test_a_public_link_is_served_until_it_expires_and_never_after(
    get_public_media: GetPublicMedia,
    queue_job: QueueJob,
    media_objects: InMemoryMediaObjectRepository,
    storage: InMemoryMediaStorage,
    clock: FakeClock,
) -> None:
    job = await queue_job()
    stored = storage.store(MediaArea.PUBLIC, JPEG, "image/jpeg")
    link = MediaObject(
        id=uuid4(),
        job_id=job.id,
        path=stored.path,
        mime="image/jpeg",
        size_bytes=stored.size_bytes,
        expires_at=clock.now() + timedelta(seconds=45),
        created_at=clock.now(),
    )
    await media_objects.add(link)

    assert await get_public_media(link.id) == Download(
        file=storage.absolute_path(stored.path), mime="image/jpeg"
    )
    await clock.advance(45)
    with pytest.raises(Gone):
        await get_public_media(link.id)
    with pytest.raises(NotFound):
        await get_public_media(uuid4())


async def test_a_purged_link_is_gone_before_its_expiry(
    get_public_media: GetPublicMedia,
    queue_job: QueueJob,
    media_objects: InMemoryMediaObjectRepository,
    clock: FakeClock,
) -> None:
    job = await queue_job()
    link = MediaObject(
        id=uuid4(),
        job_id=job.id,
        path="public/abc.jpg",
        mime="image/jpeg",
        size_bytes=10,
        expires_at=clock.now() + timedelta(seconds=45),
        created_at=clock.now(),
    )
    await media_objects.add(link)
    await media_objects.mark_purged(link.id)

    with pytest.raises(Gone):
        await get_public_media(link.id)
