"""What a scenario costs: CPU by process group, database transactions, resident memory.

* CPU: ``psutil`` user+system seconds of the service's process tree with every PostgreSQL
  process left out (they are counted on their own, from the postmaster's tree), of the fake
  Gemini (the provider's own work, not the service's) and of the bench client itself.
* Transactions: ``xact_commit + xact_rollback`` of ``pg_stat_database``. The service's
  connections are autocommit, so every statement counts. A backend publishes its counters
  when it goes idle, at most ~1 s apart while busy but up to ~10 s late after its last
  statement: a window therefore ends with a settle pause, whose time is then charged at the
  idle rate measured before the scenarios.
* Memory: RSS of the service's tree (PostgreSQL apart), sampled by a thread.
"""

from __future__ import annotations

import contextlib
import math
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psutil
import psycopg

XACTS = (
    "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
)
MIB = 1024 * 1024


def _is_postgres(proc: psutil.Process) -> bool:
    with contextlib.suppress(psutil.Error):
        return proc.name() in ("postgres", "postmaster")
    return False


def tree(pid: int | None, *, without_postgres: bool) -> list[psutil.Process]:
    """A process and its live descendants (optionally without PostgreSQL's processes)."""
    if pid is None:
        return []
    try:
        root = psutil.Process(pid)
        members = [root, *root.children(recursive=True)]
    except psutil.Error:
        return []
    return [p for p in members if not (without_postgres and _is_postgres(p))]


def cpu_seconds(procs: Sequence[psutil.Process]) -> float:
    """Own CPU of each live process plus that of its children it has already reaped: a
    PostgreSQL backend that exits takes its CPU out of the live tree, not out of this sum."""
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


def rss_bytes(pid: int | None) -> int:
    total = 0
    for proc in tree(pid, without_postgres=True):
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total


@dataclass(frozen=True)
class Cpu:
    """CPU seconds by party; subtract two readings to get a window's use."""

    service: float
    postgres: float
    provider: float
    bench: float

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(
            self.service - other.service,
            self.postgres - other.postgres,
            self.provider - other.provider,
            self.bench - other.bench,
        )

    def per_ingest_ms(self, ingests: int) -> dict[str, float]:
        if ingests <= 0:
            return {k: math.nan for k in ("service", "postgres", "provider", "bench")}
        scale = 1000.0 / ingests
        return {
            "service": self.service * scale,
            "postgres": self.postgres * scale,
            "provider": self.provider * scale,
            "bench": self.bench * scale,
        }


class CpuMeter:
    """Reads the CPU of the parties; pids may change (service restarts)."""

    def __init__(self) -> None:
        self.service_pid: int | None = None
        self.postgres_pid: int | None = None
        self.provider_pid: int | None = None

    def read(self) -> Cpu:
        return Cpu(
            cpu_seconds(tree(self.service_pid, without_postgres=True)),
            cpu_seconds(tree(self.postgres_pid, without_postgres=False)),
            cpu_seconds(tree(self.provider_pid, without_postgres=False)),
            time.process_time(),
        )


@dataclass(frozen=True)
class Snapshot:
    xacts: int
    own: int  # the probe's own transactions before this one
    at: float  # monotonic


class DbProbe:
    """The bench's own autocommit connection: counters and job timestamps."""

    def __init__(self, url: str) -> None:
        self._conn = psycopg.connect(url, autocommit=True)
        self._own = 0

    def snapshot(self) -> Snapshot:
        own = self._own
        self._own += 1
        row = self._conn.execute(XACTS).fetchone()
        assert row is not None, "pg_stat_database has no row for the current database"
        return Snapshot(int(row[0]), own, time.monotonic())

    def job_times(self, ids: Sequence[str]) -> dict[str, tuple[datetime, datetime | None]]:
        """created_at and finalized_at of jobs, for the breakdown of the added latency."""
        if not ids:
            return {}
        self._own += 1
        try:
            rows = self._conn.execute(
                "SELECT id::text, created_at, finalized_at FROM job WHERE id = ANY(%s::uuid[])",
                (list(ids),),
            ).fetchall()
        except psycopg.Error:  # the schema is someone else's to change; the breakdown is a bonus
            return {}
        return {row[0]: (row[1], row[2]) for row in rows}

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.close()


def transactions(before: Snapshot, after: Snapshot) -> int:
    """Service transactions between two snapshots (the probe's own taken out)."""
    return (after.xacts - before.xacts) - (after.own - before.own)


class RssSampler:
    """Peak and last RSS of the service tree, sampled every ``interval`` in a thread."""

    def __init__(self, pid: int | None, interval: float = 0.05) -> None:
        self._pid = pid
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss", daemon=True)
        self.samples: list[int] = []

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.samples.append(rss_bytes(self._pid))
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


def settled_rss(pid: int | None, seconds: float = 1.0) -> int:
    """Median RSS over a quiet moment: what the process keeps, not a passing peak."""
    values = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        values.append(rss_bytes(pid))
        time.sleep(0.05)
    return int(statistics.median(values)) if values else 0


def as_mib(value: float) -> float:
    return value / MIB


def jsonable(value: Any) -> Any:
    """NaN is not JSON: report it as null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
