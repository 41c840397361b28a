"""``POST /api/login``, ``POST /api/logout``, ``GET /api/me``: the operator's session."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from application.administrators import Authenticate, Credentials
from entrypoints.http.admin.auth import Sessions
from entrypoints.http.admin.csrf import expired_csrf_cookie, fresh_csrf_cookie
from entrypoints.http.admin.guards import any_operator, current_operator
from entrypoints.http.admin.responses import error_responses
from entrypoints.http.admin.schemas import LoginRequest, LoginResponse, OperatorResponse


@post(
    "/api/login",
    status_code=200,
    tags=["session"],
    summary="Log in: a bearer token, also set as the session cookie",
    description=(
        "Answers the token for `Authorization: Bearer …` and sets it as an HttpOnly "
        "cookie, plus the CSRF cookie the console echoes in `X-CSRF-Token`. Wrong "
        "credentials `401 invalid_credentials`; repeated failures per client or per "
        "username `429 rate_limited` with `Retry-After`."
    ),
    responses=error_responses(400, 401, 429),
)
async def login(
    data: JSONBody[LoginRequest],
    request: Request[Any, Any, Any],
    authenticate: NamedDependency[Authenticate],
    sessions: NamedDependency[Sessions],
) -> Response[LoginResponse]:
    client = request.client.host if request.client else "unknown"
    administrator = await authenticate(
        Credentials(username=data.username, password=data.password, client=client)
    )
    assert administrator.last_login_at is not None  # set by a successful login
    token, expires_at = await sessions.issue(administrator, administrator.last_login_at)
    body = LoginResponse(access_token=token, expires_at=expires_at, role=administrator.role.value)
    secure = sessions.secure_cookies
    csrf = await fresh_csrf_cookie(sessions.signing_secret, secure=secure)
    return Response(body, cookies=[sessions.session_cookie(token), csrf])


class SessionController(Controller):
    path = "/api"
    tags = ["session"]

    @post(
        "/logout",
        status_code=204,
        guards=[any_operator],
        summary="Log out: clears the session and CSRF cookies",
        responses=error_responses(401, 403),
    )
    async def logout(self, sessions: NamedDependency[Sessions]) -> Response[None]:
        secure = sessions.secure_cookies
        return Response(
            None,
            status_code=204,
            cookies=[sessions.expired_session_cookie(), expired_csrf_cookie(secure=secure)],
        )

    @get(
        "/me",
        guards=[any_operator],
        summary="Who is logged in, and with which role",
        responses=error_responses(401),
    )
    async def me(self, request: Request[Any, Any, Any]) -> OperatorResponse:
        operator = current_operator(request)
        return OperatorResponse(username=operator.username, role=operator.role.value)
