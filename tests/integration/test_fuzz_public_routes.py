"""Property-based fuzzing of every public route against the real app on real PostgreSQL.

The property, whatever the request: the status is one the route documents (SPEC §4, §7 —
never a 500) and the body is the documented one: the SPEC §4 JSON error shape, or on success
the image (ingest), the file (downloads) or the probe's JSON. A form drawn without any flaw
must succeed. The service runs under uvicorn on a real socket in its own thread and event
loop, so hypothesis drives it with a plain synchronous client.

Example counts scale with the hypothesis profile: ``ci`` (default) runs a few thousand in
total; ``pytest --hypothesis-profile=long`` twenty times as many, without deadlines.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from fuzz_strategies import METHODS, Form, Target, ingest_forms, ingest_path, slot_ids, targets
from http_contract import (
    DOWNLOAD_STATUSES,
    INGEST_STATUSES,
    PROBE_STATUSES,
    assert_error_body,
)
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from service_harness import PASSWORD, Service, jpeg_bytes, serve

T = TypeVar("T")

EXAMPLES = settings.default.max_examples  # 100 under "ci", 2000 under "long"
MAX_PHOTO_BYTES = 64 * 1024  # small caps, so 413s are cheap to reach
MAX_FIELDS = 12
FUZZ_SETTINGS: dict[str, Any] = {
    "max_upload_bytes": MAX_PHOTO_BYTES,
    "max_form_fields": MAX_FIELDS,
    "max_form_field_bytes": 256,
    "max_unfinished_jobs": 1_000_000,  # no back-pressure 429 from accumulated rows
    "password_max_failures": 1_000_000,  # wrong passwords stay 401, never lock the client
    "worker_poll_interval_ms": 20,
    "result_poll_interval_ms": 10,
}


def fuzz(scale: int) -> settings:
    """``scale`` times the profile's example count; a generous deadline (none under "long")."""
    return settings(
        max_examples=EXAMPLES * scale,
        deadline=None if settings.default.deadline is None else timedelta(seconds=5),
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@dataclass
class RunningService:
    """The service in a thread of its own; ``call`` runs a coroutine on its loop."""

    svc: Service
    loop: asyncio.AbstractEventLoop
    client: httpx.Client
    job_ids: list[str] = field(default_factory=list)

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)


@contextmanager
def service_thread(database_url: str, data_dir: Path, **overrides: Any) -> Iterator[RunningService]:
    started = threading.Event()
    found: dict[str, Any] = {}

    async def main() -> None:
        stop = asyncio.Event()
        try:
            async with serve(database_url, data_dir, **overrides) as svc:
                found.update(svc=svc, loop=asyncio.get_running_loop(), stop=stop)
                started.set()
                await stop.wait()
        except BaseException as exc:
            found["error"] = exc
            raise
        finally:
            started.set()

    thread = threading.Thread(target=asyncio.run, args=(main(),), name="fuzz-service")
    thread.start()
    started.wait(timeout=60)
    if "svc" not in found:
        thread.join(timeout=10)
        raise RuntimeError("the service did not start") from found.get("error")
    try:
        with httpx.Client(base_url=found["svc"].base_url, timeout=30) as client:
            yield RunningService(found["svc"], found["loop"], client)
    finally:
        found["loop"].call_soon_threadsafe(found["stop"].set)
        thread.join(timeout=60)


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[RunningService]:
    """One service and one fresh database per test function, shared by its examples."""
    with service_thread(database_url, tmp_path, **FUZZ_SETTINGS) as running:
        running.call(running.svc.set_sync_timeout(2))  # a stuck example costs 2 s, not 48
        for _ in range(2):  # real results, for the download routes to find
            done = running.client.post(
                "/ingest/slot-001",
                data={"password": PASSWORD},
                files={"fileToUpload": ("p.jpg", jpeg_bytes(), "image/jpeg")},
            )
            assert done.status_code == 200, done.text
            running.job_ids.append(done.headers["x-job-id"])
        yield running


def statuses_for(route: str, method: str) -> frozenset[int]:
    """What SPEC §4/§7 allows each route to answer to ``method``."""
    if route == "unknown":
        return frozenset({404})
    # A path segment the route's pattern refuses (an id that is no UUID, say) is a 404
    # whatever the method.
    if method == "OPTIONS":
        return frozenset({204, 404})
    accepted = {"ingest": "POST"}.get(route, "GET")
    if method != accepted:
        return frozenset({404, 405})
    return {
        "ingest": INGEST_STATUSES,
        "results": DOWNLOAD_STATUSES,
        "media": DOWNLOAD_STATUSES,
        "healthz": PROBE_STATUSES,
        "readyz": PROBE_STATUSES,
        "schema": frozenset({200, 404}),
    }[route]


def check_answer(route: str, method: str, response: httpx.Response) -> None:
    status = response.status_code
    event(f"{route} {status}")  # --hypothesis-show-statistics: how deep the examples got
    assert status in statuses_for(route, method), (
        f"{method} {route}: {status} {response.text[:300]}"
    )
    if method == "HEAD" or status == 204:
        assert response.content == b""
        return
    if (
        route == "schema"
        and status == 404
        and response.headers["content-type"].startswith("text/html")
    ):
        return  # Litestar's documentation site answers an unknown page with its own HTML 404
    if status >= 400:
        error = assert_error_body(response, status)
        event(f"{status}: {error['message'][:45]}")  # which refusal
        return
    content_type = response.headers.get("content-type", "")
    if route == "ingest":
        assert content_type.startswith("image/"), content_type
        assert response.content and uuid.UUID(response.headers["x-job-id"])
    elif route in ("results", "media"):
        assert response.content
        if route == "results":
            assert response.headers["content-disposition"].startswith("attachment")
    elif route in ("healthz", "readyz"):
        assert response.json()["status"] in ("ok", "ready")
    else:
        assert response.content and content_type


@fuzz(12)
@given(
    form=ingest_forms(max_photo_bytes=MAX_PHOTO_BYTES, max_fields=MAX_FIELDS),
    slot=slot_ids,
)
def test_ingest_forms_get_an_answer_from_the_table(
    service: RunningService, form: Form, slot: str
) -> None:
    headers = {} if form.content_type is None else {"content-type": form.content_type}
    response = service.client.post(ingest_path(slot), content=form.body, headers=headers)
    check_answer("ingest", "POST", response)
    if form.expect_ok and slot == "slot-001":
        assert response.status_code == 200, response.text[:300]


@fuzz(10)
@given(
    method=st.sampled_from(METHODS),
    target=targets,
    body=st.one_of(st.just(b""), st.binary(max_size=128)),
    content_type=st.sampled_from(
        [None, "multipart/form-data; boundary=b", "text/plain", 'multipart/form-data; boundary=""']
    ),
)
def test_any_method_and_path_gets_an_answer_from_the_table(
    service: RunningService, method: str, target: Target, body: bytes, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"content-type": content_type}
    content = None if method in ("GET", "HEAD", "OPTIONS") else body
    response = service.client.request(method, target.path, content=content, headers=headers)
    check_answer(target.route, method, response)


@fuzz(2)
@given(data=st.data())
def test_downloads_answer_the_file_or_an_error(
    service: RunningService, data: st.DataObject
) -> None:
    known = st.sampled_from(service.job_ids)
    job_id = data.draw(st.one_of(known, st.uuids().map(str)), label="job_id")
    route = data.draw(st.sampled_from(["results", "media"]), label="route")
    response = service.client.get(f"/public/{route}/{job_id}")
    check_answer(route, "GET", response)
    if route == "results" and job_id in service.job_ids:
        assert response.status_code == 200, response.text[:300]
