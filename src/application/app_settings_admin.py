"""UpdateSettings: change the sync timeout or result retention for new jobs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from application.operator_ports import AuditLog
from application.ports import Clock, SettingsRepository
from domain.audit import AuditEntry
from domain.deadlines import TimeoutBounds
from domain.settings import AppSettings


@dataclass(frozen=True, slots=True)
class SettingsChanges:
    sync_timeout_sec: float | None = None
    result_retention_sec: float | None = None
    actor: str = field(kw_only=True)  # who asks: an administrator's username, or "cli"


class UpdateSettings:
    """Values are range-checked before saving; jobs already created keep their deadlines.
    The change is audited."""

    def __init__(
        self, *, settings: SettingsRepository, bounds: TimeoutBounds, audit: AuditLog, clock: Clock
    ) -> None:
        self._settings = settings
        self._bounds = bounds
        self._audit = audit
        self._clock = clock

    async def __call__(self, changes: SettingsChanges) -> AppSettings:
        current = await self._settings.load()
        updated = replace(
            current,
            sync_timeout_sec=current.sync_timeout_sec
            if changes.sync_timeout_sec is None
            else changes.sync_timeout_sec,
            result_retention_sec=current.result_retention_sec
            if changes.result_retention_sec is None
            else changes.result_retention_sec,
        ).validated(self._bounds)
        await self._settings.save(updated, updated_by=changes.actor)
        await self._audit.record(
            AuditEntry(
                actor=changes.actor,
                action="settings.update",
                target="settings",
                at=self._clock.now(),
                before=asdict(current),
                after=asdict(updated),
            )
        )
        return updated
