"""A fake Turbotext that speaks the real protocol (SPEC §8) on a real socket.

What it does, as the real service does:

* ``POST /api_ai/{method}`` with ``Authorization: Bearer {key}`` and a form-urlencoded body.
  A wrong or missing key answers 401, an unknown method 404, another body encoding 400 (each
  with a JSON ``{"success": false, "error": ...}``); a missing required field answers 200
  ``{"success": false, "error": ...}``.
* ``do=create_queue`` assigns a queueid and, with ``fetch_inputs`` (the default), downloads
  every input URL it was given (``url``, ``url_image_target``) before answering, recording
  each fetch. A failed fetch (network error or non-200) makes the job fail later with
  "failed to download image".
* ``do=get_result`` answers ``{"action": "reconnect"}`` ``reconnects`` times (for ever with
  ``never_ready``), then ``success: true`` with ``uploaded_image`` pointing at
  ``{base_url}/results/{queueid}``, which this server serves (``result_*`` knobs), or
  ``success: false`` with ``fail_with``.

It also serves test inputs: ``add_input(name, data)`` returns ``{base_url}/inputs/{name}``.

Use::

    async with fake_turbotext_server(reconnects=2) as fake:
        provider = TurbotextProvider(base_url=fake.base_url, api_key=fake.api_key, ...)
        ...
        assert [r.do for r in fake.requests] == ["create_queue", "get_result", ...]

Knobs are the public fields of ``FakeTurbotext``; pass them to ``fake_turbotext_server`` or set
them on the yielded object at any time (they are read when a request arrives). Logs:
``requests`` (every API call, in arrival order), ``input_fetches`` (downloads the fake made),
``result_downloads`` (requests for result files). ``wait_until(predicate)`` wakes on every new
log entry, so tests synchronise on what the fake saw instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import itertools
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
from asgi_server import running_app
from litestar import Litestar, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Stream
from PIL import Image

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
INPUT_FIELDS = ("url", "url_image_target")
REQUIRED_FIELDS: Mapping[str, tuple[str, ...]] = {
    "generate_image2image": ("url", "content"),
    "mix_images": ("url_image_target", "url", "content"),
    "deepfake_photo": ("url", "url_image_target"),
}
DOWNLOAD_FAILED = "failed to download image"
CHUNK_BYTES = 64 * 1024


def png_bytes(
    size: tuple[int, int] = (8, 8), colour: tuple[int, int, int] = (200, 40, 40)
) -> bytes:
    """A small real PNG: the default result of every job."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _now() -> tuple[float, datetime]:
    at = time.time()
    return at, datetime.fromtimestamp(at, UTC)


@dataclass(eq=False)
class RecordedRequest:
    """One API call as it arrived (``at``/``at_utc`` are taken before any latency), with the
    status and JSON it was answered with once answered."""

    at: float
    at_utc: datetime
    path: str
    method: str  # the Turbotext method from the path, e.g. "mix_images"
    do: str | None
    form: dict[str, str]
    headers: dict[str, str]  # lower-case names
    status: int | None = None
    answer: dict[str, Any] | None = None

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


@dataclass(frozen=True, slots=True)
class InputFetch:
    """One download the fake made of an input URL (as the real service fetches our links)."""

    at: float
    at_utc: datetime
    url: str
    field: str  # "url", "url_image_target", or "manual" for ``FakeTurbotext.fetch``
    queueid: int | None
    status: int | None  # None when the request failed before any answer
    content_type: str | None
    data: bytes = dataclasses.field(repr=False)  # (``field`` is an attribute here)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ResultDownload:
    """One request for a result file served by the fake."""

    at: float
    at_utc: datetime
    path: str
    queueid: int | None
    headers: dict[str, str]
    status: int

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


@dataclass(eq=False)
class _Job:
    queueid: int
    method: str
    form: dict[str, str]
    polls: int = 0
    error: str | None = None  # set when an input download failed


