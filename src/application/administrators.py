"""Administrator accounts (SPEC §10): add, remove, change a password, list, log in, and the
first administrator created on first start. Changes are audited, never with a hash."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from application.operator_ports import AdministratorRepository, AuditLog
from application.password_guard import FailedPasswordGuard
from application.ports import Clock, PasswordHasher
from domain.administrator import (
    Administrator,
    Role,
    validate_new_password,
    validate_username,
)
from domain.audit import FIRST_START_ACTOR, AuditEntry
from domain.errors import AdministratorExists, InvalidCredentials, NotFound

FIRST_ADMIN_USERNAME = "admin"


@dataclass(frozen=True, slots=True)
class NewAdministrator:
    username: str
    password: str = field(repr=False)
    role: Role
    actor: str


class _AccountChange:
    """What the use cases that create or re-key an account share: the slow hash and the
    audit log next to the accounts."""

    def __init__(
        self,
        *,
        administrators: AdministratorRepository,
        hasher: PasswordHasher,
        audit: AuditLog,
        clock: Clock,
    ) -> None:
        self._administrators = administrators
        self._hasher = hasher
        self._audit = audit
        self._clock = clock

    async def _create(
        self, username: str, role: Role, password: str, *, actor: str
    ) -> Administrator | None:
        """The new account, audited (its role, never its hash); ``None`` when the username
        is taken."""
        now = self._clock.now()
        administrator = Administrator(
            username=username,
            role=role,
            created_at=now,
            password_hash=await self._hasher.hash(password),
        )
        if not await self._administrators.add(administrator):
            return None
        await self._audit.record(
            AuditEntry(
                actor=actor,
                action="administrator.add",
                target=username,
                at=now,
                after={"role": role.value},
            )
        )
        return administrator


class AddAdministrator(_AccountChange):
    """Usernames are unique; the password is stored as a salted slow hash only."""

    async def __call__(self, new: NewAdministrator) -> Administrator:
        username = validate_username(new.username)
        validate_new_password(new.password)
        administrator = await self._create(username, new.role, new.password, actor=new.actor)
        if administrator is None:
            raise AdministratorExists(f"administrator {username!r} already exists")
        return administrator


class RemoveAdministrator:
    """The last ``admin`` cannot be removed (nobody could change anything any more)."""

    def __init__(
        self, *, administrators: AdministratorRepository, audit: AuditLog, clock: Clock
    ) -> None:
        self._administrators = administrators
        self._audit = audit
        self._clock = clock

    async def __call__(self, username: str, *, actor: str) -> Administrator:
        removed = await self._administrators.remove(username)
        if removed is None:
            raise NotFound(f"no administrator {username!r}")
        await self._audit.record(
            AuditEntry(
                actor=actor,
                action="administrator.remove",
                target=username,
                at=self._clock.now(),
                before={"role": removed.role.value},
            )
        )
        return removed


class SetAdministratorPassword(_AccountChange):
    """A new password ends the account's sessions issued before it (their tokens carry a
    fingerprint of the old hash)."""

    async def __call__(self, username: str, password: str, *, actor: str) -> None:
        validate_new_password(password)
        encoded = await self._hasher.hash(password)
        if not await self._administrators.set_password_hash(username, encoded):
            raise NotFound(f"no administrator {username!r}")
        await self._audit.record(
            AuditEntry(
                actor=actor,
                action="administrator.set_password",
                target=username,
                at=self._clock.now(),
                after={"password": "changed"},
            )
        )


class ListAdministrators:
    def __init__(self, *, administrators: AdministratorRepository) -> None:
        self._administrators = administrators

    async def __call__(self) -> Sequence[Administrator]:
        return await self._administrators.list()


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str = field(repr=False)
    client: str  # the caller's address, for throttling


class Authenticate:
    """Check a username and password. Repeated failures are throttled per client and per
    username (``RateLimited`` with a retry time), an unknown username costs as much as a wrong
    password and the answer never says which was wrong. Success records the login time."""

    def __init__(
        self,
        *,
        administrators: AdministratorRepository,
        hasher: PasswordHasher,
        guard: FailedPasswordGuard,
        clock: Clock,
    ) -> None:
        self._administrators = administrators
        self._hasher = hasher
        self._guard = guard
        self._clock = clock
        self._decoy: str | None = None

    async def __call__(self, credentials: Credentials) -> Administrator:
        keys = (f"client:{credentials.client}", f"user:{credentials.username.lower()[:64]}")
        for key in keys:
            self._guard.check(key)
        administrator = await self._administrators.get(credentials.username)
        encoded = administrator.password_hash if administrator else await self._decoy_hash()
        matches = await self._hasher.verify(credentials.password, encoded)
        if administrator is None or not matches:
            for key in keys:
                self._guard.record_failure(key)
            raise InvalidCredentials("wrong username or password")
        for key in keys:
            self._guard.record_success(key)
        now = self._clock.now()
        await self._administrators.record_login(administrator.username, now)
        return replace(administrator, last_login_at=now)

    async def _decoy_hash(self) -> str:
        """A hash no password was chosen for, so unknown usernames pay the full KDF cost."""
        if self._decoy is None:
            self._decoy = await self._hasher.hash(secrets.token_urlsafe(16))
        return self._decoy


@dataclass(frozen=True, slots=True)
class FirstAdministrator:
    """``password`` is set only in the one process that created the account."""

    username: str
    password: str = field(repr=False)


class EnsureFirstAdministrator(_AccountChange):
    """On first start, with no administrator at all, create ``admin`` with a generated
    password, to be shown once. Race-safe: of two processes starting together only the one
    whose insert wins reports a password."""

    async def __call__(self) -> FirstAdministrator | None:
        if await self._administrators.has_any():
            return None
        password = secrets.token_urlsafe(12)
        created = await self._create(
            FIRST_ADMIN_USERNAME, Role.ADMIN, password, actor=FIRST_START_ACTOR
        )
        if created is None:
            return None
        return FirstAdministrator(username=FIRST_ADMIN_USERNAME, password=password)
