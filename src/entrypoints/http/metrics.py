"""``GET /metrics`` and the ingest request metrics (SPEC §11).

Ingests are counted by a middleware around the ingest routes, so every answer is counted
with the status the booth really got, errors included: the route's exception handlers run
inside it (Litestar puts one between a route's middleware and its handler).
"""

from __future__ import annotations

import time
from typing import Any

from litestar import Request, Response, get
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from adapters.metrics.prometheus import PrometheusMetrics

# The booth's route and its alias for booths set up for the older implementation.
INGEST_PATHS = frozenset({"/ingest/{slot_id}", "/api/ingest/{slot_id}"})


class IngestMetricsMiddleware(ASGIMiddleware):
    """Counts each ingest by slot and status and times it from the request's arrival to the
    last byte of its answer. Other routes pass straight through."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, metrics: PrometheusMetrics) -> None:
        self._metrics = metrics

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope.get("path_template") not in INGEST_PATHS:
            await next_app(scope, receive, send)
            return
        started = time.perf_counter()
        slot_id = scope.get("path_params", {}).get("slot_id")
        status: int | None = None
        recorded = False

        def record() -> None:
            nonlocal recorded
            if not recorded:
                recorded = True
                self._record(slot_id, status, started)

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            try:
                await send(message)
            finally:
                if message["type"] == "http.response.body" and not message.get("more_body"):
                    record()

        try:
            await next_app(scope, receive, counting_send)
        finally:
            record()  # no answer went out (the server answers 500 itself) or it broke off

    def _record(self, slot_id: Any, status: int | None, started: float) -> None:
        slot = slot_id if isinstance(slot_id, str) else None
        self._metrics.ingest_request(slot, status or 500, time.perf_counter() - started)


def build_metrics_handler(metrics: PrometheusMetrics) -> Any:
    """The scrape endpoint; no authentication (turn it off with PHOTOCHANGER_METRICS=off)."""

    @get(
        "/metrics",
        tags=["health"],
        summary="Prometheus metrics",
        description="Prometheus text exposition (OpenMetrics when the scraper asks for it).",
        media_type="text/plain",
    )
    async def scrape(request: Request[Any, Any, Any]) -> Response[bytes]:
        body, content_type = await metrics.exposition(request.headers.get("accept", ""))
        # The exposition's content type already names its charset; given as a header, it is
        # sent as is (``media_type`` would get a second "; charset=utf-8", which strict
        # scrapers refuse).
        return Response(body, headers={"content-type": content_type, "Cache-Control": "no-store"})

    return scrape
