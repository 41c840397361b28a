"""Provider ``gemini``: one synchronous ``generateContent`` call per attempt (SPEC §8).

Each HTTP call is bounded by the job's remaining time rather than a fixed client timeout, so a
slow answer can never outlive the deadline the booth is waiting on. An answer without an
image is retried while time remains. A ``429``/``503`` is asked again after the longer of the
wait Google asks for (``Retry-After``, ``RetryInfo.retryDelay``) and an exponential backoff,
only while that wait leaves the call time before the deadline (``retry_policy``); every other
failure ends the job at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import httpx

from adapters.providers.capped_body import read_capped
from adapters.providers.gemini_errors import (
    error_from_response,
    is_retryable,
    retry_delay_seconds,
)
from adapters.providers.gemini_protocol import API_KEY_HEADER, NoImage, build_call, parse_response
from adapters.providers.provider_http import ProviderHttp
from adapters.providers.retry_policy import RetryPolicy, retry_after_seconds
from application.ports import Clock, ProviderInput, ProviderOutput
from domain.errors import ProviderFailed

logger = logging.getLogger(__name__)

# A 20 MB image is ~27 MB of base64; anything far beyond that is not a Gemini answer.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
# Google's cap on one inline request (prompt + base64 images). Photos up to 20 MB are accepted
# at ingest (SPEC §8), but base64 grows them by a third: refuse clearly instead of sending.
MAX_REQUEST_BYTES = 20 * 1024 * 1024


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
        self._http = ProviderHttp(
            provider="Gemini",
            api_key=api_key,
            clock=clock,
            client=client,
            max_connections=max_connections,
        )
        self._attempts = no_image_attempts
        self._pause = max(retry_pause_seconds, 0.0)
        self._on_no_image = on_no_image  # counts each answer without an image (metrics)
        self._retry = retry or RetryPolicy()  # for 429 / 503

    def __repr__(self) -> str:  # the key must not show up in a traceback's locals
        return f"GeminiProvider(base_url={self._base_url!r})"

    async def aclose(self) -> None:
        """Close the HTTP client if this adapter created it."""
        await self._http.aclose()

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
            status, headers, raw = await self._http.call(
                request.deadline, lambda seconds: self._exchange(url, content, seconds)
            )
            if status == httpx.codes.OK:
                try:
                    return parse_response(raw)
                except NoImage as exc:
                    no_image += 1
                    self._no_image(request, exc, no_image, call.model)
                    await self._pause_before_no_image_retry(request)
                    continue
                except ProviderFailed as exc:
                    raise ProviderFailed(self._http.redact(exc.message), exc.details) from None
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
            self._http.redact(exc.message),
        )
        if seen >= self._attempts:
            raise ProviderFailed(
                f"Gemini returned no image {self._attempts} times "
                f"(last: {self._http.redact(exc.message)})",
                {**exc.details, "attempts": self._attempts},
            )

    async def _pause_before_no_image_retry(self, request: ProviderInput) -> None:
        if self._http.remaining(request.deadline) <= self._pause:
            raise TimeoutError("no time left in the job to ask Gemini again")
        await self._clock.sleep(self._pause)

    async def _pause_before_busy_retry(
        self, request: ProviderInput, status: int, headers: Mapping[str, str], raw: bytes, seen: int
    ) -> None:
        """After an error answer: wait and return when asking again may help and the deadline
        leaves time for it; raise ``ProviderFailed`` otherwise."""
        error = error_from_response(status, raw)
        asked = [
            wait
            for wait in (
                retry_after_seconds(headers, now=self._clock.now()),
                retry_delay_seconds(raw),
            )
            if wait is not None
        ]
        pause = self._retry.pause_or_fail(
            seen,
            max(asked, default=None),
            seconds_left=self._http.seconds_left(request.deadline),
            message=self._http.redact(error.message),
            details={**error.details, "attempts": seen},
            retryable=is_retryable(status),
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

    async def _exchange(
        self, url: str, content: bytes, http_timeout: float
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One call; the body is read under the same bound as the request."""
        headers = {API_KEY_HEADER: self._api_key, "content-type": "application/json"}
        async with self._http.client.stream(
            "POST", url, content=content, headers=headers, timeout=http_timeout
        ) as response:
            body = await read_capped(response, MAX_RESPONSE_BYTES, "Gemini's answer")
            return response.status_code, response.headers, body
