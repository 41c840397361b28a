"""The global ingest password: set it, or make sure one exists on first start."""

from __future__ import annotations

import asyncio

import pytest
from fakes import PASSWORD, FakeClock, InMemorySettingsRepository, PlainPasswordHasher
from operator_fakes import InMemoryAuditLog

from application.ingest_password import (
    MIN_PASSWORD_LENGTH,
    EnsureIngestPassword,
    PasswordProvisioning,
    SetIngestPassword,
)
from domain.errors import InvalidConfiguration


@pytest.fixture
def audit() -> InMemoryAuditLog:
    return InMemoryAuditLog()


@pytest.fixture
def set_password(
    settings_repo: InMemorySettingsRepository,
    hasher: PlainPasswordHasher,
    audit: InMemoryAuditLog,
    clock: FakeClock,
) -> SetIngestPassword:
    return SetIngestPassword(settings=settings_repo, hasher=hasher, audit=audit, clock=clock)


@pytest.fixture
def ensure(
    settings_repo: InMemorySettingsRepository,
    hasher: PlainPasswordHasher,
    audit: InMemoryAuditLog,
    clock: FakeClock,
) -> EnsureIngestPassword:
    return EnsureIngestPassword(settings=settings_repo, hasher=hasher, audit=audit, clock=clock)


@pytest.fixture
def empty_settings() -> InMemorySettingsRepository:
    return InMemorySettingsRepository()


async def test_setting_a_password_stores_only_its_hash(
    set_password: SetIngestPassword,
    settings_repo: InMemorySettingsRepository,
    hasher: PlainPasswordHasher,
) -> None:
    await set_password("rotated-pass", actor="ann")

    stored = settings_repo.password_hash
    assert stored is not None and stored != "rotated-pass"
    assert await hasher.verify("rotated-pass", stored)
    assert not await hasher.verify(PASSWORD, stored)
    assert settings_repo.password_updated_by == "ann"


@pytest.mark.parametrize("password", ["", "short", "x" * (MIN_PASSWORD_LENGTH - 1)])
async def test_a_short_password_is_refused_and_the_old_one_kept(
    set_password: SetIngestPassword,
    settings_repo: InMemorySettingsRepository,
    password: str,
) -> None:
    before = settings_repo.password_hash

    with pytest.raises(InvalidConfiguration) as refused:
        await set_password(password, actor="cli")

    assert refused.value.details["field"] == "password"
    assert str(MIN_PASSWORD_LENGTH) in refused.value.message
    assert settings_repo.password_hash == before


async def test_the_minimum_length_itself_is_accepted(
    set_password: SetIngestPassword,
    settings_repo: InMemorySettingsRepository,
    hasher: PlainPasswordHasher,
) -> None:
    await set_password("x" * MIN_PASSWORD_LENGTH, actor="cli")
    assert settings_repo.password_hash is not None
    assert await hasher.verify("x" * MIN_PASSWORD_LENGTH, settings_repo.password_hash)


async def test_the_environment_password_wins_over_the_stored_one(
    ensure: EnsureIngestPassword,
    settings_repo: InMemorySettingsRepository,
    hasher: PlainPasswordHasher,
) -> None:
    provisioning = await ensure("from-the-env-1")

    assert provisioning == PasswordProvisioning(generated=None, source="environment")
    assert settings_repo.password_hash is not None
    assert await hasher.verify("from-the-env-1", settings_repo.password_hash)
    assert not await hasher.verify(PASSWORD, settings_repo.password_hash)
    assert settings_repo.password_updated_by == "environment"


async def test_an_environment_password_already_stored_is_not_rewritten(
    ensure: EnsureIngestPassword, settings_repo: InMemorySettingsRepository
) -> None:
    before = settings_repo.password_hash

    assert (await ensure(PASSWORD)).source == "environment"
    assert settings_repo.password_hash == before  # same salt: not hashed again
    assert settings_repo.password_updated_by is None


async def test_a_short_environment_password_is_refused(
    ensure: EnsureIngestPassword, settings_repo: InMemorySettingsRepository
) -> None:
    before = settings_repo.password_hash
    with pytest.raises(InvalidConfiguration):
        await ensure("short")
    assert settings_repo.password_hash == before


@pytest.mark.parametrize("from_environment", [None, ""])
async def test_without_environment_the_stored_password_is_kept(
    ensure: EnsureIngestPassword,
    settings_repo: InMemorySettingsRepository,
    from_environment: str | None,
) -> None:
    before = settings_repo.password_hash

    assert await ensure(from_environment) == PasswordProvisioning(generated=None, source="existing")
    assert settings_repo.password_hash == before


async def test_a_first_start_generates_a_password_once(
    empty_settings: InMemorySettingsRepository,
    hasher: PlainPasswordHasher,
    audit: InMemoryAuditLog,
) -> None:
    ensure = EnsureIngestPassword(
        settings=empty_settings, hasher=hasher, audit=audit, clock=FakeClock()
    )

    first = await ensure(None)

    assert first.source == "generated"
    assert first.generated is not None and len(first.generated) >= MIN_PASSWORD_LENGTH
    assert empty_settings.password_hash is not None
    assert await hasher.verify(first.generated, empty_settings.password_hash)
    assert empty_settings.password_updated_by == "first-start"
    assert await ensure(None) == PasswordProvisioning(generated=None, source="existing")
    assert [(e.actor, e.action, e.after) for e in audit.entries] == [
        ("first-start", "ingest_password.change", {"password": "changed"})
    ]


async def test_two_processes_starting_at_once_generate_one_password(
    empty_settings: InMemorySettingsRepository,
    hasher: PlainPasswordHasher,
    audit: InMemoryAuditLog,
) -> None:
    processes = [
        EnsureIngestPassword(settings=empty_settings, hasher=hasher, audit=audit, clock=FakeClock())
        for _ in range(2)
    ]

    outcomes = await asyncio.gather(*(ensure(None) for ensure in processes))

    generated = [o.generated for o in outcomes if o.generated is not None]
    assert len(generated) == 1
    assert sorted(o.source for o in outcomes) == ["existing", "generated"]
    assert empty_settings.password_hash is not None
    assert await hasher.verify(generated[0], empty_settings.password_hash)


async def test_a_change_is_audited_without_the_password_or_its_hash(
    set_password: SetIngestPassword,
    settings_repo: InMemorySettingsRepository,
    audit: InMemoryAuditLog,
    clock: FakeClock,
) -> None:
    await set_password("rotated-pass", actor="ann")
    with pytest.raises(InvalidConfiguration):
        await set_password("short", actor="bob")  # refused: not audited

    [entry] = audit.entries
    assert (entry.actor, entry.action, entry.target, entry.at) == (
        "ann",
        "ingest_password.change",
        "ingest_password",
        clock.now(),
    )
    assert entry.before is None and entry.after == {"password": "changed"}
    assert settings_repo.password_hash is not None
    assert "rotated-pass" not in repr(entry) and settings_repo.password_hash not in repr(entry)


async def test_the_environment_password_is_audited_only_when_it_changes_the_hash(
    ensure: EnsureIngestPassword, audit: InMemoryAuditLog
) -> None:
    await ensure(PASSWORD)  # already stored: nothing changes
    await ensure("from-the-env-1")

    assert [(e.actor, e.action) for e in audit.entries] == [
        ("environment", "ingest_password.change")
    ]
