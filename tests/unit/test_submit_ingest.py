"""SubmitIngest: authenticate, store, queue, wait on the job row, answer by the deadline."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest
from fakes import (
    GIF,
    JPEG,
    PASSWORD,
    PNG,
    POKE_PAUSE_SECONDS,
    RESULT_PNG,
    TICK_SECONDS,
    CountingSignal,
    FakeClock,
    InMemoryJobRepository,
    InMemoryMediaStorage,
    InMemorySettingsRepository,
    InMemorySlotRepository,
    ScriptedWorker,
    SubmitIngestFactory,
    finished,
    ingest_command,
    repeated,
    settle,
)

from application.submit_ingest import IngestCommand, IngestLimits, SubmitIngest
from application.waiting import SharedCompletionPoller
from domain.deadlines import (
    PRODUCT_BOUNDS,
    TimeoutBounds,
    calculate_artifact_expiry,
    calculate_job_expires_at,
)
from domain.errors import (
    DeadlineExpired,
    InvalidPassword,
    JobCancelled,
    NotFound,
    PayloadTooLarge,
    PhotoChangerError,
    ProviderFailed,
    RateLimited,
    SlotNotFound,
    UnsupportedMediaType,
)
from domain.job import FailureReason, Job, JobStatus
from domain.media import MediaArea
from domain.providers import MB
from domain.settings import AppSettings


def _only_job(jobs: InMemoryJobRepository) -> Job:
    assert len(jobs.rows) == 1
    return next(iter(jobs.rows.values()))


async def test_answers_with_the_workers_result_once_it_is_finalized(
    submit_ingest: SubmitIngest,
    worker: ScriptedWorker,
    jobs: InMemoryJobRepository,
    job_added: CountingSignal,
    clock: FakeClock,
) -> None:
    started = clock.now()
    submitting = asyncio.create_task(submit_ingest(ingest_command()))

    job = await worker.claim()
    await settle()
    assert not submitting.done()
    assert await worker.succeed(job, RESULT_PNG)

    result = await finished(submitting)
    assert result.job_id == job.id
    assert result.image == RESULT_PNG
    assert result.mime == "image/png"
    assert job_added.count == 1
    # answered on the poke (after its short coalescing pause), not at a tick or the deadline
    assert clock.now() - started == timedelta(seconds=POKE_PAUSE_SECONDS)


async def test_the_job_is_queued_with_a_snapshot_of_the_slot_and_the_booth_metadata(
    submit_ingest: SubmitIngest,
    worker: ScriptedWorker,
    jobs: InMemoryJobRepository,
    slots: InMemorySlotRepository,
    storage: InMemoryMediaStorage,
) -> None:
    metadata = {"booth": "hall-2", "event": "wedding"}
    submitting = asyncio.create_task(submit_ingest(ingest_command("slot-003", metadata=metadata)))
    job = await worker.claim()

    assert job.slot_id == "slot-003"
    assert (job.provider, job.operation) == ("turbotext", "image_edit")
    assert job.settings == {"prompt": "x"}
    assert job.metadata == metadata
    assert job.payload is not None
    assert job.payload.mime == "image/jpeg"
    assert job.payload.size_bytes == len(JPEG)
    assert job.payload.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert storage.files[job.payload.path].data == JPEG

    slot = slots.rows["slot-003"]
    slots.rows["slot-003"] = slot.reconfigure(now=slot.updated_at, settings={"prompt": "new"})
    assert (await jobs.get(job.id)).settings == {"prompt": "x"}  # type: ignore[union-attr]

    await worker.succeed(job)
    await finished(submitting)


@pytest.mark.parametrize(
    ("sync_timeout", "bounds"),
    [(48.0, PRODUCT_BOUNDS), (55.0, PRODUCT_BOUNDS), (1.0, TimeoutBounds(low=2.0, high=3.0))],
)
async def test_deadline_and_payload_expiry_come_from_the_domain_functions_and_current_settings(
    build_submit_ingest: SubmitIngestFactory,
    limits: IngestLimits,
    settings_repo: InMemorySettingsRepository,
    jobs: InMemoryJobRepository,
    clock: FakeClock,
    sync_timeout: float,
    bounds: TimeoutBounds,
) -> None:
    settings_repo.settings = AppSettings(sync_timeout_sec=sync_timeout)
    submit = build_submit_ingest(
        limits=IngestLimits(
            max_upload_bytes=limits.max_upload_bytes,
            max_unfinished_jobs=limits.max_unfinished_jobs,
            retry_after_seconds=limits.retry_after_seconds,
            bounds=bounds,
        )
    )
    created = clock.now()
    submitting = asyncio.create_task(submit(ingest_command()))
    await settle()

    job = _only_job(jobs)
    link_ttl = min(max(sync_timeout, bounds.low), bounds.high)
    assert job.created_at == created
    assert job.expires_at == calculate_job_expires_at(created, sync_timeout, link_ttl)
    assert job.expires_at == created + timedelta(seconds=max(sync_timeout, link_ttl))
    assert job.payload is not None
    assert job.payload.expires_at == calculate_artifact_expiry(
        created, job.expires_at, min(sync_timeout, link_ttl)
    )
    assert job.payload.expires_at <= job.expires_at
    submitting.cancel()
    await asyncio.gather(submitting, return_exceptions=True)


async def test_the_short_payload_ttl_of_narrow_bounds_is_visible(
    build_submit_ingest: SubmitIngestFactory,
    limits: IngestLimits,
    settings_repo: InMemorySettingsRepository,
    jobs: InMemoryJobRepository,
    clock: FakeClock,
) -> None:
    """sync 1 s inside bounds 2..3: link TTL 2, job deadline 2, payload (ingest TTL) 1."""
    settings_repo.settings = AppSettings(sync_timeout_sec=1.0)
    narrow = IngestLimits(
        max_upload_bytes=limits.max_upload_bytes,
        max_unfinished_jobs=5,
        retry_after_seconds=7,
        bounds=TimeoutBounds(low=2.0, high=3.0),
    )
    submitting = asyncio.create_task(build_submit_ingest(limits=narrow)(ingest_command()))
    await settle()
    job = _only_job(jobs)
    assert job.payload is not None
    assert job.expires_at - clock.now() == timedelta(seconds=2)
    assert job.payload.expires_at - clock.now() == timedelta(seconds=1)
    submitting.cancel()
    await asyncio.gather(submitting, return_exceptions=True)


async def test_new_jobs_use_the_settings_current_at_their_creation(
    submit_ingest: SubmitIngest,
    worker: ScriptedWorker,
    settings_repo: InMemorySettingsRepository,
    clock: FakeClock,
) -> None:
    first = asyncio.create_task(submit_ingest(ingest_command()))
    first_job = await worker.claim()
    settings_repo.settings = AppSettings(sync_timeout_sec=60.0, result_retention_sec=3600.0)
    second = asyncio.create_task(submit_ingest(ingest_command()))
    second_job = await worker.claim()

    assert first_job.expires_at == clock.now() + timedelta(seconds=48)
    assert second_job.expires_at == clock.now() + timedelta(seconds=60)
    assert first_job.result_retention_sec == 259_200.0
    assert second_job.result_retention_sec == 3600.0
    await worker.succeed(first_job)
    await worker.succeed(second_job)
    await finished(first)
    await finished(second)


async def test_wrong_password_is_refused_and_counted(
    submit_ingest: SubmitIngest,
    jobs: InMemoryJobRepository,
    storage: InMemoryMediaStorage,
) -> None:
    for _ in range(2):
        with pytest.raises(InvalidPassword):
            await submit_ingest(ingest_command(password="guess"))
    assert jobs.rows == {}
    assert storage.paths(MediaArea.PAYLOAD) == set()

    with pytest.raises(InvalidPassword):  # the third failure reaches the limit of 3
        await submit_ingest(ingest_command(password="guess"))
    with pytest.raises(RateLimited):  # now even the right password waits
        await submit_ingest(ingest_command(password=PASSWORD))


async def test_repeated_failures_are_rate_limited_with_retry_after(
    submit_ingest: SubmitIngest,
    worker: ScriptedWorker,
    clock: FakeClock,
) -> None:
    for _ in range(3):
        with pytest.raises(InvalidPassword):
            await submit_ingest(ingest_command(password="guess"))
        await clock.advance(10)

    with pytest.raises(RateLimited) as refused:
        await submit_ingest(ingest_command(password="guess"))
    assert refused.value.retry_after == 30  # the first failure leaves the 60 s window then
    assert refused.value.details["retry_after"] == 30
    with pytest.raises(InvalidPassword):  # another client is not affected
        await submit_ingest(ingest_command(password="guess", client="10.0.0.8"))

    await clock.advance(30)
    submitting = asyncio.create_task(submit_ingest(ingest_command()))
    await worker.succeed(await worker.claim())
    assert (await finished(submitting)).image == RESULT_PNG


async def test_no_stored_password_refuses_everyone(
    submit_ingest: SubmitIngest, settings_repo: InMemorySettingsRepository
) -> None:
    settings_repo.password_hash = None
    with pytest.raises(InvalidPassword):
        await submit_ingest(ingest_command())


@pytest.mark.parametrize("slot_id", ["slot-002", "slot-099", "nonsense"])
async def test_unknown_or_inactive_slot_is_not_found(
    submit_ingest: SubmitIngest,
    jobs: InMemoryJobRepository,
    storage: InMemoryMediaStorage,
    slot_id: str,
) -> None:
    with pytest.raises(SlotNotFound):
        await submit_ingest(ingest_command(slot_id))
    assert jobs.rows == {}
    assert storage.paths(MediaArea.PAYLOAD) == set()


async def test_payload_over_the_provider_cap_is_refused_and_nothing_is_kept(
    submit_ingest: SubmitIngest,
    jobs: InMemoryJobRepository,
    storage: InMemoryMediaStorage,
) -> None:
    """Turbotext takes 15 MB; the deployment cap (50 MB) is higher, so the provider's rules."""
    photo = repeated(JPEG[:4] + bytes(MB - 4), 16)
    cmd = IngestCommand(slot_id="slot-003", password=PASSWORD, photo=photo, client="c")
    with pytest.raises(PayloadTooLarge) as refused:
        await submit_ingest(cmd)
    assert refused.value.details["max_bytes"] == 15 * MB
    assert jobs.rows == {}
    assert storage.paths(MediaArea.PAYLOAD) == set()


