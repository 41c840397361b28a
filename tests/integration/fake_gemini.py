"""A fake Gemini ``generateContent`` server that speaks the real protocol over a real socket.

It checks what Google checks (the ``x-goog-api-key`` header, the model in the path, the body's
shape and base64) and answers the way Google answers (camelCase JSON, RPC error bodies), so the
adapter is tested against the protocol rather than against itself. Usage::

    async with fake_gemini_server(script=["no_image", "image"], latency=0.2) as fake:
        provider = GeminiProvider(base_url=fake.base_url, api_key=fake.api_key, clock=clock)
        ...
        assert len(fake.requests) == 2
        assert fake.requests[0].images[0].mime == "image/jpeg"

``script`` is consumed one item per valid request; once it is empty every request gets an
image. An item is ``"image"``, ``"no_image"`` (``finishReason: NO_IMAGE``), ``"text_only"``
(``STOP`` with text and no image), ``"thinking"`` (a Gemini 3 answer: thought text and a
draft image marked ``thought: true``, then text, then the final image, which is ``image``),
``"blocked"`` (``promptFeedback.blockReason``),
``"image_safety"`` (``finishReason: IMAGE_SAFETY``), an HTTP status such as ``429`` (Google's
RPC error body for it, see ``RPC_ERRORS``), or an ``Answer`` for anything else (its
``headers``, such as ``Retry-After``, are sent with it). Attributes
(``latency``, ``image``, ``image_mime``, ``snake_case``, ``script``, ``max_request_bytes``)
may be changed between requests.

``requests`` is the log (``RecordedRequest``: arrival time, model, headers, decoded parts,
``outcome``). Wait on it with ``wait_for_requests(n)``, ``wait_for_client_gone()`` or
``wait_until(predicate)`` instead of sleeping.

Google's own behaviour for keys: a missing key is ``403 PERMISSION_DENIED``, a wrong key is
``400 INVALID_ARGUMENT`` with ``ErrorInfo.reason = API_KEY_INVALID``. A
``generationConfig.imageConfig`` is checked field by field (``aspectRatio`` among the ratios
Gemini 3 image models take, ``imageSize`` 1K/2K/4K, nothing else); ``RecordedRequest.
image_config`` is what arrived.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fake_provider import FakeProvider, serving
from litestar import Litestar, Request, post
from litestar.exceptions import InternalServerException
from litestar.params import FromPath
from litestar.response import Response
from PIL import Image

DEFAULT_KEY = "fake-gemini-key-0123456789"
# Google caps a whole inline request (text + base64 images) at 20 MB.
MAX_REQUEST_BYTES = 20 * 1024 * 1024
DEFAULT_MODELS = frozenset(
    {"gemini-2.5-flash-image", "gemini-2.5-flash-image-preview", "gemini-3-pro-image-preview"}
)
ASPECT_RATIOS = frozenset({"1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"})
IMAGE_SIZES = frozenset({"1K", "2K", "4K"})
DRAFT_IMAGE_COLOUR = (90, 90, 90)
INPUT_MIMES = frozenset({"image/png", "image/jpeg", "image/webp", "image/heic", "image/heif"})
_TOP_LEVEL = frozenset(
    {
        "contents",
        "generationConfig",
        "generation_config",
        "safetySettings",
        "safety_settings",
        "systemInstruction",
        "system_instruction",
    }
)


def small_png(
    colour: tuple[int, int, int] = (230, 120, 20), size: tuple[int, int] = (8, 8)
) -> bytes:
    """A real, decodable PNG: what the fake hands back as the generated image."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class Answer:
    """A scripted answer spelled out: status, JSON (or raw bytes) body, optional own latency."""

    status: int = 200
    body: Any = None
    raw: bytes | None = None
    latency: float | None = None
    headers: Mapping[str, str] | None = None  # e.g. {"Retry-After": "2"}


ScriptItem = str | int | Answer


@dataclass(frozen=True, slots=True)
class RecordedPart:
    """One decoded request part: ``text`` or an image (``mime`` + ``data``)."""

    text: str | None = None
    mime: str | None = None
    data: bytes | None = None


