"""A fake OpenAI Images ``edits`` server that speaks the real protocol over a real socket.

It checks what OpenAI checks — the Bearer key, a ``multipart/form-data`` body parsed with its
own multipart parser (not httpx's), the form fields and their values, every ``image[]`` part's
type and bytes — and answers the way OpenAI answers (``{"data": [{"b64_json"}], "usage"}``,
``{"error": {"message", "type", "param", "code"}}``), so the adapter is tested against the
protocol rather than against itself. Usage::

    async with fake_openai_server(script=[429, "image"], latency=0.2) as fake:
        provider = OpenAIImagesProvider(base_url=fake.base_url, api_key=fake.api_key, ...)
        ...
        assert [len(r.images) for r in fake.requests] == [2, 2]

``script`` is consumed one item per valid request; once it is empty every request gets an
image. An item is ``"image"``, ``"moderation"`` (400 ``moderation_blocked``, as gpt-image
models refuse), ``"content_policy"`` (400 ``content_policy_violation``), ``"no_data"`` (200
with an empty ``data``), ``"insufficient_quota"`` (429 with that code), an HTTP status such
as ``429`` or ``503`` (OpenAI's body for it, see ``API_ERRORS``), or an ``Answer``. The image
returned is ``image`` re-encoded in the requested ``output_format`` (PNG by default).

``requests`` is the log (``RecordedRequest``: arrival time, headers, text fields, images,
``outcome``). Wait on it with ``wait_for_requests(n)``, ``wait_for_client_gone()`` or
``wait_until(predicate)`` instead of sleeping.

Beyond OpenAI's documented checks, the fake is as strict as our slot validation:
``output_compression`` only with ``jpeg``/``webp`` output, no transparent ``jpeg``.
"""

from __future__ import annotations

import base64
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

import multipart
from fake_gemini import small_png
from fake_provider import FakeProvider, serving
from litestar import Litestar, Request, post
from litestar.exceptions import InternalServerException
from litestar.response import Response
from PIL import Image, UnidentifiedImageError

DEFAULT_KEY = "sk-proj-fakeopenai0123456789abcdefWXYZ"
DEFAULT_MODELS = frozenset({"gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5"})
MAX_IMAGE_BYTES = 50 * 1024 * 1024
MAX_IMAGES = 16
MAX_PROMPT_CHARS = 32_000
INPUT_MIMES = frozenset({"image/png", "image/jpeg", "image/webp"})
CHOICES: Mapping[str, tuple[str, ...]] = {
    "size": ("auto", "1024x1024", "1536x1024", "1024x1536"),
    "quality": ("low", "medium", "high", "auto"),
    "output_format": ("png", "jpeg", "webp"),
    "input_fidelity": ("low", "high"),
    "background": ("transparent", "opaque", "auto"),
}
TEXT_FIELDS = frozenset({"model", "prompt", "n", "output_compression", "user", *CHOICES})
_PILLOW_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


@dataclass(frozen=True, slots=True)
class Answer:
    """A scripted answer spelled out: status, JSON (or raw bytes) body, headers, latency."""

    status: int = 200
    body: Any = None
    raw: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    latency: float | None = None


ScriptItem = str | int | Answer


