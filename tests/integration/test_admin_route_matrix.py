"""Role × route matrix, generated from the app's own route table.

Every ``/api/`` route (but the login and the booth's ingest alias) must declare exactly one
of the two role guards, and every state change must be ``admin_only``: a new route without a
rule fails here, with no list to update. Then each route is called over real HTTP with no
credentials (401), as a viewer (403 on ``admin_only``), as an admin, and as an admin's console
without the CSRF token (403 on state changes).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from admin_harness import admin_and_viewer
from litestar import Litestar, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from service_harness import serve

from entrypoints.http.admin.guards import ROLE_GUARDS, admin_only, any_operator
from entrypoints.http.app import create_app
from entrypoints.runtime import Roles

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# State changes a viewer may make: only ending its own session.
VIEWER_MAY_CHANGE = frozenset({("POST", "/api/logout")})


@dataclass(frozen=True)
class OperatorRoute:
    method: str
    path: str  # as declared, e.g. /api/slots/{slot_id:str}
    guard: Callable[..., Any] | None
    problem: str | None


def _guards(handler: HTTPRouteHandler) -> list[Any]:
    # Litestar wraps guards; the wrapper keeps the function as ``func``.
    return [getattr(g, "func", g) for g in handler.resolve_guards()]


def _exempt(path: str) -> bool:
    return path == "/api/login" or path.startswith("/api/ingest/")


def operator_routes(app: Litestar) -> Iterator[OperatorRoute]:
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/api/"):
            continue
        if _exempt(route.path):
            continue
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods - {"OPTIONS"}):
                ours = [g for g in _guards(handler) if g in ROLE_GUARDS]
                problem = None
                if len(ours) != 1:
                    problem = f"{method} {route.path}: {len(ours)} role guards, need exactly one"
                elif (
                    method not in SAFE_METHODS
                    and ours[0] is not admin_only
                    and (method, route.path) not in VIEWER_MAY_CHANGE
                ):
                    problem = f"{method} {route.path}: a state change must be admin_only"
                yield OperatorRoute(
                    method, route.path, ours[0] if len(ours) == 1 else None, problem
                )


def test_the_checker_flags_routes_without_a_rule() -> None:
    @get("/api/forgotten", sync_to_thread=False)
    def forgotten() -> None: ...

    @get("/api/twice", guards=[admin_only, any_operator], sync_to_thread=False)
    def twice() -> None: ...

    @post("/api/change", guards=[any_operator], sync_to_thread=False)
    def change() -> None: ...

    @get("/api/fine", guards=[any_operator], sync_to_thread=False)
    def fine() -> None: ...

    @post("/api/login", sync_to_thread=False)
    def login() -> None: ...

    app = Litestar([forgotten, twice, change, fine, login])
    problems = sorted(r.problem for r in operator_routes(app) if r.problem)

    assert problems == [
        "GET /api/forgotten: 0 role guards, need exactly one",
        "GET /api/twice: 2 role guards, need exactly one",
        "POST /api/change: a state change must be admin_only",
    ]


def concrete(path: str) -> str:
    """A request path for a declared one: slot ids look like slots, uuids like uuids."""

    def value(match: re.Match[str]) -> str:
        name, kind = match.group(1), match.group(2)
        if kind == "uuid":
            return str(uuid.uuid4())
        if kind == "int":
            return "1"
        return "slot-001" if "slot" in name else "x"

    return re.sub(r"\{(\w+):(\w+)\}", value, path)


async def test_every_operator_route_has_one_rule_and_answers_by_role(
    database_url: str, tmp_path: Path
) -> None:
    async with serve(database_url, tmp_path) as svc:
        routes = list(operator_routes(create_app(svc.container, Roles())))
        assert [r.problem for r in routes if r.problem] == []
        assert {("GET", "/api/me"), ("POST", "/api/logout")} <= {(r.method, r.path) for r in routes}
        ann, vic = await admin_and_viewer(svc)

        async def call(route: OperatorRoute, headers: dict[str, str]) -> httpx.Response:
            body = None if route.method in SAFE_METHODS else {}
            return await svc.client.request(
                route.method, concrete(route.path), headers=headers, json=body
            )

        failures: list[str] = []

        def expect(route: OperatorRoute, who: str, response: httpx.Response, ok: bool) -> None:
            if not ok:
                failures.append(f"{who} {route.method} {route.path}: {response.status_code}")

        for route in routes:
            anonymous = await call(route, {})
            expect(
                route,
                "anonymous",
                anonymous,
                anonymous.status_code == 401
                and anonymous.json()["error"]["code"] == "unauthorized",
            )
            viewer = await call(route, vic.bearer)
            if route.guard is admin_only:
                expect(
                    route,
                    "viewer",
                    viewer,
                    viewer.status_code == 403 and viewer.json()["error"]["code"] == "forbidden",
                )
            else:
                expect(route, "viewer", viewer, viewer.status_code not in (401, 403))
            if route.method not in SAFE_METHODS:
                no_csrf = await call(route, ann.cookies)
                expect(route, "console without CSRF", no_csrf, no_csrf.status_code == 403)
        for route in routes:  # last: these may change things
            admin = await call(route, ann.console)
            expect(route, "admin", admin, admin.status_code not in (401, 403))

        assert failures == []
