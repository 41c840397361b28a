"""One log format: the service started as ``serve`` starts it, its lines and uvicorn's alike.

The service runs in this process (so the fake Gemini and the assertions share it) with the
same logging set-up ``photochanger serve`` uses: ``configure_logging`` plus
``uvicorn_logging``. Our stderr handler follows ``sys.stderr``, which ``capsys`` captures.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import service_harness
import uvicorn
from fake_gemini import RPC_ERRORS, FakeGemini, fake_gemini_server
from service_harness import Service

from entrypoints.http.app import create_app
from entrypoints.logging_setup import configure_logging, uvicorn_logging
from entrypoints.runtime import Roles, build_container

TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR) \S+")


@asynccontextmanager
async def served_like_serve(
    database_url: str, tmp_path: Path, log_format: str, **overrides: Any
) -> AsyncIterator[Service]:
    """Start uvicorn after any fake server: each ``uvicorn.Config`` configures the shared
    ``uvicorn.*`` loggers, and the service's configuration must be the one in force."""
    settings = service_harness.test_settings(
        database_url,
        tmp_path,
        log_level="INFO",
        log_format=log_format,
        access_log=True,
        run_purge=False,
        **overrides,
    )
    configure_logging(settings.log_level, settings.log_format)
    container = build_container(settings, database_url)
    app = create_app(container, Roles(worker=True, provision_password=True))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    options = uvicorn_logging(settings.log_level, access_log=settings.access_log)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", **options))
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.005)
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            yield Service(base_url=base_url, container=container, settings=settings, client=client)
    finally:
        server.should_exit = True
        await task
        listener.close()


def log_lines(err: str) -> list[str]:
    """stderr without the one-time banners that show a generated password: those are printed
    on purpose, never logged, and are indented so that they stand apart."""
    return [line for line in err.splitlines() if line.strip() and not line.startswith("  ")]


def json_lines(err: str) -> list[dict[str, Any]]:
    """Every log line on stderr is one JSON object (a stray plain line fails here)."""
    lines = log_lines(err)
    assert lines, "nothing was logged"
    return [json.loads(line) for line in lines]


def access_line(docs: list[dict[str, Any]], method: str, path: str) -> dict[str, Any]:
    [doc] = [
        d
        for d in docs
        if d["logger"] == "uvicorn.access" and d.get("path") == path and d["method"] == method
    ]
    return doc


async def test_json_lines_from_us_and_uvicorn_carry_request_slot_and_job(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with fake_gemini_server(script=[403]) as fake:
        await _three_requests(database_url, tmp_path, fake, capsys)


async def _three_requests(
    database_url: str, tmp_path: Path, fake: FakeGemini, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    async with served_like_serve(
        database_url, tmp_path, "json", gemini_api_key=fake.api_key, gemini_base_url=fake.base_url
    ) as svc:
        await svc.configure(
            "slot-005",
            provider="gemini",
            operation="image_edit",
            settings={"prompt": "watercolour"},
            is_active=True,
        )
        svc.client.headers["X-Request-Id"] = "booth-42"
        ok = await svc.ingest("slot-001")
        del svc.client.headers["X-Request-Id"]
        failed = await svc.ingest("slot-005")
        svc.client.headers["X-Request-Id"] = "not acceptable: has spaces"
        missing = await svc.client.get("/no/such/page")
    docs = json_lines(capsys.readouterr().err)

    assert ok.status_code == 200, ok.text
    assert ok.headers["x-request-id"] == "booth-42"
    line = access_line(docs, "POST", "/ingest/slot-001")
    assert line["status"] == 200 and line["level"] == "INFO"
    assert line["request_id"] == "booth-42" and line["slot_id"] == "slot-001"
    assert line["job_id"] == ok.headers["x-job-id"]

    assert failed.status_code == 502, failed.text
    job_id = failed.json()["error"]["details"]["job_id"]
    generated = failed.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    line = access_line(docs, "POST", "/ingest/slot-005")
    assert (line["status"], line["request_id"], line["job_id"]) == (502, generated, job_id)
    # One provider failure, one line: the worker's, with Google's message and the job.
    [failure] = [d for d in docs if d["level"] in ("WARNING", "ERROR")]
    assert failure["logger"] == "application.process_job"
    assert failure["job_id"] == job_id and failure["slot_id"] == "slot-005"
    assert "HTTP 403" in failure["message"] and RPC_ERRORS[403][1] in failure["message"]
    assert "request_id" not in failure  # the worker is not inside the booth's request
    assert not any(fake.api_key in json.dumps(d) for d in docs)

    assert missing.status_code == 404
    replaced = missing.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", replaced) and replaced != generated
    assert access_line(docs, "GET", "/no/such/page")["request_id"] == replaced

    loggers = {d["logger"] for d in docs}
    assert {"uvicorn.error", "entrypoints.runtime"} <= loggers  # uvicorn's and ours
    for doc in docs:
        assert {"ts", "level", "logger", "message"} <= doc.keys()


async def test_text_lines_show_the_ids_too(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    async with served_like_serve(database_url, tmp_path, "text") as svc:
        response = await svc.ingest("slot-001", extra={"booth": "hall-2"})
        response_headers = response.headers
    err = capsys.readouterr().err
    lines = log_lines(err)

    assert response.status_code == 200, response.text
    assert all(TEXT_LINE.match(line) for line in lines), err
    request_id, job_id = response_headers["x-request-id"], response_headers["x-job-id"]
    [access] = [line for line in lines if '"POST /ingest/slot-001 HTTP/1.1" 200' in line]
    assert f" INFO uvicorn.access request_id={request_id} slot_id=slot-001 job_id={job_id}: " in (
        access
    )