@dataclass(slots=True)
class RecordedRequest:
    """What arrived and what became of it. ``outcome``: ``pending`` (arrived), ``waiting``
    (valid, waiting out the latency), then ``answered`` or ``client_gone`` (the client closed
    the connection before the answer)."""

    arrived_at: float  # time.time()
    arrived_at_utc: datetime
    model: str
    headers: dict[str, str]
    parts: list[RecordedPart] = field(default_factory=list)
    body: Any = None
    status: int | None = None
    outcome: str = "pending"

    @property
    def api_key(self) -> str | None:
        return self.headers.get("x-goog-api-key")

    @property
    def texts(self) -> list[str]:
        return [p.text for p in self.parts if p.text is not None]

    @property
    def images(self) -> list[RecordedPart]:
        return [p for p in self.parts if p.data is not None]

    @property
    def client_went_away(self) -> bool:
        return self.outcome == "client_gone"

    @property
    def image_config(self) -> Any:
        """``generationConfig.imageConfig`` as sent (``None`` when absent)."""
        config = self.body.get("generationConfig") if isinstance(self.body, dict) else None
        return config.get("imageConfig") if isinstance(config, dict) else None


class _Invalid(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def rpc_error(code: int, status: str, message: str, *, reason: str | None = None) -> Answer:
    """Google's ``google.rpc.Status`` error body."""
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if reason is not None:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
        ]
    return Answer(status=code, body={"error": error})


# What Google says for each status (messages as the real API words them).
RPC_ERRORS: Mapping[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    403: ("PERMISSION_DENIED", "The caller does not have permission"),
    404: ("NOT_FOUND", "Requested entity was not found."),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    500: (
        "INTERNAL",
        "An internal error has occurred. Please retry or report in "
        "https://developers.generativeai.google/guide/troubleshooting",
    ),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
}


