"""The composition root: the only place that knows which adapter implements which port.

``Container`` is built once per process by the HTTP app, the worker and the CLI alike. It is
the service's own parts (``service_container``: storage, database, ingest, the worker's job
processing, purge, downloads; the image providers come from ``provider_wiring``) plus, here,
the operators' use cases that the CLI, the admin API and the console share.
"""

from __future__ import annotations

import os
import secrets
import socket

from dependency_injector import providers

from adapters.postgres.administrators import PostgresAdministratorRepository
from adapters.postgres.audit import PostgresAuditLog
from adapters.postgres.job_queries import PostgresJobQueries
from adapters.postgres.queue_status import PostgresQueueProbe
from adapters.postgres.secret_store import PostgresSecretStore
from adapters.postgres.settings_history import PostgresSettingsHistory
from adapters.postgres.stats import PostgresStatsQueries
from adapters.security.password import ScryptPasswordHasher
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
from application.configure_slot import ConfigureSlot
from application.ingest_password import EnsureIngestPassword, SetIngestPassword
from application.job_queries import GetJob, ListJobs
from application.manage_templates import AddTemplate, RemoveTemplate
from application.password_guard import FailedPasswordGuard
from application.provider_catalogue import GetProviderCatalogue
from application.service_status import GetServiceStatus
from application.session_secret import SessionSecret
from application.settings_preview import PreviewDeadlines
from application.settings_view import GetSettings, RotateIngestPassword
from application.slot_queries import GetSlot, ListSlots
from application.slot_stats import GetStats
from application.template_queries import GetTemplateImage, ListTemplates
from application.test_run import TestRun
from entrypoints import provider_wiring
from entrypoints.service_container import ServiceContainer

# The service's parts the operators' use cases are built on.
_service = ServiceContainer
_settings = _service.settings
_clock = _service.clock
_pool = _service.pool


def worker_identity() -> str:
    """Unique per process even where hosts share a name and pid (containers all run pid 1):
    leases are renewed and released by this id."""
    return f"{socket.gethostname()}-{secrets.token_hex(3)}:{os.getpid()}"


class Container(ServiceContainer):
    """The service's parts plus the operators' use cases (CLI, admin API, console)."""

    administrators = providers.Singleton(PostgresAdministratorRepository, _pool)
    audit_log = providers.Singleton(PostgresAuditLog, _pool)
    session_secret = providers.Singleton(
        SessionSecret, providers.Singleton(PostgresSecretStore, _pool)
    )
    # Operators log in rarely: no verification cache (it would evict the ingest password's).
    admin_hasher = providers.Singleton(ScryptPasswordHasher)
    login_guard = providers.Singleton(
        FailedPasswordGuard,
        _clock,
        max_failures=_settings.provided.password_max_failures,
        window_seconds=_settings.provided.password_failure_window_sec,
    )
    unconfigured_providers = providers.Callable(provider_wiring.unconfigured_providers, _settings)

    configure_slot = providers.Factory(
        ConfigureSlot,
        slots=_service.slots,
        templates=_service.templates,
        clock=_clock,
        audit=audit_log,
        public_base_url=_settings.provided.public_base_url,
        unconfigured_providers=unconfigured_providers,
    )
    update_settings = providers.Factory(
        UpdateSettings,
        settings=_service.app_settings,
        bounds=_settings.provided.timeout_bounds,
        audit=audit_log,
        clock=_clock,
    )
    add_template = providers.Factory(
        AddTemplate,
        templates=_service.templates,
        storage=_service.storage,
        clock=_clock,
        audit=audit_log,
        max_bytes=_settings.provided.max_upload_bytes,
    )
    remove_template = providers.Factory(
        RemoveTemplate,
        templates=_service.templates,
        slots=_service.slots,
        storage=_service.storage,
        audit=audit_log,
        clock=_clock,
    )
    set_ingest_password = providers.Factory(
        SetIngestPassword,
        settings=_service.app_settings,
        hasher=_service.hasher,
        audit=audit_log,
        clock=_clock,
    )
    ensure_ingest_password = providers.Factory(
        EnsureIngestPassword,
        settings=_service.app_settings,
        hasher=_service.hasher,
        audit=audit_log,
        clock=_clock,
    )
    add_administrator = providers.Factory(
        AddAdministrator,
        administrators=administrators,
        hasher=admin_hasher,
        audit=audit_log,
        clock=_clock,
    )
    remove_administrator = providers.Factory(
        RemoveAdministrator, administrators=administrators, audit=audit_log, clock=_clock
    )
    set_administrator_password = providers.Factory(
        SetAdministratorPassword,
        administrators=administrators,
        hasher=admin_hasher,
        audit=audit_log,
        clock=_clock,
    )
    list_administrators = providers.Factory(ListAdministrators, administrators=administrators)
    authenticate = providers.Singleton(  # one instance keeps its decoy hash
        Authenticate,
        administrators=administrators,
        hasher=admin_hasher,
        guard=login_guard,
        clock=_clock,
    )
    ensure_first_administrator = providers.Factory(
        EnsureFirstAdministrator,
        administrators=administrators,
        hasher=admin_hasher,
        audit=audit_log,
        clock=_clock,
    )

    # The operator's resources (issue 8): reads, test runs, cancels.
    job_queries = providers.Singleton(PostgresJobQueries, _pool)
    list_slots = providers.Factory(
        ListSlots, slots=_service.slots, activity=job_queries, clock=_clock
    )
    get_slot = providers.Factory(GetSlot, slots=_service.slots, activity=job_queries, clock=_clock)
    test_run = providers.Factory(
        TestRun,
        slots=_service.slots,
        templates=_service.templates,
        submit=_service.submit_ingest,
        clock=_clock,
    )
    list_jobs = providers.Factory(ListJobs, queries=job_queries)
    get_job = providers.Factory(GetJob, jobs=_service.jobs, clock=_clock)
    cancel_job = providers.Factory(
        CancelJob,
        jobs=_service.jobs,
        audit=audit_log,
        clock=_clock,
        job_finalized=_service.job_finalized,
    )
    list_templates = providers.Factory(
        ListTemplates, templates=_service.templates, slots=_service.slots
    )
    get_template_image = providers.Factory(
        GetTemplateImage, templates=_service.templates, storage=_service.storage
    )
    get_settings = providers.Factory(
        GetSettings,
        settings=_service.app_settings,
        history=providers.Singleton(PostgresSettingsHistory, _pool),
        bounds=_settings.provided.timeout_bounds,
        unconfigured_providers=unconfigured_providers,
    )
    rotate_ingest_password = providers.Factory(
        RotateIngestPassword, set_password=set_ingest_password
    )
    get_stats = providers.Factory(
        GetStats, stats=providers.Singleton(PostgresStatsQueries, _pool), clock=_clock
    )
    get_provider_catalogue = providers.Factory(
        GetProviderCatalogue, unconfigured=unconfigured_providers
    )
    preview_deadlines = providers.Factory(
        PreviewDeadlines, bounds=_settings.provided.timeout_bounds
    )
    # A singleton: it keeps its readings a few seconds for every dashboard that polls.
    get_service_status = providers.Singleton(
        GetServiceStatus,
        queue=providers.Singleton(PostgresQueueProbe, _service.job_stats),
        media_root=providers.Singleton(
            FilesystemMediaRootProbe,
            _settings.provided.media_path,
            min_free_bytes=_settings.provided.media_min_free_bytes,
        ),
        clock=_clock,
    )
    read_audit_log = providers.Factory(ReadAuditLog, audit=audit_log)
