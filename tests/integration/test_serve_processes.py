"""``photochanger serve --processes 2`` as an operator runs it: the installed script, the
embedded PostgreSQL under the data directory (started once, by the parent), two API processes
answering on one port, generated passwords printed once, a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from service_harness import jpeg_bytes

from entrypoints.config import PREFIX

PASSWORD = "booth-password-processes"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def parent(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    """The parent ``serve`` process, its base URL and the file its stderr goes to."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
    env.update(
        {
            f"{PREFIX}DATA_DIR": str(tmp_path / "data"),  # no DATABASE_URL: embedded
            f"{PREFIX}INGEST_PASSWORD": PASSWORD,
            f"{PREFIX}ACCESS_LOG": "false",
        }
    )
    script = Path(sys.executable).with_name("photochanger")
    stderr_path = tmp_path / "stderr.txt"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [str(script), "serve", "--processes", "2", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,  # its own process group: cleaned up below if need be
        )
    try:
        yield process, f"http://127.0.0.1:{port}", stderr_path
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


async def wait_until_up(base_url: str, process: subprocess.Popen[str], stderr: Path) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as client:
        while True:
            assert process.poll() is None, f"serve exited early:\n{stderr.read_text()}"
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"serve did not start:\n{stderr.read_text()}"
            await asyncio.sleep(0.1)


async def pids_answering(base_url: str, want: int, *, within: float = 30) -> set[int]:
    """Distinct ``/healthz`` pids seen over fresh connections, several at a time so that an
    idle process is there to accept while another is busy."""
    seen: set[int] = set()
    deadline = time.monotonic() + within
    limits = httpx.Limits(max_keepalive_connections=0)  # a new connection per request
    async with httpx.AsyncClient(base_url=base_url, timeout=5, limits=limits) as client:
        while len(seen) < want and time.monotonic() < deadline:
            answers = await asyncio.gather(*(client.get("/healthz") for _ in range(8)))
            seen.update(int(answer.json()["pid"]) for answer in answers)
    return seen


async def test_two_processes_answer_on_one_port_and_stop_cleanly(
    parent: tuple[subprocess.Popen[str], str, Path],
) -> None:
    process, base_url, stderr = parent
    await wait_until_up(base_url, process, stderr)

    pids = await pids_answering(base_url, want=2)
    assert len(pids) == 2, f"only {pids} answered"
    children = {child.pid for child in psutil.Process(process.pid).children(recursive=True)}
    assert pids <= children and process.pid not in pids  # the children serve, not the parent

    # A whole ingest through the shared database: slot-001 (local, grayscale) by default.
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        answer = await client.post(
            "/ingest/slot-001",
            data={"password": PASSWORD},
            files={"fileToUpload": ("photo.jpg", jpeg_bytes(), "image/jpeg")},
        )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/jpeg"

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, stderr.read_text()
    assert not any(psutil.pid_exists(pid) for pid in pids)
    log = stderr.read_text()
    assert "Traceback" not in log
    # The first administrator's password was generated and printed once, by the parent.
    assert log.count("password shown only this once") == 1
    assert process.stdout is not None
    assert "(2 processes)" in process.stdout.read()