async def test_payload_over_the_deployment_cap_is_refused(
    build_submit_ingest: SubmitIngestFactory,
    worker: ScriptedWorker,
    jobs: InMemoryJobRepository,
) -> None:
    small = IngestLimits(
        max_upload_bytes=len(JPEG), max_unfinished_jobs=5, retry_after_seconds=7,
        bounds=PRODUCT_BOUNDS,
    )  # fmt: skip
    submit = build_submit_ingest(limits=small)
    with pytest.raises(PayloadTooLarge):
        await submit(ingest_command(photo=JPEG + b"!"))
    assert jobs.rows == {}

    submitting = asyncio.create_task(submit(ingest_command(photo=JPEG)))  # exactly the cap
    await worker.succeed(await worker.claim())
    await finished(submitting)


async def test_a_type_the_provider_does_not_accept_is_refused_and_the_payload_deleted(
    submit_ingest: SubmitIngest,
    jobs: InMemoryJobRepository,
    storage: InMemoryMediaStorage,
) -> None:
    with pytest.raises(UnsupportedMediaType) as refused:
        await submit_ingest(ingest_command(photo=GIF))
    assert "image/gif" in refused.value.message
    assert "image/jpeg" in refused.value.details["accepted"]
    assert jobs.rows == {}
    assert storage.paths(MediaArea.PAYLOAD) == set()


