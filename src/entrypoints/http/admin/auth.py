"""Operator sessions with Litestar's own JWT security (``litestar.security.jwt``).

Login answers a signed, expiring token that works both as ``Authorization: Bearer …``
(scripts) and as an HttpOnly ``SameSite=Strict`` cookie (the console). The signing key is
generated once and kept in the database (``SessionSecret``), so every process and restart
accepts the same tokens; it is read on first use, hence the small middleware subclass. The
user behind a token is re-read on every request: a removed account or a changed password
(the token carries a fingerprint of the hash it was issued under) ends its sessions at once.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from litestar.config.app import AppConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.middleware import DefineMiddleware
from litestar.middleware.authentication import AuthenticationResult
from litestar.openapi.spec import Components, SecurityRequirement, SecurityScheme
from litestar.security.jwt import JWTCookieAuth, JWTCookieAuthenticationMiddleware, Token

from application.operator_ports import AdministratorRepository
from application.session_secret import SessionSecret
from domain.administrator import Administrator, Role

SESSION_COOKIE = "photochanger_session"
BEARER_SCHEME = "BearerToken"
COOKIE_SCHEME = "SessionCookie"
ALGORITHM = "HS256"

# Paths that never need an operator session: the booth, public downloads, probes, metrics,
# the schema, and the login itself. Everything else (all of /api/) does.
PUBLIC_PATHS: list[str] = [
    r"^/ingest/",
    r"^/api/ingest/",
    r"^/api/login$",
    r"^/public/",
    r"^/healthz$",
    r"^/readyz$",
    r"^/metrics$",
    r"^/schema(/|$)",
]

# Either scheme is enough (OpenAPI: alternatives are separate requirement objects).
OPERATOR_SECURITY: list[SecurityRequirement] = [{BEARER_SCHEME: []}, {COOKIE_SCHEME: []}]


@dataclass(frozen=True, slots=True)
class Operator:
    """The administrator behind the current request (``request.user``)."""

    username: str
    role: Role


def password_fingerprint(administrator: Administrator) -> str:
    """Short digest of the stored hash: a token issued before a password change stops matching.
    Reveals nothing usable (a digest of a salted scrypt hash)."""
    return hashlib.sha256(administrator.password_hash.encode()).hexdigest()[:16]


def csrf_secret(session_secret: str) -> str:
    """The CSRF tokens' HMAC key, derived so the session key itself is used for one thing."""
    return hmac.new(session_secret.encode(), b"photochanger-csrf", hashlib.sha256).hexdigest()


class OperatorAuthMiddleware(JWTCookieAuthenticationMiddleware):
    """Litestar's JWT cookie/header middleware with the key read from the database."""

    def __init__(self, *args: Any, session_secret: SessionSecret, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._session_secret = session_secret

    async def authenticate_token(
        self, encoded_token: str, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        self.token_secret = await self._session_secret.get()
        return await super().authenticate_token(encoded_token, connection)


@dataclass
class OperatorAuth(JWTCookieAuth[Operator, Token]):
    """``JWTCookieAuth`` whose signing key comes from ``session_secret``; ``token_secret`` is
    unused (a placeholder) because the key is only known once the database answers."""

    session_secret: SessionSecret | None = field(default=None, repr=False)

    @property
    def middleware(self) -> DefineMiddleware:
        base = super().middleware
        return DefineMiddleware(
            OperatorAuthMiddleware, *base.args, session_secret=self.signing_secret(), **base.kwargs
        )

    @property
    def openapi_components(self) -> Components:
        return Components(
            security_schemes={
                BEARER_SCHEME: SecurityScheme(
                    type="http",
                    scheme="Bearer",
                    bearer_format="JWT",
                    description="`access_token` from POST /api/login",
                ),
                COOKIE_SCHEME: SecurityScheme(
                    type="apiKey",
                    name=self.key,
                    security_scheme_in="cookie",
                    description="session cookie set by POST /api/login (HttpOnly)",
                ),
            }
        )

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Add the middleware and the schemes; unlike the base class, no app-wide security
        requirement (the booth and public routes have none; the admin router declares it)."""
        app_config.middleware.insert(0, self.middleware)
        if app_config.openapi_config is not None:
            components = app_config.openapi_config.components
            extra = [components] if not isinstance(components, list) else components
            app_config.openapi_config.components = [self.openapi_components, *extra]
        return app_config

    def create_token(self, *args: Any, **kwargs: Any) -> str:
        """Refused: the base class would sign with the placeholder ``token_secret``."""
        raise NotImplementedError("tokens are signed with the database key: use Sessions.issue")

    def signing_secret(self) -> SessionSecret:
        assert self.session_secret is not None, "OperatorAuth needs a session_secret"
        return self.session_secret


class Sessions:
    """What the session endpoints need from the auth config: sign a token, make and clear
    the session cookie (a plain class, so Litestar can inject it into handlers)."""

    def __init__(self, auth: OperatorAuth) -> None:
        self._auth = auth

    @property
    def secure_cookies(self) -> bool:
        return bool(self._auth.secure)

    @property
    def signing_secret(self) -> SessionSecret:
        return self._auth.signing_secret()

    async def issue(self, administrator: Administrator, now: datetime) -> tuple[str, datetime]:
        """A signed token for ``administrator`` and its expiry."""
        expires_at = now + self._auth.default_token_expiration
        token = Token(
            sub=administrator.username,
            exp=expires_at,
            iat=now,
            extras={"pwd": password_fingerprint(administrator)},
        )
        secret = await self._auth.signing_secret().get()
        return token.encode(secret=secret, algorithm=self._auth.algorithm), expires_at

    def session_cookie(self, token: str) -> Cookie:
        return Cookie(
            key=self._auth.key,
            value=token,
            path=self._auth.path,
            httponly=True,
            secure=self._auth.secure,
            samesite=self._auth.samesite,
            max_age=int(self._auth.default_token_expiration.total_seconds()),
        )

    def expired_session_cookie(self) -> Cookie:
        return Cookie(
            key=self._auth.key,
            value="",
            path=self._auth.path,
            httponly=True,
            secure=self._auth.secure,
            samesite=self._auth.samesite,
            max_age=0,
        )


def build_operator_auth(
    *,
    session_secret: SessionSecret,
    administrators: AdministratorRepository,
    token_ttl_seconds: float,
    secure_cookie: bool,
    exclude: Sequence[str] = PUBLIC_PATHS,
) -> OperatorAuth:
    async def retrieve_operator(
        token: Token, _: ASGIConnection[Any, Any, Any, Any]
    ) -> Operator | None:
        administrator = await administrators.get(token.sub)
        if administrator is None or token.extras.get("pwd") != password_fingerprint(administrator):
            return None
        return Operator(username=administrator.username, role=administrator.role)

    return OperatorAuth(
        token_secret="loaded-from-the-database-on-first-use",  # noqa: S106 - placeholder
        retrieve_user_handler=retrieve_operator,
        session_secret=session_secret,
        exclude=list(exclude),
        exclude_http_methods=["OPTIONS"],
        algorithm=ALGORITHM,
        key=SESSION_COOKIE,
        samesite="strict",
        secure=secure_cookie,
        default_token_expiration=timedelta(seconds=token_ttl_seconds),
        openapi_security_scheme_name=BEARER_SCHEME,
    )
