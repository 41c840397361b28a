"""A fake Gemini ``generateContent`` server for the benchmark, run in its own process.

It speaks the protocol the way ``tests/integration/fake_gemini.py`` does (key header, model in
the path, the request body's shape, strict base64 of every inline image, Google's RPC error
bodies, camelCase answers) but is built to cost little CPU on a machine it shares with the
service it measures: ``msgspec`` parses the request, the answer (a realistic ~1 MB PNG as
base64) is encoded once and only a fresh ``responseId`` is spliced in per call. Its own CPU is
measured and reported apart from the service's.

Run: ``python -m photochanger_bench.fake_gemini --port P --image result.png [--latency S]``.
Bench controls (not Gemini's): ``GET /_bench/stats`` (counters, JSON), ``PUT /_bench/latency``
with ``{"seconds": S}``, ``POST /_bench/reset`` (zero the counters).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec

API_KEY = "bench-fake-gemini-key"
MODELS = frozenset({"gemini-2.5-flash-image", "gemini-2.5-flash-image-preview"})
INPUT_MIMES = frozenset({"image/png", "image/jpeg", "image/webp", "image/heic", "image/heif"})
MAX_REQUEST_BYTES = 20 * 1024 * 1024  # Google's cap on one inline request
_PATH_PREFIX = "/v1beta/models/"
_RESPONSE_ID = b"@@RESPONSE_ID@@"

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Invalid(Exception):
    """The request is not one Google would accept; the message is Google's kind of wording."""


def rpc_error(code: int, status: str, message: str, reason: str | None = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if reason:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason}]
    return msgspec.json.encode({"error": error})


