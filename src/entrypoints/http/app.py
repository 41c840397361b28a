"""Litestar app factory: bridges the container into Litestar's DI and runs the lifecycle."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar, get
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig

from adapters.postgres.pool import ping
from application.public_downloads import GetPublicMedia, GetResult
from application.submit_ingest import SubmitIngest
from domain.errors import ServiceUnavailable
from entrypoints.container import Container
from entrypoints.http.errors import EXCEPTION_HANDLERS
from entrypoints.http.ingest import build_ingest_handler
from entrypoints.http.public import PublicController
from entrypoints.http.schemas import HealthStatus
from entrypoints.runtime import Roles, running

FORM_OVERHEAD_BYTES = 1024 * 1024  # room for the other form fields and multipart framing


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
        return HealthStatus(status="ok")

    @get("/readyz", tags=["health"], summary="The database answers")
    async def readyz() -> HealthStatus:
        if not await ping(container.pool()):
            raise ServiceUnavailable("the database is not reachable")
        return HealthStatus(status="ready")

    @contextlib.asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with running(container, roles):
            yield

    handlers: list[Any] = [
        build_ingest_handler(settings.max_upload_bytes + FORM_OVERHEAD_BYTES),
        PublicController,
        healthz,
        readyz,
    ]
    return Litestar(
        route_handlers=handlers,
        dependencies={
            "submit_ingest": Provide(provide_submit_ingest),
            "get_result": Provide(provide_get_result),
            "get_public_media": Provide(provide_get_public_media),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(title="PhotoChanger", version="0.1.0", path="/schema"),
    )
