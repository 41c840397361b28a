"""Runs the real service (Litestar under uvicorn, on a real socket) against a test database."""

from __future__ import annotations

import asyncio
import io
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from PIL import Image

from application.app_settings_admin import SettingsChanges
from application.configure_slot import SlotChanges
from entrypoints.config import Settings, load_settings
from entrypoints.container import Container
from entrypoints.http.app import create_app
from entrypoints.runtime import Roles, build_container

PASSWORD = "booth-password-1"


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    """Wait for a condition the service reaches after answering (e.g. a background task)."""
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


def jpeg_bytes(
    width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 40, 40)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def png_bytes(
    width: int = 64, height: int = 48, color: tuple[int, int, int, int] = (0, 0, 255, 255)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def test_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """Short deadlines come from narrowed timeout bounds, never from sleeping 48 s."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": str(data_dir),
        "ingest_password": PASSWORD,
        "sync_timeout_min_sec": 0.5,
        "sync_timeout_max_sec": 60,
        "worker_poll_interval_ms": 50,
        "lease_sec": 3,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return load_settings({}, **values)


@dataclass
class Service:
    base_url: str
    container: Container
    settings: Settings
    client: httpx.AsyncClient

    async def ingest(
        self,
        slot_id: str = "slot-001",
        photo: bytes | None = None,
        *,
        password: str = PASSWORD,
        filename: str = "photo.jpg",
        content_type: str = "image/jpeg",
        extra: dict[str, str] | None = None,
    ) -> httpx.Response:
        data = {"password": password, **(extra or {})}
        files = {
            "fileToUpload": (filename, photo if photo is not None else jpeg_bytes(), content_type)
        }
        return await self.client.post(f"/ingest/{slot_id}", data=data, files=files)

    async def set_sync_timeout(self, seconds: float) -> None:
        await self.container.update_settings()(
            SettingsChanges(sync_timeout_sec=seconds, actor="test")
        )

    async def configure(self, slot_id: str, **changes: Any) -> None:
        await self.container.configure_slot()(SlotChanges(slot_id=slot_id, actor="test", **changes))


@asynccontextmanager
async def serve(
    database_url: str,
    data_dir: Path,
    *,
    roles: Roles | None = None,
    public_links: bool = False,
    **overrides: Any,
) -> AsyncIterator[Service]:
    """``public_links=True`` sets ``PUBLIC_BASE_URL`` to the service's own address, so a fake
    URL-based provider downloads job inputs from it like the real one would."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP;
    # with proto 0 every answer waited ~40 ms for a delayed ACK (Nagle).
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    if public_links:
        overrides["public_base_url"] = base_url
    settings = test_settings(database_url, data_dir, **overrides)
    container = build_container(settings, database_url)
    app = create_app(container, roles or Roles(worker=True, provision_password=True))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[listener]))

    async def watch_start() -> None:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.005)

    try:
        await asyncio.wait_for(watch_start(), timeout=30)
        async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
            try:
                yield Service(
                    base_url=base_url, container=container, settings=settings, client=client
                )
            finally:
                server.should_exit = True
                await task
    finally:
        listener.close()
