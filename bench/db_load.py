"""Database load of the waiting and worker machinery: transactions/s and CPU per ingest.

A focused companion of ``ingest_bench.py``: it counts what the job table costs PostgreSQL
while requests wait (completion poller, claim polls, lease renewals) and what delivering a
result costs, with the ``local`` provider so nothing but our own machinery is measured.

    .venv/bin/python bench/db_load.py                      # every scenario (~4 minutes)
    .venv/bin/python bench/db_load.py --scenario waiting   # just one
    .venv/bin/python bench/db_load.py --scenario waiting \
        --service-env PHOTOCHANGER_WORKER_CONCURRENCY=8   # most of the 500 wait in the queue

Scenarios (each on a freshly started ``photochanger serve``, embedded PostgreSQL):

- ``idle``: nothing to do; the background (claim polls, purge).
- ``one``: one booth, the next photo after the previous answer, provider 2 s.
- ``waiting``: 500 ingests at once, provider 40 s; measured once all are claimed and held.
- ``delivery``: one booth, zero-latency provider, a 1,600×1,067 photographic JPEG (~1 MB;
  the result is about as large): service and PostgreSQL CPU per ingest, added latency.

Transactions are ``xact_commit + xact_rollback`` of the service's database in
``pg_stat_database`` (every statement in autocommit is one), over a window in steady state;
the probe's own two reads are subtracted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import psycopg

HOST = "127.0.0.1"
PASSWORD = "db-load-password"
XACTS = (
    "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
)
HELD = "SELECT count(*) FROM job WHERE status = 'processing' AND NOT is_finalized"
SCENARIOS = ("idle", "one", "waiting", "delivery")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def photo(width: int, height: int) -> bytes:
    """A JPEG of photographic-ish content (noise over gradients: it does not compress away)."""
    from PIL import Image, ImageFilter

    rng = random.Random(7)
    base = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    img = Image.blend(base, noise.filter(ImageFilter.GaussianBlur(0.6)), 0.45)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=92)
    return out.getvalue()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int, *, postgres: bool) -> float:
    """CPU of a process tree: the service without PostgreSQL, or PostgreSQL's postmaster."""
    total = 0.0
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                if not postgres and proc.name() in ("postgres", "postmaster"):
                    continue
                t = proc.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
    return total