def answer_template(image: bytes, mime: str) -> bytes:
    """A successful answer (camelCase, as the real API sends) with a placeholder id."""
    body = {
        "candidates": [
            {
                "content": {
                    "parts": [
                        {"text": "Here is the edited photo."},
                        {
                            "inlineData": {
                                "mimeType": mime,
                                "data": base64.b64encode(image).decode(),
                            }
                        },
                    ],
                    "role": "model",
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 1290,
            "candidatesTokenCount": 1290,
            "totalTokenCount": 2580,
        },
        "modelVersion": "gemini-2.5-flash-image",
        "responseId": _RESPONSE_ID.decode(),
    }
    return msgspec.json.encode(body)


def check_body(raw: bytes) -> int:
    """Validate a ``generateContent`` body like Google does; return the number of images."""
    if len(raw) > MAX_REQUEST_BYTES:
        raise Invalid(f"Request payload size exceeds the limit: {MAX_REQUEST_BYTES} bytes.")
    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise Invalid("Invalid JSON payload received. Unexpected token.") from None
    if not isinstance(body, dict) or not isinstance(body.get("contents"), list):
        raise Invalid("* GenerateContentRequest.contents: contents is not specified")
    images = 0
    for content in body["contents"]:
        parts = content.get("parts") if isinstance(content, dict) else None
        if not isinstance(parts, list) or not parts:
            raise Invalid("* GenerateContentRequest.contents.parts: must not be empty.")
        for part in parts:
            if not isinstance(part, dict):
                raise Invalid("Invalid value at 'contents.parts': expected an object")
            inline = part.get("inline_data", part.get("inlineData"))
            if inline is None:
                if not isinstance(part.get("text"), str):
                    raise Invalid("required oneof field 'data' must have one initialized field")
                continue
            mime = inline.get("mime_type", inline.get("mimeType"))
            if mime not in INPUT_MIMES:
                raise Invalid(f"Unsupported MIME type: {mime}")
            try:
                binascii.a2b_base64(inline.get("data") or "!", strict_mode=True)
            except (binascii.Error, TypeError):
                raise Invalid("Invalid value at 'inline_data.data' (TYPE_BYTES)") from None
            images += 1
    config = body.get("generationConfig", body.get("generation_config")) or {}
    modalities = config.get("responseModalities", config.get("response_modalities")) or []
    if "IMAGE" not in modalities:
        raise Invalid("generation_config.response_modalities: IMAGE is needed")
    if images == 0:
        raise Invalid("an image model needs an image to edit")
    return images


class FakeGemini:
    """The ASGI app: Gemini's one method plus the bench's control endpoints."""

    def __init__(self, image: bytes, mime: str, latency: float) -> None:
        self.template = answer_template(image, mime)
        self.latency = latency
        self.stats: dict[str, Any] = {}
        self.reset()

    def reset(self) -> None:
        self.stats = {
            "requests": 0,
            "answered": 0,
            "refused": 0,
            "client_gone": 0,
            "in_flight": self.stats.get("in_flight", 0),
            "max_in_flight": 0,
            "last_refusal": None,
        }

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if path.startswith(_PATH_PREFIX) and method == "POST":
            await self.generate(scope, receive, send)
        elif path == "/_bench/stats" and method == "GET":
            await _reply(send, 200, msgspec.json.encode(self.stats))
        elif path == "/_bench/latency" and method == "PUT":
            self.latency = float(msgspec.json.decode(await _body(receive))["seconds"])
            await _reply(send, 200, msgspec.json.encode({"seconds": self.latency}))
        elif path == "/_bench/reset" and method == "POST":
            self.reset()
            await _reply(send, 200, b"{}")
        else:
            await _reply(send, 404, rpc_error(404, "NOT_FOUND", "Not found."))

    async def generate(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        stats = self.stats
        stats["requests"] += 1
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        model, _, method = scope["path"][len(_PATH_PREFIX) :].partition(":")
        key = headers.get("x-goog-api-key")
        refusal: bytes | None = None
        if not key:
            refusal = rpc_error(
                403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers"
            )
        elif key != API_KEY:
            refusal = rpc_error(400, "INVALID_ARGUMENT", "API key not valid.", "API_KEY_INVALID")
        elif method != "generateContent" or model not in MODELS:
            refusal = rpc_error(404, "NOT_FOUND", f"models/{model} is not found")
        else:
            try:
                check_body(await _body(receive))
            except Invalid as exc:
                refusal = rpc_error(400, "INVALID_ARGUMENT", str(exc))
            except ConnectionResetError:  # the service cancelled the call mid-upload
                stats["client_gone"] += 1
                return
        if refusal is not None:
            stats["refused"] += 1
            stats["last_refusal"] = refusal.decode()[:300]
            await _reply(send, msgspec.json.decode(refusal)["error"]["code"], refusal)
            return
        stats["in_flight"] += 1
        stats["max_in_flight"] = max(stats["max_in_flight"], stats["in_flight"])
        try:
            if self.latency > 0 and await _client_left_within(receive, self.latency):
                stats["client_gone"] += 1
                return
            answer = self.template.replace(_RESPONSE_ID, secrets.token_urlsafe(16).encode(), 1)
            await _reply(send, 200, answer)
            stats["answered"] += 1
        finally:
            stats["in_flight"] -= 1


async def _body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionResetError("client went away while sending")
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _client_left_within(receive: Receive, seconds: float) -> bool:
    """Sleep ``seconds``, unless the client hangs up first (then True): a cancelled call."""
    try:
        async with asyncio.timeout(seconds):
            while (await receive())["type"] != "http.disconnect":
                pass
            return True
    except TimeoutError:
        return False


async def _reply(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=UTF-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="fake Gemini generateContent for the bench")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--image", type=Path, required=True, help="image the model 'returns'")
    parser.add_argument("--mime", default="image/png")
    parser.add_argument("--latency", type=float, default=2.0, help="seconds per answer")
    args = parser.parse_args()
    app = FakeGemini(args.image.read_bytes(), args.mime, args.latency)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        backlog=4096,
        timeout_keep_alive=75,
    )


if __name__ == "__main__":
    main()
