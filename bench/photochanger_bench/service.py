"""The processes under test: PostgreSQL, ``photochanger serve``, the fake Gemini, and the CLI.

The service runs with its **default** configuration: only the Gemini URL and key, the
database, the data directory and the port are set (``--service-env`` adds more, and the report
then says so). Slots and the ingest password are configured through the ``photochanger``
CLI, as an operator would, never straight in the database.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from photochanger_bench import fake_gemini
from photochanger_bench.load import http_call, http_get

HOST = "127.0.0.1"
PASSWORD = "bench-ingest-password"
READY_TIMEOUT_S = 60.0
CLI_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 20.0
BENCH_DIR = Path(__file__).resolve().parent.parent


class BenchError(RuntimeError):
    """The service or the environment misbehaved; the message says what happened."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def photochanger_executable() -> str:
    sibling = Path(sys.executable).with_name("photochanger")
    found = str(sibling) if sibling.exists() else shutil.which("photochanger")
    if not found:
        raise BenchError("the `photochanger` command is not installed (make install)")
    return found


def code_version() -> str:
    """The commit measured, and whether src/ had uncommitted changes (others edit it live)."""
    root = BENCH_DIR.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "src"],
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.splitlines()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}" + (f" + uncommitted changes in {len(dirty)} src files" if dirty else "")


class Database:
    """An embedded PostgreSQL in the run's temp dir, or ``PHOTOCHANGER_DATABASE_URL`` (which
    must then be a disposable database: the run rewrites slots and the ingest password)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = ""
        self._embedded: Any = None

    def start(self) -> str:
        url = os.environ.get("PHOTOCHANGER_DATABASE_URL", "")
        if url:
            self.url = url
            return url
        from adapters.postgres.embedded import EmbeddedPostgres

        self._embedded = EmbeddedPostgres(self.root / "postgres", cleanup_mode="stop")
        self.url = str(self._embedded.start())
        return self.url

    @property
    def postmaster_pid(self) -> int | None:
        """The server's own pid (embedded only: an external server's CPU is not ours to see)."""
        if self._embedded is None:
            return None
        try:
            return int((self.root / "postgres" / "postmaster.pid").read_text().split("\n")[0])
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        if self._embedded is not None:
            with contextlib.suppress(Exception):
                self._embedded.stop()
            self._embedded = None


class Process:
    """A subprocess in its own session (Ctrl-C reaches only the bench), stopped on exit."""

    def __init__(self, name: str, log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        atexit.register(self.stop)

    def spawn(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path | None = None) -> None:
        self.stop()
        with self.log_path.open("ab") as sink:
            self.proc = subprocess.Popen(
                list(argv),
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    async def wait_ready(self, port: int, path: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if not self.alive():
                raise BenchError(f"{self.name} exited during start-up:\n{self.log_tail()}")
            with contextlib.suppress(OSError, IndexError, ValueError):
                if (await http_get(HOST, port, path))[0] == 200:
                    return
            await asyncio.sleep(0.2)
        raise BenchError(f"{self.name}: GET {path} not 200 in time:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM the process group; SIGKILL it if it lingers."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=STOP_TIMEOUT_S)


class FakeGeminiProcess(Process):
    """``photochanger_bench.fake_gemini`` in its own process, controlled over HTTP."""

    def __init__(self, log_dir: Path) -> None:
        super().__init__("fake Gemini", log_dir / "fake-gemini.log")
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    async def start(self, image: Path, mime: str, latency: float) -> None:
        self.port = free_port()
        argv = [sys.executable, "-m", "photochanger_bench.fake_gemini", "--port", str(self.port)]
        argv += ["--image", str(image), "--mime", mime, "--latency", str(latency)]
        env = {**os.environ, "PYTHONPATH": str(BENCH_DIR)}
        self.spawn(argv, env, cwd=BENCH_DIR)
        await self.wait_ready(self.port, "/_bench/stats")

    async def set_latency(self, seconds: float) -> None:
        body = json.dumps({"seconds": seconds}).encode()
        status, _ = await http_call(HOST, self.port, "PUT", "/_bench/latency", body)
        if status != 200:
            raise BenchError(f"the fake Gemini refused a latency of {seconds} s")

    async def reset(self) -> None:
        await http_call(HOST, self.port, "POST", "/_bench/reset")

    async def stats(self) -> dict[str, Any]:
        status, body = await http_get(HOST, self.port, "/_bench/stats")
        return dict(json.loads(body)) if status == 200 else {}


def service_environment(
    database_url: str, data_dir: Path, gemini_url: str, extra: Mapping[str, str]
) -> dict[str, str]:
    """The caller's environment without its PHOTOCHANGER_* values, plus the minimum we need."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOCHANGER_")}
    env.update(
        {
            "PHOTOCHANGER_DATABASE_URL": database_url,
            "PHOTOCHANGER_DATA_DIR": str(data_dir),
            "PHOTOCHANGER_GEMINI_BASE_URL": gemini_url,
            "PHOTOCHANGER_GEMINI_API_KEY": fake_gemini.API_KEY,
        }
    )
    env.update(extra)
    return env


