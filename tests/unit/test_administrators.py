"""Administrator accounts: add, remove, set a password, list, log in, first start."""

from __future__ import annotations

import asyncio

import pytest
from fakes import FakeClock, PlainPasswordHasher
from operator_fakes import InMemoryAdministratorRepository, InMemoryAuditLog, InMemorySecretStore

from application.administrators import (
    AddAdministrator,
    Authenticate,
    Credentials,
    EnsureFirstAdministrator,
    ListAdministrators,
    NewAdministrator,
    RemoveAdministrator,
    SetAdministratorPassword,
)
from application.password_guard import FailedPasswordGuard
from application.session_secret import SESSION_SECRET_KEY, SessionSecret
from domain.administrator import MIN_PASSWORD_LENGTH, Role
from domain.errors import (
    AdministratorExists,
    InvalidCredentials,
    InvalidRequest,
    LastAdministrator,
    NotFound,
    RateLimited,
)

ANN_PASSWORD = "ann-password-1"


class CountingHasher(PlainPasswordHasher):
    """Counts verifications, so a test can see an unknown username pays one too."""

    def __init__(self) -> None:
        super().__init__()
        self.verified = 0

    async def verify(self, password: str, encoded: str) -> bool:
        self.verified += 1
        return await super().verify(password, encoded)


@pytest.fixture
def admins() -> InMemoryAdministratorRepository:
    return InMemoryAdministratorRepository()


@pytest.fixture
def audit() -> InMemoryAuditLog:
    return InMemoryAuditLog()


@pytest.fixture
def counting_hasher() -> CountingHasher:
    return CountingHasher()


@pytest.fixture
def add(
    admins: InMemoryAdministratorRepository,
    counting_hasher: CountingHasher,
    audit: InMemoryAuditLog,
    clock: FakeClock,
) -> AddAdministrator:
    return AddAdministrator(administrators=admins, hasher=counting_hasher, audit=audit, clock=clock)


@pytest.fixture
def login_guard(clock: FakeClock) -> FailedPasswordGuard:
    return FailedPasswordGuard(clock, max_failures=3, window_seconds=60)


@pytest.fixture
def authenticate(
    admins: InMemoryAdministratorRepository,
    counting_hasher: CountingHasher,
    login_guard: FailedPasswordGuard,
    clock: FakeClock,
) -> Authenticate:
    return Authenticate(
        administrators=admins, hasher=counting_hasher, guard=login_guard, clock=clock
    )


async def _ann(add: AddAdministrator, role: Role = Role.ADMIN) -> None:
    await add(NewAdministrator(username="ann", password=ANN_PASSWORD, role=role, actor="cli"))


def _login(password: str, *, username: str = "ann", client: str = "10.0.0.1") -> Credentials:
    return Credentials(username=username, password=password, client=client)


async def test_an_added_administrator_is_stored_with_a_hash_and_audited(
    add: AddAdministrator,
    admins: InMemoryAdministratorRepository,
    counting_hasher: CountingHasher,
    audit: InMemoryAuditLog,
    clock: FakeClock,
) -> None:
    added = await add(
        NewAdministrator(username="vic", password="viewer-pass-1", role=Role.VIEWER, actor="ann")
    )

    assert admins.rows["vic"] == added
    assert (added.role, added.created_at, added.last_login_at) == (Role.VIEWER, clock.now(), None)
    assert added.password_hash != "viewer-pass-1"
    assert await counting_hasher.verify("viewer-pass-1", added.password_hash)
    [entry] = audit.entries
    assert (entry.actor, entry.action, entry.target, entry.before, entry.after) == (
        "ann",
        "administrator.add",
        "vic",
        None,
        {"role": "viewer"},
    )
    assert "viewer-pass-1" not in repr(entry) and added.password_hash not in repr(entry)
    assert "viewer-pass-1" not in repr(added)