@dataclass(eq=False)
class FakeTurbotext:
    """State, knobs and logs of one fake server; knobs may change while a test runs."""

    api_key: str = "test-turbotext-key"
    reconnects: int = 0  # get_result polls answered "reconnect" before the job is done
    never_ready: bool = False  # answer "reconnect" for ever (deadlines, late results)
    fail_with: str | None = None  # done jobs fail with this error text
    refuse_create_with: str | None = None  # create_queue answers success: false with this
    create_status: int | None = None  # create_queue answers this HTTP error status instead
    create_statuses: list[int] = field(default_factory=list)  # next create_queues' statuses
    retry_after: str | None = None  # Retry-After header sent with every HTTP error answer
    poll_statuses: list[int] = field(default_factory=list)  # next polls' HTTP error statuses
    latency: float = 0.0  # seconds before each API answer
    poll_latency: float = 0.0  # extra seconds before each get_result answer
    fetch_inputs: bool = True
    queueid_as_string: bool = False
    result_bytes: bytes = field(default_factory=png_bytes, repr=False)
    result_content_type: str = "image/png"
    result_status: int = 200
    result_chunked: bool = False  # stream without Content-Length
    result_latency: float = 0.0
    result_data: dict[str, Any] = field(default_factory=lambda: {"width": 8, "height": 8})
    uploaded_image: str | None = None  # answer this URL instead of the fake's result file

    base_url: str = ""  # set once the server listens
    requests: list[RecordedRequest] = field(default_factory=list)
    input_fetches: list[InputFetch] = field(default_factory=list)
    result_downloads: list[ResultDownload] = field(default_factory=list)

    _jobs: dict[int, _Job] = field(default_factory=dict, repr=False)
    _inputs: dict[str, tuple[bytes, str, int]] = field(default_factory=dict, repr=False)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(7001), repr=False)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition, repr=False)
    _client: httpx.AsyncClient | None = field(default=None, repr=False)
    _closing: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    # ----- for tests -------------------------------------------------------------------------

    @property
    def polls(self) -> list[RecordedRequest]:
        """The get_result requests, in arrival order."""
        return [r for r in self.requests if r.do == "get_result"]

    def result_url(self, queueid: int) -> str:
        return f"{self.base_url}/results/{queueid}"

    def add_input(
        self, name: str, data: bytes, content_type: str = "image/png", *, status: int = 200
    ) -> str:
        """Serve ``data`` at the returned URL (a stand-in for the service's public link)."""
        self._inputs[name] = (data, content_type, status)
        return f"{self.base_url}/inputs/{name}"

    async def fetch(self, url: str) -> InputFetch:
        """Download ``url`` now, as Turbotext would, and log it (``field="manual"``): e.g. to
        show a public link answers 410 once its job is finished."""
        return await self._fetch(url, "manual", None)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Wait until ``predicate()`` holds, re-checked at every new log entry; False if it
        still does not after ``timeout`` seconds."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(predicate)
        except TimeoutError:
            return predicate()
        return True

    # ----- the server ------------------------------------------------------------------------

    def app(self) -> Litestar:
        @post("/api_ai/{method:str}", status_code=200)
        async def api(method: FromPath[str], request: Request[Any, Any, Any]) -> Response[Any]:
            return await self._api(method, request)

        @get("/results/{name:str}")
        async def result(name: FromPath[str], request: Request[Any, Any, Any]) -> Response[Any]:
            return await self._result(name, request)

        @get("/inputs/{name:str}")
        async def input_file(name: FromPath[str]) -> Response[Any]:
            entry = self._inputs.get(name)
            if entry is None:
                return Response(content=b"not found", status_code=404, media_type="text/plain")
            data, content_type, status = entry
            return Response(content=data, status_code=status, media_type=content_type)

        return Litestar([api, result, input_file])

    async def _delay(self, seconds: float) -> None:
        """Latency that ends early when the server stops, so a client that gave up on a slow
        answer does not hold the test's teardown."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._closing.wait()

    async def _record(self, log: list[Any], entry: Any) -> None:
        async with self._changed:
            log.append(entry)
            self._changed.notify_all()

    async def _api(self, method: str, request: Request[Any, Any, Any]) -> Response[Any]:
        at, at_utc = _now()
        body = await request.body()
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        form = _parse_form(body) if content_type == FORM_CONTENT_TYPE else None
        record = RecordedRequest(
            at=at,
            at_utc=at_utc,
            path=request.url.path,
            method=method,
            do=(form or {}).get("do"),
            form=form or {},
            headers={k.lower(): v for k, v in request.headers.items()},
        )
        await self._record(self.requests, record)
        await self._delay(self.latency + (self.poll_latency if record.do == "get_result" else 0))
        status, answer = await self._answer(method, record, form)
        record.status, record.answer = status, answer
        async with self._changed:
            self._changed.notify_all()
        headers = {"Retry-After": self.retry_after} if self.retry_after and status >= 400 else {}
        return Response(
            content=answer, status_code=status, media_type="application/json", headers=headers
        )

    async def _answer(
        self, method: str, record: RecordedRequest, form: dict[str, str] | None
    ) -> tuple[int, dict[str, Any]]:
        if method not in REQUIRED_FIELDS:
            return 404, {"success": False, "error": f"unknown method {method}"}
        if record.authorization != f"Bearer {self.api_key}":
            return 401, {"success": False, "error": "Unauthorized: invalid API key"}
        if form is None:
            return 400, {"success": False, "error": f"expected {FORM_CONTENT_TYPE}"}
        if record.do == "create_queue":
            return await self._create_queue(method, form)
        if record.do == "get_result":
            return self._get_result(method, form)
        return 200, {"success": False, "error": f"unknown do: {record.do}"}

    async def _create_queue(self, method: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if self.create_statuses:
            status = self.create_statuses.pop(0)
            return status, {"success": False, "error": "too many requests"}
        if self.create_status is not None:
            return self.create_status, {"success": False, "error": "service unavailable"}
        missing = [name for name in REQUIRED_FIELDS[method] if not form.get(name)]
        if missing:
            return 200, {"success": False, "error": f"missing required field: {missing[0]}"}
        strength = form.get("strength")
        if strength is not None and not (strength.isdigit() and 0 <= int(strength) <= 80):
            return 200, {"success": False, "error": "strength must be 0..80"}
        if self.refuse_create_with is not None:
            return 200, {"success": False, "error": self.refuse_create_with}
        job = _Job(queueid=next(self._ids), method=method, form=form)
        self._jobs[job.queueid] = job
        if self.fetch_inputs:
            fetches = await asyncio.gather(
                *(self._fetch(form[f], f, job.queueid) for f in INPUT_FIELDS if f in form)
            )
            if any(f.status != 200 for f in fetches):
                job.error = DOWNLOAD_FAILED
        queueid: int | str = str(job.queueid) if self.queueid_as_string else job.queueid
        return 200, {"success": True, "queueid": queueid}

    def _get_result(self, method: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        raw = form.get("queueid", "")
        job = self._jobs.get(int(raw)) if raw.isdigit() else None
        if job is None or job.method != method:
            return 200, {"success": False, "error": "queue not found"}
        if self.poll_statuses:
            return self.poll_statuses.pop(0), {"success": False, "error": "try again later"}
        job.polls += 1
        if self.never_ready or job.polls <= self.reconnects:
            return 200, {"action": "reconnect"}
        error = job.error or self.fail_with
        if error is not None:
            return 200, {"success": False, "error": error}
        uploaded = self.uploaded_image or self.result_url(job.queueid)
        return 200, {"success": True, "uploaded_image": uploaded, "data": dict(self.result_data)}

    async def _fetch(self, url: str, field_name: str, queueid: int | None) -> InputFetch:
        at, at_utc = _now()
        client = self._client
        assert client is not None, "the fake fetches only while its server runs"
        try:
            response = await client.get(url)
        except httpx.HTTPError as exc:
            fetch = InputFetch(
                at, at_utc, url, field_name, queueid, None, None, b"", type(exc).__name__
            )
        else:
            fetch = InputFetch(
                at,
                at_utc,
                url,
                field_name,
                queueid,
                response.status_code,
                response.headers.get("content-type"),
                response.content,
            )
        await self._record(self.input_fetches, fetch)
        return fetch

    async def _result(self, name: str, request: Request[Any, Any, Any]) -> Response[Any]:
        at, at_utc = _now()
        queueid = int(name) if name.isdigit() else None
        known = queueid is not None and queueid in self._jobs
        status = self.result_status if known else 404
        download = ResultDownload(
            at,
            at_utc,
            request.url.path,
            queueid,
            {k.lower(): v for k, v in request.headers.items()},
            status,
        )
        await self._record(self.result_downloads, download)
        await self._delay(self.result_latency)
        if not known:
            return Response(content=b"not found", status_code=404, media_type="text/plain")
        data = self.result_bytes
        if not self.result_chunked:
            return Response(content=data, status_code=status, media_type=self.result_content_type)

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(data), CHUNK_BYTES):
                yield data[start : start + CHUNK_BYTES]

        return Stream(chunks(), status_code=status, media_type=self.result_content_type)


def _parse_form(body: bytes) -> dict[str, str] | None:
    """A urlencoded body as a flat dict (first value of a repeated field); None if unreadable."""
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return None
    return {name: values[0] for name, values in parsed.items()}


@asynccontextmanager
async def fake_turbotext_server(**knobs: Any) -> AsyncIterator[FakeTurbotext]:
    """Serve a ``FakeTurbotext`` built from ``knobs`` on a loopback port for one test."""
    fake = FakeTurbotext(**knobs)
    async with httpx.AsyncClient(timeout=10.0) as client, running_app(fake.app()) as base_url:
        fake.base_url = base_url
        fake._client = client
        try:
            yield fake
        finally:
            fake._closing.set()
