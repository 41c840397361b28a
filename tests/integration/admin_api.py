"""An operator's HTTP client for tests: every answer is checked against the OpenAPI schema
the service itself serves (/schema/openapi.json) — the status must be documented for the
route, and a JSON body must validate against the documented schema (jsonschema, draft
2020-12, which OpenAPI 3.1 schemas are)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from admin_harness import Session, admin_and_viewer
from jsonschema import Draft202012Validator
from service_harness import serve

_PLACEHOLDER = re.compile(r"\{[^/}]+\}")


class OpenApiContract:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._routes = sorted(
            (
                (re.compile("^" + _PLACEHOLDER.sub("[^/]+", path) + "/?$"), path)
                for path in document["paths"]
            ),
            key=lambda route: route[1].count("{"),  # literal paths win over templated ones
        )

    def route_of(self, path: str) -> str:
        for pattern, template in self._routes:
            if pattern.match(path):
                return template
        raise AssertionError(f"{path} is not in the OpenAPI schema")

    def check(self, method: str, path: str, response: httpx.Response) -> None:
        template = self.route_of(path)
        operation = self.document["paths"][template][method.lower()]
        documented = operation["responses"]
        status = str(response.status_code)
        assert status in documented, (
            f"{method} {template} answered {status}, which its OpenAPI entry does not list "
            f"({sorted(documented)}): {response.text[:300]}"
        )
        if response.status_code == 204:
            assert response.content == b""
            return
        content = documented[status].get("content", {})
        media_type = response.headers.get("content-type", "").split(";")[0]
        if media_type == "application/json":
            assert "application/json" in content, f"{method} {template} {status}: JSON undocumented"
            schema = {
                **content["application/json"]["schema"],
                "components": self.document["components"],
            }
            errors = sorted(
                Draft202012Validator(schema).iter_errors(response.json()), key=lambda e: e.path
            )
            assert not errors, f"{method} {template} {status}: " + "; ".join(
                f"{list(e.path)}: {e.message}" for e in errors[:5]
            )
        else:
            assert any(
                media_type == documented_type
                or (documented_type.endswith("/*") and media_type.startswith(documented_type[:-1]))
                for documented_type in content
            ), f"{method} {template} {status}: {media_type} not among {sorted(content)}"


@dataclass
class AdminApi:
    """Requests as one operator (bearer token by default), each answer contract-checked."""

    client: httpx.AsyncClient
    contract: OpenApiContract
    session: Session | None

    def as_(self, session: Session | None) -> AdminApi:
        return AdminApi(self.client, self.contract, session)

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.session is not None:
            headers.update(self.session.bearer)
        response = await self.client.request(method, path, headers=headers, **kwargs)
        self.contract.check(method, path.split("?")[0], response)
        return response

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)


async def admin_api(client: httpx.AsyncClient, session: Session) -> AdminApi:
    document = (await client.get("/schema/openapi.json")).json()
    return AdminApi(client, OpenApiContract(document), session)


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The SPEC §4 error body with this status and code; returns its ``error`` object."""
    assert response.status_code == status, response.text[:500]
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return dict(body["error"])


@dataclass
class Operators:
    """A running service with an admin (``ann``), a viewer (``vic``) and nobody logged in."""

    svc: Any  # service_harness.Service
    admin: AdminApi
    viewer: AdminApi
    anonymous: AdminApi


@asynccontextmanager
async def operators(
    database_url: str, data_dir: Path, **overrides: Any
) -> AsyncIterator[Operators]:
    async with serve(database_url, data_dir, **overrides) as svc:
        ann, vic = await admin_and_viewer(svc)
        admin = await admin_api(svc.client, ann)
        yield Operators(svc=svc, admin=admin, viewer=admin.as_(vic), anonymous=admin.as_(None))
