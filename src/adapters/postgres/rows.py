"""Explicit row ↔ domain mappers, so a column rename breaks here and nowhere else.

PostgreSQL returns ``timestamptz`` in the session time zone; everything leaving this module is
converted to UTC, as the domain promises.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from psycopg.types.json import Jsonb

from domain.job import FailureReason, Job, JobResult, JobStatus, Payload
from domain.media import MediaObject, TemplateMedia
from domain.slot import Slot

Row = Mapping[str, Any]


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def job_from_row(row: Row) -> Job:
    payload = None
    if row["payload_path"] is not None:
        payload = Payload(
            path=row["payload_path"],
            mime=row["payload_mime"],
            size_bytes=row["payload_size_bytes"],
            sha256=row["payload_sha256"],
            expires_at=utc(row["payload_expires_at"]),
        )
    result = None
    if row["result_mime_type"] is not None:  # the path may already be purged: 410, not 404
        result = JobResult(
            file_path=row["result_file_path"],
            mime=row["result_mime_type"],
            size_bytes=row["result_size_bytes"],
            checksum=row["result_checksum"],
            expires_at=utc(row["result_expires_at"]),
        )
    reason = row["failure_reason"]
    return Job(
        id=row["id"],
        slot_id=row["slot_id"],
        provider=row["provider"],
        operation=row["operation"],
        settings=row["settings"],
        expires_at=utc(row["expires_at"]),
        created_at=utc(row["created_at"]),
        updated_at=utc(row["updated_at"]),
        status=JobStatus(row["status"]),
        is_finalized=row["is_finalized"],
        failure_reason=None if reason is None else FailureReason(reason),
        finalized_at=utc_or_none(row["finalized_at"]),
        payload=payload,
        metadata=row["metadata"],
        provider_job_reference=row["provider_job_reference"],
        result=result,
        lease_owner=row["lease_owner"],
        lease_expires_at=utc_or_none(row["lease_expires_at"]),
        attempts=row["attempts"],
        result_retention_sec=row["result_retention_sec"],
        is_test=row["is_test"],
        failure_detail=row["failure_detail"],
    )


def job_params(job: Job) -> dict[str, Any]:
    """Every column of ``job`` as query parameters (names match the column names)."""
    payload, result = job.payload, job.result
    return {
        "id": job.id,
        "slot_id": job.slot_id,
        "provider": job.provider,
        "operation": job.operation,
        "settings": Jsonb(dict(job.settings)),
        "status": job.status.value,
        "is_finalized": job.is_finalized,
        "failure_reason": None if job.failure_reason is None else job.failure_reason.value,
        "finalized_at": job.finalized_at,
        "expires_at": job.expires_at,
        "payload_path": payload.path if payload else None,
        "payload_mime": payload.mime if payload else None,
        "payload_size_bytes": payload.size_bytes if payload else None,
        "payload_sha256": payload.sha256 if payload else None,
        "payload_expires_at": payload.expires_at if payload else None,
        "metadata": Jsonb(dict(job.metadata)),
        "provider_job_reference": job.provider_job_reference,
        **result_params(result),
        "lease_owner": job.lease_owner,
        "lease_expires_at": job.lease_expires_at,
        "attempts": job.attempts,
        "result_retention_sec": job.result_retention_sec,
        "is_test": job.is_test,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
    }


def result_params(result: JobResult | None) -> dict[str, Any]:
    return {
        "result_file_path": result.file_path if result else None,
        "result_mime_type": result.mime if result else None,
        "result_size_bytes": result.size_bytes if result else None,
        "result_checksum": result.checksum if result else None,
        "result_expires_at": result.expires_at if result else None,
    }


def slot_from_row(row: Row) -> Slot:
    return Slot(
        id=row["id"],
        name=row["name"],
        provider=row["provider"],
        operation=row["operation"],
        settings=row["settings"],
        is_active=row["is_active"],
        created_at=utc(row["created_at"]),
        updated_at=utc(row["updated_at"]),
    )


def media_object_from_row(row: Row) -> MediaObject:
    return MediaObject(
        id=row["id"],
        job_id=row["job_id"],
        path=row["path"],
        mime=row["mime"],
        size_bytes=row["size_bytes"],
        expires_at=utc(row["expires_at"]),
        created_at=utc(row["created_at"]),
    )


def template_from_row(row: Row) -> TemplateMedia:
    return TemplateMedia(
        id=row["id"],
        path=row["path"],
        mime=row["mime"],
        size_bytes=row["size_bytes"],
        checksum=row["checksum"],
        label=row["label"],
        uploaded_by=row["uploaded_by"],
        created_at=utc(row["created_at"]),
    )
