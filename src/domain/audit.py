"""The audit trail (SPEC §10): who changed what, when, before → after — never a secret."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Actors that are not administrators.
CLI_ACTOR = "cli"  # the `photochanger` command line (a shell user on the server)
ENVIRONMENT_ACTOR = "environment"  # PHOTOCHANGER_* variables applied at start
FIRST_START_ACTOR = "first-start"  # values generated when the service first starts


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One change. ``before``/``after`` are JSON-able snapshots of what changed (``None``
    when the thing did not exist before or no longer exists); ``id`` is set once stored."""

    actor: str
    action: str  # e.g. "slot.update", "settings.update", "administrator.add"
    target: str  # what was changed, e.g. "slot-003", "ingest_password", "admin:ann"
    at: datetime
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    id: int | None = None