@dataclass
class Rig:
    tmp: Path
    url: str
    postmaster: int
    env: dict[str, str]
    overrides: dict[str, str]  # --service-env: wins over a scenario's own settings
    proc: subprocess.Popen[bytes] | None = None
    port: int = 0

    def cli(self, *args: str, stdin: str | None = None) -> None:
        exe = str(Path(sys.executable).with_name("photochanger"))
        subprocess.run(
            [exe, *args], env=self.env, input=stdin, text=True, check=True, capture_output=True
        )

    def start(self, extra: dict[str, str]) -> None:
        self.stop()
        self.port = free_port()
        exe = str(Path(sys.executable).with_name("photochanger"))
        sink = (self.tmp / "service.log").open("ab")
        self.proc = subprocess.Popen(
            [exe, "serve", "--port", str(self.port)],
            env={**self.env, **extra, **self.overrides},
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://{HOST}:{self.port}/readyz", timeout=1).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError("the service did not get ready; see service.log")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def xacts(self, conn: psycopg.Connection[tuple[int]]) -> int:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(XACTS).fetchone()
        assert row is not None
        return int(row[0])


@contextlib.contextmanager
def rig(service_env: dict[str, str]) -> Iterator[Rig]:
    from adapters.postgres.embedded import EmbeddedPostgres

    tmp = Path(tempfile.mkdtemp(prefix="photochanger-dbload-"))
    db = EmbeddedPostgres(tmp / "postgres", cleanup_mode="stop")
    try:
        url = db.start()
        postmaster = int((tmp / "postgres" / "postmaster.pid").read_text().split("\n")[0])
        env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOCHANGER_")}
        env.update(
            {
                "PHOTOCHANGER_DATABASE_URL": url,
                "PHOTOCHANGER_DATA_DIR": str(tmp / "data"),
                "PHOTOCHANGER_LOG_LEVEL": "WARNING",
                "PHOTOCHANGER_ACCESS_LOG": "false",
                **service_env,
            }
        )
        r = Rig(tmp, url, postmaster, env, dict(service_env))
        r.cli("migrate")
        r.cli("password", "set", stdin=PASSWORD + "\n")
        r.cli("slots", "set", "slot-001", "--settings", '{"delay_ms": 2000}', "--active")
        r.cli("slots", "set", "slot-002", "--settings", '{"delay_ms": 40000}', "--active")
        r.cli("slots", "set", "slot-003", "--settings", '{"delay_ms": 0}', "--active")
        yield r
    finally:
        with contextlib.suppress(Exception):
            r.stop()
        db.stop()
        shutil.rmtree(tmp, ignore_errors=True)


async def ingest(
    client: httpx.AsyncClient, port: int, slot: str, data: bytes, ok: tuple[int, ...] = (200,)
) -> float:
    started = time.perf_counter()
    answer = await client.post(
        f"http://{HOST}:{port}/ingest/{slot}",
        data={"password": PASSWORD},
        files={"fileToUpload": ("photo.jpg", data, "image/jpeg")},
    )
    if answer.status_code not in ok:
        raise RuntimeError(f"ingest answered {answer.status_code}: {answer.text[:200]}")
    return time.perf_counter() - started


class Window:
    """Transactions and CPU between ``open`` and ``close``."""

    def __init__(self, r: Rig, conn: psycopg.Connection[tuple[int]]) -> None:
        self.r, self.conn = r, conn

    def open(self) -> None:
        assert self.r.proc is not None
        self.tx0 = self.r.xacts(self.conn)
        self.t0 = time.monotonic()
        self.svc0 = cpu_seconds(self.r.proc.pid, postgres=False)
        self.pg0 = cpu_seconds(self.r.postmaster, postgres=True)

    def close(self) -> dict[str, float]:
        assert self.r.proc is not None
        tx = self.r.xacts(self.conn) - self.tx0 - 2  # the probe's own two reads
        wall = time.monotonic() - self.t0
        svc = cpu_seconds(self.r.proc.pid, postgres=False) - self.svc0
        pg = cpu_seconds(self.r.postmaster, postgres=True) - self.pg0
        return {"seconds": wall, "tx_per_s": tx / wall, "service_cpu_s": svc, "pg_cpu_s": pg}


async def scenario_idle(r: Rig, conn: psycopg.Connection[tuple[int]]) -> dict[str, float]:
    await asyncio.sleep(12)  # stats are flushed by backends about once a second when busy
    w = Window(r, conn)
    w.open()
    await asyncio.sleep(30)
    return w.close()


async def scenario_one(r: Rig, conn: psycopg.Connection[tuple[int]]) -> dict[str, float]:
    data = photo(320, 240)
    async with httpx.AsyncClient(timeout=120) as client:
        for _ in range(3):
            await ingest(client, r.port, "slot-001", data)
        await asyncio.sleep(2)
        w = Window(r, conn)
        w.open()
        added = [await ingest(client, r.port, "slot-001", data) - 2.0 for _ in range(15)]
        out = w.close()
    out["ingests"] = len(added)
    out["added_ms_p50"] = statistics.median(added) * 1000
    return out


async def scenario_waiting(r: Rig, conn: psycopg.Connection[tuple[int]]) -> dict[str, float]:
    data = photo(320, 240)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        calls = [  # with fewer lanes than 500 the queued ones end in 504 at their deadline
            asyncio.create_task(ingest(client, r.port, "slot-002", data, ok=(200, 504)))
            for _ in range(500)
        ]
        held = 0
        for _ in range(30):  # until all are admitted and claimed (the provider takes 40 s)
            await asyncio.sleep(1)
            row = conn.execute(HELD).fetchone()
            held = int(row[0]) if row else 0
            queued = conn.execute("SELECT count(*) FROM job WHERE NOT is_finalized").fetchone()
            if held >= len(calls) or (queued and queued[0] >= len(calls) and held > 0):
                break
        await asyncio.sleep(2)
        w = Window(r, conn)
        w.open()
        await asyncio.sleep(10)
        out = w.close()
        out["held_by_worker"] = float(held)
        await asyncio.gather(*calls)
    return out


async def scenario_delivery(r: Rig, conn: psycopg.Connection[tuple[int]]) -> dict[str, float]:
    data = photo(1600, 1067)
    async with httpx.AsyncClient(timeout=120) as client:
        for _ in range(5):
            await ingest(client, r.port, "slot-003", data)
        w = Window(r, conn)
        w.open()
        took = [await ingest(client, r.port, "slot-003", data) for _ in range(60)]
        out = w.close()
    n = len(took)
    out["photo_bytes"] = len(data)
    out["ingests"] = n
    out["latency_ms_p50"] = statistics.median(took) * 1000
    out["service_cpu_ms_per_ingest"] = out["service_cpu_s"] * 1000 / n
    out["pg_cpu_ms_per_ingest"] = out["pg_cpu_s"] * 1000 / n
    return out


RUNNERS = {
    "idle": scenario_idle,
    "one": scenario_one,
    "waiting": scenario_waiting,
    "delivery": scenario_delivery,
}
# What each scenario needs besides the defaults (the waiting one: a worker that can hold 500).
SCENARIO_ENV = {
    "waiting": {
        "PHOTOCHANGER_WORKER_CONCURRENCY": "512",
        "PHOTOCHANGER_LOCAL_CONCURRENCY": "512",
        "PHOTOCHANGER_MAX_UNFINISHED_JOBS": "1000",
    },
}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", action="append", choices=SCENARIOS)
    parser.add_argument("--service-env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    service_env = dict(item.split("=", 1) for item in args.service_env)
    results: dict[str, dict[str, float]] = {}
    with rig(service_env) as r, psycopg.connect(r.url, autocommit=True) as conn:
        for name in args.scenario or SCENARIOS:
            log(f"scenario {name}")
            await asyncio.to_thread(r.start, SCENARIO_ENV.get(name, {}))
            results[name] = await RUNNERS[name](r, conn)
            r.stop()
            print(name, json.dumps({k: round(v, 2) for k, v in results[name].items()}), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