async def test_bytes_that_are_no_image_are_refused(
    submit_ingest: SubmitIngest, storage: InMemoryMediaStorage
) -> None:
    with pytest.raises(UnsupportedMediaType):
        await submit_ingest(ingest_command(photo=b"%PDF-1.7 not a photo"))
    assert storage.files.keys() == storage.paths(MediaArea.TEMPLATES)


async def test_a_full_queue_answers_rate_limited_and_deletes_the_payload(
    submit_ingest: SubmitIngest,
    jobs: InMemoryJobRepository,
    storage: InMemoryMediaStorage,
) -> None:
    waiting = [asyncio.create_task(submit_ingest(ingest_command(photo=PNG))) for _ in range(5)]
    await settle()
    assert len(jobs.rows) == 5
    payloads = storage.paths(MediaArea.PAYLOAD)

    with pytest.raises(RateLimited) as refused:
        await submit_ingest(ingest_command())

    assert refused.value.retry_after == 7
    assert len(jobs.rows) == 5
    assert storage.paths(MediaArea.PAYLOAD) == payloads  # only the refused upload went
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)


async def test_at_the_deadline_the_job_is_finalized_timeout(
    submit_ingest: SubmitIngest,
    jobs: InMemoryJobRepository,
    clock: FakeClock,
) -> None:
    submitting = asyncio.create_task(submit_ingest(ingest_command()))
    await settle()
    job = _only_job(jobs)

    await clock.advance(47.999)
    assert not submitting.done()
    await clock.advance(0.001)

    with pytest.raises(DeadlineExpired) as expired:
        await finished(submitting)
    assert expired.value.details == {"job_id": str(job.id)}
    final = jobs.rows[job.id]
    assert final.is_finalized
    assert final.failure_reason is FailureReason.TIMEOUT
    assert final.finalized_at == job.expires_at == clock.now()


