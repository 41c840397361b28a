"""Provider ``gemini``: one synchronous ``generateContent`` call per attempt (SPEC §8).

Each HTTP call is bounded by the job's remaining time rather than a fixed client timeout, so a
slow answer can never outlive the deadline the booth is waiting on. An answer without an
image is retried while time remains; every other failure ends the job at once, because the
deadline is far too short for quota back-off.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import datetime

import httpx

from adapters.providers.cancel_once import cancel_once
from adapters.providers.capped_body import read_capped
from adapters.providers.gemini_protocol import (
    API_KEY_HEADER,
    NoImage,
    build_call,
    error_from_response,
    parse_response,
)
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

    def __repr__(self) -> str:  # the key must not show up in a traceback's locals
        return f"GeminiProvider(base_url={self._base_url!r})"

    async def aclose(self) -> None:
        """Close the HTTP client if this adapter created it."""
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # Only a fallback: every request passes the job's remaining time as its timeout.
            self._client = httpx.AsyncClient(timeout=SYNC_TIMEOUT_MAX_SEC)
        return self._client

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, _REDACTED) if self._api_key else text

    def _remaining(self, deadline: datetime) -> float:
        """Seconds left for the job; ``TimeoutError`` when none are, so no request starts."""
        info = calculate_deadline_info(deadline, now=self._clock.now())
        if info.is_expired or info.remaining_seconds <= 0:
            raise TimeoutError("the job's deadline passed before Gemini answered")
        return info.remaining_seconds

    async def transform(self, request: ProviderInput) -> ProviderOutput:
        call = build_call(request)
        content = json.dumps(call.body, separators=(",", ":")).encode("utf-8")
        if len(content) > MAX_REQUEST_BYTES:
            raise ProviderFailed(
                f"the photo and template images make a {len(content) / 1048576:.1f} MB request; "
                f"Gemini takes at most {MAX_REQUEST_BYTES // 1048576} MB inline (about 15 MB "
                "of images): send smaller photos or use smaller templates",
                {"request_bytes": len(content)},
            )
        url = f"{self._base_url}{call.path}"
        last: NoImage | None = None
        for attempt in range(1, self._attempts + 1):
            if attempt > 1:
                if self._remaining(request.deadline) <= self._pause:
                    raise TimeoutError("no time left in the job to ask Gemini again")
                await self._clock.sleep(self._pause)
            raw = await self._post(url, content, request)
            try:
                return parse_response(raw)
            except NoImage as exc:
                last = exc
                self._on_no_image(request)
                # INFO: a retry, not yet a failure; a failed job is logged once, by the worker.
                logger.info(
                    "Gemini job %s: no image (attempt %d of %d, model %s): %s",
                    request.job_id,
                    attempt,
                    self._attempts,
                    call.model,
                    self._redact(exc.message),
                )
            except ProviderFailed as exc:
                raise ProviderFailed(self._redact(exc.message), exc.details) from None
        assert last is not None
        raise ProviderFailed(
            f"Gemini returned no image {self._attempts} times (last: {self._redact(last.message)})",
            {**last.details, "attempts": self._attempts},
        )

    async def _post(self, url: str, content: bytes, request: ProviderInput) -> bytes:
        """One call bounded by the remaining time; the body is read under the same bound."""
        remaining = self._remaining(request.deadline)
        try:
            async with asyncio.timeout(remaining):
                status, raw = await cancel_once(self._exchange(url, content, remaining))
        except (TimeoutError, httpx.TimeoutException):
            raise TimeoutError("Gemini did not answer before the job's deadline") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            message = self._redact(f"Gemini could not be reached: {type(exc).__name__}: {exc}")
            raise ProviderFailed(message, {"error": type(exc).__name__}) from None
        if status != httpx.codes.OK:
            error = error_from_response(status, raw)
            raise ProviderFailed(self._redact(error.message), error.details)
        return raw

    async def _exchange(self, url: str, content: bytes, http_timeout: float) -> tuple[int, bytes]:
        headers = {API_KEY_HEADER: self._api_key, "content-type": "application/json"}
        async with self._http().stream(
            "POST", url, content=content, headers=headers, timeout=http_timeout
        ) as response:
            return response.status_code, await read_capped(
                response, MAX_RESPONSE_BYTES, "Gemini's answer"
            )
