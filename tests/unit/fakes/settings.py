"""``SettingsRepository`` in memory: the app settings and the ingest password hash."""

from __future__ import annotations

from application.ports import (
    IngestSettings,
)
from domain.settings import AppSettings
from fakes.clock import round_trip


class InMemorySettingsRepository:
    """``SettingsRepository``: one ``AppSettings`` value and the password hash."""

    def __init__(
        self, settings: AppSettings | None = None, *, password_hash: str | None = None
    ) -> None:
        self.settings = settings or AppSettings()
        self.password_hash = password_hash
        self.settings_updated_by: str | None = None
        self.password_updated_by: str | None = None
        self.saves = 0

    async def load(self) -> AppSettings:
        await round_trip()
        return self.settings

    async def load_for_ingest(self) -> IngestSettings:
        await round_trip()
        return IngestSettings(app=self.settings, password_hash=self.password_hash)

    async def save(self, settings: AppSettings, *, updated_by: str) -> None:
        await round_trip()
        self.settings = settings
        self.settings_updated_by = updated_by
        self.saves += 1

    async def get_password_hash(self) -> str | None:
        await round_trip()
        return self.password_hash

    async def set_password_hash(
        self, encoded: str, *, updated_by: str, only_if_unset: bool
    ) -> bool:
        await round_trip()
        if only_if_unset and self.password_hash is not None:
            return False
        self.password_hash = encoded
        self.password_updated_by = updated_by
        return True