class FakeGemini(FakeProvider[RecordedRequest]):
    """State and behaviour of the fake; ``fake_gemini_server`` serves it on a socket."""

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_KEY,
        models: Iterable[str] = DEFAULT_MODELS,
        script: Iterable[ScriptItem] = (),
        latency: float = 0.0,
        image: bytes | None = None,
        image_mime: str = "image/png",
        snake_case: bool = False,
        max_request_bytes: int = MAX_REQUEST_BYTES,
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.models = frozenset(models)
        self.script: deque[ScriptItem] = deque(script)
        self.latency = latency
        self.image = image if image is not None else small_png()
        self.image_mime = image_mime
        self.snake_case = snake_case
        self.max_request_bytes = max_request_bytes

    # --- protocol ------------------------------------------------------------------------

    def _key(self, camel: str, snake: str) -> str:
        return snake if self.snake_case else camel

    def _envelope(self, candidate: dict[str, Any] | None, model: str) -> dict[str, Any]:
        k = self._key
        body: dict[str, Any] = {}
        if candidate is not None:
            body["candidates"] = [candidate]
        body[k("usageMetadata", "usage_metadata")] = {
            k("promptTokenCount", "prompt_token_count"): 1290,
            k("candidatesTokenCount", "candidates_token_count"): 1290,
            k("totalTokenCount", "total_token_count"): 2580,
        }
        body[k("modelVersion", "model_version")] = model
        body[k("responseId", "response_id")] = secrets.token_urlsafe(16)
        return body

    def _answer(self, item: ScriptItem, model: str) -> Answer:
        k = self._key
        if isinstance(item, Answer):
            return item
        if isinstance(item, int):
            status, message = RPC_ERRORS.get(item, ("UNKNOWN", "Unknown error."))
            return rpc_error(item, status, message)
        if item == "image":
            image_part = {
                k("inlineData", "inline_data"): {
                    k("mimeType", "mime_type"): self.image_mime,
                    "data": base64.b64encode(self.image).decode("ascii"),
                }
            }
            parts = [{"text": "Here is the edited photo."}, image_part]
            candidate = {
                "content": {"parts": parts, "role": "model"},
                k("finishReason", "finish_reason"): "STOP",
                "index": 0,
            }
            return Answer(body=self._envelope(candidate, model))
        if item == "thinking":
            draft = base64.b64encode(small_png(DRAFT_IMAGE_COLOUR)).decode("ascii")
            parts = [
                {"text": "**Composing the watercolour**\nKeeping the faces.", "thought": True},
                {
                    k("inlineData", "inline_data"): {
                        k("mimeType", "mime_type"): "image/png",
                        "data": draft,
                    },
                    "thought": True,
                },
                {"text": "Here is the edited photo."},
                {
                    k("inlineData", "inline_data"): {
                        k("mimeType", "mime_type"): self.image_mime,
                        "data": base64.b64encode(self.image).decode("ascii"),
                    },
                    k("thoughtSignature", "thought_signature"): secrets.token_urlsafe(24),
                },
            ]
            candidate = {
                "content": {"parts": parts, "role": "model"},
                k("finishReason", "finish_reason"): "STOP",
                "index": 0,
            }
            return Answer(body=self._envelope(candidate, model))
        if item == "text_only":
            candidate = {
                "content": {"parts": [{"text": "I can't edit this photo."}], "role": "model"},
                k("finishReason", "finish_reason"): "STOP",
                "index": 0,
            }
            return Answer(body=self._envelope(candidate, model))
        if item in ("no_image", "image_safety"):
            reason = "NO_IMAGE" if item == "no_image" else "IMAGE_SAFETY"
            candidate = {k("finishReason", "finish_reason"): reason, "index": 0}
            return Answer(body=self._envelope(candidate, model))
        if item == "blocked":
            body = self._envelope(None, model)
            body[k("promptFeedback", "prompt_feedback")] = {
                k("blockReason", "block_reason"): "PROHIBITED_CONTENT"
            }
            return Answer(body=body)
        raise ValueError(f"unknown script item {item!r}")

    def _check(self, model_call: str, headers: Mapping[str, str]) -> tuple[str, Answer | None]:
        """Key first, then the model: the order Google checks them in."""
        model, _, method = model_call.partition(":")
        key = headers.get("x-goog-api-key")
        if not key:
            return model, rpc_error(
                403,
                "PERMISSION_DENIED",
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to "
                "call this API.",
            )
        if key != self.api_key:
            return model, rpc_error(
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                reason="API_KEY_INVALID",
            )
        if method != "generateContent":
            return model, rpc_error(404, "NOT_FOUND", "Method not found.")
        if model not in self.models:
            return model, rpc_error(
                404,
                "NOT_FOUND",
                f"models/{model} is not found for API version v1beta, or is not supported "
                "for generateContent. Call ListModels to see the list of available models "
                "and their supported methods.",
            )
        return model, None

    @staticmethod
    def _parse_body(raw: bytes) -> tuple[Any, list[RecordedPart]]:
        """Validate like Google does; raise ``_Invalid`` with Google's kind of message."""
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise _Invalid("Invalid JSON payload received. Unexpected token.") from None
        if not isinstance(body, dict):
            raise _Invalid("Invalid JSON payload received. Expected an object.")
        for name in body:
            if name not in _TOP_LEVEL:
                raise _Invalid(
                    f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.'
                )
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            raise _Invalid("* GenerateContentRequest.contents: contents is not specified")
        parts_seen: list[RecordedPart] = []
        for c_index, content in enumerate(contents):
            parts = content.get("parts") if isinstance(content, dict) else None
            if not isinstance(parts, list) or not parts:
                raise _Invalid(
                    f"* GenerateContentRequest.contents[{c_index}].parts: "
                    "contents.parts must not be empty."
                )
            if content.get("role", "user") not in ("user", "model"):
                raise _Invalid(f"Please use a valid role: user, model. (contents[{c_index}].role)")
            for p_index, part in enumerate(parts):
                where = f"contents[{c_index}].parts[{p_index}]"
                parts_seen.append(_parse_part(part, where))
        config = body.get("generationConfig", body.get("generation_config"))
        modalities = None
        if isinstance(config, dict):
            modalities = config.get("responseModalities", config.get("response_modalities"))
        if not isinstance(modalities, list) or "IMAGE" not in modalities:
            raise _Invalid(
                "* GenerateContentRequest.generation_config.response_modalities: this fake "
                "(like the image models) needs IMAGE among the response modalities"
            )
        for modality in modalities:
            if modality not in ("TEXT", "IMAGE"):
                raise _Invalid(
                    f"Invalid value at 'generation_config.response_modalities' "
                    f"(type.googleapis.com/google.ai.generativelanguage.v1beta."
                    f'GenerationConfig.Modality), "{modality}"'
                )
        assert isinstance(config, dict)
        _check_image_config(config.get("imageConfig", config.get("image_config")))
        return body, parts_seen

    async def handle(self, request: Request[Any, Any, Any], model_call: str) -> Response[bytes]:
        """One ``generateContent`` call: record, validate, wait ``latency``, answer."""
        headers = {name.lower(): value for name, value in request.headers.items()}
        model, refusal = self._check(model_call, headers)
        record = RecordedRequest(
            arrived_at=time.time(),
            arrived_at_utc=datetime.now(UTC),
            model=model,
            headers=headers,
        )
        await self._record(record)
        answer = refusal
        if answer is None:
            try:
                raw = await request.body()
            except InternalServerException:  # Litestar's word for "client disconnected"
                return await self._gone(record)
            try:
                if len(raw) > self.max_request_bytes:
                    raise _Invalid(
                        f"Request payload size exceeds the limit: {self.max_request_bytes} bytes."
                    )
                record.body, record.parts = self._parse_body(raw)
            except _Invalid as exc:
                answer = rpc_error(400, "INVALID_ARGUMENT", exc.message)
        if answer is None:
            item = self.script.popleft() if self.script else "image"
            answer = self._answer(item, model)
            latency = self.latency if answer.latency is None else answer.latency
            if await self._client_left_during(request, record, latency):
                return await self._gone(record)
        record.status = answer.status
        await self._answered(record)
        content = answer.raw if answer.raw is not None else json.dumps(answer.body).encode()
        return Response(
            content=content,
            status_code=answer.status,
            media_type="application/json; charset=UTF-8",
            headers=dict(answer.headers or {}),
        )


