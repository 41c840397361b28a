"""Serve an ASGI app (a fake provider, say) on a real loopback socket for one test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn


@asynccontextmanager
async def running_app(app: Any) -> AsyncIterator[str]:
    """Start ``app`` under uvicorn on a free port; yield its base URL; stop it on exit."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_level="warning")
    )
    task = asyncio.create_task(server.serve())

    async def started() -> None:
        while not server.started:
            if task.done():
                task.result()  # surface a startup failure instead of waiting forever
            await asyncio.sleep(0.005)

    await asyncio.wait_for(started(), timeout=30)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