@pytest.mark.parametrize(
    ("username", "password", "field"),
    [
        ("", "long-enough-1", "username"),
        ("Ann", "long-enough-1", "username"),  # upper case
        ("ann smith", "long-enough-1", "username"),
        ("-ann", "long-enough-1", "username"),
        ("a" * 65, "long-enough-1", "username"),
        ("ann", "x" * (MIN_PASSWORD_LENGTH - 1), "password"),
    ],
)
async def test_bad_usernames_and_short_passwords_are_refused(
    add: AddAdministrator,
    admins: InMemoryAdministratorRepository,
    audit: InMemoryAuditLog,
    username: str,
    password: str,
    field: str,
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        await add(
            NewAdministrator(username=username, password=password, role=Role.ADMIN, actor="cli")
        )
    assert refused.value.details["field"] == field
    assert admins.rows == {} and audit.entries == []


async def test_a_taken_username_is_refused_and_the_account_kept(
    add: AddAdministrator, admins: InMemoryAdministratorRepository
) -> None:
    await _ann(add)
    before = admins.rows["ann"]

    with pytest.raises(AdministratorExists):
        await add(
            NewAdministrator(username="ann", password="other-pass-1", role=Role.VIEWER, actor="x")
        )
    assert admins.rows["ann"] == before


async def test_the_last_admin_cannot_be_removed_but_a_viewer_and_a_spare_admin_can(
    add: AddAdministrator,
    admins: InMemoryAdministratorRepository,
    audit: InMemoryAuditLog,
    clock: FakeClock,
) -> None:
    remove = RemoveAdministrator(administrators=admins, audit=audit, clock=clock)
    await _ann(add)
    await add(
        NewAdministrator(username="vic", password="viewer-pass-1", role=Role.VIEWER, actor="ann")
    )
    await add(
        NewAdministrator(username="bob", password="bob-password-1", role=Role.ADMIN, actor="ann")
    )

    assert (await remove("vic", actor="ann")).username == "vic"
    assert (await remove("bob", actor="ann")).username == "bob"
    with pytest.raises(LastAdministrator):
        await remove("ann", actor="ann")
    with pytest.raises(NotFound):
        await remove("nobody", actor="ann")

    assert list(admins.rows) == ["ann"]
    removals = [e for e in audit.entries if e.action == "administrator.remove"]
    assert [(e.target, e.before, e.after) for e in removals] == [
        ("vic", {"role": "viewer"}, None),
        ("bob", {"role": "admin"}, None),
    ]


async def test_a_new_password_replaces_the_old_one_and_is_audited_without_secrets(
    add: AddAdministrator,
    admins: InMemoryAdministratorRepository,
    counting_hasher: CountingHasher,
    audit: InMemoryAuditLog,
    clock: FakeClock,
) -> None:
    set_password = SetAdministratorPassword(
        administrators=admins, hasher=counting_hasher, audit=audit, clock=clock
    )
    await _ann(add)
    old_hash = admins.rows["ann"].password_hash

    await set_password("ann", "brand-new-pass", actor="cli")

    new_hash = admins.rows["ann"].password_hash
    assert await counting_hasher.verify("brand-new-pass", new_hash)
    assert not await counting_hasher.verify(ANN_PASSWORD, new_hash)
    entry = audit.entries[-1]
    assert (entry.actor, entry.action, entry.target, entry.after) == (
        "cli",
        "administrator.set_password",
        "ann",
        {"password": "changed"},
    )
    for secret in ("brand-new-pass", new_hash, old_hash):
        assert secret not in repr(entry)
    with pytest.raises(InvalidRequest):
        await set_password("ann", "short", actor="cli")
    with pytest.raises(NotFound):
        await set_password("nobody", "brand-new-pass", actor="cli")
    assert admins.rows["ann"].password_hash == new_hash


async def test_list_is_by_username(
    add: AddAdministrator, admins: InMemoryAdministratorRepository
) -> None:
    for name in ("zoe", "ann", "max"):
        await add(
            NewAdministrator(username=name, password="long-enough-1", role=Role.VIEWER, actor="x")
        )
    listed = await ListAdministrators(administrators=admins)()
    assert [a.username for a in listed] == ["ann", "max", "zoe"]


async def test_a_login_returns_the_account_and_records_the_time(
    add: AddAdministrator,
    authenticate: Authenticate,
    admins: InMemoryAdministratorRepository,
    clock: FakeClock,
) -> None:
    await _ann(add)
    await clock.advance(30)

    administrator = await authenticate(_login(ANN_PASSWORD))

    assert (administrator.username, administrator.role) == ("ann", Role.ADMIN)
    assert administrator.last_login_at == clock.now()
    assert admins.rows["ann"].last_login_at == clock.now()


async def test_wrong_password_and_unknown_user_fail_alike_and_both_pay_the_kdf(
    add: AddAdministrator,
    authenticate: Authenticate,
    admins: InMemoryAdministratorRepository,
    counting_hasher: CountingHasher,
) -> None:
    await _ann(add)
    counting_hasher.verified = 0

    with pytest.raises(InvalidCredentials) as wrong:
        await authenticate(_login("not-the-password"))
    with pytest.raises(InvalidCredentials) as unknown:
        await authenticate(_login(ANN_PASSWORD, username="nobody"))

    assert wrong.value.message == unknown.value.message
    assert counting_hasher.verified == 2
    assert admins.rows["ann"].last_login_at is None


async def test_failures_are_throttled_per_client(
    add: AddAdministrator, authenticate: Authenticate, clock: FakeClock
) -> None:
    await _ann(add)
    for name in ("x1", "x2", "x3"):  # three different usernames, one client
        with pytest.raises(InvalidCredentials):
            await authenticate(_login("wrong-password", username=name))

    with pytest.raises(RateLimited) as limited:
        await authenticate(_login(ANN_PASSWORD))  # even the right password
    assert 1 <= limited.value.retry_after <= 60
    assert (await authenticate(_login(ANN_PASSWORD, client="10.0.0.2"))).username == "ann"

    await clock.advance(61)
    assert (await authenticate(_login(ANN_PASSWORD))).username == "ann"


async def test_failures_are_throttled_per_username_across_clients(
    add: AddAdministrator, authenticate: Authenticate
) -> None:
    await _ann(add)
    for n in range(3):  # three clients guessing ann's password
        with pytest.raises(InvalidCredentials):
            await authenticate(_login("wrong-password", client=f"10.0.1.{n}"))

    with pytest.raises(RateLimited):
        await authenticate(_login(ANN_PASSWORD, client="10.0.2.1"))
    with pytest.raises(RateLimited):  # usernames are matched case-insensitively
        await authenticate(_login(ANN_PASSWORD, username="ANN", client="10.0.2.2"))


async def test_a_success_clears_the_failures_counted_so_far(
    add: AddAdministrator, authenticate: Authenticate
) -> None:
    await _ann(add)
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            await authenticate(_login("wrong-password"))
    await authenticate(_login(ANN_PASSWORD))
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            await authenticate(_login("wrong-password"))
    assert (await authenticate(_login(ANN_PASSWORD))).username == "ann"


async def test_first_start_creates_admin_once_with_a_password_that_logs_in(
    admins: InMemoryAdministratorRepository,
    counting_hasher: CountingHasher,
    audit: InMemoryAuditLog,
    clock: FakeClock,
    authenticate: Authenticate,
) -> None:
    ensure = EnsureFirstAdministrator(
        administrators=admins, hasher=counting_hasher, audit=audit, clock=clock
    )

    first = await ensure()

    assert first is not None and first.username == "admin"
    assert len(first.password) >= MIN_PASSWORD_LENGTH
    assert first.password not in repr(first)
    assert admins.rows["admin"].role is Role.ADMIN
    assert (await authenticate(_login(first.password, username="admin"))).username == "admin"
    assert await ensure() is None
    assert [(e.actor, e.action, e.target, e.after) for e in audit.entries] == [
        ("first-start", "administrator.add", "admin", {"role": "admin"})
    ]


async def test_first_start_does_nothing_when_any_administrator_exists(
    add: AddAdministrator,
    admins: InMemoryAdministratorRepository,
    counting_hasher: CountingHasher,
    audit: InMemoryAuditLog,
    clock: FakeClock,
) -> None:
    await add(
        NewAdministrator(username="vic", password="viewer-pass-1", role=Role.VIEWER, actor="x")
    )
    ensure = EnsureFirstAdministrator(
        administrators=admins, hasher=counting_hasher, audit=audit, clock=clock
    )
    assert await ensure() is None
    assert list(admins.rows) == ["vic"]


async def test_two_processes_starting_at_once_create_one_admin(
    admins: InMemoryAdministratorRepository,
    counting_hasher: CountingHasher,
    audit: InMemoryAuditLog,
    clock: FakeClock,
) -> None:
    processes = [
        EnsureFirstAdministrator(
            administrators=admins, hasher=counting_hasher, audit=audit, clock=clock
        )
        for _ in range(2)
    ]
    outcomes = await asyncio.gather(*(ensure() for ensure in processes))

    created = [o for o in outcomes if o is not None]
    assert len(created) == 1
    assert await counting_hasher.verify(created[0].password, admins.rows["admin"].password_hash)
    assert len(audit.entries) == 1


async def test_the_session_secret_is_generated_once_and_shared() -> None:
    store = InMemorySecretStore()
    first, second = SessionSecret(store), SessionSecret(store)  # two processes

    values = await asyncio.gather(first.get(), first.get(), second.get())

    assert len(set(values)) == 1 and len(values[0]) >= 32
    assert store.values == {SESSION_SECRET_KEY: values[0]}
    assert values[0] not in repr(first)
