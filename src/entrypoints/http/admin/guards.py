"""The two role guards. Every ``/api/`` route declares exactly one of them, next to the route
(``guards=[admin_only]`` or ``guards=[any_operator]``); a test walks the route table and fails
on a route with neither."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from domain.administrator import Role
from domain.errors import Forbidden, Unauthorized
from entrypoints.http.admin.auth import Operator


def current_operator(connection: ASGIConnection[Any, Any, Any, Any]) -> Operator:
    """The authenticated operator (username, role); ``Unauthorized`` when there is none."""
    user = connection.scope.get("user")
    if not isinstance(user, Operator):
        raise Unauthorized("log in first (POST /api/login)")
    return user


def any_operator(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Reading: any logged-in operator, ``viewer`` or ``admin``."""
    current_operator(connection)


def admin_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Changes, downloads of templates and password rotation: the ``admin`` role only."""
    if current_operator(connection).role is not Role.ADMIN:
        raise Forbidden("this needs the admin role")


ROLE_GUARDS = (admin_only, any_operator)
