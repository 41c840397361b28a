"""A request id for every HTTP request: bound for the log lines it causes, echoed back."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

from litestar.enums import ScopeType

from application import log_context

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-request-id"
# A caller's id is kept when it is short and plain (visible ASCII, no spaces): a proxy's or the
# booth's own id then finds this service's lines. Anything else is replaced, never echoed.
_ACCEPTABLE = re.compile(r"[\x21-\x7e]{1,64}")


def request_id_from(scope: Scope) -> str:
    """The incoming ``X-Request-Id`` if it is acceptable, else a new random one."""
    for name, value in scope.get("headers", ()):
        if name.lower() == HEADER.encode():
            text = value.decode("latin-1")
            if _ACCEPTABLE.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Wraps the whole app (routing and error handling included, so a 404 for an unknown
    path has an id too); uvicorn writes its access line while the response starts, inside
    this scope, so that line carries the id as well."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self._app(scope, receive, send)
            return
        request_id = request_id_from(scope)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", ())
                    if name.lower() != HEADER.encode()
                ]
                headers.append((HEADER.encode(), request_id.encode()))
                message["headers"] = headers
            await send(message)

        with log_context.bound(request_id=request_id):
            await self._app(scope, receive, send_with_id)
