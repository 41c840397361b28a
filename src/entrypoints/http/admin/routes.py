"""Everything the app factory needs for the operator API, in one place.

To add a resource: write its ``Controller`` (each route with ``guards=[admin_only]`` or
``guards=[any_operator]``), append it to ``ADMIN_CONTROLLERS``, and name each use case its
handlers take in ``ADMIN_USE_CASES`` (the container attribute, which is also the handler's
parameter name, typed ``NamedDependency[TheUseCase]``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from litestar import Router
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.types import ControllerRouterHandler

from entrypoints.container import Container
from entrypoints.http.admin.auth import (
    OPERATOR_SECURITY,
    OperatorAuth,
    Sessions,
    build_operator_auth,
)
from entrypoints.http.admin.csrf import SessionCsrfMiddleware
from entrypoints.http.admin.resources import RESOURCE_CONTROLLERS, RESOURCE_USE_CASES
from entrypoints.http.admin.session import SessionController, login
from entrypoints.http.admin.settings_preview import SettingsPreviewController
from entrypoints.http.admin.status import StatusController

# Controllers under /api/ that need an operator session (the OpenAPI schema says so).
ADMIN_CONTROLLERS: list[ControllerRouterHandler] = [
    SessionController,
    *RESOURCE_CONTROLLERS,
    StatusController,
    SettingsPreviewController,
]

# Container providers handed to the admin handlers, by name.
ADMIN_USE_CASES: list[str] = [
    "authenticate",
    *RESOURCE_USE_CASES,
    "get_service_status",
    "preview_deadlines",
]


@dataclass(frozen=True, slots=True)
class AdminAppParts:
    on_app_init: Sequence[Callable[[AppConfig], AppConfig]]
    middleware: Sequence[DefineMiddleware]
    route_handlers: Sequence[ControllerRouterHandler]
    operator_auth: OperatorAuth


def _provider(container: Container, name: str) -> Provide:
    provider = getattr(container, name)

    async def provide() -> Any:
        return provider()

    return Provide(provide)


def admin_app_parts(container: Container) -> AdminAppParts:
    """Session auth (JWT middleware + OpenAPI schemes), CSRF for cookie sessions, and the
    login plus the secured controllers with their use cases as dependencies."""
    settings = container.settings()
    auth = build_operator_auth(
        session_secret=container.session_secret(),
        administrators=container.administrators(),
        token_ttl_seconds=settings.admin_token_ttl_sec,
        secure_cookie=settings.admin_cookie_secure,
    )

    sessions = Sessions(auth)

    async def provide_sessions() -> Sessions:
        return sessions

    dependencies = {name: _provider(container, name) for name in ADMIN_USE_CASES}
    dependencies["sessions"] = Provide(provide_sessions)
    api = Router(
        path="/",
        route_handlers=[
            login,
            Router(path="/", route_handlers=ADMIN_CONTROLLERS, security=OPERATOR_SECURITY),
        ],
        dependencies=dependencies,
    )
    csrf = DefineMiddleware(
        SessionCsrfMiddleware,
        session_secret=container.session_secret(),
        secure_cookie=settings.admin_cookie_secure,
    )
    return AdminAppParts(
        on_app_init=[auth.on_app_init],
        middleware=[csrf],
        route_handlers=[api],
        operator_auth=auth,
    )
