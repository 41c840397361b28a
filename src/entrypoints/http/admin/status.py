"""``/api/status``: the service as the dashboard shows it (database, queue, MEDIA_ROOT)."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency

from application.service_status import GetServiceStatus
from entrypoints.http.admin.guards import any_operator
from entrypoints.http.admin.responses import error_responses
from entrypoints.http.admin.status_schemas import MediaRootOut, QueueOut, StatusOut


class StatusController(Controller):
    path = "/api/status"
    tags = ["status"]

    @get(
        "/",
        guards=[any_operator],
        summary="Database, queue depth and age, MEDIA_ROOT use and free space",
        description=(
            "A report for operators, answered `200` even when the database is down "
            "(`database` then says why and `queue` is null); `/readyz` is the probe for "
            "balancers. Queue figures are those of the Prometheus gauges; readings are reused "
            "for 2 s, the walk of MEDIA_ROOT for 30 s (`used_measured_at`)."
        ),
        responses=error_responses(401),
    )
    async def status(self, get_service_status: NamedDependency[GetServiceStatus]) -> StatusOut:
        status = await get_service_status()
        queue = status.queue
        return StatusOut(
            checked_at=status.checked_at,
            database=status.database,
            queue=None
            if queue is None
            else QueueOut(
                pending=queue.pending,
                processing=queue.processing,
                oldest_pending_age_sec=status.oldest_pending_age_sec,
            ),
            media_root=MediaRootOut(
                state=status.disk.condition,
                used_bytes=status.media_used_bytes,
                used_measured_at=status.media_used_measured_at,
                free_bytes=status.disk.free_bytes,
            ),
        )
