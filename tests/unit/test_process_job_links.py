"""ProcessJob for providers that download their inputs: public links made, handed over by
URL, expired with the job, removed at finalization; the provider's job id recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fakes import (
    JPEG,
    PNG,
    FakeClock,
    FakeProvider,
    InMemoryJobRepository,
    InMemoryMediaObjectRepository,
    InMemoryMediaStorage,
    InMemorySlotRepository,
    QueueAndClaim,
    make_slot,
)

from application.ports import InputImage, ProviderInput
from application.process_job import Outcome, ProcessJob
from application.public_links import PublishInputs
from conftest import PUBLIC_BASE_URL
from domain.job import FailureReason
from domain.media import MediaArea, TemplateMedia
from domain.settings import AppSettings


@pytest.fixture
def style_slot(slots: InMemorySlotRepository, overlay: TemplateMedia) -> str:
    slots.rows["slot-005"] = make_slot(
        "slot-005",
        provider="turbotext",
        operation="style_transfer",
        settings={"prompt": "in the style of the poster", "style_template_id": str(overlay.id)},
    )
    return "slot-005"


def media_id(url: str | None) -> str:
    assert url is not None and url.startswith(f"{PUBLIC_BASE_URL}/public/media/")
    return url.rsplit("/", 1)[1]


async def test_inputs_are_handed_over_as_public_links_while_the_job_runs(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    media_objects: InMemoryMediaObjectRepository,
    storage: InMemoryMediaStorage,
    style_slot: str,
    overlay: TemplateMedia,
) -> None:
    seen: dict[str, tuple[bytes, str]] = {}

    async def fetch_like_the_provider(request: ProviderInput) -> None:
        images = {"photo": request.photo, **request.templates}
        for name, image in images.items():
            assert image.data == b""  # the provider downloads; the bytes are not handed over
            link = next(m for m in media_objects.rows.values() if str(m.id) == media_id(image.url))
            assert link.path is not None and link.path.startswith(f"{MediaArea.PUBLIC.value}/")
            seen[name] = (storage.files[link.path].data, image.mime)

    provider.before_answer = fetch_like_the_provider
    job = await queued_and_claimed(style_slot)

    assert await process_job(job, worker_id="worker-1") is Outcome.SUCCEEDED

    assert seen == {"photo": (JPEG, "image/jpeg"), "style_template_id": (PNG, "image/png")}
    links = [m for m in media_objects.rows.values() if m.job_id == job.id]
    assert len(links) == 2
    assert all(m.path is None for m in links)  # removed at finalization: they answer 410 now
    assert storage.paths(MediaArea.PUBLIC) == set()
    assert overlay.path in storage.files  # the template itself is untouched


async def test_a_link_expires_with_its_ttl_and_never_after_the_job(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    media_objects: InMemoryMediaObjectRepository,
    clock: FakeClock,
) -> None:
    app = AppSettings(sync_timeout_sec=50)
    job = await queued_and_claimed("slot-003", app=app)
    await clock.advance(
        3.0
    )  # the worker claims it a little later: the link must not outlive the job
    await process_job(job, worker_id="worker-1")

    [link] = [m for m in media_objects.rows.values() if m.job_id == job.id]
    assert link.created_at == clock.now()
    assert link.expires_at == job.expires_at
    assert link.expires_at < link.created_at + timedelta(seconds=app.public_link_ttl())


async def test_the_link_ttl_caps_the_link_when_the_job_lives_longer(
    publish_inputs: PublishInputs,
    queued_and_claimed: QueueAndClaim,
    media_objects: InMemoryMediaObjectRepository,
    clock: FakeClock,
) -> None:
    job = await queued_and_claimed("slot-003")
    image = await publish_inputs.publish(job, JPEG, mime="image/jpeg", ttl_seconds=5.0)

    [link] = media_objects.rows.values()
    assert link.expires_at == clock.now() + timedelta(seconds=5.0) < job.expires_at
    assert image == InputImage(mime="image/jpeg", url=image.url)
    assert image.url is not None and image.url.startswith(f"{PUBLIC_BASE_URL}/public/media/")
    assert "//public" not in image.url  # the configured trailing slash is not doubled


async def test_the_provider_job_reference_is_stored_as_soon_as_it_is_known(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    jobs: InMemoryJobRepository,
) -> None:
    references: list[str | None] = []

    async def submit_then_poll(request: ProviderInput) -> None:
        await request.record_reference("90210")
        current = jobs.rows[request.job_id]
        references.append(current.provider_job_reference)  # before the result arrives

    provider.before_answer = submit_then_poll
    job = await queued_and_claimed("slot-003")

    assert await process_job(job, worker_id="worker-1") is Outcome.SUCCEEDED
    assert references == ["90210"]
    assert jobs.rows[job.id].provider_job_reference == "90210"


@pytest.mark.parametrize("public_base_url", [None])
async def test_without_a_public_base_url_the_job_fails_before_any_provider_call(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
    jobs: InMemoryJobRepository,
    media_objects: InMemoryMediaObjectRepository,
    storage: InMemoryMediaStorage,
) -> None:
    job = await queued_and_claimed("slot-003")

    assert await process_job(job, worker_id="worker-1") is Outcome.PROVIDER_ERROR

    assert provider.calls == []
    assert jobs.rows[job.id].failure_reason is FailureReason.PROVIDER_ERROR
    assert media_objects.rows == {}
    assert storage.paths(MediaArea.PUBLIC) == set()


async def test_a_reclaimed_job_hands_its_earlier_reference_to_the_provider(
    process_job: ProcessJob,
    queued_and_claimed: QueueAndClaim,
    provider: FakeProvider,
) -> None:
    job = await queued_and_claimed("slot-003", provider_job_reference="7001")

    assert await process_job(job, worker_id="worker-1") is Outcome.SUCCEEDED
    [request] = provider.calls
    assert request.reference == "7001"
