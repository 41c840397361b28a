"""TurbotextProvider against the fake Turbotext over real sockets: protocol, polling within the
deadline, cancellation, result download limits, and no key in logs or errors."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import itertools
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fake_turbotext import FakeTurbotext, fake_turbotext_server, png_bytes
from PIL import Image

from adapters.clock import SystemClock
from adapters.providers.turbotext import MAX_POLL_FAILURES, TurbotextProvider
from application.ports import InputImage, ProviderInput, ProviderOutput
from domain.errors import ProviderFailed

INTERVAL = 0.05  # poll interval of every provider here
TOLERANCE = 0.01  # timers may fire this much early relative to the fake's wall clock
KEY = "tt-secret-key-0123456789"


def jpeg_bytes(colour: tuple[int, int, int] = (10, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


PHOTO = jpeg_bytes()
STYLE = png_bytes((6, 6), (0, 200, 0))
FACE = jpeg_bytes((230, 190, 160))
STYLE_ID = str(uuid.uuid4())
FACE_ID = str(uuid.uuid4())

SETTINGS: dict[str, dict[str, Any]] = {
    "image_edit": {"prompt": "make it snow", "strength": 35, "seed": 7},
    "style_transfer": {"prompt": "oil painting", "style_template_id": STYLE_ID},
    "identity_transfer": {"face_template_id": FACE_ID, "face_restore": True},
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeTurbotext]:
    async with fake_turbotext_server(api_key=KEY) as server:
        yield server


@pytest.fixture
async def provider(fake: FakeTurbotext) -> AsyncIterator[TurbotextProvider]:
    async with provider_for(fake) as adapter:
        yield adapter


def make_provider(fake: FakeTurbotext, **options: Any) -> TurbotextProvider:
    options = {"api_key": KEY, "poll_interval_seconds": INTERVAL, **options}
    return TurbotextProvider(base_url=fake.base_url, clock=SystemClock(), **options)


@asynccontextmanager
async def provider_for(fake: FakeTurbotext, **options: Any) -> AsyncIterator[TurbotextProvider]:
    """An adapter for one test, its own HTTP client closed afterwards."""
    adapter = make_provider(fake, **options)
    try:
        yield adapter
    finally:
        await adapter.aclose()


def job(
    fake: FakeTurbotext,
    operation: str = "image_edit",
    *,
    seconds: float = 5.0,
    record: Callable[[str], Awaitable[None]] | None = None,
) -> ProviderInput:
    """A job whose inputs are public links served by the fake, as the service's would be."""
    photo = InputImage("image/jpeg", url=fake.add_input("photo.jpg", PHOTO, "image/jpeg"))
    templates = {
        "style_template_id": InputImage("image/png", url=fake.add_input("style.png", STYLE)),
        "face_template_id": InputImage(
            "image/jpeg", url=fake.add_input("face.jpg", FACE, "image/jpeg")
        ),
    }
    needed = {k: v for k, v in templates.items() if k in SETTINGS[operation]}
    extra = {"record_reference": record} if record is not None else {}
    return ProviderInput(
        job_id=uuid.uuid4(),
        operation=operation,
        settings=SETTINGS[operation],
        photo=photo,
        templates=needed,
        deadline=datetime.now(UTC) + timedelta(seconds=seconds),
        **extra,
    )


EXPECTED_FIELDS: dict[str, Callable[[FakeTurbotext], dict[str, str]]] = {
    "image_edit": lambda f: {
        "do": "create_queue",
        "url": f"{f.base_url}/inputs/photo.jpg",
        "content": "make it snow",
        "strength": "35",
        "seed": "7",
    },
    "style_transfer": lambda f: {
        "do": "create_queue",
        "url_image_target": f"{f.base_url}/inputs/photo.jpg",
        "url": f"{f.base_url}/inputs/style.png",
        "content": "oil painting",
    },
    "identity_transfer": lambda f: {
        "do": "create_queue",
        "url": f"{f.base_url}/inputs/face.jpg",
        "url_image_target": f"{f.base_url}/inputs/photo.jpg",
        "face_restore": "1",
    },
}
METHOD = {
    "image_edit": "generate_image2image",
    "style_transfer": "mix_images",
    "identity_transfer": "deepfake_photo",
}