class Cli:
    """``photochanger`` admin commands against the service's configuration."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.exe = photochanger_executable()
        self.env = dict(env)

    def _run(self, args: Sequence[str], stdin: str | None = None) -> str:
        try:
            done = subprocess.run(
                [self.exe, *args],
                env=self.env,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=CLI_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise BenchError(f"`photochanger {' '.join(args)}` did not finish in time") from None
        if done.returncode != 0:
            raise BenchError(
                f"`photochanger {' '.join(args)}` exited {done.returncode}:\n"
                f"{done.stderr.strip()[-2000:]}"
            )
        return done.stdout

    async def run(self, *args: str, stdin: str | None = None) -> str:
        return await asyncio.to_thread(self._run, args, stdin)

    async def set_password(self, password: str) -> None:
        await self.run("password", "set", stdin=password + "\n")

    async def gemini_slot(self, slot: str) -> None:
        settings = json.dumps({"prompt": "Turn this photo into a watercolour painting"})
        await self.run(
            "slots", "set", slot, "--provider", "gemini", "--operation", "image_edit",
            "--settings", settings, "--active",
        )  # fmt: skip

    async def local_slot(self, slot: str, delay_ms: int) -> None:
        await self.run(
            "slots", "set", slot, "--provider", "local", "--operation", "grayscale",
            "--settings", json.dumps({"delay_ms": delay_ms}), "--active",
        )  # fmt: skip


class Service(Process):
    """``photochanger serve`` on a free port."""

    def __init__(self, env: Mapping[str, str], log_dir: Path) -> None:
        super().__init__("photochanger serve", log_dir / "service.log")
        self.env = dict(env)
        self.port = 0

    async def start(self, extra: Mapping[str, str] | None = None) -> None:
        self.port = free_port()
        argv = [photochanger_executable(), "serve", "--port", str(self.port)]
        self.spawn(argv, {**self.env, **(extra or {})})
        await self.wait_ready(self.port, "/readyz")

    def log_notes(self, limit: int = 8) -> list[str]:
        """Distinct WARNING/ERROR lines of the service log (ids masked), most common first."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []
        counts: Counter[str] = Counter()
        for line in lines:
            if "WARNING" in line or "ERROR" in line or "CRITICAL" in line or "Traceback" in line:
                key = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}|\b[0-9a-f]{32}\b", "<id>", line)
                key = re.sub(r"slot-\d{3}", "slot-NNN", key)
                key = re.sub(r"\d{4}-\d\d-\d\d[ T][\d:,.]+Z? ?-? ?", "", key)  # timestamps
                counts[key[:200]] += 1
        return [f"{n} × {text}" for text, n in counts.most_common(limit)]
