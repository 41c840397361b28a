"""``ProviderAdapter`` for Turbotext: queue a job, poll it within the deadline, fetch the result.

Turbotext is asynchronous: ``create_queue`` returns a queueid at once (recorded on the job as
``provider_job_reference`` so an operator can trace it), the result is polled with
``get_result`` and finally downloaded from the URL Turbotext gives. Every request is bounded by
the time left before the job's deadline; when it comes, ``TimeoutError`` is raised and nothing
more is sent.

Transient trouble while polling (HTTP 429 or 5xx, a network error) is tolerated up to
``MAX_POLL_FAILURES - 1`` times in a row: a poll is idempotent, so asking again at the next
interval is safe, and a flaky gateway should not cost the booth its picture. ``create_queue``
is not idempotent: a second call could run (and bill) the job twice, so it is repeated only
after a ``429``, the one answer that says the request was refused before anything was queued
(after ``Retry-After`` or a backoff, while the deadline leaves time: ``retry_policy``); a 5xx
or a network error may come after the job was queued, so it fails the job at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NoReturn

import httpx

from adapters.providers.cancel_once import cancel_once
from adapters.providers.capped_body import read_capped
from adapters.providers.provider_http import ProviderHttp
from adapters.providers.retry_policy import RetryPolicy, retry_after_seconds
from adapters.providers.turbotext_protocol import (
    Ready,
    Reconnect,
    create_queue_form,
    error_text,
    get_result_form,
    method_for,
    parse_create_queue,
    parse_get_result,
    validate_result_url,
)
from adapters.storage.image_type import sniff_image_mime
from application.ports import Clock, ProviderInput, ProviderOutput
from domain.deadlines import calculate_deadline_info
from domain.errors import ProviderFailed

log = logging.getLogger(__name__)

MAX_POLL_FAILURES = 3  # consecutive transient poll failures that fail the job
MAX_ANSWER_BYTES = 1024 * 1024  # an API answer is a small JSON object; more is a fault
MIN_REQUEST_SECONDS = 0.01  # less time than this left: no request could complete, so none is sent
RESULT_MIMES = frozenset({"image/jpeg", "image/png", "image/webp"})
_TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


class _TransientFailure(ProviderFailed):
    """A failure that a later, identical poll may not repeat (429, 5xx, network)."""


class _RateLimited(_TransientFailure):
    """HTTP 429: nothing was done; ``retry_after`` is the wait the server asked for."""

    def __init__(
        self, message: str, details: Mapping[str, Any], *, retry_after: float | None
    ) -> None:
        super().__init__(message, details)
        self.retry_after = retry_after


class TurbotextProvider:
    """``ProviderAdapter`` for provider ``turbotext`` (SPEC §8).

    ``client`` may be shared with other adapters but must not carry default credentials: the
    Bearer key is added per API request and never sent to the result host.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        clock: Clock,
        client: httpx.AsyncClient | None = None,
        poll_interval_seconds: float = 2.5,
        max_result_bytes: int = 50 * 1024 * 1024,
        retry: RetryPolicy | None = None,
        max_connections: int = 100,
    ) -> None:
        if poll_interval_seconds <= 0:
            raise ValueError("poll_interval_seconds must be positive")
        if max_result_bytes <= 0:
            raise ValueError("max_result_bytes must be positive")
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._clock = clock
        # Each job makes one request at a time, so the pool follows the concurrency setting.
        self._http = ProviderHttp(
            provider="turbotext",
            api_key=api_key,
            clock=clock,
            client=client,
            max_connections=max_connections,
            redacted="***",
        )
        self._poll_interval = poll_interval_seconds
        self._max_result_bytes = max_result_bytes
        self._retry = retry or RetryPolicy()  # create_queue after a 429

    def __repr__(self) -> str:
        return f"TurbotextProvider(base_url={self._base_url!r})"  # never the key

    async def aclose(self) -> None:
        """Close the HTTP client if this adapter created it."""
        await self._http.aclose()

    async def transform(self, request: ProviderInput) -> ProviderOutput:
        method = method_for(request.operation)
        endpoint = f"{self._base_url}/api_ai/{method}"
        queueid = _resumable(request.reference)
        if queueid is not None:
            # An earlier attempt queued this job before its worker stopped: poll that queue
            # rather than queueing (and paying for) the same photo again.
            log.info("job %s: resuming turbotext queue %s", request.job_id, queueid)
        else:
            form = create_queue_form(
                request.operation,
                request.settings,
                photo_url=request.photo.url,
                template_urls={name: image.url for name, image in request.templates.items()},
            )
            answer = await self._create_queue(endpoint, form, request)
            queueid = parse_create_queue(answer)
            log.info("job %s: turbotext %s queued as %s", request.job_id, method, queueid)
            await request.record_reference(str(queueid))
        ready = await self._poll(endpoint, queueid, request)
        log.info("job %s: turbotext queue %s is ready", request.job_id, queueid)
        return await self._download(ready.url, request.deadline, queueid)

    async def _create_queue(
        self, endpoint: str, form: Mapping[str, str], request: ProviderInput
    ) -> bytes:
        """``create_queue``, asked again only after a 429 and only while the deadline leaves
        time for the wait and the call."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._call(endpoint, form, request.deadline, what="create_queue")
            except _RateLimited as exc:
                refused = exc
            pause = self._retry.pause_or_fail(
                attempt,
                refused.retry_after,
                seconds_left=self._http.seconds_left(request.deadline),
                message=refused.message,
                details={**refused.details, "attempts": attempt},
            )
            # INFO: a retry, not yet a failure; a failed job is logged once, by the worker.
            log.info(
                "job %s: turbotext create_queue rate limited; trying again in %.1f s",
                request.job_id,
                pause,
            )
            await self._clock.sleep(pause)

    async def _poll(self, endpoint: str, queueid: int, request: ProviderInput) -> Ready:
        """``get_result`` every poll interval until the job is done or the deadline comes."""
        failures = 0
        while True:
            await self._clock.sleep(
                min(self._poll_interval, await self._remaining(request.deadline))
            )
            try:
                answer = await self._call(
                    endpoint, get_result_form(queueid), request.deadline, what="get_result"
                )
            except _TransientFailure as exc:
                failures += 1
                if failures >= MAX_POLL_FAILURES:
                    raise ProviderFailed(
                        f"{exc.message} ({failures} polls in a row)", exc.details
                    ) from None
                # INFO: a retry, not yet a failure; a failed job is logged once, by the worker.
                log.info(
                    "job %s: turbotext queue %s poll failed (%s); retrying",
                    request.job_id,
                    queueid,
                    exc.message,
                )
                continue
            failures = 0
            state = parse_get_result(answer)
            if isinstance(state, Reconnect):
                log.debug("job %s: turbotext queue %s not ready", request.job_id, queueid)
                continue
            return state

    async def _remaining(self, deadline: datetime) -> float:
        """Seconds left before the deadline. With too little left to send anything, wait for
        the deadline itself and raise ``TimeoutError``: the job is never given up early."""
        info = calculate_deadline_info(deadline, now=self._clock.now())
        if info.remaining_seconds >= MIN_REQUEST_SECONDS:
            return info.remaining_seconds
        await self._expire(deadline, "the job's deadline passed while waiting for turbotext")

    async def _expire(self, deadline: datetime, message: str) -> NoReturn:
        """Raise ``TimeoutError`` once the deadline has passed on the injected clock (timers and
        the millisecond floor may wake us a little early)."""
        while not (info := calculate_deadline_info(deadline, now=self._clock.now())).is_expired:
            await self._clock.sleep(max(info.remaining_seconds, 0.001))
        raise TimeoutError(message)

    async def _call(
        self, endpoint: str, form: Mapping[str, str], deadline: datetime, *, what: str
    ) -> bytes:
        """One form POST to the API with the Bearer key, bounded by the remaining time;
        returns the body of a 2xx answer."""
        remaining = await self._remaining(deadline)
        headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"}
        exchange = self._exchange(
            "POST",
            endpoint,
            remaining,
            MAX_ANSWER_BYTES,
            f"turbotext {what} answer",
            data=dict(form),
            headers=headers,
            follow_redirects=False,
        )
        try:
            async with asyncio.timeout(remaining):
                response, body = await cancel_once(exchange)
        except (httpx.TimeoutException, TimeoutError):
            await self._expire(deadline, f"turbotext {what} did not answer before the deadline")
        except httpx.HTTPError as exc:
            raise _TransientFailure(
                f"turbotext {what}: network error ({type(exc).__name__})",
                {"provider": "turbotext"},
            ) from None
        status = response.status_code
        log.debug("turbotext %s answered HTTP %s", what, status)
        if status >= 300:
            text = self._http.redact(error_text(body)) or response.reason_phrase
            message = f"turbotext {what} answered HTTP {status}: {text}"
            details = {"provider": "turbotext", "status": status}
            if status == httpx.codes.TOO_MANY_REQUESTS:
                wait = retry_after_seconds(response.headers, now=self._clock.now())
                raise _RateLimited(message, details, retry_after=wait)
            failure = _TransientFailure if status in _TRANSIENT_STATUSES else ProviderFailed
            raise failure(message, details)
        return body

    async def _download(self, url: str, deadline: datetime, queueid: int) -> ProviderOutput:
        """Fetch the result without credentials, size-capped and bounded by the deadline; the
        bytes decide the type, not the Content-Type header."""
        url = validate_result_url(url)
        remaining = await self._remaining(deadline)
        details = {"provider": "turbotext", "queueid": queueid}
        exchange = self._exchange(
            "GET",
            url,
            remaining,
            self._max_result_bytes,
            "turbotext result",
            follow_redirects=True,
            only_ok=True,
        )
        try:
            async with asyncio.timeout(remaining):
                response, data = await cancel_once(exchange)
        except (httpx.TimeoutException, TimeoutError):
            await self._expire(deadline, "the turbotext result did not arrive before the deadline")
        except httpx.HTTPError as exc:
            raise ProviderFailed(
                f"turbotext result download failed ({type(exc).__name__})", details
            ) from None
        if response.status_code != 200:
            raise ProviderFailed(
                f"turbotext result download answered HTTP {response.status_code}",
                {**details, "status": response.status_code},
            )
        mime = sniff_image_mime(data)
        if mime not in RESULT_MIMES:
            raise ProviderFailed(
                "turbotext result is not a JPEG, PNG or WebP image",
                {**details, "size_bytes": len(data)},
            )
        log.info("turbotext queue %s: result downloaded (%s, %d bytes)", queueid, mime, len(data))
        return ProviderOutput(image=data, mime=mime)

    async def _exchange(
        self,
        method: str,
        url: str,
        http_timeout: float,
        limit: int,
        what: str,
        *,
        only_ok: bool = False,
        **options: Any,
    ) -> tuple[httpx.Response, bytes]:
        """One request and its capped body (the body of a non-200 answer is skipped when
        ``only_ok``: a result host's error page is of no use)."""
        async with self._http.client.stream(
            method, url, timeout=httpx.Timeout(http_timeout), **options
        ) as response:
            if only_ok and response.status_code != 200:
                return response, b""
            return response, await read_capped(response, limit, what)


def _resumable(reference: str | None) -> int | None:
    """The queueid an earlier attempt recorded, if it is one."""
    if reference is not None and reference.strip().isdigit():
        return int(reference)
    return None