async def test_a_worker_that_wins_the_race_at_the_deadline_is_answered(
    build_submit_ingest: SubmitIngestFactory,
    worker: ScriptedWorker,
    jobs: InMemoryJobRepository,
    clock: FakeClock,
) -> None:
    """The worker finalizes just before the deadline and nobody polls in between: the
    request's conditional timeout loses, and the worker's result is what the booth gets."""
    blind = SharedCompletionPoller(jobs, clock, tick_seconds=3600.0)
    try:
        submitting = asyncio.create_task(build_submit_ingest(waiter=blind)(ingest_command()))
        job = await worker.claim()
        await clock.advance(47.9)
        assert await worker.succeed(job, poke=False)
        assert not submitting.done()

        await clock.advance(0.1)

        result = await finished(submitting)
        assert result.image == RESULT_PNG
        assert jobs.rows[job.id].failure_reason is None
        assert jobs.calls["finalize_failure"] == 1  # the request tried, and lost
    finally:
        await blind.aclose()


async def test_provider_error_is_reported_as_provider_failed(
    submit_ingest: SubmitIngest, worker: ScriptedWorker
) -> None:
    submitting = asyncio.create_task(submit_ingest(ingest_command()))
    job = await worker.claim()
    await worker.fail(job, FailureReason.PROVIDER_ERROR)

    with pytest.raises(ProviderFailed) as failed:
        await finished(submitting)
    assert failed.value.details == {"job_id": str(job.id)}


@pytest.mark.parametrize(
    ("reason", "error"),
    [(FailureReason.TIMEOUT, DeadlineExpired), (FailureReason.CANCELLED, JobCancelled)],
)
async def test_a_job_finalized_without_result_elsewhere_answers_its_reason(
    submit_ingest: SubmitIngest,
    worker: ScriptedWorker,
    reason: FailureReason,
    error: type[PhotoChangerError],
) -> None:
    """A cancelled job is not a slow provider: the booth hears ``cancelled``, not ``timeout``."""
    submitting = asyncio.create_task(submit_ingest(ingest_command()))
    job = await worker.claim()
    await worker.fail(job, reason)
    with pytest.raises(error) as raised:
        await finished(submitting)
    assert type(raised.value) is error
    assert raised.value.details == {"job_id": str(job.id)}


