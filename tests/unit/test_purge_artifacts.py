"""PurgeArtifacts: overdue jobs time out; payloads, links, results and orphans go on time."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import uuid4

import pytest
from fakes import (
    JPEG,
    PURGE_POLICY,
    RESULT_PNG,
    FakeClock,
    InMemoryJobRepository,
    InMemoryMediaObjectRepository,
    InMemoryMediaStorage,
    QueueJob,
)

from application.public_downloads import GetPublicMedia, GetResult
from application.purge_artifacts import PurgeArtifacts, PurgeReport
from domain.errors import Gone
from domain.job import FailureReason, Job, JobResult
from domain.media import MediaArea, MediaObject

RETENTION = timedelta(hours=72)


async def _succeed(
    job: Job, jobs: InMemoryJobRepository, storage: InMemoryMediaStorage, clock: FakeClock
) -> JobResult:
    stored = storage.store(MediaArea.RESULTS, RESULT_PNG, "image/png")
    result = JobResult(
        file_path=stored.path,
        mime=stored.mime,
        size_bytes=stored.size_bytes,
        checksum=stored.sha256,
        expires_at=clock.now() + RETENTION,
    )
    assert await jobs.finalize_success(job.id, result, now=clock.now())
    return result


async def _link(
    job: Job,
    media_objects: InMemoryMediaObjectRepository,
    storage: InMemoryMediaStorage,
    clock: FakeClock,
    ttl: float = 45.0,
) -> MediaObject:
    stored = storage.store(MediaArea.PUBLIC, JPEG, "image/jpeg")
    link = MediaObject(
        id=uuid4(),
        job_id=job.id,
        path=stored.path,
        mime=stored.mime,
        size_bytes=stored.size_bytes,
        expires_at=clock.now() + timedelta(seconds=ttl),
        created_at=clock.now(),
    )
    await media_objects.add(link)
    return link


async def test_an_overdue_unfinalized_job_is_finalized_timeout_and_its_payload_removed(
    purge: PurgeArtifacts,
    queue_job: QueueJob,
    jobs: InMemoryJobRepository,
    storage: InMemoryMediaStorage,
    clock: FakeClock,
) -> None:
    overdue = await queue_job()
    await clock.advance(10)
    in_time = await queue_job()
    await clock.advance(40)  # overdue's deadline (48 s) has passed; in_time's has not

    report = await purge()

    assert report.timed_out == 1 and report.payloads == 1
    assert jobs.rows[overdue.id].failure_reason is FailureReason.TIMEOUT
    assert jobs.rows[overdue.id].finalized_at == clock.now()
    assert jobs.rows[overdue.id].payload is None
    assert overdue.payload is not None and overdue.payload.path not in storage.files
    assert not jobs.rows[in_time.id].is_finalized
    assert in_time.payload is not None and in_time.payload.path in storage.files


async def test_payloads_of_finalized_jobs_go_at_once(
    purge: PurgeArtifacts,
    queue_job: QueueJob,
    jobs: InMemoryJobRepository,
    storage: InMemoryMediaStorage,
    clock: FakeClock,
) -> None:
    """e.g. the worker finalized but crashed before removing the payload itself."""
    job = await queue_job()
    await _succeed(job, jobs, storage, clock)

    report = await purge()

    assert report == PurgeReport(payloads=1)
    assert jobs.rows[job.id].payload is None
    assert storage.paths(MediaArea.PAYLOAD) == set()
    assert jobs.rows[job.id].result is not None  # the result is not a payload


async def test_an_expired_payload_goes_even_while_its_job_is_still_open(
    purge: PurgeArtifacts,
    queue_job: QueueJob,
    jobs: InMemoryJobRepository,
    storage: InMemoryMediaStorage,
    clock: FakeClock,
) -> None:
    job = await queue_job(payload_expires_at=clock.now() + timedelta(seconds=20))
    await clock.advance(19)
    assert await purge() == PurgeReport()

    await clock.advance(1)
    report = await purge()

    assert report == PurgeReport(payloads=1)
    assert not jobs.rows[job.id].is_finalized
    assert jobs.rows[job.id].payload is None
    assert storage.paths(MediaArea.PAYLOAD) == set()


async def test_expired_links_are_purged_and_then_answer_gone(
    purge: PurgeArtifacts,
    queue_job: QueueJob,
    media_objects: InMemoryMediaObjectRepository,
    storage: InMemoryMediaStorage,
    get_public_media: GetPublicMedia,
    clock: FakeClock,
) -> None:
    job = await queue_job()
    link = await _link(job, media_objects, storage, clock, ttl=45.0)
    served = await get_public_media(link.id)
    assert served.file == storage.absolute_path(link.path or "") and served.mime == "image/jpeg"

    await clock.advance(45)
    with pytest.raises(Gone):  # past expires_at it is gone even before the purge runs
        await get_public_media(link.id)
    report = await purge()

    assert report.links == 1
    assert media_objects.rows[link.id].path is None
    assert link.path not in storage.files
    with pytest.raises(Gone):
        await get_public_media(link.id)


async def test_links_of_finalized_jobs_are_purged_before_they_expire(
    purge: PurgeArtifacts,
    queue_job: QueueJob,
    jobs: InMemoryJobRepository,
    media_objects: InMemoryMediaObjectRepository,
    storage: InMemoryMediaStorage,
    get_public_media: GetPublicMedia,
    clock: FakeClock,
) -> None:
    finished_job = await queue_job()
    open_job = await queue_job()
    finished_link = await _link(finished_job, media_objects, storage, clock)
    open_link = await _link(open_job, media_objects, storage, clock)
    await jobs.finalize_failure(finished_job.id, FailureReason.PROVIDER_ERROR, now=clock.now())

    report = await purge()

    assert report.links == 1
    with pytest.raises(Gone):
        await get_public_media(finished_link.id)
    assert (await get_public_media(open_link.id)).mime == "image/jpeg"
    assert open_link.path in storage.files


async def test_results_past_their_expiry_are_deleted_and_then_answer_gone(
    purge: PurgeArtifacts,
    queue_job: QueueJob,
    jobs: InMemoryJobRepository,
    storage: InMemoryMediaStorage,
    get_result: GetResult,
    clock: FakeClock,
) -> None:
    job = await queue_job()
    result = await _succeed(job, jobs, storage, clock)
    await purge()
    await clock.advance(RETENTION.total_seconds() - 1)
    assert (await get_result(job.id)).file == storage.absolute_path(result.file_path or "")
    assert (await purge()).results == 0

    await clock.advance(1)
    report = await purge()

    assert report.results == 1
    kept = jobs.rows[job.id].result
    assert kept is not None and kept.file_path is None and kept.checksum == result.checksum
    assert storage.paths(MediaArea.RESULTS) == set()
    with pytest.raises(Gone):
        await get_result(job.id)


async def test_orphan_files_are_deleted_after_the_grace_only_if_unreferenced(
    purge: PurgeArtifacts,
    queue_job: QueueJob,
    jobs: InMemoryJobRepository,
    media_objects: InMemoryMediaObjectRepository,
    storage: InMemoryMediaStorage,
    clock: FakeClock,
) -> None:
    long_ago = clock.now() - timedelta(seconds=PURGE_POLICY.orphan_grace_seconds + 1)
    just_now = clock.now() - timedelta(seconds=PURGE_POLICY.orphan_grace_seconds - 1)
    old_orphans = {
        storage.plant(area, JPEG, mime="image/jpeg", modified_at=long_ago)
        for area in (MediaArea.PAYLOAD, MediaArea.RESULTS, MediaArea.PUBLIC)
    }
    young_orphan = storage.plant(MediaArea.RESULTS, JPEG, mime="image/jpeg", modified_at=just_now)
    template_file = storage.plant(
        MediaArea.TEMPLATES, JPEG, mime="image/jpeg", modified_at=long_ago
    )
    job = await queue_job()
    link = await _link(job, media_objects, storage, clock, ttl=10_000)
    result = await _succeed(await queue_job(), jobs, storage, clock)
    referenced = {job.payload.path if job.payload else "", link.path or "", result.file_path or ""}
    for path in referenced:  # referenced files as old as the orphans
        storage.touch(path, long_ago)

    report = await purge()

    assert report.orphans == 3
    assert old_orphans.isdisjoint(storage.files)
    assert young_orphan in storage.files
    assert template_file in storage.files
    assert referenced <= storage.files.keys()


async def test_running_twice_is_idempotent(
    purge: PurgeArtifacts,
    queue_job: QueueJob,
    jobs: InMemoryJobRepository,
    media_objects: InMemoryMediaObjectRepository,
    storage: InMemoryMediaStorage,
    clock: FakeClock,
) -> None:
    overdue = await queue_job()
    await _link(overdue, media_objects, storage, clock)
    await _succeed(await queue_job(), jobs, storage, clock)
    storage.plant(
        MediaArea.PAYLOAD, JPEG, mime="image/jpeg", modified_at=clock.now() - timedelta(days=1)
    )
    await clock.advance(RETENTION.total_seconds())

    first = await purge()
    state = (dict(jobs.rows), dict(media_objects.rows), dict(storage.files))
    second = await purge()

    assert first == PurgeReport(timed_out=1, payloads=2, links=1, results=1, orphans=1)
    assert second == PurgeReport()
    assert (dict(jobs.rows), dict(media_objects.rows), dict(storage.files)) == state


async def test_two_purges_at_once_record_one_final_state(
    purge: PurgeArtifacts,
    queue_job: QueueJob,
    jobs: InMemoryJobRepository,
    storage: InMemoryMediaStorage,
    clock: FakeClock,
) -> None:
    job = await queue_job()
    await clock.advance(48)

    reports = await asyncio.gather(purge(), purge())

    assert sum(r.timed_out for r in reports) == 1
    assert jobs.rows[job.id].failure_reason is FailureReason.TIMEOUT
    assert storage.paths(MediaArea.PAYLOAD) == set()
