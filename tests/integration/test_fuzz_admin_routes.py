"""Property-based fuzzing of every operator route (``/api/*``) against the real app.

The routes come from the served OpenAPI schema, so a new route is fuzzed without touching
this file. The property, whatever the path parameters, body and credentials: never a 500,
and every refusal is the SPEC §4 JSON error body with a code that belongs to its status.
Most examples carry an administrator's bearer token, so they reach the handlers; a few carry
none, or garbage, and must be ``401``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from admin_harness import ADMIN_PASSWORD, add_operator, login
from fuzz_strategies import odd_slot_ids
from hypothesis import event, given
from hypothesis import strategies as st
from service_harness import PASSWORD, jpeg_bytes
from test_fuzz_public_routes import FUZZ_SETTINGS, RunningService, fuzz, service_thread

from domain.administrator import Role

ALIASES = {"/api/ingest/{slot_id}"}  # the booth route, fuzzed by the public-route suite
# What an operator route may answer, and the codes each refusal may carry.
ADMIN_CODES_BY_STATUS: dict[int, frozenset[str]] = {
    400: frozenset({"invalid_request"}),
    401: frozenset({"unauthorized", "invalid_credentials"}),
    403: frozenset({"forbidden"}),
    404: frozenset({"not_found", "slot_not_found"}),
    405: frozenset({"invalid_request"}),
    409: frozenset({"conflict", "cancelled", "job_finalized"}),
    410: frozenset({"gone"}),
    413: frozenset({"payload_too_large"}),
    415: frozenset({"unsupported_media_type"}),
    422: frozenset({"validation_error", "invalid_configuration"}),
    429: frozenset({"rate_limited"}),
    502: frozenset({"provider_error"}),
    503: frozenset({"service_unavailable"}),
    504: frozenset({"timeout"}),
}
_PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


class AdminService:
    """The running service, an administrator's bearer header, its routes and known job ids."""

    def __init__(self, running: RunningService, bearer: dict[str, str]) -> None:
        self.running = running
        self.bearer = bearer
        schema = running.client.get("/schema/openapi.json").json()
        self.routes = sorted(
            (path, method.upper())
            for path, item in schema["paths"].items()
            if path.startswith("/api/") and path not in ALIASES
            for method in item
            if method in ("get", "post", "put", "patch", "delete")
        )
        jobs = running.client.get("/api/jobs", headers=bearer).json()["items"]
        self.job_ids = [job["id"] for job in jobs]


@pytest.fixture
def admin_service(database_url: str, tmp_path: Path) -> Iterator[AdminService]:
    with service_thread(database_url, tmp_path, **FUZZ_SETTINGS) as running:
        running.call(running.svc.set_sync_timeout(2))
        done = running.client.post(
            "/ingest/slot-001",
            data={"password": PASSWORD},
            files={"fileToUpload": ("p.jpg", jpeg_bytes(), "image/jpeg")},
        )
        assert done.status_code == 200, done.text
        running.call(add_operator(running.svc, "ann", ADMIN_PASSWORD, Role.ADMIN))
        session = running.call(login(running.svc, "ann", ADMIN_PASSWORD))
        yield AdminService(running, session.bearer)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)
_fields = st.sampled_from(
    ["name", "provider", "operation", "settings", "is_active", "updated_at", "password",
     "sync_timeout_sec", "result_retention_sec", "username", "generate", "label"]
)  # fmt: skip
_bodies = st.one_of(
    st.just((None, b"")),
    st.binary(max_size=64).map(lambda b: ("application/json", b)),
    st.dictionaries(_fields, _json_values, max_size=5).map(
        lambda d: ("application/json", json.dumps(d).encode())
    ),
    st.binary(max_size=64).map(lambda b: ("multipart/form-data; boundary=b", b)),
)

_queries = st.dictionaries(
    st.sampled_from(["window", "state", "slot_id", "limit", "before", "sync_timeout_sec"]),
    st.one_of(st.text(max_size=12), st.integers().map(str), st.sampled_from(["7d", "pending"])),
    max_size=3,
)


def _param_values(admin: AdminService, name: str) -> st.SearchStrategy[str]:
    if name == "slot_id":
        return odd_slot_ids
    known = st.sampled_from(admin.job_ids) if admin.job_ids else st.nothing()
    return st.one_of(known, st.uuids().map(str), odd_slot_ids, st.text(max_size=12))


def check_admin_answer(method: str, path: str, response: httpx.Response) -> None:
    status = response.status_code
    event(f"{method} {path} {status}")
    assert status != 500 and (status < 300 or status in ADMIN_CODES_BY_STATUS), (
        f"{method} {path}: {status} {response.text[:300]}"
    )
    if status < 400 or method == "HEAD":
        return
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] in ADMIN_CODES_BY_STATUS[status], body
    assert "Traceback" not in response.text


@fuzz(8)
@given(data=st.data())
def test_every_operator_route_answers_from_the_table(
    admin_service: AdminService, data: st.DataObject
) -> None:
    path, method = data.draw(st.sampled_from(admin_service.routes), label="route")
    concrete = _PARAM.sub(
        lambda m: (
            quote(data.draw(_param_values(admin_service, m.group(1)), label=m.group(1)), safe="")
            or "x"
        ),
        path,
    )
    content_type, body = data.draw(_bodies, label="body")
    credentials = data.draw(
        st.sampled_from(["admin"] * 8 + ["none", "garbage"]), label="credentials"
    )
    headers = {
        "admin": admin_service.bearer,
        "none": {},
        "garbage": {"Authorization": "Bearer not-a-token"},
    }[credentials]
    if content_type is not None:
        headers = {**headers, "content-type": content_type}
    query = data.draw(_queries, label="query")
    content = None if method in ("GET", "DELETE") else body
    response = admin_service.running.client.request(
        method, concrete, params=query, content=content, headers=headers
    )
    check_admin_answer(method, path, response)
    if credentials != "admin" and path != "/api/login":
        assert response.status_code in (401, 404, 405), response.text[:300]
