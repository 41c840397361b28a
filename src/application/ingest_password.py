"""The global ingest password: set it, or make sure one exists on first start."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from application.operator_ports import AuditLog
from application.ports import Clock, PasswordHasher, SettingsRepository
from domain.audit import ENVIRONMENT_ACTOR, FIRST_START_ACTOR, AuditEntry
from domain.errors import InvalidConfiguration

MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True, slots=True)
class PasswordProvisioning:
    """``generated`` is set only in the one process that created a new password, so it is
    shown exactly once."""

    generated: str | None = None
    source: str = "existing"  # "existing" | "environment" | "generated"


def _password_changed(actor: str, clock: Clock) -> AuditEntry:
    """The audit trail says that the password changed and who changed it, never more."""
    return AuditEntry(
        actor=actor,
        action="ingest_password.change",
        target="ingest_password",
        at=clock.now(),
        after={"password": "changed"},
    )


class SetIngestPassword:
    """Store only a salted slow hash; takes effect for the next ingest, no restart."""

    def __init__(
        self, *, settings: SettingsRepository, hasher: PasswordHasher, audit: AuditLog, clock: Clock
    ) -> None:
        self._settings = settings
        self._hasher = hasher
        self._audit = audit
        self._clock = clock

    async def __call__(self, password: str, *, actor: str) -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidConfiguration(
                f"the ingest password needs at least {MIN_PASSWORD_LENGTH} characters",
                {"field": "password"},
            )
        encoded = await self._hasher.hash(password)
        await self._settings.set_password_hash(encoded, updated_by=actor, only_if_unset=False)
        await self._audit.record(_password_changed(actor, self._clock))


class EnsureIngestPassword:
    """At start-up: the environment's password wins; else keep the stored one; else generate
    one (race-safe: when two processes start at once only one stores and prints it)."""

    def __init__(
        self, *, settings: SettingsRepository, hasher: PasswordHasher, audit: AuditLog, clock: Clock
    ) -> None:
        self._settings = settings
        self._hasher = hasher
        self._audit = audit
        self._clock = clock

    async def __call__(self, from_environment: str | None) -> PasswordProvisioning:
        stored = await self._settings.get_password_hash()
        if from_environment:
            if stored is None or not await self._hasher.verify(from_environment, stored):
                await SetIngestPassword(
                    settings=self._settings,
                    hasher=self._hasher,
                    audit=self._audit,
                    clock=self._clock,
                )(from_environment, actor=ENVIRONMENT_ACTOR)
            return PasswordProvisioning(source="environment")
        if stored is not None:
            return PasswordProvisioning()
        generated = secrets.token_urlsafe(12)
        encoded = await self._hasher.hash(generated)
        if await self._settings.set_password_hash(
            encoded, updated_by=FIRST_START_ACTOR, only_if_unset=True
        ):
            await self._audit.record(_password_changed(FIRST_START_ACTOR, self._clock))
            return PasswordProvisioning(generated=generated, source="generated")
        return PasswordProvisioning()