@pytest.mark.parametrize("operation", sorted(SETTINGS))
async def test_each_operation_runs_end_to_end(
    fake: FakeTurbotext, provider: TurbotextProvider, operation: str
) -> None:
    fake.reconnects = 1
    output = await provider.transform(job(fake, operation))

    assert output == ProviderOutput(image=fake.result_bytes, mime="image/png")
    create, *polls = fake.requests
    assert create.path == f"/api_ai/{METHOD[operation]}"
    assert create.form == EXPECTED_FIELDS[operation](fake)
    assert create.headers["content-type"].startswith("application/x-www-form-urlencoded")
    queueid = create.answer["queueid"] if create.answer else None
    assert [(p.path, p.form) for p in polls] == [
        (create.path, {"do": "get_result", "queueid": str(queueid)})
    ] * 2
    assert {r.authorization for r in fake.requests} == {f"Bearer {KEY}"}
    served = {"photo.jpg": PHOTO, "style.png": STYLE, "face.jpg": FACE}
    sent = sorted(create.form[f] for f in ("url", "url_image_target") if f in create.form)
    assert sorted(f.url for f in fake.input_fetches) == sent  # each input fetched once
    for fetch in fake.input_fetches:
        assert (fetch.status, fetch.data) == (200, served[fetch.url.rsplit("/", 1)[1]])
        assert fetch.queueid == queueid
    (download,) = fake.result_downloads
    assert download.path == f"/results/{queueid}"
    assert download.authorization is None  # the key stays with the API host


async def test_queueid_is_recorded_before_the_first_poll(fake: FakeTurbotext) -> None:
    seen: list[tuple[str, int]] = []

    async def record(reference: str) -> None:
        seen.append((reference, len(fake.polls)))

    fake.queueid_as_string = True  # Turbotext sometimes quotes it
    async with provider_for(fake) as provider:
        await provider.transform(job(fake, record=record))
    create = fake.requests[0]
    assert create.answer is not None
    assert seen == [(str(create.answer["queueid"]), 0)]


async def test_reconnect_answers_are_polled_again_at_the_interval(fake: FakeTurbotext) -> None:
    fake.reconnects = 3
    async with provider_for(fake) as provider:
        output = await provider.transform(job(fake))
    assert output.image == fake.result_bytes
    assert [p.answer for p in fake.polls[:3]] == [{"action": "reconnect"}] * 3
    assert len(fake.polls) == 4
    times = [r.at for r in fake.requests]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= INTERVAL - TOLERANCE, gaps


async def test_a_failed_job_reports_turbotexts_text(
    fake: FakeTurbotext, provider: TurbotextProvider
) -> None:
    fake.reconnects, fake.fail_with = 1, "NSFW content detected"
    with pytest.raises(ProviderFailed, match="get_result failed: NSFW content detected"):
        await provider.transform(job(fake))
    assert fake.result_downloads == []


async def test_an_input_turbotext_cannot_fetch_fails_the_job(
    fake: FakeTurbotext, provider: TurbotextProvider
) -> None:
    request = job(fake)
    fake.add_input("photo.jpg", b"gone", "text/plain", status=410)  # the link expired
    with pytest.raises(ProviderFailed, match="failed to download image"):
        await provider.transform(request)
    assert [f.status for f in fake.input_fetches] == [410]


async def test_a_refused_create_queue_is_not_polled(
    fake: FakeTurbotext, provider: TurbotextProvider
) -> None:
    fake.refuse_create_with = "Недостаточно средств"
    with pytest.raises(ProviderFailed, match="create_queue failed: Недостаточно средств"):
        await provider.transform(job(fake))
    assert [r.do for r in fake.requests] == ["create_queue"]


