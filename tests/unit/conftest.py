"""Fixtures: in-memory fakes of every port, wired into the real use cases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from fakes import (
    JPEG,
    LEASE,
    PASSWORD,
    PNG,
    PURGE_POLICY,
    START,
    TICK_SECONDS,
    CountingSignal,
    FakeClock,
    FakeProvider,
    FakeProviderRegistry,
    InMemoryJobRepository,
    InMemoryMediaObjectRepository,
    InMemoryMediaStorage,
    InMemorySettingsRepository,
    InMemorySlotRepository,
    InMemoryTemplateRepository,
    PlainPasswordHasher,
    QueueAndClaim,
    QueueJob,
    ScriptedWorker,
    SubmitIngestFactory,
    make_slot,
    new_job,
)

from application.claim_job import ClaimAndProcess
from application.job_artifacts import JobArtifacts
from application.password_guard import FailedPasswordGuard
from application.process_job import ProcessJob
from application.provider_limits import ProviderLimits
from application.public_downloads import GetPublicMedia, GetResult
from application.public_links import PublishInputs
from application.purge_artifacts import PurgeArtifacts
from application.submit_ingest import IngestLimits, SubmitIngest
from application.waiting import CompletionWaiter, SharedCompletionPoller
from domain.deadlines import PRODUCT_BOUNDS
from domain.job import Job
from domain.media import MediaArea, TemplateMedia
from domain.providers import MB
from domain.settings import AppSettings
from domain.slot import SLOT_IDS


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def jobs() -> InMemoryJobRepository:
    return InMemoryJobRepository()


@pytest.fixture
def hasher() -> PlainPasswordHasher:
    return PlainPasswordHasher()


@pytest.fixture
def settings_repo(hasher: PlainPasswordHasher) -> InMemorySettingsRepository:
    return InMemorySettingsRepository(AppSettings(), password_hash=hasher.encode(PASSWORD))


@pytest.fixture
def storage(clock: FakeClock) -> InMemoryMediaStorage:
    return InMemoryMediaStorage(clock)


@pytest.fixture
def media_objects(jobs: InMemoryJobRepository) -> InMemoryMediaObjectRepository:
    return InMemoryMediaObjectRepository(jobs)


@pytest.fixture
def templates() -> InMemoryTemplateRepository:
    return InMemoryTemplateRepository()


@pytest.fixture
def overlay(templates: InMemoryTemplateRepository, storage: InMemoryMediaStorage) -> TemplateMedia:
    stored = storage.store(MediaArea.TEMPLATES, PNG, "image/png")
    template = TemplateMedia(
        id=uuid4(),
        path=stored.path,
        mime=stored.mime,
        size_bytes=stored.size_bytes,
        checksum=stored.sha256,
        label="frame",
        uploaded_by="admin",
        created_at=START - timedelta(days=2),
    )
    templates.rows[template.id] = template
    return template


@pytest.fixture
def slots(overlay: TemplateMedia) -> InMemorySlotRepository:
    """slot-001 active local/grayscale, slot-002 inactive, slot-003 active turbotext,
    slot-004 active local/overlay with a stored template; the rest inactive."""
    configured = {
        "slot-001": make_slot("slot-001"),
        "slot-002": make_slot("slot-002", operation="sepia", is_active=False),
        "slot-003": make_slot(
            "slot-003", provider="turbotext", operation="image_edit", settings={"prompt": "x"}
        ),
        "slot-004": make_slot(
            "slot-004", operation="overlay", settings={"overlay_template_id": str(overlay.id)}
        ),
    }
    return InMemorySlotRepository(
        configured.get(slot_id) or make_slot(slot_id, is_active=False) for slot_id in SLOT_IDS
    )


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def registry(provider: FakeProvider) -> FakeProviderRegistry:
    return FakeProviderRegistry({"local": provider, "gemini": provider, "turbotext": provider})


@pytest.fixture
async def poller(
    jobs: InMemoryJobRepository, clock: FakeClock
) -> AsyncIterator[SharedCompletionPoller]:
    waiter = SharedCompletionPoller(jobs, clock, tick_seconds=TICK_SECONDS)
    yield waiter
    await waiter.aclose()


@pytest.fixture
def job_added() -> CountingSignal:
    return CountingSignal()


@pytest.fixture
def job_finalized(poller: SharedCompletionPoller) -> CountingSignal:
    """Wired as in the composition root: a finalized job pokes the local waiter."""
    return CountingSignal(forward=poller.poke)


@pytest.fixture
def guard(clock: FakeClock) -> FailedPasswordGuard:
    return FailedPasswordGuard(clock, max_failures=3, window_seconds=60.0)


@pytest.fixture
def limits() -> IngestLimits:
    return IngestLimits(
        max_upload_bytes=50 * MB,
        max_unfinished_jobs=5,
        retry_after_seconds=7,
        bounds=PRODUCT_BOUNDS,
    )


@pytest.fixture
def build_submit_ingest(
    jobs: InMemoryJobRepository,
    slots: InMemorySlotRepository,
    settings_repo: InMemorySettingsRepository,
    storage: InMemoryMediaStorage,
    hasher: PlainPasswordHasher,
    guard: FailedPasswordGuard,
    poller: SharedCompletionPoller,
    clock: FakeClock,
    job_added: CountingSignal,
    limits: IngestLimits,
) -> SubmitIngestFactory:
    default_limits = limits

    def build(
        *, waiter: CompletionWaiter | None = None, limits: IngestLimits | None = None
    ) -> SubmitIngest:
        return SubmitIngest(
            jobs=jobs,
            slots=slots,
            settings=settings_repo,
            storage=storage,
            hasher=hasher,
            guard=guard,
            waiter=waiter or poller,
            clock=clock,
            job_added=job_added,
            limits=limits or default_limits,
        )

    return build


@pytest.fixture
def submit_ingest(build_submit_ingest: SubmitIngestFactory) -> SubmitIngest:
    return build_submit_ingest()


@pytest.fixture
def worker(
    jobs: InMemoryJobRepository,
    clock: FakeClock,
    job_added: CountingSignal,
    poller: SharedCompletionPoller,
    storage: InMemoryMediaStorage,
) -> ScriptedWorker:
    return ScriptedWorker(
        jobs=jobs, clock=clock, job_added=job_added, waiter=poller, storage=storage
    )


@pytest.fixture
def artifacts(
    jobs: InMemoryJobRepository,
    media_objects: InMemoryMediaObjectRepository,
    storage: InMemoryMediaStorage,
) -> JobArtifacts:
    return JobArtifacts(jobs, media_objects, storage)


@pytest.fixture
def provider_limits() -> ProviderLimits:
    return ProviderLimits({"local": 1, "turbotext": 2}, default=4)


PUBLIC_BASE_URL = "https://booth.example"


@pytest.fixture
def public_base_url() -> str | None:
    return PUBLIC_BASE_URL + "/"


@pytest.fixture
def publish_inputs(
    public_base_url: str | None,
    media_objects: InMemoryMediaObjectRepository,
    storage: InMemoryMediaStorage,
    settings_repo: InMemorySettingsRepository,
    clock: FakeClock,
) -> PublishInputs:
    return PublishInputs(
        media_objects=media_objects,
        storage=storage,
        settings=settings_repo,
        clock=clock,
        bounds=PRODUCT_BOUNDS,
        public_base_url=public_base_url,
    )


@pytest.fixture
def build_process_job(
    jobs: InMemoryJobRepository,
    templates: InMemoryTemplateRepository,
    storage: InMemoryMediaStorage,
    registry: FakeProviderRegistry,
    provider_limits: ProviderLimits,
    publish_inputs: PublishInputs,
    artifacts: JobArtifacts,
    clock: FakeClock,
    job_finalized: CountingSignal,
) -> Callable[..., ProcessJob]:
    """``ProcessJob`` on the fakes; keyword arguments add its optional parts (``metrics``,
    ``no_images``, …)."""

    def build(**optional: Any) -> ProcessJob:
        return ProcessJob(
            jobs=jobs,
            templates=templates,
            storage=storage,
            providers=registry,
            limits=provider_limits,
            links=publish_inputs,
            artifacts=artifacts,
            clock=clock,
            lease=LEASE,
            job_finalized=job_finalized,
            **optional,
        )

    return build


@pytest.fixture
def process_job(build_process_job: Callable[..., ProcessJob]) -> ProcessJob:
    return build_process_job()


@pytest.fixture
def claim_and_process(
    jobs: InMemoryJobRepository, process_job: ProcessJob, clock: FakeClock
) -> ClaimAndProcess:
    return ClaimAndProcess(jobs=jobs, process=process_job, clock=clock, lease=LEASE)


@pytest.fixture
def purge(
    jobs: InMemoryJobRepository,
    media_objects: InMemoryMediaObjectRepository,
    storage: InMemoryMediaStorage,
    artifacts: JobArtifacts,
    clock: FakeClock,
) -> PurgeArtifacts:
    return PurgeArtifacts(
        jobs=jobs,
        media_objects=media_objects,
        storage=storage,
        artifacts=artifacts,
        clock=clock,
        policy=PURGE_POLICY,
    )


@pytest.fixture
def get_result(
    jobs: InMemoryJobRepository, storage: InMemoryMediaStorage, clock: FakeClock
) -> GetResult:
    return GetResult(jobs=jobs, storage=storage, clock=clock)


@pytest.fixture
def get_public_media(
    media_objects: InMemoryMediaObjectRepository, storage: InMemoryMediaStorage, clock: FakeClock
) -> GetPublicMedia:
    return GetPublicMedia(media_objects=media_objects, storage=storage, clock=clock)


@pytest.fixture
def queue_job(
    jobs: InMemoryJobRepository,
    slots: InMemorySlotRepository,
    storage: InMemoryMediaStorage,
    clock: FakeClock,
) -> QueueJob:
    """Put a job in the queue as SubmitIngest would (payload stored, deadline from settings)."""

    async def queue(
        slot_id: str = "slot-001",
        *,
        photo: bytes = JPEG,
        mime: str = "image/jpeg",
        app: AppSettings | None = None,
        payload_expires_at: datetime | None = None,
        **changes: Any,
    ) -> Job:
        stored = storage.store(MediaArea.PAYLOAD, photo, mime)
        job = new_job(
            slots.rows[slot_id],
            stored,
            now=clock.now(),
            app=app,
            payload_expires_at=payload_expires_at,
        )
        if changes:
            job = replace(job, **changes)
        assert await jobs.add_if_capacity(job, max_unfinished=1000)
        return job

    return queue


@pytest.fixture
def queued_and_claimed(
    queue_job: QueueJob, jobs: InMemoryJobRepository, clock: FakeClock
) -> QueueAndClaim:
    """A queued job claimed by ``worker-1`` (the job ProcessJob is handed)."""

    async def make(slot_id: str = "slot-001", **kwargs: Any) -> Job:
        queued = await queue_job(slot_id, **kwargs)
        now = clock.now()
        claimed = await jobs.claim_next(
            worker_id="worker-1", now=now, lease_until=now + timedelta(seconds=LEASE.seconds)
        )
        assert claimed is not None and claimed.id == queued.id
        return claimed

    return make