def _parse_part(part: Any, where: str) -> RecordedPart:
    if not isinstance(part, dict):
        raise _Invalid(f"Invalid value at '{where}': expected an object")
    inline = part.get("inline_data", part.get("inlineData"))
    text = part.get("text")
    if (inline is None) == (text is None):
        raise _Invalid(
            f"* GenerateContentRequest.{where}.data: required oneof field 'data' must have "
            "one initialized field"
        )
    if text is not None:
        if not isinstance(text, str):
            raise _Invalid(f"Invalid value at '{where}.text' (TYPE_STRING)")
        return RecordedPart(text=text)
    if not isinstance(inline, dict):
        raise _Invalid(f"Invalid value at '{where}.inline_data': expected an object")
    mime = inline.get("mime_type", inline.get("mimeType"))
    data = inline.get("data")
    if not isinstance(mime, str) or mime not in INPUT_MIMES:
        raise _Invalid(f"Unsupported MIME type: {mime}")
    if not isinstance(data, str) or not data:
        raise _Invalid(
            f"* GenerateContentRequest.{where}.inline_data.data: required field is not specified"
        )
    try:
        decoded = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _Invalid(
            f"Invalid value at '{where}.inline_data.data' (TYPE_BYTES), Base64 decoding failed"
        ) from None
    return RecordedPart(mime=mime, data=decoded)


def _check_image_config(image_config: Any) -> None:
    """``generationConfig.imageConfig`` as Gemini 3 image models take it."""
    if image_config is None:
        return
    if not isinstance(image_config, dict):
        raise _Invalid("Invalid value at 'generation_config.image_config': expected an object")
    allowed = {
        "aspectRatio": ASPECT_RATIOS,
        "aspect_ratio": ASPECT_RATIOS,
        "imageSize": IMAGE_SIZES,
        "image_size": IMAGE_SIZES,
    }
    for name, value in image_config.items():
        values = allowed.get(name)
        if values is None:
            raise _Invalid(
                f'Invalid JSON payload received. Unknown name "{name}" at '
                "'generation_config.image_config': Cannot find field."
            )
        if not isinstance(value, str) or value not in values:
            raise _Invalid(
                f"* GenerateContentRequest.generation_config.image_config.{name}: "
                f"unsupported value {value!r}"
            )


def build_app(fake: FakeGemini) -> Litestar:
    """The Litestar app serving ``fake`` at ``/v1beta/models/{model}:generateContent``."""

    @post("/v1beta/models/{model_call:str}")
    async def generate_content(
        request: Request[Any, Any, Any], model_call: FromPath[str]
    ) -> Response[bytes]:
        return await fake.handle(request, model_call)

    # No framework body limit: the fake applies Google's own (``max_request_bytes``).
    return Litestar(
        route_handlers=[generate_content],
        logging_config=None,
        debug=False,
        request_max_body_size=None,
    )


@asynccontextmanager
async def fake_gemini_server(**config: Any) -> AsyncIterator[FakeGemini]:
    """Serve a ``FakeGemini(**config)`` on a loopback port; ``fake.base_url`` points at it.

    On exit, requests still waiting out their latency are let go so the server stops at once.
    """
    fake = FakeGemini(**config)
    async with serving(fake, build_app(fake)) as served:
        yield served
