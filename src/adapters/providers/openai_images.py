"""Provider ``openai``: one gpt-image ``images/edits`` call per attempt.

Every HTTP call is bounded by the job's remaining time, not by a fixed client timeout, and is
cancelled with the job. A ``429`` (rate limit, not an exhausted quota) or ``503`` is asked
again after the longer of the server's ``Retry-After`` and an exponential backoff, but only
when the wait still leaves the call time to run before the deadline; otherwise, and for every
other failure, the job fails at once so the booth gets its ``502`` now rather than a ``504``
later.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import httpx

from adapters.providers.capped_body import read_capped
from adapters.providers.openai_errors import error_from_response
from adapters.providers.openai_protocol import (
    EDITS_PATH,
    IMAGE_FIELD,
    EditCall,
    build_edit,
    parse_answer,
)
from adapters.providers.provider_http import ProviderHttp
from adapters.providers.retry_policy import RetryPolicy, retry_after_seconds
from adapters.storage.image_type import sniff_image_mime
from application.ports import Clock, ProviderInput, ProviderOutput
from domain.errors import ProviderFailed

logger = logging.getLogger(__name__)

RESULT_MIMES = frozenset({"image/png", "image/jpeg", "image/webp"})


class OpenAIImagesProvider:
    """``ProviderAdapter`` for provider ``openai`` (gpt-image models)."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        clock: Clock,
        client: httpx.AsyncClient | None = None,
        max_result_bytes: int = 50 * 1024 * 1024,
        max_attempts: int = 5,
        backoff_base_seconds: float = 0.5,
        backoff_max_seconds: float = 8.0,
        max_connections: int = 100,
    ) -> None:
        if max_result_bytes <= 0:
            raise ValueError("max_result_bytes must be positive")
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._clock = clock
        self._http = ProviderHttp(
            provider="OpenAI",
            api_key=api_key,
            clock=clock,
            client=client,
            max_connections=max_connections,
        )
        self._max_result_bytes = max_result_bytes
        # The answer is JSON with the image in base64: a third larger, plus a little JSON.
        self._max_answer_bytes = max_result_bytes * 4 // 3 + 64 * 1024
        base = max(backoff_base_seconds, 0.0)
        self._retry = RetryPolicy(
            max_attempts=max_attempts, base_seconds=base, max_seconds=max(backoff_max_seconds, base)
        )

    def __repr__(self) -> str:  # the key must not show up in a traceback's locals
        return f"OpenAIImagesProvider(base_url={self._base_url!r})"

    async def aclose(self) -> None:
        """Close the HTTP client if this adapter created it."""
        await self._http.aclose()

    async def transform(self, request: ProviderInput) -> ProviderOutput:
        call = build_edit(request)
        url = f"{self._base_url}{EDITS_PATH}"
        attempt = 0
        while True:
            attempt += 1
            status, headers, raw = await self._http.call(
                request.deadline, lambda seconds: self._exchange(url, call, seconds)
            )
            if status == httpx.codes.OK:
                return self._result(raw, request)
            problem = error_from_response(status, raw)
            message = self._http.redact(problem.failure.message)
            pause = self._retry.pause_or_fail(
                attempt,
                retry_after_seconds(headers, now=self._clock.now()),
                seconds_left=self._http.seconds_left(request.deadline),
                message=message,
                details={**problem.failure.details, "attempts": attempt},
                retryable=problem.retryable,
            )
            # INFO: a retry, not yet a failure; a failed job is logged once, by the worker.
            logger.info(
                "OpenAI job %s: %s; trying again in %.1f s (attempt %d of %d)",
                request.job_id,
                message,
                pause,
                attempt + 1,
                self._retry.max_attempts,
            )
            await self._clock.sleep(pause)

    def _result(self, raw: bytes, request: ProviderInput) -> ProviderOutput:
        """The image of a 200 answer, size-capped; its type is read from the bytes."""
        result = parse_answer(raw)
        if len(result.image) > self._max_result_bytes:
            raise ProviderFailed(
                f"OpenAI's image is larger than {self._max_result_bytes} bytes",
                {"limit_bytes": self._max_result_bytes},
            )
        mime = sniff_image_mime(result.image)
        if mime not in RESULT_MIMES:
            raise ProviderFailed(
                "OpenAI's answer is not a PNG, JPEG or WebP image",
                {"size_bytes": len(result.image)},
            )
        logger.info(
            "OpenAI job %s: %s, %d bytes (tokens: %s)",
            request.job_id,
            mime,
            len(result.image),
            result.usage.get("total_tokens", "?"),
        )
        return ProviderOutput(image=result.image, mime=mime)

    async def _exchange(
        self, url: str, call: EditCall, http_timeout: float
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One call; the body is read under the same bound as the request."""
        headers = {"Accept": "application/json"}
        if self._api_key:  # an empty one would be an illegal header, not OpenAI's 401
            headers["Authorization"] = f"Bearer {self._api_key}"
        files = [(IMAGE_FIELD, (image.filename, image.data, image.mime)) for image in call.images]
        async with self._http.client.stream(
            "POST",
            url,
            data=call.fields,
            files=files,
            headers=headers,
            timeout=http_timeout,
            follow_redirects=False,
        ) as response:
            body = await read_capped(response, self._max_answer_bytes, "OpenAI's answer")
            return response.status_code, response.headers, body
