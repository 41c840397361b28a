"""Full ingests through the real providers' protocols: booth → service → worker → a fake
Gemini or Turbotext over real sockets → back to the booth. Also: swapping a slot's provider
is a slot setting, and no provider request is sent after a job's deadline."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fake_gemini import DEFAULT_KEY as GEMINI_KEY
from fake_gemini import RPC_ERRORS, FakeGemini, fake_gemini_server
from fake_turbotext import FakeTurbotext, fake_turbotext_server
from fake_turbotext import RecordedRequest as RecordedTurbotextRequest
from service_harness import Service, eventually, jpeg_bytes, png_bytes, serve

from application.manage_templates import NewTemplate
from domain.errors import InvalidConfiguration
from domain.job import FailureReason, Job
from domain.media import TemplateMedia

PROMPT = "Turn the guests into a watercolour painting"


async def template(svc: Service, data: bytes, label: str) -> TemplateMedia:
    async def chunks() -> AsyncIterator[bytes]:
        yield data

    return await svc.container.add_template()(
        NewTemplate(label=label, image=chunks(), actor="test")
    )


async def activate(
    svc: Service, provider: str, operation: str, settings: dict[str, Any], slot: str = "slot-005"
) -> None:
    await svc.configure(
        slot, provider=provider, operation=operation, settings=settings, is_active=True
    )


async def job_of(svc: Service, response_job_id: str) -> Job:
    job = await svc.container.jobs().get(UUID(response_job_id))
    assert job is not None
    return job


async def unfinished_jobs(svc: Service) -> list[Job]:
    async with svc.container.pool().connection() as conn:
        cursor = await conn.execute("SELECT id FROM job WHERE NOT is_finalized")
        ids = [row[0] for row in await cursor.fetchall()]
    return [await job_of(svc, str(job_id)) for job_id in ids]


async def worker_is_done_with(svc: Service, job_id: str) -> Job:
    """The worker removes the job's payload only after its provider call has ended, and only
    it does (purge is off in these tests): once the payload is gone, no provider request for
    this job can follow."""

    async def payload_removed() -> bool:
        job = await job_of(svc, job_id)
        return job.is_finalized and job.payload is None

    await eventually(payload_removed, within=15)
    return await job_of(svc, job_id)


class LogRecorder(logging.Handler):
    """Collects every record the service logs (attached once the service has set up its
    logging, which replaces pytest's own capture handler)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@contextmanager
def recorded_logs() -> Iterator[LogRecorder]:
    recorder = LogRecorder()
    root = logging.getLogger()
    root.addHandler(recorder)
    try:
        yield recorder
    finally:
        root.removeHandler(recorder)


def gemini_service(database_url: str, tmp_path: Path, fake: FakeGemini, **overrides: Any) -> Any:
    return serve(
        database_url,
        tmp_path,
        gemini_api_key=GEMINI_KEY,
        gemini_base_url=fake.base_url,
        run_purge=False,
        **overrides,
    )


# --- Gemini ----------------------------------------------------------------------------


async def test_a_gemini_slot_answers_the_booth_with_geminis_image(
    database_url: str, tmp_path: Path
) -> None:
    photo = jpeg_bytes(color=(10, 200, 30))
    async with (
        fake_gemini_server() as fake,
        gemini_service(database_url, tmp_path, fake) as svc,
    ):
        await activate(svc, "gemini", "image_edit", {"prompt": PROMPT})
        response = await svc.ingest("slot-005", photo)

        assert response.status_code == 200, response.text
        assert response.content == fake.image
        assert response.headers["content-type"] == "image/png"
        [request] = fake.requests
        assert request.api_key == GEMINI_KEY
        assert request.model == "gemini-2.5-flash-image"
        assert [(image.mime, image.data) for image in request.images] == [("image/jpeg", photo)]
        assert any(PROMPT in text for text in request.texts)
        job = await worker_is_done_with(svc, response.headers["x-job-id"])
        assert job.succeeded and job.provider_job_reference is None


async def test_gemini_style_transfer_sends_the_style_template_after_the_photo(
    database_url: str, tmp_path: Path
) -> None:
    photo, style = jpeg_bytes(color=(1, 2, 3)), png_bytes(color=(9, 9, 200, 255))
    async with (
        fake_gemini_server(snake_case=True) as fake,
        gemini_service(database_url, tmp_path, fake) as svc,
    ):
        poster = await template(svc, style, "poster")
        await svc.configure(
            "slot-006",
            provider="gemini",
            operation="style_transfer",
            settings={
                "prompt": PROMPT,
                "style_template_id": str(poster.id),
                "model": "gemini-2.5-flash-image-preview",
            },
            is_active=True,
        )
        response = await svc.ingest("slot-006", photo)

        assert response.status_code == 200, response.text
        assert response.content == fake.image
        [request] = fake.requests
        assert request.model == "gemini-2.5-flash-image-preview"
        assert [(i.mime, i.data) for i in request.images] == [
            ("image/jpeg", photo),
            ("image/png", style),
        ]


async def test_no_image_twice_then_an_image_is_still_a_200(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        fake_gemini_server(script=["no_image", "no_image", "image"]) as fake,
        gemini_service(database_url, tmp_path, fake) as svc,
    ):
        await activate(svc, "gemini", "image_edit", {"prompt": PROMPT})
        response = await svc.ingest("slot-005")

        assert response.status_code == 200, response.text
        assert response.content == fake.image
        assert len(fake.requests) == 3


@pytest.mark.parametrize("status", [429, 503])
async def test_a_gemini_rate_limit_or_overload_is_asked_again_and_the_booth_gets_its_image(
    database_url: str, tmp_path: Path, status: int
) -> None:
    async with (
        fake_gemini_server(script=[status]) as fake,
        gemini_service(database_url, tmp_path, fake) as svc,
    ):
        await activate(svc, "gemini", "image_edit", {"prompt": PROMPT})
        response = await svc.ingest("slot-005")

        assert response.status_code == 200, response.text
        assert response.content == fake.image
        assert [r.status for r in fake.requests] == [status, 200]


@pytest.mark.parametrize("status", [400, 403, 500])
async def test_a_gemini_rpc_error_is_a_502_with_googles_message_in_the_log(
    database_url: str, tmp_path: Path, status: int
) -> None:
    async with (
        fake_gemini_server(script=[status]) as fake,
        gemini_service(database_url, tmp_path, fake) as svc,
    ):
        await activate(svc, "gemini", "image_edit", {"prompt": PROMPT})
        with recorded_logs() as logs:
            response = await svc.ingest("slot-005")

        assert response.status_code == 502, response.text
        error = response.json()["error"]
        assert error["code"] == "provider_error"
        job = await worker_is_done_with(svc, error["details"]["job_id"])
        assert job.failure_reason is FailureReason.PROVIDER_ERROR
        assert len(fake.requests) == 1  # not retried: only 429/503 are
        assert f"HTTP {status}" in logs.text
        assert RPC_ERRORS[status][1] in logs.text
        assert GEMINI_KEY not in logs.text
        assert GEMINI_KEY not in response.text


async def test_at_the_deadline_the_gemini_call_is_cut_and_nothing_follows(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        fake_gemini_server(latency=30.0) as fake,
        gemini_service(database_url, tmp_path, fake) as svc,
    ):
        await svc.set_sync_timeout(1.0)
        await activate(svc, "gemini", "image_edit", {"prompt": PROMPT})
        response = await svc.ingest("slot-005")

        assert response.status_code == 504, response.text
        job_id = response.json()["error"]["details"]["job_id"]
        gone = await fake.wait_for_client_gone()  # the worker hung up on the slow call
        job = await worker_is_done_with(svc, job_id)
        assert job.failure_reason is FailureReason.TIMEOUT
        assert job.result is None
        assert fake.requests == [gone]
        assert gone.arrived_at_utc < job.expires_at
        results = svc.settings.media_path / "results"
        assert not results.exists() or list(results.iterdir()) == []


async def test_swapping_a_slot_between_local_and_gemini_is_a_slot_setting(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        fake_gemini_server() as fake,
        gemini_service(database_url, tmp_path, fake) as svc,
    ):
        await svc.configure("slot-005", provider="local", operation="grayscale", is_active=True)
        local = await svc.ingest("slot-005")
        await svc.configure(
            "slot-005", provider="gemini", operation="image_edit", settings={"prompt": PROMPT}
        )
        gemini = await svc.ingest("slot-005")
        await svc.configure("slot-005", provider="local", operation="sepia")
        local_again = await svc.ingest("slot-005")

        assert [r.status_code for r in (local, gemini, local_again)] == [200, 200, 200]
        assert local.headers["content-type"] == "image/jpeg"
        assert gemini.content == fake.image
        assert local_again.headers["content-type"] == "image/jpeg"
        assert len(fake.requests) == 1


async def test_a_photo_gemini_cannot_take_is_refused_before_any_call(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        fake_gemini_server() as fake,
        gemini_service(database_url, tmp_path, fake) as svc,
    ):
        await activate(svc, "gemini", "image_edit", {"prompt": PROMPT})
        gif = (
            b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00"
            b"\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
        )
        response = await svc.ingest("slot-005", gif, filename="a.gif", content_type="image/gif")

        assert response.status_code == 415, response.text
        assert fake.requests == []


# --- Turbotext -------------------------------------------------------------------------


def turbotext_service(
    database_url: str, tmp_path: Path, fake: FakeTurbotext, **overrides: Any
) -> Any:
    """The service with its own address as PUBLIC_BASE_URL, so the fake downloads the job's
    inputs from ``/public/media/{id}`` over a real socket."""
    return serve(
        database_url,
        tmp_path,
        public_links=True,
        turbotext_api_key=fake.api_key,
        turbotext_base_url=fake.base_url,
        turbotext_poll_interval_sec=0.05,
        run_purge=False,
        **overrides,
    )


def created(fake: FakeTurbotext) -> RecordedTurbotextRequest:
    [request] = [r for r in fake.requests if r.do == "create_queue"]
    return request


async def test_turbotext_fetches_the_photo_through_its_public_link_and_the_booth_gets_the_result(
    database_url: str, tmp_path: Path
) -> None:
    photo = jpeg_bytes(color=(250, 250, 0))
    async with (
        fake_turbotext_server(reconnects=2) as fake,
        turbotext_service(database_url, tmp_path, fake) as svc,
    ):
        await activate(svc, "turbotext", "image_edit", {"prompt": "cyberpunk city", "strength": 40})
        response = await svc.ingest("slot-005", photo)

        assert response.status_code == 200, response.text
        assert response.content == fake.result_bytes
        assert response.headers["content-type"] == "image/png"
        create = created(fake)
        assert create.method == "generate_image2image"
        assert create.authorization == f"Bearer {fake.api_key}"
        assert create.form["content"] == "cyberpunk city"
        assert create.form["strength"] == "40"
        link = create.form["url"]
        assert link.startswith(f"{svc.base_url}/public/media/")
        [fetched] = fake.input_fetches
        assert (fetched.url, fetched.status, fetched.data) == (link, 200, photo)
        assert fetched.content_type == "image/jpeg"
        assert len(fake.polls) == 3  # two "reconnect", then the result
        [download] = fake.result_downloads
        assert download.authorization is None  # the key is not sent to the result's host

        job = await worker_is_done_with(svc, response.headers["x-job-id"])
        assert create.answer is not None
        assert job.provider_job_reference == str(create.answer["queueid"])
        after = await fake.fetch(link)
        assert after.status == 410  # the link died with its job
        public = svc.settings.media_path / "public"
        assert list(public.iterdir()) == []


@pytest.mark.parametrize(
    ("operation", "method", "template_field", "settings"),
    [
        ("style_transfer", "mix_images", "style_template_id", {"prompt": "oil painting"}),
        ("identity_transfer", "deepfake_photo", "face_template_id", {"face_restore": True}),
    ],
)
async def test_turbotext_gets_the_template_by_its_own_link_next_to_the_photo(
    database_url: str,
    tmp_path: Path,
    operation: str,
    method: str,
    template_field: str,
    settings: dict[str, Any],
) -> None:
    photo, image = jpeg_bytes(color=(0, 0, 90)), png_bytes(color=(90, 0, 0, 255))
    async with (
        fake_turbotext_server() as fake,
        turbotext_service(database_url, tmp_path, fake) as svc,
    ):
        stored = await template(svc, image, "template")
        await svc.configure(
            "slot-005",
            provider="turbotext",
            operation=operation,
            settings={**settings, template_field: str(stored.id)},
            is_active=True,
        )
        response = await svc.ingest("slot-005", photo)

        assert response.status_code == 200, response.text
        create = created(fake)
        assert create.method == method
        fetched = {f.field: f for f in fake.input_fetches}
        assert (fetched["url_image_target"].status, fetched["url_image_target"].data) == (
            200,
            photo,
        )
        assert (fetched["url"].status, fetched["url"].data) == (200, image)
        if operation == "identity_transfer":
            assert create.form["face_restore"] == "1"
        else:
            assert create.form["content"] == "oil painting"

        await worker_is_done_with(svc, response.headers["x-job-id"])
        for link in (create.form["url"], create.form["url_image_target"]):
            assert (await fake.fetch(link)).status == 410
        assert (svc.settings.media_path / stored.path).read_bytes() == image  # template kept


async def test_turbotext_success_false_is_a_502_with_its_message_in_the_log(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        fake_turbotext_server(fail_with="prompt rejected by moderation") as fake,
        turbotext_service(database_url, tmp_path, fake) as svc,
    ):
        await activate(svc, "turbotext", "image_edit", {"prompt": "something"})
        with recorded_logs() as logs:
            response = await svc.ingest("slot-005")

        assert response.status_code == 502, response.text
        job = await worker_is_done_with(svc, response.json()["error"]["details"]["job_id"])
        assert job.failure_reason is FailureReason.PROVIDER_ERROR
        assert "prompt rejected by moderation" in logs.text
        assert fake.api_key not in logs.text
        assert fake.result_downloads == []


async def test_at_the_deadline_turbotext_polling_stops_and_a_late_result_is_never_fetched(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        fake_turbotext_server(never_ready=True) as fake,
        turbotext_service(database_url, tmp_path, fake) as svc,
    ):
        await svc.set_sync_timeout(1.0)
        await activate(svc, "turbotext", "image_edit", {"prompt": "slow art"})
        response = await svc.ingest("slot-005")

        assert response.status_code == 504, response.text
        fake.never_ready = False  # the result is ready now: too late, nobody may fetch it
        job = await worker_is_done_with(svc, response.json()["error"]["details"]["job_id"])
        assert job.failure_reason is FailureReason.TIMEOUT
        assert len(fake.polls) >= 2  # it did poll while the job was alive
        assert all(request.at_utc < job.expires_at for request in fake.requests)
        assert fake.result_downloads == []
        assert (await fake.fetch(created(fake).form["url"])).status == 410
        results = svc.settings.media_path / "results"
        assert not results.exists() or list(results.iterdir()) == []


async def test_turbotext_cannot_be_activated_without_a_public_base_url(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        fake_turbotext_server() as fake,
        serve(
            database_url,
            tmp_path,
            turbotext_api_key=fake.api_key,
            turbotext_base_url=fake.base_url,
        ) as svc,
    ):
        with pytest.raises(InvalidConfiguration) as refused:
            await svc.configure(
                "slot-005",
                provider="turbotext",
                operation="image_edit",
                settings={"prompt": "x"},
                is_active=True,
            )
        assert "PHOTOCHANGER_PUBLIC_BASE_URL" in refused.value.message


async def test_a_heic_photo_is_refused_for_turbotext_before_any_call(
    database_url: str, tmp_path: Path
) -> None:
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    async with (
        fake_turbotext_server() as fake,
        turbotext_service(database_url, tmp_path, fake) as svc,
    ):
        await activate(svc, "turbotext", "image_edit", {"prompt": "x"})
        response = await svc.ingest("slot-005", heic, filename="a.heic", content_type="image/heic")

        assert response.status_code == 415, response.text
        assert fake.requests == []


# --- common to all providers ------------------------------------------------------------


async def test_a_job_finalized_elsewhere_stops_its_provider_call_before_the_deadline(
    database_url: str, tmp_path: Path
) -> None:
    """E.g. an administrator's cancel: the worker notices at its next lease heartbeat and
    hangs up on the provider, long before the job's own deadline."""
    async with (
        fake_gemini_server(latency=30.0) as fake,
        gemini_service(database_url, tmp_path, fake) as svc,
    ):
        await svc.set_sync_timeout(20.0)
        await activate(svc, "gemini", "image_edit", {"prompt": PROMPT})
        ingest = asyncio.create_task(svc.ingest("slot-005"))
        await fake.wait_until(lambda f: bool(f.requests) and f.requests[0].outcome == "waiting")
        [job] = [j for j in await unfinished_jobs(svc)]
        finalized = await svc.container.jobs().finalize_failure(
            job.id, FailureReason.CANCELLED, now=datetime.now(UTC)
        )
        assert finalized

        gone = await fake.wait_for_client_gone(timeout=10)
        response = await ingest
        assert datetime.now(UTC) < job.expires_at - timedelta(seconds=10)
        assert response.status_code == 409, response.text  # the booth is not kept waiting
        assert response.json()["error"]["code"] == "cancelled"
        done = await worker_is_done_with(svc, str(job.id))
        assert done.failure_reason is FailureReason.CANCELLED
        assert fake.requests == [gone]


async def test_calls_above_a_providers_concurrency_limit_wait_their_turn(
    database_url: str, tmp_path: Path
) -> None:
    latency = 0.4
    async with (
        fake_gemini_server(latency=latency) as fake,
        gemini_service(database_url, tmp_path, fake, gemini_concurrency=1) as svc,
    ):
        await activate(svc, "gemini", "image_edit", {"prompt": PROMPT})
        responses = await asyncio.gather(*(svc.ingest("slot-005") for _ in range(3)))

        assert [r.status_code for r in responses] == [200, 200, 200]  # queued, not refused
        arrivals = sorted(r.arrived_at for r in fake.requests)
        assert len(arrivals) == 3
        # One call at a time: each starts only after the previous one's answer (≥ latency).
        assert all(b - a >= latency * 0.9 for a, b in itertools.pairwise(arrivals))