async def test_the_booth_gets_the_result_file_the_worker_wrote(
    submit_ingest: SubmitIngest,
    worker: ScriptedWorker,
    jobs: InMemoryJobRepository,
    storage: InMemoryMediaStorage,
) -> None:
    """No copy of the image goes through the job row: the answer is read from the file."""
    image = RESULT_PNG + b"-only-in-the-file"
    submitting = asyncio.create_task(submit_ingest(ingest_command()))
    await worker.succeed(await worker.claim(), image)
    result = await finished(submitting)
    assert result.image == image

    job = jobs.rows[result.job_id]
    assert job.result is not None and job.result.file_path is not None  # download stays
    assert storage.files[job.result.file_path].data == image


async def test_a_result_file_gone_before_delivery_is_not_found_not_a_crash(
    submit_ingest: SubmitIngest,
    worker: ScriptedWorker,
    jobs: InMemoryJobRepository,
    storage: InMemoryMediaStorage,
    clock: FakeClock,
) -> None:
    submitting = asyncio.create_task(submit_ingest(ingest_command()))
    job = await worker.claim()
    await worker.succeed(job, poke=False)
    result = jobs.rows[job.id].result
    assert result is not None and result.file_path is not None
    del storage.files[result.file_path]  # e.g. an operator cleaning MEDIA_ROOT by hand
    await clock.advance(TICK_SECONDS)
    with pytest.raises(NotFound, match="no longer available") as raised:
        await finished(submitting)
    assert raised.value.details == {"job_id": str(job.id)}


async def test_a_declared_hash_mismatch_is_not_fatal(
    submit_ingest: SubmitIngest, worker: ScriptedWorker, caplog: pytest.LogCaptureFixture
) -> None:
    submitting = asyncio.create_task(submit_ingest(ingest_command(declared_hash="0" * 64)))
    await worker.succeed(await worker.claim())
    assert (await finished(submitting)).image == RESULT_PNG
    assert submit_ingest.hash_mismatches == {"mismatch": 1}
    noted = [r.levelno for r in caplog.records if "declared hash" in r.getMessage()]
    assert all(level == logging.DEBUG for level in noted), "a debug line, never a warning"


async def test_a_request_that_goes_away_leaves_its_job_to_the_worker(
    submit_ingest: SubmitIngest, jobs: InMemoryJobRepository
) -> None:
    submitting = asyncio.create_task(submit_ingest(ingest_command()))
    await settle()
    submitting.cancel()
    await asyncio.gather(submitting, return_exceptions=True)

    job = _only_job(jobs)
    assert not job.is_finalized
    assert job.status is JobStatus.PENDING
    assert job.payload is not None


async def test_a_burst_is_admitted_first_come_first_served(
    build_submit_ingest: SubmitIngestFactory,
    limits: IngestLimits,
    worker: ScriptedWorker,
) -> None:
    """With one admission at a time, the second photo is not even read until the first is
    queued, and the first is queued first."""
    release = asyncio.Event()
    read_order: list[str] = []

    async def held_photo(name: str) -> AsyncIterator[bytes]:
        read_order.append(name)
        await release.wait()
        yield JPEG

    submit = build_submit_ingest(limits=replace(limits, admission_concurrency=1))
    commands = [replace(ingest_command(), photo=held_photo(n)) for n in ("first", "second")]
    first, second = (asyncio.create_task(submit(c)) for c in commands)
    await settle()
    assert read_order == ["first"], "the second photo waits for its turn"

    release.set()
    claimed = [await worker.claim(), await worker.claim()]
    assert read_order == ["first", "second"]
    assert claimed[0].created_at <= claimed[1].created_at
    for job in claimed:
        await worker.succeed(job)
    assert {(await finished(first)).job_id, (await finished(second)).job_id} == {
        job.id for job in claimed
    }