async def test_a_wrong_key_fails_with_the_status_and_never_shows_the_key(
    fake: FakeTurbotext, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "tt-wrong-key-9876543210"
    async with provider_for(fake, api_key=wrong) as provider:
        with pytest.raises(ProviderFailed) as info:
            await provider.transform(job(fake))
    assert "HTTP 401" in info.value.message
    assert "invalid API key" in info.value.message
    assert [r.status for r in fake.requests] == [401]
    assert wrong not in f"{info.value} {info.value.details} {caplog.text}"


async def test_the_key_is_never_logged_on_success(
    fake: FakeTurbotext, provider: TurbotextProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.reconnects = 1
    await provider.transform(job(fake))
    assert caplog.text  # something was logged (queueid, statuses) …
    assert KEY not in caplog.text  # … but not the key
    assert KEY not in repr(provider)


async def test_a_server_error_on_create_queue_is_not_retried(
    fake: FakeTurbotext, provider: TurbotextProvider
) -> None:
    fake.create_status = 503
    with pytest.raises(ProviderFailed, match="create_queue answered HTTP 503: service unavailable"):
        await provider.transform(job(fake))
    assert len(fake.requests) == 1  # a second create_queue could run the job twice


async def test_transient_poll_errors_are_retried_at_the_next_poll(
    fake: FakeTurbotext, provider: TurbotextProvider
) -> None:
    fake.poll_statuses = [503, 429][: MAX_POLL_FAILURES - 1]
    output = await provider.transform(job(fake))
    assert output.image == fake.result_bytes
    assert [p.status for p in fake.polls] == [503, 429, 200]


async def test_too_many_transient_poll_errors_in_a_row_fail_the_job(
    fake: FakeTurbotext, provider: TurbotextProvider
) -> None:
    fake.poll_statuses = [502] * MAX_POLL_FAILURES + [200]
    with pytest.raises(ProviderFailed, match="get_result answered HTTP 502"):
        await provider.transform(job(fake))
    assert len(fake.polls) == MAX_POLL_FAILURES


async def test_no_request_is_sent_after_the_deadline(fake: FakeTurbotext) -> None:
    fake.never_ready = True
    request = job(fake, seconds=0.6)
    async with provider_for(fake) as provider:
        with pytest.raises(TimeoutError):
            await provider.transform(request)
    assert datetime.now(UTC) >= request.deadline
    assert len(fake.polls) >= 5  # it kept polling while there was time
    assert all(r.at_utc < request.deadline for r in fake.requests)


async def test_a_slow_answer_is_cut_at_the_deadline(fake: FakeTurbotext) -> None:
    fake.poll_latency = 5.0  # Turbotext hangs on get_result
    request = job(fake, seconds=0.5)
    async with provider_for(fake) as provider:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(provider.transform(request), timeout=2.0)
    assert datetime.now(UTC) - request.deadline < timedelta(seconds=1)
    assert len(fake.polls) == 1


async def test_a_slow_result_download_is_cut_at_the_deadline(fake: FakeTurbotext) -> None:
    fake.result_latency = 5.0
    request = job(fake, seconds=0.5)
    async with provider_for(fake) as provider:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(provider.transform(request), timeout=2.0)
    assert len(fake.result_downloads) == 1


@pytest.mark.parametrize("moment", ["between polls", "during a poll"])
async def test_cancellation_stops_all_requests(fake: FakeTurbotext, moment: str) -> None:
    fake.never_ready = True
    if moment == "during a poll":
        fake.poll_latency = 5.0  # the first poll is still in flight when we cancel
    async with provider_for(fake) as provider:
        task = asyncio.create_task(provider.transform(job(fake)))
        assert await fake.wait_until(lambda: len(fake.polls) >= 1)
        if moment == "between polls":
            assert await fake.wait_until(lambda: fake.polls[0].status is not None)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=1.0)  # promptly, not after the latency
        seen = len(fake.requests)
        # Three more poll intervals with nothing new arriving at the fake.
        assert not await fake.wait_until(lambda: len(fake.requests) > seen, timeout=3 * INTERVAL)
    assert fake.result_downloads == []


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_result_over_the_size_cap_is_refused(fake: FakeTurbotext, chunked: bool) -> None:
    fake.result_bytes = png_bytes((200, 200)) + b"\0" * 200_000
    fake.result_chunked = chunked
    async with provider_for(fake, max_result_bytes=100_000) as provider:
        with pytest.raises(ProviderFailed, match="larger than 100000 bytes"):
            await provider.transform(job(fake))
    (download,) = fake.result_downloads
    async with httpx.AsyncClient() as client:  # the fake really sends what the test claims
        again = await client.get(f"{fake.base_url}{download.path}")
    assert again.status_code == 200
    assert ("content-length" in again.headers) is not chunked


async def test_a_result_just_under_the_cap_is_accepted(fake: FakeTurbotext) -> None:
    fake.result_chunked = True
    async with provider_for(fake, max_result_bytes=len(fake.result_bytes)) as provider:
        output = await provider.transform(job(fake))
    assert output.image == fake.result_bytes


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<html><body>Not found</body></html>", "image/png"),  # the header is not trusted
        (b"GIF89a" + b"\0" * 64, "image/gif"),
    ],
)
async def test_a_result_that_is_not_an_accepted_image_is_refused(
    fake: FakeTurbotext, provider: TurbotextProvider, body: bytes, content_type: str
) -> None:
    fake.result_bytes, fake.result_content_type = body, content_type
    with pytest.raises(ProviderFailed, match="not a JPEG, PNG or WebP"):
        await provider.transform(job(fake))


