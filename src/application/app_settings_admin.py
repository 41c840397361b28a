"""UpdateSettings: change the sync timeout or result retention for new jobs."""

from __future__ import annotations

from dataclasses import dataclass, replace

from application.ports import SettingsRepository
from domain.deadlines import TimeoutBounds
from domain.settings import AppSettings


@dataclass(frozen=True, slots=True)
class SettingsChanges:
    sync_timeout_sec: float | None = None
    result_retention_sec: float | None = None
    updated_by: str = "cli"


class UpdateSettings:
    """Values are range-checked before saving; jobs already created keep their deadlines."""

    def __init__(self, *, settings: SettingsRepository, bounds: TimeoutBounds) -> None:
        self._settings = settings
        self._bounds = bounds

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
        await self._settings.save(updated, updated_by=changes.updated_by)
        return updated
