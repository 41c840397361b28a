"""Operators for integration tests: create accounts through the use case, log in over HTTP."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from log_scan import register_secret
from service_harness import Service

from application.administrators import NewAdministrator
from domain.administrator import Role
from entrypoints.http.admin.auth import SESSION_COOKIE
from entrypoints.http.admin.csrf import CSRF_COOKIE, CSRF_HEADER

ADMIN_PASSWORD = "admin-password-1"
VIEWER_PASSWORD = "viewer-password-1"


@dataclass(frozen=True)
class Session:
    """What ``POST /api/login`` gave one operator."""

    username: str
    token: str
    session_cookie: str
    csrf_token: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def cookies(self) -> dict[str, str]:
        """What a browser sends: the session and CSRF cookies, nothing else."""
        return {
            "Cookie": f"{SESSION_COOKIE}={self.session_cookie}; {CSRF_COOKIE}={self.csrf_token}"
        }

    @property
    def console(self) -> dict[str, str]:
        """The console's state-changing request: cookies plus the CSRF header."""
        return {**self.cookies, CSRF_HEADER: self.csrf_token}


async def add_operator(svc: Service, username: str, password: str, role: Role) -> None:
    await svc.container.add_administrator()(
        NewAdministrator(username=username, password=password, role=role, actor="test")
    )


async def login(svc: Service, username: str, password: str) -> Session:
    async with httpx.AsyncClient(base_url=svc.base_url) as fresh:  # its own cookie jar
        response = await fresh.post("/api/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    register_secret(response.json()["access_token"], response.cookies[CSRF_COOKIE])
    return Session(
        username=username,
        token=response.json()["access_token"],
        session_cookie=response.cookies[SESSION_COOKIE],
        csrf_token=response.cookies[CSRF_COOKIE],
    )


async def admin_and_viewer(svc: Service) -> tuple[Session, Session]:
    """An ``ann`` (admin) and a ``vic`` (viewer), both logged in."""
    await add_operator(svc, "ann", ADMIN_PASSWORD, Role.ADMIN)
    await add_operator(svc, "vic", VIEWER_PASSWORD, Role.VIEWER)
    return await login(svc, "ann", ADMIN_PASSWORD), await login(svc, "vic", VIEWER_PASSWORD)
