"""Full ingests through Turbotext's protocol: booth → service → worker → the fake Turbotext
over real sockets, which fetches the job's inputs through their public links → back to the
booth. Also: polling stops at the deadline, and what Turbotext cannot take is refused first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fake_turbotext import FakeTurbotext, fake_turbotext_server
from fake_turbotext import RecordedRequest as RecordedTurbotextRequest
from provider_ingest_harness import (
    activate,
    recorded_logs,
    template,
    turbotext_service,
    worker_is_done_with,
)
from service_harness import jpeg_bytes, png_bytes, serve

from domain.errors import InvalidConfiguration
from domain.job import FailureReason


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
