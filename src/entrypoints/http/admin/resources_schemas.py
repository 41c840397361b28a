"""msgspec shapes of the operator's resources (slots, jobs, templates, settings, stats, audit,
providers): the JSON contract of SPEC §10 and issue 8. Request bodies refuse unknown fields."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from application.provider_catalogue import SettingKind

# --- slots ----------------------------------------------------------------------------------


class OutcomeCountsOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    succeeded: int
    timeout: int
    provider_error: int
    cancelled: int
    storage_error: int


class SlotOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    name: str
    provider: str
    operation: str
    settings: dict[str, Any]
    is_active: bool
    updated_at: datetime  # send it back with PUT (optimistic locking)
    ingest_url: str
    today: OutcomeCountsOut  # jobs created today (UTC), test runs not counted


class SlotList(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    items: list[SlotOut]


class RecentResultOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    job_id: UUID
    finished_at: datetime
    result_url: str
    expires_at: datetime


class SlotDetailOut(SlotOut, frozen=True, kw_only=True, forbid_unknown_fields=True):
    recent_results: list[RecentResultOut]  # up to 12, newest first, still downloadable


class SlotUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``PUT /api/slots/{id}``: the whole slot as the operator wants it."""

    name: str
    provider: str
    operation: str
    settings: dict[str, Any]
    is_active: bool
    updated_at: datetime  # as last read; a newer stored value answers 409 conflict


# --- jobs -----------------------------------------------------------------------------------

JobStateName = Literal[
    "pending", "processing", "succeeded", "timeout", "provider_error", "cancelled", "storage_error"
]


class JobOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: UUID
    slot_id: str
    provider: str
    operation: str
    state: JobStateName
    is_test: bool
    created_at: datetime
    expires_at: datetime
    finalized_at: datetime | None
    failure_reason: str | None
    failure_detail: str | None  # the provider's own message, short
    attempts: int
    result_url: str | None
    result_expires_at: datetime | None


class DeadlineOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    expires_at: datetime
    remaining_ms: int  # negative once past
    is_expired: bool


class JobDetailOut(JobOut, frozen=True, kw_only=True, forbid_unknown_fields=True):
    settings: dict[str, Any]
    metadata: dict[str, str]
    provider_job_reference: str | None
    deadline: DeadlineOut


class JobPageOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    items: list[JobOut]
    next: str | None  # pass as ?before= for the next (older) page


# --- templates ------------------------------------------------------------------------------


class TemplateOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: UUID
    label: str
    mime: str
    size_bytes: int
    checksum: str
    uploaded_by: str
    created_at: datetime
    used_by: list[str]  # slots whose settings name it
    used_by_active: list[str]  # active ones: DELETE is refused while this is not empty
    image_url: str


class TemplateList(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    items: list[TemplateOut]


# --- settings -------------------------------------------------------------------------------


class SettingChangeOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    key: str
    updated_at: datetime
    updated_by: str


class SettingsOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    sync_timeout_sec: float
    sync_timeout_min_sec: float
    sync_timeout_max_sec: float
    public_link_ttl_sec: float
    ingest_ttl_sec: float
    job_deadline_sec: float
    result_retention_sec: float
    ingest_password_set: bool
    providers_configured: dict[str, bool]  # whether each provider's API key is set
    changes: list[SettingChangeOut]


class SettingsPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    sync_timeout_sec: float | None = None
    result_retention_sec: float | None = None


class IngestPasswordChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Give ``password``, or leave it out to have one generated (and shown once)."""

    password: Annotated[str, msgspec.Meta(max_length=256)] | None = None


class IngestPasswordChanged(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    generated_password: str | None  # only when generated; never shown again


# --- stats ----------------------------------------------------------------------------------


class TallyOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    ingests: int
    succeeded: int
    timeout: int
    provider_error: int
    cancelled: int
    storage_error: int
    p50_ms: float | None  # processing time (created → finalized) of succeeded jobs
    p95_ms: float | None
    no_image_answers: int  # provider answers without an image (Gemini NO_IMAGE), retries too
    no_image_jobs: int  # jobs with at least one such answer


class BucketOut(TallyOut, frozen=True, kw_only=True, forbid_unknown_fields=True):
    start: datetime


class StatsOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    window: Literal["1h", "24h", "7d"]
    since: datetime
    until: datetime
    bucket_seconds: int
    total: TallyOut
    slots: dict[str, TallyOut]
    providers: dict[str, TallyOut]
    series: list[BucketOut]  # every bucket of the window, oldest first


# --- audit ----------------------------------------------------------------------------------


class AuditEntryOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPageOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    items: list[AuditEntryOut]
    next: int | None  # pass as ?before= for the next (older) page


# --- providers ------------------------------------------------------------------------------


class SubSettingOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    description: str
    required: bool
    kind: SettingKind  # text, prompt, integer, number, boolean, template, enum or object
    choices: list[str]  # the allowed values of an enum; empty otherwise
    minimum: float | None  # inclusive range of an integer or number
    maximum: float | None
    default: Any  # what the service uses when left out; null: the provider's own default


class SettingOut(SubSettingOut, frozen=True, kw_only=True, forbid_unknown_fields=True):
    fields: list[SubSettingOut]  # an object setting's own fields


class OperationOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    settings: list[SettingOut]


class ProviderOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    configured: bool
    missing: str | None
    accepted_mimes: list[str]
    max_bytes: int
    needs_public_urls: bool
    operations: list[OperationOut]


class ProviderCatalogueOut(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    items: list[ProviderOut]
