"""GetSettings and RotateIngestPassword: the operator's settings page (SPEC §10 "Settings").

Changing values is ``UpdateSettings``; storing a password is ``SetIngestPassword`` (both
audited there). Nothing here reads or returns a secret: only whether one is set.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from application.ingest_password import SetIngestPassword
from application.ports import SettingsRepository
from application.query_ports import SettingChange, SettingsHistory
from domain.deadlines import TimeoutBounds
from domain.providers import PROVIDERS
from domain.settings import (
    PASSWORD_HASH_KEY,
    RESULT_RETENTION_KEY,
    SYNC_TIMEOUT_KEY,
    AppSettings,
)

GENERATED_PASSWORD_BYTES = 12  # as the first-start password: 16 URL-safe characters


@dataclass(frozen=True, slots=True)
class SettingsView:
    app: AppSettings
    bounds: TimeoutBounds
    public_link_ttl_sec: float
    ingest_ttl_sec: float
    job_deadline_sec: float
    ingest_password_set: bool
    providers_configured: Mapping[str, bool]
    changes: list[SettingChange]


class GetSettings:
    """Current values, the TTLs they imply for new jobs (the domain's SPEC §3 functions),
    whether the ingest password and each provider's key are set, and who changed what."""

    def __init__(
        self,
        *,
        settings: SettingsRepository,
        history: SettingsHistory,
        bounds: TimeoutBounds,
        unconfigured_providers: Mapping[str, str],
    ) -> None:
        """``unconfigured_providers``: what each provider still misses (its API key), the
        same map ``ConfigureSlot`` refuses activation with."""
        self._settings = settings
        self._history = history
        self._bounds = bounds
        self._providers = {name: name not in unconfigured_providers for name in PROVIDERS}

    async def __call__(self) -> SettingsView:
        current = await self._settings.load_for_ingest()
        app = current.app
        changes = await self._history.last_changes(
            [SYNC_TIMEOUT_KEY, RESULT_RETENTION_KEY, PASSWORD_HASH_KEY]
        )
        return SettingsView(
            app=app,
            bounds=self._bounds,
            public_link_ttl_sec=app.public_link_ttl(self._bounds),
            ingest_ttl_sec=app.ingest_ttl(self._bounds),
            job_deadline_sec=app.job_deadline(self._bounds),
            ingest_password_set=current.password_hash is not None,
            providers_configured=self._providers,
            changes=changes,
        )


class RotateIngestPassword:
    """Set the given password, or generate one and hand it back once (only its hash is
    stored). Effective on the next ingest; an ingest already accepted is not affected."""

    def __init__(self, *, set_password: SetIngestPassword) -> None:
        self._set_password = set_password

    async def __call__(self, password: str | None, *, actor: str) -> str | None:
        """The generated password, or None when the caller chose one."""
        if password is not None:
            await self._set_password(password, actor=actor)
            return None
        generated = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
        await self._set_password(generated, actor=actor)
        return generated
