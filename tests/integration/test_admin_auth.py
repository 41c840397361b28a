"""Operator sessions over real HTTP: login, bearer and cookie, CSRF, throttling, first start."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from admin_harness import ADMIN_PASSWORD, VIEWER_PASSWORD, add_operator, admin_and_viewer, login
from log_scan import register_secret
from service_harness import Service, serve

from domain.administrator import Role
from entrypoints.http.admin.auth import SESSION_COOKIE
from entrypoints.http.admin.csrf import CSRF_COOKIE, CSRF_HEADER
from entrypoints.runtime import Roles

TTL = 600


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return str(body["error"]["code"])


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """Set-Cookie headers by cookie name (the whole header, attributes included)."""
    return {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}


async def test_login_answers_a_token_and_sets_the_session_and_csrf_cookies(
    database_url: str, tmp_path: Path
) -> None:
    async with serve(database_url, tmp_path, admin_token_ttl_sec=TTL) as svc:
        await add_operator(svc, "ann", ADMIN_PASSWORD, Role.ADMIN)
        before = datetime.now(UTC)

        response = await svc.client.post(
            "/api/login", json={"username": "ann", "password": ADMIN_PASSWORD}
        )

        assert response.status_code == 200, response.text
        body = response.json()
        register_secret(body["access_token"])
        assert set(body) == {"access_token", "token_type", "expires_at", "role"}
        assert (body["token_type"], body["role"]) == ("Bearer", "admin")
        expires_at = datetime.fromisoformat(body["expires_at"])
        assert (
            before + timedelta(seconds=TTL - 5) <= expires_at <= before + timedelta(seconds=TTL + 5)
        )
        cookies = set_cookies(response)
        session = cookies[SESSION_COOKIE]
        assert f"{SESSION_COOKIE}={body['access_token']};" in session
        for attribute in ("HttpOnly", "SameSite=strict", "Path=/", f"Max-Age={TTL}"):
            assert attribute in session
        assert "Secure" not in session  # PHOTOCHANGER_ADMIN_COOKIE_SECURE is off here
        csrf = cookies[CSRF_COOKIE]
        assert "HttpOnly" not in csrf and "SameSite=strict" in csrf  # the console reads it
        ann = await svc.container.administrators().get("ann")
        assert ann is not None and ann.last_login_at is not None
        assert before - timedelta(seconds=1) <= ann.last_login_at <= datetime.now(UTC)
        assert ADMIN_PASSWORD not in response.text


async def test_the_cookie_is_secure_when_configured(database_url: str, tmp_path: Path) -> None:
    async with serve(database_url, tmp_path, admin_cookie_secure=True) as svc:
        await add_operator(svc, "ann", ADMIN_PASSWORD, Role.ADMIN)
        response = await svc.client.post(
            "/api/login", json={"username": "ann", "password": ADMIN_PASSWORD}
        )
        cookies = set_cookies(response)
        assert "Secure" in cookies[SESSION_COOKIE] and "Secure" in cookies[CSRF_COOKIE]


async def test_bearer_and_cookie_both_identify_the_operator(
    database_url: str, tmp_path: Path
) -> None:
    async with serve(database_url, tmp_path) as svc:
        ann, vic = await admin_and_viewer(svc)

        for headers, expected in [
            (ann.bearer, {"username": "ann", "role": "admin"}),
            (ann.cookies, {"username": "ann", "role": "admin"}),
            (vic.bearer, {"username": "vic", "role": "viewer"}),
            (vic.cookies, {"username": "vic", "role": "viewer"}),
        ]:
            response = await svc.client.get("/api/me", headers=headers)
            assert response.status_code == 200, response.text
            assert response.json() == expected


@pytest.mark.parametrize(
    ("username", "password"), [("ann", "not-the-password"), ("nobody", ADMIN_PASSWORD)]
)
async def test_wrong_credentials_are_401_without_saying_which(
    database_url: str, tmp_path: Path, username: str, password: str
) -> None:
    async with serve(database_url, tmp_path) as svc:
        await add_operator(svc, "ann", ADMIN_PASSWORD, Role.ADMIN)

        response = await svc.client.post(
            "/api/login", json={"username": username, "password": password}
        )

        assert response.status_code == 401
        assert error_code(response) == "invalid_credentials"
        assert response.json()["error"]["message"] == "wrong username or password"
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
        assert password not in response.text


@pytest.mark.parametrize(
    "body",
    [
        {"username": "ann"},
        {"username": "ann", "password": "x", "remember": True},
        {"username": "", "password": "x"},
        {"username": "ann", "password": "x" * 1025},
        ["ann", "x"],
    ],
)
async def test_a_malformed_login_is_400(database_url: str, tmp_path: Path, body: object) -> None:
    async with serve(database_url, tmp_path) as svc:
        response = await svc.client.post("/api/login", json=body)
        assert response.status_code == 400
        assert error_code(response) == "invalid_request"


async def test_missing_bad_foreign_and_expired_tokens_are_401(
    database_url: str, tmp_path: Path
) -> None:
    async with serve(database_url, tmp_path) as svc:
        await add_operator(svc, "ann", ADMIN_PASSWORD, Role.ADMIN)
        secret = await svc.container.session_secret().get()
        register_secret(secret)
        now = datetime.now(UTC)
        foreign = jwt.encode(
            {"sub": "ann", "exp": now + timedelta(hours=1), "iat": now},
            "another-key-of-32-bytes-or-more!!",
            "HS256",
        )
        expired = jwt.encode(
            {"sub": "ann", "exp": now - timedelta(seconds=5), "iat": now - timedelta(hours=1)},
            secret,
            "HS256",
        )
        unsigned = jwt.encode({"sub": "ann", "exp": now + timedelta(hours=1)}, None, "none")
        register_secret(foreign, expired, unsigned)

        for headers in [
            {},
            {"Authorization": "Bearer garbage"},
            {"Authorization": f"Bearer {foreign}"},
            {"Authorization": f"Bearer {expired}"},
            {"Authorization": f"Bearer {unsigned}"},
            {"Cookie": f"{SESSION_COOKIE}={foreign}"},
        ]:
            response = await svc.client.get("/api/me", headers=headers)
            assert response.status_code == 401, (headers, response.text)
            assert error_code(response) == "unauthorized"
            assert secret not in response.text


async def test_a_new_password_or_removal_ends_the_sessions_issued_before(
    database_url: str, tmp_path: Path
) -> None:
    async with serve(database_url, tmp_path) as svc:
        ann, vic = await admin_and_viewer(svc)

        await svc.container.set_administrator_password()("ann", "a-new-password", actor="test")
        await svc.container.remove_administrator()("vic", actor="ann")

        for session in (ann, vic):
            response = await svc.client.get("/api/me", headers=session.bearer)
            assert response.status_code == 401
        fresh = await login(svc, "ann", "a-new-password")
        assert (await svc.client.get("/api/me", headers=fresh.bearer)).status_code == 200


async def test_failed_logins_are_throttled_per_client(database_url: str, tmp_path: Path) -> None:
    async with serve(database_url, tmp_path, password_max_failures=3) as svc:
        await add_operator(svc, "ann", ADMIN_PASSWORD, Role.ADMIN)
        for name in ("x1", "x2", "x3"):
            response = await svc.client.post(
                "/api/login", json={"username": name, "password": "wrong-password"}
            )
            assert response.status_code == 401

        response = await svc.client.post(
            "/api/login", json={"username": "ann", "password": ADMIN_PASSWORD}
        )

        assert response.status_code == 429
        assert error_code(response) == "rate_limited"
        assert 1 <= int(response.headers["retry-after"]) <= 60
        async with other_client(svc) as elsewhere:  # another address is not affected
            response = await elsewhere.post(
                "/api/login", json={"username": "ann", "password": ADMIN_PASSWORD}
            )
            assert response.status_code == 200, response.text


async def test_failed_logins_are_throttled_per_username_across_clients(
    database_url: str, tmp_path: Path
) -> None:
    async with serve(database_url, tmp_path, password_max_failures=3) as svc:
        await add_operator(svc, "ann", ADMIN_PASSWORD, Role.ADMIN)
        await add_operator(svc, "vic", VIEWER_PASSWORD, Role.VIEWER)
        for _ in range(3):
            response = await svc.client.post(
                "/api/login", json={"username": "ann", "password": "wrong-password"}
            )
            assert response.status_code == 401

        async with other_client(svc) as elsewhere:
            refused = await elsewhere.post(
                "/api/login", json={"username": "ann", "password": ADMIN_PASSWORD}
            )
            other_user = await elsewhere.post(
                "/api/login", json={"username": "vic", "password": VIEWER_PASSWORD}
            )

        assert refused.status_code == 429 and "retry-after" in refused.headers
        assert other_user.status_code == 200


def other_client(svc: Service) -> httpx.AsyncClient:
    """A client connecting from 127.0.0.2: the service sees another address."""
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    return httpx.AsyncClient(base_url=svc.base_url, transport=transport)


async def test_cookie_state_changes_need_the_csrf_token_and_bearer_ones_do_not(
    database_url: str, tmp_path: Path
) -> None:
    async with serve(database_url, tmp_path) as svc:
        ann, vic = await admin_and_viewer(svc)

        without = await svc.client.post("/api/logout", headers=ann.cookies)
        forged = await svc.client.post(
            "/api/logout", headers={**ann.cookies, CSRF_HEADER: vic.csrf_token[:-4] + "beef"}
        )
        with_token = await svc.client.post("/api/logout", headers=ann.console)
        bearer = await svc.client.post("/api/logout", headers=vic.bearer)
        bearer_and_cookie = await svc.client.post(
            "/api/logout", headers={**vic.bearer, "Cookie": f"{SESSION_COOKIE}={vic.token}"}
        )

        assert (without.status_code, error_code(without)) == (403, "forbidden")
        assert "CSRF" in without.json()["error"]["message"]
        assert (forged.status_code, error_code(forged)) == (403, "forbidden")
        assert with_token.status_code == 204
        assert bearer.status_code == 204 and bearer_and_cookie.status_code == 204
        cleared = set_cookies(with_token)
        assert "Max-Age=0" in cleared[SESSION_COOKIE] and "Max-Age=0" in cleared[CSRF_COOKIE]


async def test_a_cookie_session_without_a_csrf_cookie_gets_one_on_a_read(
    database_url: str, tmp_path: Path
) -> None:
    async with serve(database_url, tmp_path) as svc:
        ann, _ = await admin_and_viewer(svc)

        response = await svc.client.get(
            "/api/me", headers={"Cookie": f"{SESSION_COOKIE}={ann.session_cookie}"}
        )

        assert response.status_code == 200
        token = response.cookies[CSRF_COOKIE]
        register_secret(token)
        headers = {
            "Cookie": f"{SESSION_COOKIE}={ann.session_cookie}; {CSRF_COOKIE}={token}",
            CSRF_HEADER: token,
        }
        assert (await svc.client.post("/api/logout", headers=headers)).status_code == 204


async def test_booth_and_public_routes_need_no_session(database_url: str, tmp_path: Path) -> None:
    async with serve(database_url, tmp_path) as svc:
        assert (await svc.ingest()).status_code == 200
        for path in ("/healthz", "/readyz", "/schema/openapi.json"):
            assert (await svc.client.get(path)).status_code == 200, path


async def test_tokens_work_across_processes_and_restarts(database_url: str, tmp_path: Path) -> None:
    async with serve(database_url, tmp_path / "one") as first:
        ann, _ = await admin_and_viewer(first)
        async with serve(database_url, tmp_path / "two", roles=Roles()) as second:
            response = await second.client.get("/api/me", headers=ann.bearer)
            assert response.status_code == 200, response.text
    async with serve(database_url, tmp_path / "three", roles=Roles()) as restarted:
        response = await restarted.client.get("/api/me", headers=ann.cookies)
        assert response.status_code == 200, response.text


async def test_first_start_creates_admin_and_prints_its_password_once(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serve(database_url, tmp_path) as svc:
        printed = capsys.readouterr().err
        match = re.search(r"username: (\S+)\s+password: (\S+)", printed)
        assert match is not None, printed
        username, password = match.groups()
        register_secret(password)
        assert username == "admin" and printed.count(password) == 1
        session = await login(svc, "admin", password)
        me = await svc.client.get("/api/me", headers=session.bearer)
        assert me.json() == {"username": "admin", "role": "admin"}
        entries = await svc.container.audit_log().page(10)
        [entry] = [e for e in entries if e.action.startswith("administrator.")]
        assert (entry.actor, entry.action, entry.target) == (
            "first-start",
            "administrator.add",
            "admin",
        )

    async with serve(database_url, tmp_path):
        assert "password:" not in capsys.readouterr().err
