"""End-to-end ingest benchmark: the shared completion poller against the seed design.

What it measures, against a real ``photochanger serve`` subprocess on loopback:

* **Added latency** of ``POST /ingest/slot-001`` with a provider that takes exactly 2 s
  (``local`` provider, ``{"delay_ms": 2000}``) at 1, 10 and 50 concurrent requests:
  response time minus 2.000 s, p50/p95/p99 in ms. From the job row's ``created_at`` and
  ``finalized_at`` the added time is split into admission (sent → job created), processing
  (created → finalized, minus 2 s) and delivery (finalized → answer received); CPU seconds of
  the service, PostgreSQL (embedded only) and the bench client per ingest are shown too.
* **Database load** during each of those batches: transactions per second from
  ``pg_stat_database`` (``xact_commit + xact_rollback``), read before and after through a
  separate psycopg connection, minus the benchmark's own transactions and minus the idle
  background rate outside the batch. PostgreSQL publishes a backend's counters up to ~10 s
  late, so every window ends with a settle pause. A second set of batches with a longer
  provider delay isolates the load of *waiting* (tx/s while N requests wait, above idle);
  its growth per waiting request is what the target is about.
* **504 punctuality**: sync timeout 2 s, provider 10 s, 10 concurrent ingests. Each must be a
  504; lateness = arrival time at the client − the job's ``expires_at`` (read from the
  ``job`` row by the id in the 504 body; same machine clock). Early answers are flagged.
* Only for the shared poller: throughput with a zero-latency provider (300 ingests, 32 in
  flight); peak RSS of the service process (psutil, every 20 ms, children included) while
  200 ingests wait at once, and while 1 MB and ~20 MB photos are uploaded with the WRONG
  password (so only the upload path runs; sizes alternate after a few tiny wrong-password
  requests, because the first scrypt hashes leave one-off ~16 MiB steps in RSS).

Both designs run in one invocation, one after the other (the service is restarted with
``PHOTOCHANGER_RESULT_WAITER=shared`` then ``per_request``; same database). Slot and
settings changes go through the ``photochanger`` CLI, never straight to the database.

``PHOTOCHANGER_SYNC_TIMEOUT_MIN_SEC=1`` is set for the service and the CLI: it narrows the
allowed sync-timeout range (product: 45-60 s) so the 504 run can use a 2 s deadline and take
seconds instead of a minute. ``PHOTOCHANGER_PASSWORD_MAX_FAILURES=1000`` keeps the
failed-password lockout out of the memory test. Everything else is the product behaviour.

Run (from the repository root, venv active)::

    python bench/ingest_bench.py            # full run, about 6 minutes on 2 cores
    python bench/ingest_bench.py --quick    # smoke run, about 3 minutes, fewer samples
    python bench/ingest_bench.py --keep     # also keep the temp dir (service logs, database)

Exit status: 0 when the run completed (targets may still FAIL: read the table), 1 when the
service or the environment misbehaved, 130 on Ctrl-C. The service is always stopped.

By default an embedded PostgreSQL is started in a temporary directory and removed at the
end. With ``PHOTOCHANGER_DATABASE_URL`` set, that database is used instead: only point it at
a disposable database, because the run rewrites slot-001, the sync timeout and the ingest
password, and other clients of that database inflate the measured load.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import io
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import httpx
import psutil
import psycopg
from PIL import Image

Design = Literal["shared", "per_request"]
DESIGNS: tuple[Design, ...] = ("shared", "per_request")
T = TypeVar("T")

SLOT = "slot-001"
PASSWORD = "bench-ingest-password"
WRONG_PASSWORD = "not-the-bench-password"
PROVIDER_DELAY_S = 2.0
SYNC_TIMEOUT_S = 48
SHORT_SYNC_TIMEOUT_S = 2
SLOW_PROVIDER_MS = 10_000
WAITING_PROVIDER_MS = 5_000
REQUEST_TIMEOUT_S = 90.0
READY_TIMEOUT_S = 60.0
CLI_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0
RSS_INTERVAL_S = 0.02
RSS_MAX_SAMPLING_S = 600.0
MIB = 1024 * 1024

# Targets printed next to the figures.
TARGET_P50_MS = 100.0
TARGET_P99_MS = 250.0
TARGET_LATE_MS = 100.0
TARGET_QPS_PER_WAITER = 1.0

XACTS = (
    "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
)


@dataclass(frozen=True)
class Profile:
    """How much work each part does; ``--quick`` swaps in a smaller one."""

    levels: tuple[int, ...]  # concurrent ingests per batch
    rounds: tuple[int, ...]  # batches per level, back to back in one measuring window
    hold_delay_ms: int | None  # second provider delay for the waiting-load estimate
    settle_s: float  # pause after a window so PostgreSQL publishes every counter
    idle_window_s: float
    timeout_ingests: int
    throughput_total: int
    throughput_in_flight: int
    rss_waiting: int
    upload_repeats: int  # uploads per size, sizes alternating
    upload_warmup: int  # tiny wrong-password uploads first (see run_extras)
    budget_s: float  # the whole run stops (cleanly) after this


FULL = Profile(
    levels=(1, 10, 50),
    rounds=(5, 3, 2),
    hold_delay_ms=6_000,
    settle_s=11.5,
    idle_window_s=10.0,
    timeout_ingests=10,
    throughput_total=300,
    throughput_in_flight=32,
    rss_waiting=200,
    upload_repeats=5,
    upload_warmup=4,
    budget_s=1500.0,
)
QUICK = Profile(
    levels=(1, 10, 50),
    rounds=(1, 1, 1),
    hold_delay_ms=None,
    settle_s=11.0,
    idle_window_s=5.0,
    timeout_ingests=5,
    throughput_total=100,
    throughput_in_flight=32,
    rss_waiting=50,
    upload_repeats=2,
    upload_warmup=4,
    budget_s=600.0,
)


class BenchError(RuntimeError):
    """The service or the environment did not behave; the message says what happened."""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def fmt(value: float, width: int = 7, digits: int = 0) -> str:
    if value is None or math.isnan(value):
        return "n/a".rjust(width)
    return f"{value:{width}.{digits}f}"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


# --------------------------------------------------------------------------- test images


def small_jpeg() -> bytes:
    """A 320x240 JPEG (~10 KB): what a thumbnail-sized booth shot costs to transform."""
    image = Image.effect_mandelbrot((320, 240), (-2.0, -1.2, 1.0, 1.2), 64).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def noise_png(side: int) -> bytes:
    """Random RGB noise stored uncompressed: size ≈ 3·side² bytes, a valid image."""
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=0)
    return buffer.getvalue()


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def photochanger_executable() -> str:
    sibling = Path(sys.executable).with_name("photochanger")
    found = str(sibling) if sibling.exists() else shutil.which("photochanger")
    if not found:
        raise BenchError("the `photochanger` command is not installed (pip install -e .)")
    return found


def base_environment(database_url: str, data_dir: Path) -> dict[str, str]:
    """The caller's environment without any PHOTOCHANGER_* of its own, plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOCHANGER_")}
    env.update(
        {
            "PHOTOCHANGER_DATABASE_URL": database_url,
            "PHOTOCHANGER_DATA_DIR": str(data_dir),
            "PHOTOCHANGER_INGEST_PASSWORD": PASSWORD,
            "PHOTOCHANGER_HOST": "127.0.0.1",
            "PHOTOCHANGER_SYNC_TIMEOUT_MIN_SEC": "1",
            "PHOTOCHANGER_MAX_UNFINISHED_JOBS": "1000",
            "PHOTOCHANGER_WORKER_CONCURRENCY": "64",
            "PHOTOCHANGER_LOCAL_CONCURRENCY": "64",
            # The memory test sends ~15 wrong passwords; keep the lockout (10/min) out of it.
            "PHOTOCHANGER_PASSWORD_MAX_FAILURES": "1000",
        }
    )
    return env


