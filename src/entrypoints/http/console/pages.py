"""Console page handlers: each renders a page shell for the logged-in operator; the page's
script reads and changes everything through the JSON API under ``/api/``, so no rule lives
here. Served under ``/admin`` by the same app; ``/`` redirects there.

Security: the session cookie is checked by the operator auth middleware like any ``/api/``
call; a visitor without a valid session is redirected to the login page instead of getting
a JSON ``401``. Every console answer carries a Content-Security-Policy without inline
scripts (scripts are static ES modules), and nothing secret is rendered: the page knows the
operator's name and role only. A console path that names nothing answers a "not found" page,
not the API's JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from litestar import Controller, Request, Response, Router, get
from litestar.datastructures import ResponseHeader
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.params import FromPath
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ControllerRouterHandler, ExceptionHandlersMap

from domain.administrator import Role
from domain.errors import Unauthorized
from domain.slot import SLOT_IDS, is_slot_id
from entrypoints.http.admin.guards import current_operator
from entrypoints.http.errors import handle_http_error

CONSOLE_PATH = "/admin"
LOGIN_PATH = f"{CONSOLE_PATH}/login"
STATIC_PATH = f"{CONSOLE_PATH}/static"
TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
_PUBLIC = {"exclude_from_auth": True}  # the operator auth middleware lets these through

# (url, label) of the navigation bar, in order.
NAV: tuple[tuple[str, str], ...] = (
    (CONSOLE_PATH, "Dashboard"),
    (f"{CONSOLE_PATH}/templates", "Templates"),
    (f"{CONSOLE_PATH}/jobs", "Jobs"),
    (f"{CONSOLE_PATH}/gallery", "Gallery"),
    (f"{CONSOLE_PATH}/stats", "Stats"),
    (f"{CONSOLE_PATH}/settings", "Settings"),
    (f"{CONSOLE_PATH}/audit", "Audit"),
)


def content_security_policy(public_base_url: str | None) -> str:
    """Only this origin's scripts (no inline ones), styles and connections; images also from
    ``blob:`` (test-run previews) and from the public base URL, where result links point."""
    images = ["'self'", "blob:", "data:"]
    if public_base_url:
        parts = urlsplit(public_base_url)
        images.append(f"{parts.scheme}://{parts.netloc}")
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {' '.join(images)}",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def security_headers(public_base_url: str | None) -> dict[str, str]:
    """What every console answer carries, its "not found" page too."""
    return {
        "Content-Security-Policy": content_security_policy(public_base_url),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def is_console_page(path: str) -> bool:
    """A path under ``/admin`` a person opens (its static files are not pages)."""
    under_console = path == CONSOLE_PATH or path.startswith(f"{CONSOLE_PATH}/")
    return under_console and not path.startswith(f"{STATIC_PATH}/")


def _page(request: Request[Any, Any, Any], template: str, title: str, **context: Any) -> Template:
    operator = current_operator(request)
    return Template(
        template_name=template,
        context={
            "title": title,
            "nav": NAV,
            "current": request.url.path,
            "operator": operator,
            "can_change": operator.role is Role.ADMIN,
            **context,
        },
    )


class ConsolePages(Controller):
    """The pages behind the login; which ones change anything is the API's business (a
    viewer's page hides the change controls, and the API answers ``403`` anyway)."""

    path = CONSOLE_PATH
    include_in_schema = False

    @get("/")
    async def dashboard(self, request: Request[Any, Any, Any]) -> Template:
        return _page(request, "dashboard.html", "Dashboard", slot_ids=SLOT_IDS)

    @get("/slots/{slot_id:str}")
    async def slot_editor(
        self, request: Request[Any, Any, Any], slot_id: FromPath[str]
    ) -> Template:
        if not is_slot_id(slot_id):
            raise NotFoundException(f"there is no slot {slot_id!r}")
        return _page(request, "slot.html", f"Slot {slot_id}", slot_id=slot_id)

    @get("/templates")
    async def templates(self, request: Request[Any, Any, Any]) -> Template:
        return _page(request, "templates.html", "Templates")

    @get("/jobs")
    async def jobs(self, request: Request[Any, Any, Any]) -> Template:
        return _page(request, "jobs.html", "Jobs", slot_ids=SLOT_IDS)

    @get("/gallery")
    async def gallery(self, request: Request[Any, Any, Any]) -> Template:
        return _page(request, "gallery.html", "Gallery", slot_ids=SLOT_IDS)

    @get("/stats")
    async def stats(self, request: Request[Any, Any, Any]) -> Template:
        return _page(request, "stats.html", "Stats")

    @get("/settings")
    async def settings(self, request: Request[Any, Any, Any]) -> Template:
        return _page(request, "settings.html", "Settings")

    @get("/audit")
    async def audit(self, request: Request[Any, Any, Any]) -> Template:
        return _page(request, "audit.html", "Audit")


