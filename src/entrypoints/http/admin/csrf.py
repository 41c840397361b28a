"""CSRF protection for state changes made with the session cookie (the console).

Litestar's ``CSRFMiddleware`` (double-submit: a signed token in a readable cookie, echoed in a
header) knows nothing about authentication, so this wrapper applies it only where a browser
could be tricked into a request: the session cookie is present and no ``Authorization``
header is (a script using a bearer token is not exposed to CSRF, and a cross-site page cannot
set that header without a CORS preflight this service never allows). Booth routes and the
login are excluded. Safe methods (GET) pass and set the CSRF cookie when it is missing; the
login answer sets it too, so the console has a token right after logging in.
"""

from __future__ import annotations

from typing import Any

from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.enums import ScopeType
from litestar.middleware.csrf import CSRFMiddleware, generate_csrf_token
from litestar.types import ASGIApp, Receive, Scope, Send

from application.session_secret import SessionSecret
from entrypoints.http.admin.auth import PUBLIC_PATHS, SESSION_COOKIE, csrf_secret

CSRF_COOKIE = "photochanger_csrf"
CSRF_HEADER = "X-CSRF-Token"


def csrf_config(secret: str, *, secure: bool) -> CSRFConfig:
    return CSRFConfig(
        secret=csrf_secret(secret),
        cookie_name=CSRF_COOKIE,
        header_name=CSRF_HEADER,
        cookie_secure=secure,
        cookie_httponly=False,  # the console's script reads it to echo it in the header
        cookie_samesite="strict",
        exclude=PUBLIC_PATHS,
    )


class SessionCsrfMiddleware:
    """Runs Litestar's CSRF middleware for cookie-authenticated requests only."""

    def __init__(self, app: ASGIApp, *, session_secret: SessionSecret, secure_cookie: bool) -> None:
        self.app = app
        self._session_secret = session_secret
        self._secure = secure_cookie
        self._csrf: CSRFMiddleware | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and _cookie_session_without_bearer(scope):
            await (await self._protected())(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _protected(self) -> CSRFMiddleware:
        if self._csrf is None:  # the key lives in the database: known on first use only
            config = csrf_config(await self._session_secret.get(), secure=self._secure)
            self._csrf = CSRFMiddleware(app=self.app, config=config)
        return self._csrf


def _cookie_session_without_bearer(scope: Scope) -> bool:
    connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope)
    return SESSION_COOKIE in connection.cookies and "authorization" not in connection.headers


async def fresh_csrf_cookie(session_secret: SessionSecret, *, secure: bool) -> Cookie:
    """A new CSRF cookie, for the login answer (same format Litestar's middleware checks)."""
    config = csrf_config(await session_secret.get(), secure=secure)
    return Cookie(
        key=config.cookie_name,
        value=generate_csrf_token(config.secret),
        path=config.cookie_path,
        secure=config.cookie_secure,
        httponly=config.cookie_httponly,
        samesite=config.cookie_samesite,
    )


def expired_csrf_cookie(*, secure: bool) -> Cookie:
    return Cookie(key=CSRF_COOKIE, value="", path="/", secure=secure, samesite="strict", max_age=0)
