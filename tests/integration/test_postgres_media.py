"""Public links (MediaObject) and template images against real PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from adapters.postgres.jobs import PostgresJobRepository
from adapters.postgres.media_objects import PostgresMediaObjectRepository
from adapters.postgres.pool import Pool
from adapters.postgres.templates import PostgresTemplateRepository
from domain.job import FailureReason, Job
from domain.media import MediaObject, TemplateMedia

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


async def new_job(pool: Pool) -> Job:
    job = Job(
        id=uuid4(),
        slot_id="slot-001",
        provider="turbotext",
        operation="generate_image2image",
        settings={},
        expires_at=T0 + timedelta(seconds=60),
        created_at=T0,
        updated_at=T0,
    )
    assert await PostgresJobRepository(pool).add_if_capacity(job, max_unfinished=100)
    return job


def link(job: Job, expires_in: timedelta) -> MediaObject:
    return MediaObject(
        id=uuid4(),
        job_id=job.id,
        path=f"public/{uuid4().hex}.jpg",
        mime="image/jpeg",
        size_bytes=10,
        expires_at=T0 + expires_in,
        created_at=T0,
    )


async def test_media_object_round_trip(pool: Pool) -> None:
    repo = PostgresMediaObjectRepository(pool)
    media = link(await new_job(pool), timedelta(seconds=45))
    await repo.add(media)

    assert await repo.get(media.id) == media
    assert await repo.get(uuid4()) is None


async def test_links_to_purge_are_expired_or_of_finalized_jobs(pool: Pool) -> None:
    repo = PostgresMediaObjectRepository(pool)
    active_job, finished_job = await new_job(pool), await new_job(pool)
    live = link(active_job, timedelta(seconds=45))
    expired = link(active_job, timedelta(seconds=10))
    of_finished = link(finished_job, timedelta(seconds=45))
    for media in (live, expired, of_finished):
        await repo.add(media)
    await PostgresJobRepository(pool).finalize_failure(
        finished_job.id, FailureReason.PROVIDER_ERROR, now=T0
    )
    now = T0 + timedelta(seconds=10)

    due = await repo.to_purge(now=now, limit=10)
    assert {m.id for m in due} == {expired.id, of_finished.id}
    assert len(await repo.to_purge(now=now, limit=1)) == 1

    await repo.mark_purged(expired.id)
    assert {m.id for m in await repo.to_purge(now=now, limit=10)} == {of_finished.id}
    purged = await repo.get(expired.id)
    assert purged is not None and purged.path is None  # the row stays: the link answers 410


async def test_links_of_a_job(pool: Pool) -> None:
    repo = PostgresMediaObjectRepository(pool)
    job, other = await new_job(pool), await new_job(pool)
    first = link(job, timedelta(seconds=45))
    second = replace(link(job, timedelta(seconds=45)), created_at=T0 + timedelta(seconds=1))
    for media in (second, link(other, timedelta(seconds=45)), first):
        await repo.add(media)
    await repo.mark_purged(first.id)

    assert await repo.for_job(job.id) == [replace(first, path=None), second]
    assert await repo.for_job(uuid4()) == []


async def test_media_referenced_paths(pool: Pool) -> None:
    repo = PostgresMediaObjectRepository(pool)
    media = link(await new_job(pool), timedelta(seconds=45))
    await repo.add(media)
    assert media.path is not None

    assert await repo.referenced_paths([media.path, "public/orphan.jpg"]) == {media.path}
    assert await repo.referenced_paths([]) == set()


async def test_templates_add_list_remove(pool: Pool) -> None:
    repo = PostgresTemplateRepository(pool)
    older, newer = (
        TemplateMedia(
            id=uuid4(),
            path=f"templates/{n}.png",
            mime="image/png",
            size_bytes=100 + n,
            checksum=f"{n}" * 64,
            label=f"style {n}",
            uploaded_by="admin",
            created_at=T0 + timedelta(minutes=n),
        )
        for n in (1, 2)
    )
    await repo.add(newer)
    await repo.add(older)

    assert await repo.get(older.id) == older
    assert await repo.list() == [older, newer]
    assert await repo.remove(older.id)
    assert not await repo.remove(older.id)
    assert await repo.list() == [newer]