@get(LOGIN_PATH, opt=_PUBLIC, include_in_schema=False)
async def login_page() -> Template:
    return Template(template_name="login.html", context={"title": "Log in"})


@get("/", opt=_PUBLIC, include_in_schema=False)
async def root() -> Redirect:
    return Redirect(path=CONSOLE_PATH)


def _to_login(request: Request[Any, Any, Any], _: Exception) -> Response[Any]:
    """No (valid) session: the login page, which comes back here afterwards."""
    target = request.url.path
    if request.url.query:
        target += f"?{request.url.query}"
    return Redirect(path=f"{LOGIN_PATH}?next={quote(target, safe='')}")


def not_found_page(
    request: Request[Any, Any, Any], exc: NotFoundException, headers: Mapping[str, str]
) -> Response[Any]:
    """A console path that names nothing: a page in the console's layout with a way back to
    the dashboard, not the API's JSON (a person typed or followed the link). A path no route
    matches skips the auth middleware, so the operator may be unknown here."""
    try:
        operator = current_operator(request)
    except Unauthorized:
        operator = None
    specific = exc.detail != HTTPStatus.NOT_FOUND.phrase  # e.g. "there is no slot 'slot-999'"
    return Template(
        template_name="not_found.html",
        status_code=HTTPStatus.NOT_FOUND,
        headers=dict(headers),
        context={
            "title": "Not found",
            "nav": NAV,
            "current": request.url.path,
            "operator": operator,
            "can_change": operator is not None and operator.role is Role.ADMIN,
            "path": request.url.path,
            "detail": exc.detail[:1].upper() + exc.detail[1:] if specific else None,
        },
    )


@dataclass(frozen=True, slots=True)
class ConsoleParts:
    route_handlers: Sequence[ControllerRouterHandler]
    template_config: TemplateConfig[JinjaTemplateEngine]
    # App-level: a path under /admin that no route matches never reaches the console's router.
    exception_handlers: ExceptionHandlersMap


def console_parts(public_base_url: str | None) -> ConsoleParts:
    """The console's pages and static files, the template engine they render with, and the
    "not found" page for console paths (JSON 404s everywhere else)."""
    headers = security_headers(public_base_url)

    def not_found(request: Request[Any, Any, Any], exc: NotFoundException) -> Response[Any]:
        if is_console_page(request.url.path):
            return not_found_page(request, exc, headers)
        return handle_http_error(request, exc)

    pages = Router(
        path="/",
        route_handlers=[ConsolePages, login_page, root],
        response_headers=[
            ResponseHeader(name=name, value=value) for name, value in headers.items()
        ],
        exception_handlers={NotAuthorizedException: _to_login, Unauthorized: _to_login},
        include_in_schema=False,
    )
    static = create_static_files_router(
        path=STATIC_PATH, directories=[STATIC_DIR], opt=_PUBLIC, include_in_schema=False
    )
    return ConsoleParts(
        route_handlers=[pages, static],
        template_config=TemplateConfig(directory=TEMPLATES_DIR, engine=JinjaTemplateEngine),
        exception_handlers={NotFoundException: not_found},
    )