def api_error(
    status: int,
    message: str,
    *,
    kind: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Answer:
    """OpenAI's error body."""
    error = {"message": message, "type": kind, "param": param, "code": code}
    return Answer(status=status, body={"error": error}, headers=dict(headers or {}))


# What OpenAI says for each status (messages as the real API words them).
API_ERRORS: Mapping[int, Answer] = {
    400: api_error(400, "Invalid request.", code="invalid_request"),
    401: api_error(401, "Incorrect API key provided.", code="invalid_api_key"),
    403: api_error(
        403,
        "Your organization must be verified to use the model `gpt-image-1`. Please go to: "
        "https://platform.openai.com/settings/organization/general and click on Verify "
        "Organization.",
    ),
    429: api_error(
        429,
        "Rate limit reached for gpt-image-1 in organization org-fake on images per minute "
        "(IPM): Limit 5, Used 5, Requested 1. Please try again in 12s.",
        kind="requests",
        code="rate_limit_exceeded",
    ),
    500: api_error(
        500,
        "The server had an error processing your request. Sorry about that!",
        kind="server_error",
    ),
    503: api_error(
        503, "The engine is currently overloaded, please try again later", kind="server_error"
    ),
}
MODERATION_MESSAGE = (
    "Your request was rejected by the safety system. If you believe this is an error, "
    "contact us at help.openai.com and include the request ID req_fake. "
    "safety_violations=[sexual]."
)


@dataclass(frozen=True, slots=True)
class RecordedImage:
    """One file part as it arrived."""

    field_name: str
    filename: str | None
    content_type: str
    data: bytes


@dataclass(slots=True)
class RecordedRequest:
    """What arrived and what became of it. ``outcome``: ``pending`` (arrived), ``waiting``
    (valid, waiting out the latency), then ``answered`` or ``client_gone``."""

    arrived_at: float  # time.time()
    arrived_at_utc: datetime
    headers: dict[str, str]
    fields: dict[str, str] = field(default_factory=dict)
    images: list[RecordedImage] = field(default_factory=list)
    status: int | None = None
    error_code: str | None = None
    outcome: str = "pending"

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")

    @property
    def client_went_away(self) -> bool:
        return self.outcome == "client_gone"


class _Invalid(Exception):
    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.answer = api_error(400, message, param=param, code=code)


def _masked(key: str) -> str:
    """OpenAI echoes a wrong key like this."""
    return f"{key[:8]}{'*' * max(len(key) - 12, 0)}{key[-4:]}" if len(key) > 12 else "***"


class FakeOpenAI(FakeProvider[RecordedRequest]):
    """State and behaviour of the fake; ``fake_openai_server`` serves it on a socket."""

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_KEY,
        models: Iterable[str] = DEFAULT_MODELS,
        script: Iterable[ScriptItem] = (),
        latency: float = 0.0,
        image: bytes | None = None,
        max_image_bytes: int = MAX_IMAGE_BYTES,
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.models = frozenset(models)
        self.script: deque[ScriptItem] = deque(script)
        self.latency = latency
        self.image = image if image is not None else small_png((40, 160, 220), (12, 8))
        self.max_image_bytes = max_image_bytes

    # --- protocol ------------------------------------------------------------------------

    def encoded_image(self, output_format: str) -> bytes:
        """``image`` in the format the request asked for (what the client should receive)."""
        with Image.open(io.BytesIO(self.image)) as picture:
            buffer = io.BytesIO()
            picture.convert("RGB").save(buffer, format=_PILLOW_FORMATS[output_format])
        return buffer.getvalue()

    def _answer(self, item: ScriptItem, fields: Mapping[str, str]) -> Answer:
        if isinstance(item, Answer):
            return item
        if isinstance(item, int):
            return API_ERRORS.get(item, api_error(item, "Unknown error.", kind="server_error"))
        if item == "moderation":
            return api_error(
                400,
                MODERATION_MESSAGE,
                kind="image_generation_user_error",
                code="moderation_blocked",
            )
        if item == "content_policy":
            return api_error(
                400,
                "Your request was rejected as a result of our safety system. Your prompt may "
                "contain text that is not allowed by our safety system.",
                code="content_policy_violation",
            )
        if item == "insufficient_quota":
            return api_error(
                429,
                "You exceeded your current quota, please check your plan and billing details.",
                kind="insufficient_quota",
                code="insufficient_quota",
            )
        if item not in ("image", "no_data"):
            raise ValueError(f"unknown script item {item!r}")
        output_format = fields.get("output_format", "png")
        data = [] if item == "no_data" else [{"b64_json": self._b64(output_format)}]
        body = {
            "created": int(time.time()),
            "background": "opaque",
            "data": data,
            "output_format": output_format,
            "quality": fields.get("quality", "medium"),
            "size": fields.get("size", "1024x1024"),
            "usage": {
                "input_tokens": 1_050,
                "input_tokens_details": {"image_tokens": 1_024, "text_tokens": 26},
                "output_tokens": 4_160,
                "total_tokens": 5_210,
            },
        }
        return Answer(body=body)

    def _b64(self, output_format: str) -> str:
        return base64.b64encode(self.encoded_image(output_format)).decode("ascii")

    def _check_key(self, headers: Mapping[str, str]) -> Answer | None:
        authorization = headers.get("authorization", "")
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return api_error(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), "
                "or as the password field (with blank username) if you're accessing the API "
                "from your browser and are prompted for a username and password. You can "
                "obtain an API key from https://platform.openai.com/account/api-keys.",
            )
        if key.strip() != self.api_key:
            return api_error(
                401,
                f"Incorrect API key provided: {_masked(key.strip())}. You can find your API "
                "key at https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )
        return None

    def _parse(self, content_type: str, raw: bytes) -> tuple[dict[str, str], list[RecordedImage]]:
        """The multipart body, validated like OpenAI validates it."""
        mime, options = multipart.parse_options_header(content_type)
        boundary = options.get("boundary")
        if mime != "multipart/form-data" or not boundary:
            raise _Invalid(
                "Invalid Content-Type header (application/json), expected multipart/form-data."
                if mime != "multipart/form-data"
                else "Could not parse multipart form: missing boundary."
            )
        fields: dict[str, str] = {}
        images: list[RecordedImage] = []
        try:
            parser = multipart.MultipartParser(
                io.BytesIO(raw), boundary, content_length=len(raw), strict=True
            )
            parts = list(parser)
        except multipart.MultipartError as exc:
            raise _Invalid(f"Could not parse multipart form: {exc}") from None
        for part in parts:
            name = part.name
            if part.filename is not None:
                if name not in ("image", "image[]"):
                    raise _Invalid(f"Unrecognized file argument supplied: {name}", param=name)
                images.append(RecordedImage(name, part.filename, part.content_type or "", part.raw))
                continue
            if name not in TEXT_FIELDS:
                raise _Invalid(f"Unrecognized request argument supplied: {name}", param=name)
            fields[name] = part.value
        self._check_fields(fields)
        self._check_images(images)
        return fields, images

    def _check_fields(self, fields: Mapping[str, str]) -> None:
        prompt = fields.get("prompt")
        if prompt is None or not prompt.strip():
            raise _Invalid(
                "Missing required parameter: 'prompt'.",
                param="prompt",
                code="missing_required_parameter",
            )
        if len(prompt) > MAX_PROMPT_CHARS:
            raise _Invalid(
                f"Invalid 'prompt': string too long. Expected a string with maximum length "
                f"{MAX_PROMPT_CHARS}, but got a string with length {len(prompt)} instead.",
                param="prompt",
                code="string_above_max_length",
            )
        model = fields.get("model", "gpt-image-1.5")
        if model not in self.models:
            supported = ", ".join(f"'{m}'" for m in sorted(self.models))
            raise _Invalid(
                f"Invalid value: '{model}'. Supported values are: {supported}.",
                param="model",
                code="invalid_value",
            )
        for name, choices in CHOICES.items():
            if name in fields and fields[name] not in choices:
                supported = ", ".join(f"'{c}'" for c in choices)
                raise _Invalid(
                    f"Invalid value: '{fields[name]}'. Supported values are: {supported}.",
                    param=name,
                    code="invalid_value",
                )
        if "output_compression" in fields:
            value = fields["output_compression"]
            if not value.isdigit() or not 0 <= int(value) <= 100:
                raise _Invalid(
                    f"Invalid 'output_compression': expected an integer 0..100, got '{value}'.",
                    param="output_compression",
                    code="invalid_value",
                )
            if fields.get("output_format", "png") == "png":
                raise _Invalid(
                    "Compression is only supported for jpeg and webp output formats.",
                    param="output_compression",
                )
        if fields.get("background") == "transparent" and fields.get("output_format") == "jpeg":
            raise _Invalid(
                "Transparent background is not supported for jpeg output format.",
                param="background",
            )

    def _check_images(self, images: list[RecordedImage]) -> None:
        if not images:
            raise _Invalid(
                "Missing required parameter: 'image'.",
                param="image",
                code="missing_required_parameter",
            )
        if len(images) > MAX_IMAGES:
            raise _Invalid(
                f"Invalid 'image': array too long. Expected an array with maximum length "
                f"{MAX_IMAGES}, but got an array with length {len(images)} instead.",
                param="image",
            )
        for number, image in enumerate(images, start=1):
            if image.content_type not in INPUT_MIMES:
                raise _Invalid(
                    f"Invalid file 'image': unsupported mimetype ('{image.content_type}'). "
                    "Supported file formats are 'image/jpeg', 'image/png', and 'image/webp'.",
                    param="image",
                    code="unsupported_file_mimetype",
                )
            if len(image.data) > self.max_image_bytes:
                raise _Invalid(
                    f"Image {number} is too large: {len(image.data)} bytes; the limit is "
                    f"{self.max_image_bytes} bytes.",
                    param="image",
                )
            try:
                with Image.open(io.BytesIO(image.data)) as picture:
                    picture.verify()
            except (UnidentifiedImageError, OSError, SyntaxError):
                raise _Invalid(
                    f"Invalid image file or mode for image {number}, please check your image file.",
                    param="image",
                    code="invalid_image_file",
                ) from None

    async def handle(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """One edits call: record, check the key, parse and validate, wait ``latency``,
        answer."""
        headers = {name.lower(): value for name, value in request.headers.items()}
        record = RecordedRequest(
            arrived_at=time.time(), arrived_at_utc=datetime.now(UTC), headers=headers
        )
        await self._record(record)
        answer = self._check_key(headers)
        if answer is None:
            try:
                raw = await request.body()
            except InternalServerException:  # Litestar's word for "client disconnected"
                return await self._gone(record)
            try:
                record.fields, record.images = self._parse(headers.get("content-type", ""), raw)
            except _Invalid as exc:
                answer = exc.answer
        if answer is None:
            item = self.script.popleft() if self.script else "image"
            answer = self._answer(item, record.fields)
            latency = self.latency if answer.latency is None else answer.latency
            if await self._client_left_during(request, record, latency):
                return await self._gone(record)
        record.status = answer.status
        if isinstance(answer.body, dict) and isinstance(answer.body.get("error"), dict):
            record.error_code = answer.body["error"].get("code")
        await self._answered(record)
        content = answer.raw if answer.raw is not None else json.dumps(answer.body).encode()
        return Response(
            content=content,
            status_code=answer.status,
            media_type="application/json",
            headers={"x-request-id": f"req_{secrets.token_hex(16)}", **answer.headers},
        )


def build_app(fake: FakeOpenAI) -> Litestar:
    """The Litestar app serving ``fake`` at ``/v1/images/edits``."""

    @post("/v1/images/edits")
    async def edits(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await fake.handle(request)

    # No framework body limit: the fake applies OpenAI's own per image.
    return Litestar(
        route_handlers=[edits], logging_config=None, debug=False, request_max_body_size=None
    )


@asynccontextmanager
async def fake_openai_server(**config: Any) -> AsyncIterator[FakeOpenAI]:
    """Serve a ``FakeOpenAI(**config)`` on a loopback port; ``fake.base_url`` points at it.

    On exit, requests still waiting out their latency are let go so the server stops at once.
    """
    fake = FakeOpenAI(**config)
    async with serving(fake, build_app(fake)) as served:
        yield served