class Cli:
    """``photochanger`` admin commands against the same environment as the service."""

    def __init__(self, executable: str, env: dict[str, str]) -> None:
        self._exe = executable
        self._env = env

    def _run(self, *args: str) -> str:
        try:
            done = subprocess.run(
                [self._exe, *args],
                env=self._env,
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

    async def run(self, *args: str) -> str:
        return await asyncio.to_thread(self._run, *args)

    async def slot_delay(self, delay_ms: int) -> None:
        await self.run("slots", "set", SLOT, "--settings", f'{{"delay_ms": {delay_ms}}}')

    async def sync_timeout(self, seconds: float) -> None:
        await self.run("settings", "set", "--sync-timeout", str(seconds))


class Service:
    """One ``photochanger serve`` subprocess in its own session; always killed on exit."""

    def __init__(self, executable: str, env: dict[str, str], log_dir: Path) -> None:
        self._exe = executable
        self._env = env
        self._log_dir = log_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.log_path = log_dir / "service.log"
        atexit.register(self.stop)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise BenchError("the service is not running")
        return self.proc.pid

    def start(self, design: Design) -> None:
        self.stop()
        self.port = free_port()
        self.log_path = self._log_dir / f"service-{design}.log"
        env = {**self._env, "PHOTOCHANGER_RESULT_WAITER": design}
        with self.log_path.open("ab") as sink:
            self.proc = subprocess.Popen(
                [self._exe, "serve", "--port", str(self.port)],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches only the bench; it stops the service
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no service log)"
        return "\n".join(text.splitlines()[-lines:])

    async def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if not self.alive():
                    code = self.proc.poll() if self.proc is not None else None
                    raise BenchError(
                        f"the service exited during start-up (code {code}):\n{self.log_tail()}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.base_url}/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise BenchError(f"GET /readyz not 200 after {READY_TIMEOUT_S:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM the service's process group, SIGKILL it if it lingers."""
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


# --------------------------------------------------------------------------- measurement


@dataclass(frozen=True)
class Snapshot:
    xacts: int
    own_before: int  # bench transactions issued before this snapshot's own query
    at: float  # monotonic


class DbProbe:
    """The bench's own connection: transaction counters and job deadlines."""

    def __init__(self, url: str) -> None:
        self._conn = psycopg.connect(url, autocommit=True)
        self._own = 0  # every statement on an autocommit connection is one transaction

    def snapshot(self) -> Snapshot:
        own_before = self._own
        self._own += 1
        row = self._conn.execute(XACTS).fetchone()
        if row is None:
            raise BenchError("pg_stat_database has no row for the current database")
        return Snapshot(int(row[0]), own_before, time.monotonic())

    def expires_at(self, job_id: str) -> datetime | None:
        self._own += 1
        row = self._conn.execute("SELECT expires_at FROM job WHERE id = %s", (job_id,)).fetchone()
        return None if row is None else row[0]

    def job_times(self, job_ids: Sequence[str]) -> dict[str, tuple[datetime, datetime | None]]:
        """created_at and finalized_at of several jobs, in one transaction."""
        self._own += 1
        rows = self._conn.execute(
            "SELECT id::text, created_at, finalized_at FROM job WHERE id = ANY(%s::uuid[])",
            (list(job_ids),),
        ).fetchall()
        return {row[0]: (row[1], row[2]) for row in rows}

    def close(self) -> None:
        self._conn.close()


_BOUNDARY = "photochanger-bench-boundary"
_REQUESTS: dict[tuple[str, int, str, str, str], bytes] = {}


def raw_ingest_request(
    base_url: str, photo: bytes, password: str, filename: str, mime: str
) -> bytes:
    """The multipart POST a booth sends, built once per distinct photo and password."""
    key = (base_url, id(photo), password, filename, mime)
    if key not in _REQUESTS:
        body = (
            (
                f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="password"\r\n\r\n'
                f"{password}\r\n--{_BOUNDARY}\r\n"
                f'Content-Disposition: form-data; name="fileToUpload"; filename="{filename}"\r\n'
                f"Content-Type: {mime}\r\n\r\n"
            ).encode()
            + photo
            + f"\r\n--{_BOUNDARY}--\r\n".encode()
        )
        head = (
            f"POST /ingest/{SLOT} HTTP/1.1\r\nHost: {urlsplit(base_url).netloc}\r\n"
            f"Content-Type: multipart/form-data; boundary={_BOUNDARY}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        _REQUESTS[key] = head + body
    return _REQUESTS[key]


async def raw_exchange(base_url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` on a new connection; read the whole answer (the server closes)."""
    parts = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(request)
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines[1:])
    }
    return status, headers, body


@dataclass
class Sample:
    status: int  # 0 = transport error
    seconds: float
    sent: datetime
    arrival: datetime
    job_id: str | None = None
    error: str | None = None


def samples_summary(samples: Sequence[Sample]) -> str:
    counts = Counter(s.status for s in samples)
    return ", ".join(f"{status or 'transport error'}×{n}" for status, n in sorted(counts.items()))


class RssSampler:
    """Peak resident memory of a process and its children, sampled in a thread."""

    def __init__(self, pid: int, interval: float = RSS_INTERVAL_S) -> None:
        self._process = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self.samples: list[int] = []

    def current(self) -> int:
        total = 0
        with contextlib.suppress(psutil.Error):
            total += self._process.memory_info().rss
            for child in self._process.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += child.memory_info().rss
        return total

    def _loop(self) -> None:
        end = time.monotonic() + RSS_MAX_SAMPLING_S
        while not self._stop.is_set() and time.monotonic() < end:
            self.samples.append(self.current())
            self._stop.wait(self._interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    @property
    def peak(self) -> int:
        return max(self.samples, default=0)


def tree_cpu_seconds(pid: int | None) -> float:
    """user+system CPU of a process and its live descendants (NaN if unknown)."""
    if pid is None:
        return math.nan
    total = 0.0
    try:
        root = psutil.Process(pid)
        members = [root, *root.children(recursive=True)]
    except psutil.Error:
        return math.nan
    for proc in members:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


@dataclass(frozen=True)
class CpuReading:
    service: float
    postgres: float
    bench: float

    def __sub__(self, other: CpuReading) -> CpuReading:
        return CpuReading(
            self.service - other.service,
            self.postgres - other.postgres,
            self.bench - other.bench,
        )


def mib(value: float) -> str:
    return f"{value / MIB:7.1f}"


# --------------------------------------------------------------------------- results


@dataclass
class LevelResult:
    concurrency: int
    rounds: int
    samples: list[Sample]
    wall: float
    tx: float
    # Where the added latency goes, per successful ingest (ms), from the job row's timestamps:
    admission: list[float] = field(default_factory=list)  # sent → job created_at
    processing: list[float] = field(default_factory=list)  # created_at → finalized_at, − 2 s
    delivery: list[float] = field(default_factory=list)  # finalized_at → answer received
    cpu: CpuReading | None = None  # CPU seconds used during the batches (not the settle)

    def explain(self, times: dict[str, tuple[datetime, datetime | None]]) -> None:
        for sample in self.ok:
            created, finalized = times.get(sample.job_id or "", (None, None))
            if created is None or finalized is None:
                continue
            self.admission.append((created - sample.sent).total_seconds() * 1000.0)
            self.processing.append(
                ((finalized - created).total_seconds() - PROVIDER_DELAY_S) * 1000.0
            )
            self.delivery.append((sample.arrival - finalized).total_seconds() * 1000.0)

    @property
    def ok(self) -> list[Sample]:
        return [s for s in self.samples if s.status == 200]

    @property
    def added_ms(self) -> list[float]:
        return [(s.seconds - PROVIDER_DELAY_S) * 1000.0 for s in self.ok]

    @property
    def qps(self) -> float:
        return self.tx / self.wall if self.wall > 0 else math.nan

    def cpu_ms_per_ingest(self) -> tuple[float, float, float]:
        if self.cpu is None or not self.samples:
            return (math.nan, math.nan, math.nan)
        n = len(self.samples) / 1000.0
        return (self.cpu.service / n, self.cpu.postgres / n, self.cpu.bench / n)

    @property
    def tx_per_ingest(self) -> float:
        return self.tx / len(self.samples) if self.samples else math.nan


@dataclass
class TimeoutResult:
    samples: list[Sample]
    lateness_ms: list[float]
    missing_deadlines: int


@dataclass
class DesignResult:
    design: Design
    idle_qps: float = math.nan
    levels: list[LevelResult] = field(default_factory=list)
    holds: dict[int, LevelResult] = field(default_factory=dict)
    timeouts: TimeoutResult | None = None

    def level(self, concurrency: int) -> LevelResult | None:
        return next((lv for lv in self.levels if lv.concurrency == concurrency), None)

    def waiting_qps(self, concurrency: int, hold_delay_s: float) -> float:
        """tx/s caused by N requests waiting (above idle): the slope between two delays."""
        short, long = self.level(concurrency), self.holds.get(concurrency)
        if short is None or long is None:
            return math.nan
        per_round_short = short.tx / short.rounds
        rate = (long.tx - per_round_short) / (hold_delay_s - PROVIDER_DELAY_S)
        return rate - self.idle_qps


@dataclass
class Extras:
    throughput_ok: int = 0
    throughput_total: int = 0
    throughput_wall: float = math.nan
    throughput_statuses: str = ""
    throughput_cpu: CpuReading | None = None
    waiting_count: int = 0
    waiting_baseline: int = 0
    waiting_peak: int = 0
    waiting_statuses: str = ""
    upload_baseline: int = 0
    upload_peaks: dict[str, int] = field(default_factory=dict)
    upload_growth: dict[str, list[int]] = field(default_factory=dict)  # peak − RSS before, each
    upload_sizes: dict[str, int] = field(default_factory=dict)
    upload_statuses: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- the benchmark


class Bench:
    def __init__(self, profile: Profile, keep: bool) -> None:
        self.profile = profile
        self.keep = keep
        self.tmp = Path(tempfile.mkdtemp(prefix="photochanger-bench-"))
        self.started = time.monotonic()
        self.embedded: Any = None
        self.probe: DbProbe | None = None
        self.service: Service | None = None
        self.cli: Cli | None = None
        self.photo = small_jpeg()
        self.results: dict[Design, DesignResult] = {}
        self.extras = Extras()
        self.log_notes: dict[str, list[str]] = {}
        self.current: Design = "shared"

    # ---- set-up and tear-down

    def start_database(self) -> str:
        url = os.environ.get("PHOTOCHANGER_DATABASE_URL", "")
        if url:
            log("using PHOTOCHANGER_DATABASE_URL (must be a disposable database)")
            return url
        from adapters.postgres.embedded import EmbeddedPostgres

        log("starting embedded PostgreSQL")
        self.embedded = EmbeddedPostgres(self.tmp / "postgres", cleanup_mode="stop")
        return str(self.embedded.start())

    def close(self) -> None:
        if self.service is not None:
            self.service.stop()
        if self.probe is not None:
            with contextlib.suppress(Exception):
                self.probe.close()
        if self.embedded is not None:
            with contextlib.suppress(Exception):
                self.embedded.stop()
            self.embedded = None
        if self.keep:
            log(f"kept {self.tmp} (service logs, media, database)")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def postmaster_pid(self) -> int | None:
        if self.embedded is None:
            return None
        try:
            first = (self.tmp / "postgres" / "postmaster.pid").read_text().split("\n", 1)[0]
            return int(first)
        except (OSError, ValueError):
            return None

    def cpu(self) -> CpuReading:
        service = self.service.pid if self.service is not None and self.service.alive() else None
        return CpuReading(
            tree_cpu_seconds(service), tree_cpu_seconds(self.postmaster_pid()), time.process_time()
        )

    def check_budget(self) -> None:
        if time.monotonic() - self.started > self.profile.budget_s:
            raise BenchError(f"time budget of {self.profile.budget_s:.0f} s exceeded")

    def _need(self) -> tuple[Service, Cli, DbProbe]:
        assert self.service is not None and self.cli is not None and self.probe is not None
        return self.service, self.cli, self.probe

    # ---- requests

    async def ingest(
        self,
        client: httpx.AsyncClient,
        photo: bytes,
        *,
        password: str = PASSWORD,
        filename: str = "photo.jpg",
        mime: str = "image/jpeg",
    ) -> Sample:
        """One booth request over a plain socket with a pre-built body: a full HTTP client
        (httpx: ~4 ms of CPU per request) would compete for the 2 cores with the service it
        measures. ``client`` is kept for the call sites; the request does not use it."""
        del client
        service, _, _ = self._need()
        request = raw_ingest_request(service.base_url, photo, password, filename, mime)
        sent = datetime.now(UTC)
        started = time.perf_counter()
        try:
            status, headers, body = await asyncio.wait_for(
                raw_exchange(service.base_url, request), timeout=REQUEST_TIMEOUT_S
            )
        except (OSError, TimeoutError, ValueError) as exc:
            elapsed = time.perf_counter() - started
            return Sample(0, elapsed, sent, datetime.now(UTC), error=repr(exc))
        elapsed = time.perf_counter() - started
        arrival = datetime.now(UTC)
        job_id = headers.get("x-job-id")
        error = None
        if status != 200:
            try:
                detail = json.loads(body)["error"]
                error = f"{detail.get('code')}: {detail.get('message')}"
                job_id = detail.get("details", {}).get("job_id", job_id)
            except (ValueError, KeyError, TypeError, AttributeError):
                error = body[:200].decode("utf-8", "replace")
        return Sample(status, elapsed, sent, arrival, job_id, error)

    async def batch(self, client: httpx.AsyncClient, concurrency: int) -> list[Sample]:
        """``concurrency`` ingests sent at once; bounded by the request timeout."""
        tasks = [self.ingest(client, self.photo) for _ in range(concurrency)]
        return list(await asyncio.wait_for(asyncio.gather(*tasks), timeout=REQUEST_TIMEOUT_S + 30))

    async def measured(
        self, work: Callable[[], Awaitable[T]]
    ) -> tuple[T, float, float, CpuReading]:
        """Run ``work`` in a counting window: (result, wall s, service transactions, CPU s)."""
        _, _, probe = self._need()
        before = probe.snapshot()
        cpu_before = self.cpu()
        t0 = time.monotonic()
        result = await work()
        wall = time.monotonic() - t0
        cpu = self.cpu() - cpu_before
        await asyncio.sleep(self.profile.settle_s)
        after = probe.snapshot()
        window = after.at - before.at
        own = after.own_before - before.own_before
        idle = self.results[self.current].idle_qps if self.current in self.results else 0.0
        idle = 0.0 if math.isnan(idle) else idle
        tx = (after.xacts - before.xacts) - own - idle * max(window - wall, 0.0)
        return result, wall, tx, cpu

    # ---- one design

    async def run_design(self, design: Design, client_limits: httpx.Limits) -> None:
        self.current = design
        result = DesignResult(design)
        self.results[design] = result
        service, cli, probe = self._need()
        profile = self.profile
        log(f"[{design}] starting the service")
        service.start(design)
        await service.wait_ready()
        await cli.slot_delay(int(PROVIDER_DELAY_S * 1000))
        await cli.sync_timeout(SYNC_TIMEOUT_S)
        timeout = httpx.Timeout(REQUEST_TIMEOUT_S, connect=10.0)
        async with httpx.AsyncClient(timeout=timeout, limits=client_limits) as client:
            warm = await self.batch(client, 10)
            if not any(s.status == 200 for s in warm):
                raise BenchError(
                    f"warm-up ingests failed ({samples_summary(warm)}; {warm[0].error}):\n"
                    f"{service.log_tail()}"
                )
            await asyncio.sleep(profile.settle_s)
            before = probe.snapshot()
            await asyncio.sleep(profile.idle_window_s)
            after = probe.snapshot()
            own = after.own_before - before.own_before
            result.idle_qps = (after.xacts - before.xacts - own) / (after.at - before.at)
            log(f"[{design}] idle load {result.idle_qps:.1f} tx/s")

            for concurrency, rounds in zip(profile.levels, profile.rounds, strict=True):
                self.check_budget()
                log(f"[{design}] {rounds}× {concurrency} concurrent ingests, 2 s provider")

                async def work(n: int = concurrency, r: int = rounds) -> list[Sample]:
                    collected: list[Sample] = []
                    for _ in range(r):
                        collected += await self.batch(client, n)
                    return collected

                samples, wall, tx, cpu = await self.measured(work)
                level = LevelResult(concurrency, rounds, samples, wall, tx, cpu=cpu)
                level.explain(probe.job_times([s.job_id for s in level.ok if s.job_id]))
                result.levels.append(level)
                log(f"[{design}]   {samples_summary(samples)}; {tx / wall:.1f} tx/s")

            if profile.hold_delay_ms is not None:
                await cli.slot_delay(profile.hold_delay_ms)
                await asyncio.sleep(1.0)  # let the CLI's backend publish its counters
                for concurrency in profile.levels:
                    self.check_budget()
                    log(
                        f"[{design}] {concurrency} ingests waiting "
                        f"{profile.hold_delay_ms / 1000:.0f} s (waiting-load estimate)"
                    )

                    async def hold(n: int = concurrency) -> list[Sample]:
                        return await self.batch(client, n)

                    samples, wall, tx, _ = await self.measured(hold)
                    result.holds[concurrency] = LevelResult(concurrency, 1, samples, wall, tx)

            self.check_budget()
            log(f"[{design}] {profile.timeout_ingests} ingests: sync timeout 2 s, provider 10 s")
            await cli.sync_timeout(SHORT_SYNC_TIMEOUT_S)
            await cli.slot_delay(SLOW_PROVIDER_MS)
            slow = await self.batch(client, profile.timeout_ingests)
            lateness: list[float] = []
            missing = 0
            for sample in slow:
                expires = probe.expires_at(sample.job_id) if sample.job_id else None
                if sample.status != 504 or expires is None:
                    missing += 1
                    continue
                lateness.append((sample.arrival - expires).total_seconds() * 1000.0)
            result.timeouts = TimeoutResult(slow, lateness, missing)
            log(f"[{design}]   {samples_summary(slow)}")
            await cli.sync_timeout(SYNC_TIMEOUT_S)

            if design == "shared":
                await self.run_extras(client)
        service.stop()
        self.log_notes[design] = service_log_notes(service.log_path)

    # ---- shared-only figures

    async def run_extras(self, client: httpx.AsyncClient) -> None:
        service, cli, _ = self._need()
        profile, extras = self.profile, self.extras

        self.check_budget()
        log(f"[shared] throughput: {profile.throughput_total} ingests, 0 ms provider")
        await cli.slot_delay(0)
        gate = asyncio.Semaphore(profile.throughput_in_flight)

        async def one() -> Sample:
            async with gate:
                return await self.ingest(client, self.photo)

        cpu_before = self.cpu()
        t0 = time.monotonic()
        done = await asyncio.wait_for(
            asyncio.gather(*(one() for _ in range(profile.throughput_total))),
            timeout=max(300.0, REQUEST_TIMEOUT_S),
        )
        extras.throughput_wall = time.monotonic() - t0
        extras.throughput_cpu = self.cpu() - cpu_before
        extras.throughput_total = len(done)
        extras.throughput_ok = sum(s.status == 200 for s in done)
        extras.throughput_statuses = samples_summary(done)

        self.check_budget()
        log(f"[shared] RSS while {profile.rss_waiting} ingests wait (5 s provider)")
        await cli.slot_delay(WAITING_PROVIDER_MS)
        await asyncio.sleep(1.0)
        extras.waiting_baseline = await self.baseline_rss(service.pid)
        extras.waiting_count = profile.rss_waiting
        with RssSampler(service.pid) as sampler:
            waited = await self.batch(client, profile.rss_waiting)
        extras.waiting_peak = sampler.peak
        extras.waiting_statuses = samples_summary(waited)

        self.check_budget()
        log("[shared] RSS during 1 MB and ~20 MB uploads (wrong password)")
        photos = {"1 MB": noise_png(577), "20 MB": noise_png(2580)}
        # A wrong password costs a scrypt hash (~16 MiB) in an executor thread, and the
        # allocator may keep that block: a one-off step unrelated to the upload. Warm that path
        # up with tiny photos, then alternate the sizes and compare per-request growth.
        for _ in range(profile.upload_warmup):
            await self.ingest(client, self.photo, password=WRONG_PASSWORD)
        await asyncio.sleep(1.0)
        extras.upload_baseline = await self.baseline_rss(service.pid)
        statuses: dict[str, list[Sample]] = {label: [] for label in photos}
        for _ in range(profile.upload_repeats):
            for label, data in photos.items():
                extras.upload_sizes[label] = len(data)
                with RssSampler(service.pid) as sampler:
                    statuses[label].append(
                        await self.ingest(
                            client,
                            data,
                            password=WRONG_PASSWORD,
                            filename="big.png",
                            mime="image/png",
                        )
                    )
                    await asyncio.sleep(0.3)
                before = sampler.samples[0] if sampler.samples else sampler.peak
                extras.upload_growth.setdefault(label, []).append(sampler.peak - before)
                extras.upload_peaks[label] = max(extras.upload_peaks.get(label, 0), sampler.peak)
        for label, collected in statuses.items():
            extras.upload_statuses[label] = samples_summary(collected)

    async def baseline_rss(self, pid: int) -> int:
        """Median RSS over one quiet second."""
        with RssSampler(pid) as sampler:
            await asyncio.sleep(1.0)
        return int(statistics.median(sampler.samples)) if sampler.samples else 0

    # ---- whole run

    async def run(self) -> None:
        url = await asyncio.to_thread(self.start_database)
        self.probe = DbProbe(url)
        env = base_environment(url, self.tmp / "data")
        exe = photochanger_executable()
        self.cli = Cli(exe, env)
        self.service = Service(exe, env, self.tmp)
        biggest = max(self.profile.rss_waiting, *self.profile.levels) + 16
        limits = httpx.Limits(max_connections=biggest, max_keepalive_connections=biggest)
        for design in DESIGNS:
            self.check_budget()
            await self.run_design(design, limits)
            if design != DESIGNS[-1]:
                await asyncio.sleep(self.profile.settle_s)  # separate the runs in time

    # ---- report

    def report(self) -> str:
        out: list[str] = []
        p = self.profile
        top = max(p.levels)
        out.append("")
        out.append(
            "PhotoChanger ingest benchmark" + ("  (--quick: fewer samples)" if p is QUICK else "")
        )
        out.append(
            f"machine: {os.cpu_count()} CPUs, loopback; worker/local concurrency 64; "
            f"sync-timeout min narrowed to 1 s"
        )

        out.append("")
        out.append(
            f"1. Added latency = response time − 2.000 s (ms), 2 s provider. "
            f"Target at {top} concurrent: p50 ≤ {TARGET_P50_MS:.0f}, p99 ≤ {TARGET_P99_MS:.0f}"
        )
        out.append(
            f"   {'design':<12}{'conc':>5}{'n':>5}{'200s':>6}{'p50':>8}{'p95':>8}{'p99':>8}"
            f"{'max':>8}  target"
        )
        for design, res in self.results.items():
            for lv in res.levels:
                added = lv.added_ms
                target = ""
                if lv.concurrency == top:
                    ok = (
                        len(lv.ok) == len(lv.samples)
                        and percentile(added, 50) <= TARGET_P50_MS
                        and percentile(added, 99) <= TARGET_P99_MS
                    )
                    target = verdict(ok)
                out.append(
                    f"   {design:<12}{lv.concurrency:>5}{len(lv.samples):>5}{len(lv.ok):>6}"
                    f"{fmt(percentile(added, 50), 8)}{fmt(percentile(added, 95), 8)}"
                    f"{fmt(percentile(added, 99), 8)}{fmt(max(added, default=math.nan), 8)}"
                    f"  {target}"
                )

        out.append(
            "   Where it goes (p50 / max, ms; from job.created_at and job.finalized_at): "
            "admission = sent → job row created;"
        )
        out.append(
            "   processing = created → finalized, minus the 2 s provider; delivery = "
            "finalized → answer received"
        )
        out.append(
            f"   {'design':<12}{'conc':>5}{'admission':>16}{'processing':>16}{'delivery':>16}"
        )
        for design, res in self.results.items():
            for lv in res.levels:
                cells = "".join(
                    f"{fmt(percentile(part, 50), 7)} /{fmt(max(part, default=math.nan), 7)}"
                    for part in (lv.admission, lv.processing, lv.delivery)
                )
                out.append(f"   {design:<12}{lv.concurrency:>5}{cells}")
        out.append(
            "   CPU per ingest during the batches (ms; service = the serve process, postgres = "
            "all its processes)"
        )
        out.append(
            f"   {'design':<12}{'conc':>5}{'service':>10}{'postgres':>10}{'bench':>10}"
            f"{'service busy':>14}"
        )
        for design, res in self.results.items():
            for lv in res.levels:
                svc, pg, client = lv.cpu_ms_per_ingest()
                busy = lv.cpu.service / lv.wall * 100 if lv.cpu and lv.wall else math.nan
                out.append(
                    f"   {design:<12}{lv.concurrency:>5}{fmt(svc, 10, 1)}{fmt(pg, 10, 1)}"
                    f"{fmt(client, 10, 1)}{fmt(busy, 12)} %"
                )

        out.append("")
        out.append(
            "2. Database load, transactions/s (pg_stat_database xact_commit+xact_rollback; "
            "bench's own subtracted)."
        )
        out.append(
            f"   Target: load must not grow by ≥ {TARGET_QPS_PER_WAITER:.0f} tx/s per waiting "
            "request."
        )
        out.append(
            f"   {'design':<12}{'idle':>7}{'conc':>6}{'batch tx/s':>12}{'tx/ingest':>11}"
            f"{'waiting tx/s':>14}"
        )
        hold_s = (p.hold_delay_ms or 0) / 1000.0
        for design, res in self.results.items():
            for lv in res.levels:
                waiting = res.waiting_qps(lv.concurrency, hold_s) if p.hold_delay_ms else math.nan
                out.append(
                    f"   {design:<12}{fmt(res.idle_qps, 7, 1)}{lv.concurrency:>6}"
                    f"{fmt(lv.qps, 12, 1)}{fmt(lv.tx_per_ingest, 11, 1)}{fmt(waiting, 14, 1)}"
                )
        if p.hold_delay_ms:
            low = min(p.levels)
            out.append(
                f"   'waiting tx/s' = extra tx/s while N requests wait, above idle: "
                f"(tx of one batch with a {hold_s:.0f} s provider − tx of one with 2 s) / "
                f"{hold_s - PROVIDER_DELAY_S:.0f} s − idle."
            )
            for design, res in self.results.items():
                a, b = res.waiting_qps(low, hold_s), res.waiting_qps(top, hold_s)
                slope = (b - a) / (top - low)
                grows = None if math.isnan(slope) else slope < TARGET_QPS_PER_WAITER
                out.append(
                    f"   {design:<12} growth per waiting request ({low}→{top}): "
                    f"{fmt(slope, 0, 2)} tx/s   {verdict(grows)}"
                )
        else:
            out.append("   (waiting-load estimate skipped with --quick; batch figures only)")

        if any(res.timeouts for res in self.results.values()):
            out.append("")
            out.append(
                "3. 504 at the deadline: sync timeout 2 s, provider 10 s. lateness = arrival − "
                f"expires_at (ms). Target: every answer 504, 0 ≤ lateness ≤ {TARGET_LATE_MS:.0f}"
            )
            out.append(
                f"   {'design':<12}{'n':>4}{'504s':>6}{'min':>8}{'p50':>8}{'max':>8}{'early':>7}"
                "  statuses / target"
            )
            for design, res in self.results.items():
                t = res.timeouts
                if t is None:
                    continue
                late = t.lateness_ms
                early = sum(v < 0 for v in late)
                n504 = sum(s.status == 504 for s in t.samples)
                ok = (
                    n504 == len(t.samples)
                    and t.missing_deadlines == 0
                    and early == 0
                    and max(late, default=math.inf) <= TARGET_LATE_MS
                )
                flag = f"  EARLY ANSWERS: {early}" if early else ""
                lo, hi = min(late, default=math.nan), max(late, default=math.nan)
                out.append(
                    f"   {design:<12}{len(t.samples):>4}{n504:>6}{fmt(lo, 8)}"
                    f"{fmt(percentile(late, 50), 8)}{fmt(hi, 8)}{early:>7}"
                    f"  {samples_summary(t.samples)}  {verdict(ok)}{flag}"
                )

        e = self.extras
        if e.throughput_total:
            out.append("")
            rate = e.throughput_ok / e.throughput_wall
            out.append(
                f"4. Throughput (shared), 0 ms provider, grayscale {len(self.photo) // 1024} KB "
                f"JPEG: {e.throughput_total} ingests, {p.throughput_in_flight} in flight: "
                f"{rate:.1f} ingests/s ({e.throughput_wall:.1f} s; {e.throughput_statuses})"
            )
            if e.throughput_cpu is not None and e.throughput_total:
                c, n = e.throughput_cpu, e.throughput_total / 1000.0
                out.append(
                    f"   CPU ms/ingest: service {c.service / n:.1f}, "
                    f"postgres {c.postgres / n:.1f}, bench client {c.bench / n:.1f}; service at "
                    f"{c.service / e.throughput_wall * 100:.0f} % of one core"
                )
        if e.waiting_count:
            out.append("")
            out.append("5. Peak RSS of the service process (+children), MiB, sampled every 20 ms")
            growth = e.waiting_peak - e.waiting_baseline
            out.append(
                f"   {e.waiting_count} ingests waiting at once (5 s provider): baseline "
                f"{mib(e.waiting_baseline).strip()}, peak {mib(e.waiting_peak).strip()} "
                f"(+{growth / MIB:.1f}; {e.waiting_statuses})"
            )
            if e.upload_peaks:
                out.append(
                    f"   uploads with the wrong password (sizes alternating, after "
                    f"{p.upload_warmup} tiny ones): baseline {mib(e.upload_baseline).strip()}"
                )
                for label, peak in e.upload_peaks.items():
                    size = e.upload_sizes[label]
                    growth_mib = [g / MIB for g in e.upload_growth.get(label, [])]
                    out.append(
                        f"     {label:<6} ({size / MIB:5.2f} MiB file): peak {mib(peak).strip()} "
                        f"(+{(peak - e.upload_baseline) / MIB:.1f} over baseline); growth during "
                        f"one request p50 {percentile(growth_mib, 50):.1f}, max "
                        f"{max(growth_mib, default=math.nan):.1f}  {e.upload_statuses[label]}"
                    )
                small = percentile([g / MIB for g in e.upload_growth.get("1 MB", [])], 50)
                big = percentile([g / MIB for g in e.upload_growth.get("20 MB", [])], 50)
                extra = big - small
                limit = 0.25 * e.upload_sizes.get("20 MB", 0) / MIB
                flat = None if math.isnan(extra) else extra < limit
                out.append(
                    "   Target: memory does not grow with upload size: p50 growth 20 MB − 1 MB = "
                    f"{extra:+.1f} MiB (limit < {limit:.1f} MiB, a quarter of the file)  "
                    f"{verdict(flat)}"
                )

        notes = {d: n for d, n in self.log_notes.items() if n}
        if notes:
            out.append("")
            out.append("Service log warnings/errors (distinct, counted):")
            for name, lines in notes.items():
                for line in lines:
                    out.append(f"   [{name}] {line}")
        out.append("")
        return "\n".join(out)


_LOG_PREFIX = re.compile(r"^(WARNING|ERROR|CRITICAL)\b.*?- (\S+) - \S+ - ")


def service_log_notes(path: Path, limit: int = 8) -> list[str]:
    """Distinct WARNING/ERROR lines (and exception names) of a service log, most common first."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    counts: Counter[str] = Counter()
    for line in lines:
        if not line.startswith(("WARNING", "ERROR", "CRITICAL")):
            if re.match(r"^[A-Za-z_.]+(Error|Exception):", line):
                counts[f"  exception {line[:160]}"] += 1
            continue
        key = _LOG_PREFIX.sub(lambda m: f"{m.group(1)} {m.group(2)}: ", line)
        key = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "<id>", key)
        counts[key[:160]] += 1
    return [f"{n:>5}× {text}" for text, n in counts.most_common(limit)]


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="reduced smoke run (~3 min)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary directory (logs, media, db)"
    )
    args = parser.parse_args(argv)
    profile = QUICK if args.quick else FULL
    bench = Bench(profile, keep=args.keep)
    code = 0
    with sigterm_as_interrupt():
        try:
            asyncio.run(asyncio.wait_for(bench.run(), timeout=profile.budget_s + 120))
        except KeyboardInterrupt:
            log("interrupted; stopping the service")
            code = 130
        except (BenchError, TimeoutError) as exc:
            log(f"benchmark aborted: {exc or 'overall time limit reached'}")
            code = 1
        finally:
            bench.close()
    if bench.results:
        print(bench.report())
    return code


if __name__ == "__main__":
    sys.exit(main())
