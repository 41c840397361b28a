"""``photochanger admins`` and the audit trail of every CLI change (actor ``cli``)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from PIL import Image
from test_cli import Invoke, _invoker, ok, query, refused

from adapters.security.password import ScryptPasswordHasher

PREFIX = "PHOTOCHANGER_"


@pytest.fixture(autouse=True)
def _no_ambient_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(PREFIX):
            monkeypatch.delenv(key)


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Invoke:
    return _invoker(database_url, tmp_path)


def admin_rows(url: str) -> dict[str, dict[str, object]]:
    return {r["username"]: r for r in query(url, "SELECT * FROM administrator")}


def audit_rows(url: str) -> list[dict[str, object]]:
    return query(url, "SELECT actor, action, target, before, after FROM audit_log ORDER BY id")


def verify(password: str, encoded: object) -> bool:
    assert isinstance(encoded, str)
    return asyncio.run(ScryptPasswordHasher().verify(password, encoded))


def test_admins_add_list_set_password_and_remove(cli: Invoke, database_url: str) -> None:
    assert ok(cli("admins", "add", "ann", stdin="ann-password-1\n")) == "added admin ann\n"
    assert ok(cli("admins", "add", "vic", "--role", "viewer", stdin="vic-password-1\n")) == (
        "added viewer vic\n"
    )

    rows = admin_rows(database_url)
    assert {name: row["role"] for name, row in rows.items()} == {"ann": "admin", "vic": "viewer"}
    assert str(rows["ann"]["password_hash"]).startswith("scrypt$")
    assert verify("ann-password-1", rows["ann"]["password_hash"])
    listed = ok(cli("admins", "list")).splitlines()
    assert [line.split()[:2] for line in listed] == [["ann", "admin"], ["vic", "viewer"]]
    assert all("last login never" in line for line in listed)

    assert ok(cli("admins", "set-password", "ann", stdin="ann-password-2\n")) == (
        "password of ann updated\n"
    )
    new_hash = admin_rows(database_url)["ann"]["password_hash"]
    assert verify("ann-password-2", new_hash) and not verify("ann-password-1", new_hash)

    assert ok(cli("admins", "remove", "vic")) == "removed viewer vic\n"
    refused(cli("admins", "remove", "ann"), "last admin")
    refused(cli("admins", "remove", "nobody"), "nobody")
    assert list(admin_rows(database_url)) == ["ann"]

    assert [(r["actor"], r["action"], r["target"]) for r in audit_rows(database_url)] == [
        ("cli", "administrator.add", "ann"),
        ("cli", "administrator.add", "vic"),
        ("cli", "administrator.set_password", "ann"),
        ("cli", "administrator.remove", "vic"),
    ]
    trail = json.dumps([[r["before"], r["after"]] for r in audit_rows(database_url)])
    for secret in ("ann-password-1", "ann-password-2", "vic-password-1", "scrypt$"):
        assert secret not in trail


def test_admins_add_refuses_clearly_and_stores_nothing(cli: Invoke, database_url: str) -> None:
    ok(cli("admins", "add", "ann", stdin="ann-password-1\n"))

    refused(cli("admins", "add", "ann", stdin="other-password-1\n"), "already exists")
    refused(cli("admins", "add", "bob", stdin="short\n"), "password")
    refused(cli("admins", "add", "Bob Smith", stdin="bob-password-1\n"), "username")
    refused(cli("admins", "add", "bob", "--role", "root", stdin="x\n"), "root", usage=True)
    refused(cli("admins", "set-password", "nobody", stdin="long-enough-1\n"), "nobody")

    assert list(admin_rows(database_url)) == ["ann"]
    assert len(audit_rows(database_url)) == 1


def test_every_cli_change_is_audited_as_cli_without_secrets(
    cli: Invoke, database_url: str, tmp_path: Path
) -> None:
    frame = tmp_path / "frame.png"
    Image.new("RGBA", (8, 8), (255, 0, 0, 128)).save(frame, format="PNG")

    ok(cli("slots", "set", "slot-002", "--operation", "sepia", "--name", "Old times"))
    ok(cli("settings", "set", "--sync-timeout", "50"))
    ok(cli("password", "set", stdin="new-ingest-password\n"))
    template = json.loads(ok(cli("templates", "add", str(frame), "--label", "frame")))
    ok(cli("templates", "remove", template["id"]))

    rows = audit_rows(database_url)
    assert [(r["actor"], r["action"], r["target"]) for r in rows] == [
        ("cli", "slot.update", "slot-002"),
        ("cli", "settings.update", "settings"),
        ("cli", "ingest_password.change", "ingest_password"),
        ("cli", "template.add", template["id"]),
        ("cli", "template.remove", template["id"]),
    ]
    slot, settings, password = rows[0], rows[1], rows[2]
    assert isinstance(slot["before"], dict) and isinstance(slot["after"], dict)
    assert (slot["before"]["operation"], slot["after"]["operation"]) == ("grayscale", "sepia")
    assert (slot["before"]["name"], slot["after"]["name"]) == ("Slot 2", "Old times")
    assert isinstance(settings["after"], dict) and settings["after"]["sync_timeout_sec"] == 50
    assert password["after"] == {"password": "changed"}
    stored_hash = query(
        database_url, "SELECT value FROM app_settings WHERE key = 'ingest.password_hash'"
    )[0]["value"]
    trail = json.dumps([[r["before"], r["after"]] for r in rows])
    assert "new-ingest-password" not in trail and str(stored_hash) not in trail
