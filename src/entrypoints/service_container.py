"""What the service runs for its clients: storage, the database, ingest, the worker's job
processing, purge and public downloads. ``entrypoints.container`` adds the operators' side."""

from __future__ import annotations

from dependency_injector import containers, providers

from adapters.clock import SystemClock
from adapters.metrics.prometheus import PrometheusMetrics
from adapters.metrics.shared_state import SharedStateGauges
from adapters.postgres.app_settings import PostgresSettingsRepository
from adapters.postgres.jobs import PostgresJobRepository
from adapters.postgres.media_objects import PostgresMediaObjectRepository
from adapters.postgres.metrics import PostgresJobStats
from adapters.postgres.no_image_log import PostgresNoImageLog
from adapters.postgres.pool import create_pool
from adapters.postgres.slots import PostgresSlotRepository
from adapters.postgres.templates import PostgresTemplateRepository
from adapters.security.password import CachingPasswordVerifier, ScryptPasswordHasher
from adapters.storage.filesystem import FilesystemMediaStorage
from application.claim_job import ClaimAndProcess
from application.job_artifacts import JobArtifacts
from application.lease_keeper import LeaseKeeper, LeasePolicy
from application.password_guard import FailedPasswordGuard
from application.process_job import ProcessJob
from application.provider_limits import ProviderLimits
from application.public_downloads import GetPublicMedia, GetResult
from application.public_links import PublishInputs
from application.purge_artifacts import PurgeArtifacts, PurgePolicy
from application.submit_ingest import IngestLimits, SubmitIngest
from application.waiting import CompletionWaiter, PerRequestPoller, SharedCompletionPoller
from entrypoints.config import Settings
from entrypoints.provider_wiring import provider_registry
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


class ServiceContainer(containers.DeclarativeContainer):
    """The shared parts and the clients' use cases; never built alone (see ``Container``)."""

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
    providers_registry = providers.Singleton(provider_registry, settings, clock, metrics)
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
