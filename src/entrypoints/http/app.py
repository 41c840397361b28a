"""Litestar app factory: bridges the container into Litestar's DI and runs the lifecycle."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar, get
from litestar.di import Provide

from adapters.postgres.pool import ping
from adapters.storage.readiness import media_root_status
from application.public_downloads import GetPublicMedia, GetResult
from application.submit_ingest import SubmitIngest
from domain.errors import ServiceUnavailable
from entrypoints.container import Container
from entrypoints.http.admin.routes import admin_app_parts
from entrypoints.http.api_docs import openapi_config
from entrypoints.http.console.pages import console_parts
from entrypoints.http.errors import EXCEPTION_HANDLERS
from entrypoints.http.ingest import build_ingest_handlers
from entrypoints.http.metrics import IngestMetricsMiddleware, build_metrics_handler
from entrypoints.http.public import PublicController
from entrypoints.http.request_context import RequestContextMiddleware
from entrypoints.http.schemas import HealthStatus
from entrypoints.runtime import Roles, running


def create_app(container: Container, roles: Roles) -> Litestar:
    """``roles`` says which background loops run inside the API process (default: all)."""
    settings = container.settings()

    async def provide_submit_ingest() -> SubmitIngest:
        return container.submit_ingest()

    async def provide_get_result() -> GetResult:
        return container.get_result()

    async def provide_get_public_media() -> GetPublicMedia:
        return container.get_public_media()

    @get("/healthz", tags=["health"], summary="The process is up")
    async def healthz() -> HealthStatus:
        return HealthStatus(status="ok", pid=os.getpid())

    @get("/readyz", tags=["health"], summary="The database answers and MEDIA_ROOT takes writes")
    async def readyz() -> HealthStatus:
        checks = {
            "database": "ok" if await ping(container.pool()) else "not reachable",
            "media_root": await media_root_status(
                settings.media_path, min_free_bytes=settings.media_min_free_bytes
            ),
        }
        if any(state != "ok" for state in checks.values()):
            raise ServiceUnavailable("the service is not ready", checks)
        return HealthStatus(status="ready")

    @contextlib.asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with running(container, dataclasses.replace(roles, ingests=True)):
            yield

    handlers: list[Any] = [
        *build_ingest_handlers(settings),  # /ingest/{slot_id} and its /api/ingest alias
        PublicController,
        healthz,
        readyz,
    ]
    middleware: list[Any] = []
    admin = admin_app_parts(container)  # operator API: session auth, CSRF, /api/ controllers
    handlers.extend(admin.route_handlers)
    middleware.extend(admin.middleware)
    console = console_parts(settings.public_base_url)  # /admin pages, their static files
    handlers.extend(console.route_handlers)
    if settings.metrics == "on":
        handlers.append(build_metrics_handler(container.metrics()))
        middleware.append(IngestMetricsMiddleware(container.metrics()))
    app = Litestar(
        route_handlers=handlers,
        dependencies={
            "submit_ingest": Provide(provide_submit_ingest),
            "get_result": Provide(provide_get_result),
            "get_public_media": Provide(provide_get_public_media),
        },
        exception_handlers={**EXCEPTION_HANDLERS, **console.exception_handlers},
        template_config=console.template_config,
        logging_config=None,  # entrypoints.logging_setup owns logging: one format
        middleware=middleware,
        on_app_init=list(admin.on_app_init),
        lifespan=[lifespan],
        openapi_config=openapi_config(title="PhotoChanger", version="0.1.0"),  # works offline
    )
    # Outside routing and error handling (as Litestar's own OpenTelemetry plugin wraps it), so
    # every request, a 404 for an unknown path too, gets a request id in its log lines.
    app.asgi_handler = RequestContextMiddleware(app.asgi_handler)
    return app
