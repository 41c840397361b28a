"""The operator's resource controllers and the container providers their handlers take (by
parameter name), appended to the admin route table in ``routes.py``."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from entrypoints.http.admin.audit import AuditController
from entrypoints.http.admin.jobs import JobsController
from entrypoints.http.admin.providers import ProvidersController
from entrypoints.http.admin.settings import SettingsController
from entrypoints.http.admin.slots import SlotsController
from entrypoints.http.admin.stats import StatsController
from entrypoints.http.admin.templates import TemplatesController

RESOURCE_CONTROLLERS: list[ControllerRouterHandler] = [
    SlotsController,
    JobsController,
    TemplatesController,
    SettingsController,
    StatsController,
    AuditController,
    ProvidersController,
]

RESOURCE_USE_CASES: list[str] = [
    "settings",  # the deployment configuration (public URL, upload caps)
    "list_slots",
    "get_slot",
    "configure_slot",
    "test_run",
    "list_jobs",
    "get_job",
    "cancel_job",
    "add_template",
    "list_templates",
    "get_template_image",
    "remove_template",
    "get_settings",
    "update_settings",
    "rotate_ingest_password",
    "get_stats",
    "read_audit_log",
    "get_provider_catalogue",
]
