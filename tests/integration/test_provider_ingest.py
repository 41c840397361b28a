"""Full ingests through Gemini's protocol: booth → service → worker → the fake Gemini over real
sockets → back to the booth. Also what holds for every provider: swapping a slot's provider is
a slot setting, a job finalized elsewhere or past its deadline stops its provider call, and a
provider's concurrency limit queues calls. Turbotext and OpenAI have their own files
(``test_turbotext_ingest``, ``test_openai_ingest``)."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fake_gemini import DEFAULT_KEY as GEMINI_KEY
from fake_gemini import RPC_ERRORS, fake_gemini_server
from fake_openai import fake_openai_server
from provider_ingest_harness import (
    PROMPT,
    activate,
    gemini_service,
    openai_service,
    recorded_logs,
    template,
    unfinished_jobs,
    worker_is_done_with,
)
from service_harness import jpeg_bytes, png_bytes

from domain.job import FailureReason

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


# --- common to all providers ------------------------------------------------------------

# The providers answering within one call: their fake server and the service wired to it.
SYNC_PROVIDERS = {
    "gemini": (fake_gemini_server, gemini_service),
    "openai": (fake_openai_server, openai_service),
}


@pytest.mark.parametrize("provider", sorted(SYNC_PROVIDERS))
async def test_at_the_deadline_the_providers_call_is_cut_and_nothing_follows(
    provider: str, database_url: str, tmp_path: Path
) -> None:
    fake_server, service = SYNC_PROVIDERS[provider]
    async with (
        fake_server(latency=30.0) as fake,
        service(database_url, tmp_path, fake) as svc,
    ):
        await svc.set_sync_timeout(1.0)
        await activate(svc, provider, "image_edit", {"prompt": PROMPT})
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
