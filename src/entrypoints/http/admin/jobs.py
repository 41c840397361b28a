"""``/api/jobs``: what is waiting now, what happened, and cancelling a job."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from application.cancel_job import CancelJob, CancelJobCommand
from application.job_queries import DEFAULT_PAGE_SIZE, GetJob, JobDetail, JobListQuery, ListJobs
from application.query_ports import job_state
from application.slot_queries import ServiceAddress
from domain.job import Job
from entrypoints.config import Settings
from entrypoints.http.admin.guards import admin_only, any_operator
from entrypoints.http.admin.resource_support import actor, address
from entrypoints.http.admin.resources_schemas import DeadlineOut, JobDetailOut, JobOut, JobPageOut
from entrypoints.http.admin.responses import error_responses


def _job_fields(job: Job, where: ServiceAddress) -> dict[str, Any]:
    result = job.result
    downloadable = result is not None and result.file_path is not None
    return {
        "id": job.id,
        "slot_id": job.slot_id,
        "provider": job.provider,
        "operation": job.operation,
        "state": job_state(job).value,
        "is_test": job.is_test,
        "created_at": job.created_at,
        "expires_at": job.expires_at,
        "finalized_at": job.finalized_at,
        "failure_reason": None if job.failure_reason is None else job.failure_reason.value,
        "failure_detail": job.failure_detail,
        "attempts": job.attempts,
        "result_url": where.result_url(job.id) if downloadable else None,
        "result_expires_at": None if result is None else result.expires_at,
    }


def job_detail_out(detail: JobDetail, where: ServiceAddress) -> JobDetailOut:
    job, deadline = detail.job, detail.deadline
    return JobDetailOut(
        **_job_fields(job, where),
        settings=dict(job.settings),
        metadata=dict(job.metadata),
        provider_job_reference=job.provider_job_reference,
        deadline=DeadlineOut(
            expires_at=deadline.expires_at,
            remaining_ms=deadline.remaining_ms,
            is_expired=deadline.is_expired,
        ),
    )


class JobsController(Controller):
    path = "/api/jobs"
    tags = ["jobs"]

    @get(
        "/",
        guards=[any_operator],
        summary="Jobs, newest first, a page at a time",
        description=(
            "Filters: `slot_id`, `state` (pending, processing, succeeded, timeout, "
            "provider_error, cancelled, storage_error), `created_from` / `created_until` "
            "(ISO 8601). `next` is the cursor of the following page (`before=`); null on the "
            "last page."
        ),
        responses=error_responses(400, 401),
    )
    async def list_jobs(
        self,
        request: Request[Any, Any, Any],
        list_jobs: NamedDependency[ListJobs],
        settings: NamedDependency[Settings],
        slot_id: FromQuery[str | None] = None,
        state_name: Annotated[str | None, QueryParameter(name="state")] = None,  # reserved name
        created_from: FromQuery[datetime | None] = None,
        created_until: FromQuery[datetime | None] = None,
        limit: Annotated[int, QueryParameter(description="1..200")] = DEFAULT_PAGE_SIZE,
        before: FromQuery[str | None] = None,
    ) -> JobPageOut:
        page = await list_jobs(
            JobListQuery(
                slot_id=slot_id,
                state=state_name,
                created_from=created_from,
                created_until=created_until,
                limit=limit,
                before=before,
            )
        )
        where = address(request, settings)
        return JobPageOut(
            items=[JobOut(**_job_fields(job, where)) for job in page.items], next=page.next
        )

    @get(
        "/{job_id:uuid}",
        guards=[any_operator],
        summary="One job, with where it stands against its deadline",
        responses=error_responses(401, 404),
    )
    async def get_job(
        self,
        job_id: FromPath[UUID],
        request: Request[Any, Any, Any],
        get_job: NamedDependency[GetJob],
        settings: NamedDependency[Settings],
    ) -> JobDetailOut:
        return job_detail_out(await get_job(job_id), address(request, settings))

    @post(
        "/{job_id:uuid}/cancel",
        guards=[admin_only],
        status_code=200,
        summary="Cancel a job that is not final yet",
        description=(
            "Finalizes the job `cancelled`; `409 conflict` if it is already final. The booth "
            "waiting on it is answered at once with `409` and code `cancelled`, and the "
            "worker hangs up on the provider."
        ),
        responses=error_responses(401, 403, 404, 409),
    )
    async def cancel_job(
        self,
        job_id: FromPath[UUID],
        request: Request[Any, Any, Any],
        cancel_job: NamedDependency[CancelJob],
        get_job: NamedDependency[GetJob],
        settings: NamedDependency[Settings],
    ) -> JobDetailOut:
        cancelled = await cancel_job(CancelJobCommand(job_id=job_id, actor=actor(request)))
        return job_detail_out(await get_job(cancelled.id), address(request, settings))
