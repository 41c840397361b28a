"""Provider ``gemini``: one synchronous ``generateContent`` call per attempt (SPEC §8).

Each HTTP call is bounded by the job's remaining time rather than a fixed client timeout, so a
slow answer can never outlive the deadline the booth is waiting on. An answer without an
image is retried while time remains. A ``429``/``503`` is asked again after the longer of the
wait Google asks for (``Retry-After``, ``RetryInfo.retryDelay``) and an exponential backoff,
only while that wait leaves the call time before the deadline (``retry_policy``); every other
failure ends the job at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime

import httpx

from adapters.providers.cancel_once import cancel_once
from adapters.providers.capped_body import read_capped
from adapters.providers.gemini_protocol import (
    API_KEY_HEADER,
    NoImage,
    build_call,
    error_from_response,
    is_retryable,
    parse_response,
    retry_delay_seconds,
)
from adapters.providers.retry_policy import RetryPolicy, retry_after_seconds
from application.ports import Clock, ProviderInput, ProviderOutput
from domain.deadlines import SYNC_TIMEOUT_MAX_SEC, calculate_deadline_info
from domain.errors import ProviderFailed

logger = logging.getLogger(__name__)

# A 20 MB image is ~27 MB of base64; anything far beyond that is not a Gemini answer.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
# Google's cap on one inline request (prompt + base64 images). Photos up to 20 MB are accepted
# at ingest (SPEC §8), but base64 grows them by a third: refuse clearly instead of sending.
MAX_REQUEST_BYTES = 20 * 1024 * 1024
_REDACTED = "[redacted]"


def _ignore_no_image(request: ProviderInput) -> None:
    return None


class GeminiProvider:
    """``ProviderAdapter`` for provider ``gemini``."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        clock: Clock,
        client: httpx.AsyncClient | None = None,
        no_image_attempts: int = 3,
        retry_pause_seconds: float = 0.5,
        on_no_image: Callable[[ProviderInput], None] = _ignore_no_image,
        retry: RetryPolicy | None = None,
        max_connections: int = 100,
    ) -> None:
        if no_image_attempts < 1:
            raise ValueError("no_image_attempts must be at least 1")
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._clock = clock
        self._client = client
        self._owns_client = client is None
        self._attempts = no_image_attempts
        self._pause = max(retry_pause_seconds, 0.0)
        self._on_no_image = on_no_image  # counts each answer without an image (metrics)
        self._retry = retry or RetryPolicy()  # for 429 / 503
        self._max_connections = max_connections

    def __repr__(self) -> str:  # the key must not show up in a traceback's locals
        return f"GeminiProvider(base_url={self._base_url!r})"

    async def aclose(self) -> None:
        """Close the HTTP client if this adapter created it."""
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # The timeout is only a fallback: every request passes the job's remaining time.
            # The pool follows the concurrency setting: httpx's default (100 connections)
            # would otherwise cap the calls in flight whatever the setting says.
            n = self._max_connections
            self._client = httpx.AsyncClient(
                timeout=SYNC_TIMEOUT_MAX_SEC,
                limits=httpx.Limits(max_connections=n, max_keepalive_connections=n),
            )
        return self._client

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, _REDACTED) if self._api_key else text

    def _remaining(self, deadline: datetime) -> float:
        """Seconds left for the job; ``TimeoutError`` when none are, so no request starts."""
        info = calculate_deadline_info(deadline, now=self._clock.now())
        if info.is_expired or info.remaining_seconds <= 0:
            raise TimeoutError("the job's deadline passed before Gemini answered")
        return info.remaining_seconds

    def _seconds_left(self, deadline: datetime) -> float:
        return calculate_deadline_info(deadline, now=self._clock.now()).remaining_seconds

    async def transform(self, request: ProviderInput) -> ProviderOutput:
        call = build_call(request)
        content = call.encode()
        if len(content) > MAX_REQUEST_BYTES:
            raise ProviderFailed(
                f"the photo and template images make a {len(content) / 1048576:.1f} MB request; "
                f"Gemini takes at most {MAX_REQUEST_BYTES // 1048576} MB inline (about 15 MB "
                "of images): send smaller photos or use smaller templates",
                {"request_bytes": len(content)},
            )
        url = f"{self._base_url}{call.path}"
        no_image = busy = 0  # answers without an image; 429/503 answers
        while True:
            status, headers, raw = await self._post(url, content, request)
            if status == httpx.codes.OK:
                try:
                    return parse_response(raw)
                except NoImage as exc:
                    no_image += 1
                    self._no_image(request, exc, no_image, call.model)
                    await self._pause_before_no_image_retry(request)
                    continue
                except ProviderFailed as exc:
                    raise ProviderFailed(self._redact(exc.message), exc.details) from None
            busy += 1
            await self._pause_before_busy_retry(request, status, headers, raw, busy)

    def _no_image(self, request: ProviderInput, exc: NoImage, seen: int, model: str) -> None:
        """Count and log an answer without an image; fail once the attempts are used up."""
        self._on_no_image(request)
        # INFO: a retry, not yet a failure; a failed job is logged once, by the worker.
        logger.info(
            "Gemini job %s: no image (attempt %d of %d, model %s): %s",
            request.job_id,
            seen,
            self._attempts,
            model,
            self._redact(exc.message),
        )
        if seen >= self._attempts:
            raise ProviderFailed(
                f"Gemini returned no image {self._attempts} times "
                f"(last: {self._redact(exc.message)})",
                {**exc.details, "attempts": self._attempts},
            )

    async def _pause_before_no_image_retry(self, request: ProviderInput) -> None:
        if self._remaining(request.deadline) <= self._pause:
            raise TimeoutError("no time left in the job to ask Gemini again")
        await self._clock.sleep(self._pause)

    async def _pause_before_busy_retry(
        self, request: ProviderInput, status: int, headers: Mapping[str, str], raw: bytes, seen: int
    ) -> None:
        """After an error answer: wait and return when asking again may help and the deadline
        leaves time for it; raise ``ProviderFailed`` otherwise."""
        error = error_from_response(status, raw)
        message = self._redact(error.message)
        details = {**error.details, "attempts": seen}
        if not is_retryable(status) or seen >= self._retry.max_attempts:
            raise ProviderFailed(
                message + (f" (after {seen} attempts)" if seen > 1 else ""), details
            )
        asked = [
            wait
            for wait in (
                retry_after_seconds(headers, now=self._clock.now()),
                retry_delay_seconds(raw),
            )
            if wait is not None
        ]
        pause = self._retry.pause(seen, max(asked, default=None))
        if not self._retry.leaves_time(pause, self._seconds_left(request.deadline)):
            raise ProviderFailed(
                f"{message}; the job has no time left to wait {pause:.1f} s and try again",
                details,
            )
        # INFO: a retry, not yet a failure; a failed job is logged once, by the worker.
        logger.info(
            "Gemini job %s: HTTP %d; trying again in %.1f s (attempt %d of %d)",
            request.job_id,
            status,
            pause,
            seen + 1,
            self._retry.max_attempts,
        )
        await self._clock.sleep(pause)

    async def _post(
        self, url: str, content: bytes, request: ProviderInput
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One call bounded by the remaining time; the body is read under the same bound."""
        remaining = self._remaining(request.deadline)
        try:
            async with asyncio.timeout(remaining):
                return await cancel_once(self._exchange(url, content, remaining))
        except (TimeoutError, httpx.TimeoutException):
            raise TimeoutError("Gemini did not answer before the job's deadline") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            message = self._redact(f"Gemini could not be reached: {type(exc).__name__}: {exc}")
            raise ProviderFailed(message, {"error": type(exc).__name__}) from None

    async def _exchange(
        self, url: str, content: bytes, http_timeout: float
    ) -> tuple[int, Mapping[str, str], bytes]:
        headers = {API_KEY_HEADER: self._api_key, "content-type": "application/json"}
        async with self._http().stream(
            "POST", url, content=content, headers=headers, timeout=http_timeout
        ) as response:
            body = await read_capped(response, MAX_RESPONSE_BYTES, "Gemini's answer")
            return response.status_code, response.headers, body
