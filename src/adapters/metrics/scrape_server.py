"""``/metrics`` for a process without the HTTP API (``photochanger worker``).

prometheus_client's own HTTP server answers from a thread, so a scrape never waits for the
worker's event loop to be free, and that server speaks the exposition formats (OpenMetrics
when asked, gzip, ``name[]`` filters) exactly as the library does. The shared-state gauges
are refreshed on the event loop first, as the API's ``/metrics`` does, because their sources
(the database pool) belong to that loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Iterable
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from adapters.metrics.prometheus import PrometheusMetrics
from domain.errors import InvalidConfiguration

log = logging.getLogger(__name__)

# A scrape waits this long for the database and the disk, then serves what is cached.
REFRESH_TIMEOUT_SECONDS = 10.0


class _RefreshedOnTheLoop(Collector):
    """Everything ``metrics`` exposes, its shared-state gauges reloaded on ``loop`` first."""

    def __init__(
        self, metrics: PrometheusMetrics, loop: asyncio.AbstractEventLoop, timeout: float
    ) -> None:
        self._metrics = metrics
        self._loop = loop
        self._timeout = timeout

    def collect(self) -> Iterable[Metric]:
        try:
            future = asyncio.run_coroutine_threadsafe(self._metrics.refresh(), self._loop)
        except RuntimeError:  # the loop is closing: serve the cached values
            pass
        else:
            try:
                future.result(timeout=self._timeout)
            except TimeoutError:
                future.cancel()
                log.warning("metrics: shared-state gauges not refreshed within %gs", self._timeout)
            except Exception:
                log.exception("metrics: shared-state gauges not refreshed")
        return self._metrics.scrape_registry.collect()


@contextlib.asynccontextmanager
async def metrics_http_server(
    metrics: PrometheusMetrics,
    host: str,
    port: int,
    *,
    refresh_timeout: float = REFRESH_TIMEOUT_SECONDS,
) -> AsyncIterator[int]:
    """Serve ``metrics`` on ``host:port`` (any path, ``/metrics`` by convention) while the
    block runs; yields the bound port. A port that cannot be bound is refused by name."""
    registry = CollectorRegistry(support_collectors_without_names=True)  # name[] filters too
    registry.register(_RefreshedOnTheLoop(metrics, asyncio.get_running_loop(), refresh_timeout))
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InvalidConfiguration(f"cannot serve metrics on {host}:{port}: {reason}") from None
    try:
        yield int(server.server_port)
    finally:
        # In a thread: a scrape in progress may be waiting for this loop to refresh.
        await asyncio.to_thread(_stop, server, thread)


def _stop(server: WSGIServer, thread: threading.Thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join()
