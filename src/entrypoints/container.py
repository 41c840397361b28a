"""The composition root: the only module that knows which adapter implements which port."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable

from dependency_injector import containers, providers

from adapters.clock import SystemClock
from adapters.metrics.prometheus import PrometheusMetrics
from adapters.metrics.shared_state import SharedStateGauges
from adapters.postgres.administrators import PostgresAdministratorRepository
from adapters.postgres.app_settings import PostgresSettingsRepository
from adapters.postgres.audit import PostgresAuditLog
from adapters.postgres.job_queries import PostgresJobQueries
from adapters.postgres.jobs import PostgresJobRepository
from adapters.postgres.media_objects import PostgresMediaObjectRepository
from adapters.postgres.metrics import PostgresJobStats
from adapters.postgres.no_image_log import PostgresNoImageLog
from adapters.postgres.pool import create_pool
from adapters.postgres.queue_status import PostgresQueueProbe
from adapters.postgres.secret_store import PostgresSecretStore
from adapters.postgres.settings_history import PostgresSettingsHistory
from adapters.postgres.slots import PostgresSlotRepository
from adapters.postgres.stats import PostgresStatsQueries
from adapters.postgres.templates import PostgresTemplateRepository
from adapters.providers.gemini import GeminiProvider
from adapters.providers.local import LocalProvider
from adapters.providers.openai_images import OpenAIImagesProvider
from adapters.providers.registry import StaticProviderRegistry
from adapters.providers.turbotext import TurbotextProvider
from adapters.security.password import CachingPasswordVerifier, ScryptPasswordHasher
from adapters.storage.filesystem import FilesystemMediaStorage
from adapters.storage.media_root_probe import FilesystemMediaRootProbe
from application.administrators import (
    AddAdministrator,
    Authenticate,
    EnsureFirstAdministrator,
    ListAdministrators,
    RemoveAdministrator,
    SetAdministratorPassword,
)
from application.app_settings_admin import UpdateSettings
from application.audit_queries import ReadAuditLog
from application.cancel_job import CancelJob
from application.claim_job import ClaimAndProcess
from application.configure_slot import ConfigureSlot
from application.ingest_password import EnsureIngestPassword, SetIngestPassword
from application.job_artifacts import JobArtifacts
from application.job_queries import GetJob, ListJobs
from application.lease_keeper import LeaseKeeper, LeasePolicy
from application.manage_templates import AddTemplate, RemoveTemplate
from application.password_guard import FailedPasswordGuard
from application.ports import ProviderAdapter, ProviderInput
from application.process_job import ProcessJob
from application.provider_catalogue import GetProviderCatalogue
from application.provider_limits import ProviderLimits
from application.public_downloads import GetPublicMedia, GetResult
from application.public_links import PublishInputs
from application.purge_artifacts import PurgeArtifacts, PurgePolicy
from application.service_status import GetServiceStatus
from application.session_secret import SessionSecret
from application.settings_preview import PreviewDeadlines
from application.settings_view import GetSettings, RotateIngestPassword
from application.slot_queries import GetSlot, ListSlots
from application.slot_stats import GetStats
from application.submit_ingest import IngestLimits, SubmitIngest
from application.template_queries import GetTemplateImage, ListTemplates
from application.test_run import TestRun
from application.waiting import CompletionWaiter, PerRequestPoller, SharedCompletionPoller
from entrypoints.config import Settings
from entrypoints.signals import CallbackSignal, WorkTokens


def _waiter(
    settings: Settings, jobs: PostgresJobRepository, clock: SystemClock, leases: LeaseKeeper
) -> CompletionWaiter:
    if settings.result_waiter == "per_request":
        return PerRequestPoller(
            jobs, clock, interval_seconds=settings.per_request_poll_interval_ms / 1000
        )
    return SharedCompletionPoller(
        jobs,
        clock,
        tick_seconds=settings.result_poll_interval_ms / 1000,
        held_here=leases.held_ids,  # finalized by our own worker: it pokes, no tick needed
    )


def _provider_registry(
    settings: Settings, clock: SystemClock, metrics: PrometheusMetrics
) -> StaticProviderRegistry:
    """``local`` always; Gemini, Turbotext and OpenAI once their API keys are configured. Each
    HTTP connection pool is as large as the provider's concurrency setting, so the pool never
    caps the calls the setting allows (``ProviderLimits`` holds the rest back)."""
    adapters: dict[str, ProviderAdapter] = {"local": LocalProvider(clock)}
    if settings.gemini_api_key:
        adapters["gemini"] = GeminiProvider(
            base_url=settings.gemini_base_url,
            api_key=settings.gemini_api_key,
            clock=clock,
            no_image_attempts=settings.gemini_no_image_attempts,
            on_no_image=_counted_on_the_job(metrics.no_image_reporter("gemini")),
            max_connections=settings.gemini_concurrency,
        )
    if settings.turbotext_api_key:
        adapters["turbotext"] = TurbotextProvider(
            base_url=settings.turbotext_base_url,
            api_key=settings.turbotext_api_key,
            clock=clock,
            poll_interval_seconds=settings.turbotext_poll_interval_sec,
            max_result_bytes=settings.provider_result_max_bytes,
            max_connections=settings.turbotext_concurrency,
        )
    if settings.openai_api_key:
        adapters["openai"] = OpenAIImagesProvider(
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key,
            clock=clock,
            max_result_bytes=settings.provider_result_max_bytes,
            max_connections=settings.openai_concurrency,
        )
    return StaticProviderRegistry(adapters)


def _counted_on_the_job(
    report: Callable[[ProviderInput], None],
) -> Callable[[ProviderInput], None]:
    """An answer without an image is counted for ``/metrics`` and on the job itself (its
    ``no_image_count``, which the operators' stats sum)."""

    def on_no_image(request: ProviderInput) -> None:
        report(request)
        request.no_image_seen()

    return on_no_image


def _unconfigured_providers(settings: Settings) -> dict[str, str]:
    """What an operator must set before a slot may use each provider (checked on activation)."""
    missing: dict[str, str] = {}
    if not settings.gemini_api_key:
        missing["gemini"] = "set PHOTOCHANGER_GEMINI_API_KEY"
    if not settings.turbotext_api_key:
        missing["turbotext"] = "set PHOTOCHANGER_TURBOTEXT_API_KEY"
    if not settings.openai_api_key:
        missing["openai"] = "set PHOTOCHANGER_OPENAI_API_KEY"
    return missing


def worker_identity() -> str:
    """Unique per process even where hosts share a name and pid (containers all run pid 1):
    leases are renewed and released by this id."""
    return f"{socket.gethostname()}-{secrets.token_hex(3)}:{os.getpid()}"


class Container(containers.DeclarativeContainer):
    """Built once per process by the HTTP app, the worker and the CLI alike."""

    settings = providers.Dependency(instance_of=Settings)
    database_url = providers.Dependency(instance_of=str)

    clock = providers.Singleton(SystemClock)
    pool = providers.Singleton(create_pool, database_url, max_size=settings.provided.db_pool_size)
    storage = providers.Singleton(FilesystemMediaStorage, settings.provided.media_path)

    jobs = providers.Singleton(PostgresJobRepository, pool)
    slots = providers.Singleton(PostgresSlotRepository, pool)
    app_settings = providers.Singleton(PostgresSettingsRepository, pool)
    media_objects = providers.Singleton(PostgresMediaObjectRepository, pool)
    templates = providers.Singleton(PostgresTemplateRepository, pool)
    administrators = providers.Singleton(PostgresAdministratorRepository, pool)
    audit_log = providers.Singleton(PostgresAuditLog, pool)
    session_secret = providers.Singleton(
        SessionSecret, providers.Singleton(PostgresSecretStore, pool)
    )
    job_stats = providers.Singleton(PostgresJobStats, pool)
    metrics = providers.Singleton(
        PrometheusMetrics,
        providers.Singleton(
            SharedStateGauges,
            load_job_stats=job_stats.provided.load,
            media_root=settings.provided.media_path,
            clock=clock,
        ),
    )

    hasher = providers.Singleton(CachingPasswordVerifier, providers.Singleton(ScryptPasswordHasher))
    password_guard = providers.Singleton(
        FailedPasswordGuard,
        clock,
        max_failures=settings.provided.password_max_failures,
        window_seconds=settings.provided.password_failure_window_sec,
    )
    # Operators log in rarely: no verification cache (it would evict the ingest password's).
    admin_hasher = providers.Singleton(ScryptPasswordHasher)
    login_guard = providers.Singleton(
        FailedPasswordGuard,
        clock,
        max_failures=settings.provided.password_max_failures,
        window_seconds=settings.provided.password_failure_window_sec,
    )
    providers_registry = providers.Singleton(_provider_registry, settings, clock, metrics)
    provider_limits = providers.Singleton(ProviderLimits, settings.provided.provider_concurrency)
    lease = providers.Singleton(LeasePolicy, seconds=settings.provided.lease_sec)
    lease_keeper = providers.Singleton(LeaseKeeper, jobs, clock, lease)
    waiter = providers.Singleton(_waiter, settings, jobs, clock, lease_keeper)
    work_tokens = providers.Singleton(WorkTokens, settings.provided.worker_concurrency)
    job_finalized = providers.Singleton(CallbackSignal, waiter.provided.poke)
    artifacts = providers.Singleton(JobArtifacts, jobs, media_objects, storage)
    publish_inputs = providers.Singleton(
        PublishInputs,
        media_objects=media_objects,
        storage=storage,
        settings=app_settings,
        clock=clock,
        bounds=settings.provided.timeout_bounds,
        public_base_url=settings.provided.public_base_url,
    )

    ingest_limits = providers.Singleton(
        IngestLimits,
        max_upload_bytes=settings.provided.max_upload_bytes,
        max_unfinished_jobs=settings.provided.max_unfinished_jobs,
        retry_after_seconds=settings.provided.retry_after_sec,
        admission_concurrency=settings.provided.admission_concurrency,
        bounds=settings.provided.timeout_bounds,
    )
    submit_ingest = providers.Singleton(
        SubmitIngest,
        jobs=jobs,
        slots=slots,
        settings=app_settings,
        storage=storage,
        hasher=hasher,
        guard=password_guard,
        waiter=waiter,
        clock=clock,
        job_added=work_tokens,
        limits=ingest_limits,
        on_hash_mismatch=metrics.provided.declared_hash_unverified,
    )
    process_job = providers.Singleton(
        ProcessJob,
        jobs=jobs,
        templates=templates,
        storage=storage,
        providers=providers_registry,
        limits=provider_limits,
        links=publish_inputs,
        artifacts=artifacts,
        clock=clock,
        lease=lease,
        job_finalized=job_finalized,
        metrics=metrics,
        leases=lease_keeper,
        no_images=providers.Singleton(PostgresNoImageLog, pool),
    )
    claim_and_process = providers.Singleton(
        ClaimAndProcess, jobs=jobs, process=process_job, clock=clock, lease=lease
    )
    purge_artifacts = providers.Factory(
        PurgeArtifacts,
        jobs=jobs,
        media_objects=media_objects,
        storage=storage,
        artifacts=artifacts,
        clock=clock,
        policy=providers.Factory(
            PurgePolicy, orphan_grace_seconds=settings.provided.orphan_grace_sec
        ),
    )
    get_result = providers.Factory(GetResult, jobs=jobs, storage=storage, clock=clock)
    get_public_media = providers.Factory(
        GetPublicMedia, media_objects=media_objects, storage=storage, clock=clock
    )
    configure_slot = providers.Factory(
        ConfigureSlot,
        slots=slots,
        templates=templates,
        clock=clock,
        audit=audit_log,
        public_base_url=settings.provided.public_base_url,
        unconfigured_providers=providers.Callable(_unconfigured_providers, settings),
    )
    update_settings = providers.Factory(
        UpdateSettings,
        settings=app_settings,
        bounds=settings.provided.timeout_bounds,
        audit=audit_log,
        clock=clock,
    )
    add_template = providers.Factory(
        AddTemplate,
        templates=templates,
        storage=storage,
        clock=clock,
        audit=audit_log,
        max_bytes=settings.provided.max_upload_bytes,
    )
    remove_template = providers.Factory(
        RemoveTemplate,
        templates=templates,
        slots=slots,
        storage=storage,
        audit=audit_log,
        clock=clock,
    )
    set_ingest_password = providers.Factory(
        SetIngestPassword, settings=app_settings, hasher=hasher, audit=audit_log, clock=clock
    )
    ensure_ingest_password = providers.Factory(
        EnsureIngestPassword, settings=app_settings, hasher=hasher, audit=audit_log, clock=clock
    )
    add_administrator = providers.Factory(
        AddAdministrator,
        administrators=administrators,
        hasher=admin_hasher,
        audit=audit_log,
        clock=clock,
    )
    remove_administrator = providers.Factory(
        RemoveAdministrator, administrators=administrators, audit=audit_log, clock=clock
    )
    set_administrator_password = providers.Factory(
        SetAdministratorPassword,
        administrators=administrators,
        hasher=admin_hasher,
        audit=audit_log,
        clock=clock,
    )
    list_administrators = providers.Factory(ListAdministrators, administrators=administrators)
    authenticate = providers.Singleton(  # one instance keeps its decoy hash
        Authenticate,
        administrators=administrators,
        hasher=admin_hasher,
        guard=login_guard,
        clock=clock,
    )
    ensure_first_administrator = providers.Factory(
        EnsureFirstAdministrator,
        administrators=administrators,
        hasher=admin_hasher,
        audit=audit_log,
        clock=clock,
    )

    # The operator's resources (issue 8): reads, test runs, cancels.
    job_queries = providers.Singleton(PostgresJobQueries, pool)
    list_slots = providers.Factory(ListSlots, slots=slots, activity=job_queries, clock=clock)
    get_slot = providers.Factory(GetSlot, slots=slots, activity=job_queries, clock=clock)
    test_run = providers.Factory(
        TestRun, slots=slots, templates=templates, submit=submit_ingest, clock=clock
    )
    list_jobs = providers.Factory(ListJobs, queries=job_queries)
    get_job = providers.Factory(GetJob, jobs=jobs, clock=clock)
    cancel_job = providers.Factory(
        CancelJob, jobs=jobs, audit=audit_log, clock=clock, job_finalized=job_finalized
    )
    list_templates = providers.Factory(ListTemplates, templates=templates, slots=slots)
    get_template_image = providers.Factory(GetTemplateImage, templates=templates, storage=storage)
    get_settings = providers.Factory(
        GetSettings,
        settings=app_settings,
        history=providers.Singleton(PostgresSettingsHistory, pool),
        bounds=settings.provided.timeout_bounds,
        unconfigured_providers=providers.Callable(_unconfigured_providers, settings),
    )
    rotate_ingest_password = providers.Factory(
        RotateIngestPassword, set_password=set_ingest_password
    )
    get_stats = providers.Factory(
        GetStats, stats=providers.Singleton(PostgresStatsQueries, pool), clock=clock
    )
    get_provider_catalogue = providers.Factory(
        GetProviderCatalogue,
        unconfigured=providers.Callable(_unconfigured_providers, settings),
    )
    preview_deadlines = providers.Factory(PreviewDeadlines, bounds=settings.provided.timeout_bounds)
    # A singleton: it keeps its readings a few seconds for every dashboard that polls.
    get_service_status = providers.Singleton(
        GetServiceStatus,
        queue=providers.Singleton(PostgresQueueProbe, job_stats),
        media_root=providers.Singleton(
            FilesystemMediaRootProbe,
            settings.provided.media_path,
            min_free_bytes=settings.provided.media_min_free_bytes,
        ),
        clock=clock,
    )
    read_audit_log = providers.Factory(ReadAuditLog, audit=audit_log)
