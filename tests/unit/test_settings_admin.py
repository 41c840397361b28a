"""UpdateSettings: range-checked changes for new jobs; nothing saved when out of range."""

from __future__ import annotations

import pytest
from fakes import FakeClock, InMemorySettingsRepository
from operator_fakes import InMemoryAuditLog

from application.app_settings_admin import SettingsChanges, UpdateSettings
from domain.deadlines import PRODUCT_BOUNDS, TimeoutBounds
from domain.errors import InvalidConfiguration
from domain.settings import RESULT_RETENTION_KEY, SYNC_TIMEOUT_KEY, AppSettings


@pytest.fixture
def audit() -> InMemoryAuditLog:
    return InMemoryAuditLog()


@pytest.fixture
def update(
    settings_repo: InMemorySettingsRepository, audit: InMemoryAuditLog, clock: FakeClock
) -> UpdateSettings:
    return UpdateSettings(settings=settings_repo, bounds=PRODUCT_BOUNDS, audit=audit, clock=clock)


async def test_a_change_in_range_is_saved_with_who_made_it(
    update: UpdateSettings, settings_repo: InMemorySettingsRepository
) -> None:
    updated = await update(
        SettingsChanges(sync_timeout_sec=55, result_retention_sec=3600, actor="ann")
    )

    assert updated == AppSettings(sync_timeout_sec=55, result_retention_sec=3600)
    assert settings_repo.settings == updated
    assert settings_repo.settings_updated_by == "ann"


async def test_a_partial_change_keeps_the_other_value(
    update: UpdateSettings, settings_repo: InMemorySettingsRepository
) -> None:
    settings_repo.settings = AppSettings(sync_timeout_sec=50, result_retention_sec=7200)

    assert await update(SettingsChanges(result_retention_sec=600, actor="cli")) == AppSettings(
        sync_timeout_sec=50, result_retention_sec=600
    )
    assert await update(SettingsChanges(sync_timeout_sec=45, actor="cli")) == AppSettings(
        sync_timeout_sec=45, result_retention_sec=600
    )
    assert settings_repo.settings_updated_by == "cli"


@pytest.mark.parametrize("edge", [45, 60])
async def test_the_sync_timeout_bounds_are_inclusive(update: UpdateSettings, edge: float) -> None:
    assert (
        await update(SettingsChanges(sync_timeout_sec=edge, actor="cli"))
    ).sync_timeout_sec == edge


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (SettingsChanges(sync_timeout_sec=44.9, actor="cli"), SYNC_TIMEOUT_KEY),
        (SettingsChanges(sync_timeout_sec=61, actor="cli"), SYNC_TIMEOUT_KEY),
        (SettingsChanges(result_retention_sec=59, actor="cli"), RESULT_RETENTION_KEY),
        (SettingsChanges(result_retention_sec=31 * 86_400, actor="cli"), RESULT_RETENTION_KEY),
        (
            SettingsChanges(sync_timeout_sec=50, result_retention_sec=0, actor="cli"),
            RESULT_RETENTION_KEY,
        ),
    ],
)
async def test_out_of_range_values_are_refused_and_nothing_is_saved(
    update: UpdateSettings,
    settings_repo: InMemorySettingsRepository,
    changes: SettingsChanges,
    field: str,
) -> None:
    before = settings_repo.settings

    with pytest.raises(InvalidConfiguration) as refused:
        await update(changes)

    assert refused.value.details["field"] == field
    assert settings_repo.settings == before
    assert settings_repo.saves == 0


async def test_narrowed_bounds_allow_demo_timeouts(
    settings_repo: InMemorySettingsRepository,
) -> None:
    demo = UpdateSettings(
        settings=settings_repo,
        bounds=TimeoutBounds(low=2.0, high=5.0),
        audit=InMemoryAuditLog(),
        clock=FakeClock(),
    )

    assert (await demo(SettingsChanges(sync_timeout_sec=3, actor="cli"))).sync_timeout_sec == 3
    with pytest.raises(InvalidConfiguration) as refused:
        await demo(SettingsChanges(sync_timeout_sec=48, actor="cli"))
    assert "between 2 and 5" in refused.value.message


async def test_a_change_is_audited_with_before_and_after(
    update: UpdateSettings,
    settings_repo: InMemorySettingsRepository,
    audit: InMemoryAuditLog,
    clock: FakeClock,
) -> None:
    settings_repo.settings = AppSettings(sync_timeout_sec=50, result_retention_sec=7200)

    await update(SettingsChanges(sync_timeout_sec=55, actor="ann"))
    with pytest.raises(InvalidConfiguration):
        await update(SettingsChanges(sync_timeout_sec=99, actor="bob"))  # refused: not audited

    [entry] = audit.entries
    assert (entry.actor, entry.action, entry.target, entry.at) == (
        "ann",
        "settings.update",
        "settings",
        clock.now(),
    )
    assert entry.before == {"sync_timeout_sec": 50, "result_retention_sec": 7200}
    assert entry.after == {"sync_timeout_sec": 55, "result_retention_sec": 7200}