async def test_a_webp_result_comes_back_with_its_sniffed_type(
    fake: FakeTurbotext, provider: TurbotextProvider
) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buffer, format="WEBP")
    fake.result_bytes, fake.result_content_type = buffer.getvalue(), "application/octet-stream"
    output = await provider.transform(job(fake))
    assert output == ProviderOutput(image=buffer.getvalue(), mime="image/webp")


async def test_a_failed_result_download_fails_the_job(
    fake: FakeTurbotext, provider: TurbotextProvider
) -> None:
    fake.result_status = 500
    with pytest.raises(ProviderFailed, match="download answered HTTP 500"):
        await provider.transform(job(fake))


@pytest.mark.parametrize(
    "uploaded", ["ftp://127.0.0.1/result.png", "javascript:alert(1)", "/results/1"]
)
async def test_a_result_url_that_is_not_http_is_never_downloaded(
    fake: FakeTurbotext, provider: TurbotextProvider, uploaded: str
) -> None:
    fake.uploaded_image = uploaded
    with pytest.raises(ProviderFailed, match="result URL"):
        await provider.transform(job(fake))
    assert fake.result_downloads == []


async def test_an_unreachable_turbotext_is_a_provider_failure() -> None:
    async with fake_turbotext_server() as fake:
        base_url = fake.base_url
        request = job(fake)
    adapter = TurbotextProvider(base_url=base_url, api_key=KEY, clock=SystemClock())
    try:
        with pytest.raises(ProviderFailed, match="network error"):
            await adapter.transform(request)
    finally:
        await adapter.aclose()


async def test_an_injected_client_is_used_and_left_open(fake: FakeTurbotext) -> None:
    async with httpx.AsyncClient() as client:
        adapter = make_provider(fake, client=client)
        output = await adapter.transform(job(fake))
        await adapter.aclose()
        assert not client.is_closed  # its owner closes it
    assert output.image == fake.result_bytes


async def test_a_job_queued_by_an_earlier_attempt_is_resumed_not_queued_again(
    fake: FakeTurbotext, provider: TurbotextProvider
) -> None:
    """A worker died after create_queue: the next attempt polls the recorded queue."""
    recorded: list[str] = []

    async def record(reference: str) -> None:
        recorded.append(reference)

    fake.never_ready = True
    first = asyncio.create_task(provider.transform(job(fake, record=record)))
    assert await fake.wait_until(lambda: len(fake.polls) >= 1)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    fake.never_ready = False

    output = await provider.transform(dataclasses.replace(job(fake), reference=recorded[0]))

    assert output.image == fake.result_bytes
    assert [r.do for r in fake.requests].count("create_queue") == 1
    assert fake.polls[-1].form["queueid"] == recorded[0]


async def test_a_reference_that_is_no_queueid_is_queued_afresh(
    fake: FakeTurbotext, provider: TurbotextProvider
) -> None:
    output = await provider.transform(dataclasses.replace(job(fake), reference="not-a-queue"))

    assert output.image == fake.result_bytes
    assert [r.do for r in fake.requests].count("create_queue") == 1
