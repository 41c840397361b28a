"""Metrics of processes that the in-process harness cannot show: a ``photochanger worker``
(no API) serving ``/metrics`` on its own port, and ``serve --processes 2`` whose children
share one port yet answer one consistent set of counters. Real subprocesses, the installed
script, real PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import psutil
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from service_harness import PASSWORD, Service, eventually, jpeg_bytes, serve

from adapters.metrics.multiprocess import MULTIPROC_DIR_VARIABLE
from entrypoints.config import PREFIX
from entrypoints.runtime import Roles

PHOTOCHANGER = Path(sys.executable).with_name("photochanger")
API_ONLY = Roles(provision_password=True)
INGESTS = "photochanger_ingest_requests_total"
CALLS = "photochanger_provider_calls_total"
LOCAL_OK = {"provider": "local", "slot": "slot-001", "outcome": "ok"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


Scraped = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Scraped:
    """Every sample of a scrape, parsed by prometheus_client's own parser."""
    return {
        (sample.name, frozenset(sample.labels.items())): float(sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scraped: Scraped, name: str, **labels: str) -> float:
    """The sample's value; 0 when the series does not exist (yet)."""
    return scraped.get((name, frozenset(labels.items())), 0.0)


def names(scraped: Scraped) -> set[str]:
    return {name for name, _ in scraped}


async def scrape(url: str) -> Scraped:
    """One scrape over a fresh connection (so a shared port hands it to any process)."""
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:
        answer = await client.get(url)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return samples(answer.text)


# --- photochanger worker --metrics-port ----------------------------------------------------


class WorkerProcess:
    """``photochanger worker`` with its output in a file (no pipe to drain)."""

    def __init__(self, proc: asyncio.subprocess.Process, output: Path) -> None:
        self.proc = proc
        self.output = output

    def text(self) -> str:
        return self.output.read_text(errors="replace")


def worker_env(database_url: str, svc: Service, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
    env.pop(MULTIPROC_DIR_VARIABLE, None)
    env.update(
        {
            f"{PREFIX}DATABASE_URL": database_url,
            f"{PREFIX}DATA_DIR": str(data_dir),
            f"{PREFIX}MEDIA_ROOT": str(svc.settings.media_path),
            f"{PREFIX}HOST": "127.0.0.1",
            f"{PREFIX}WORKER_POLL_INTERVAL_MS": "50",
            f"{PREFIX}LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


@asynccontextmanager
async def worker_process(
    env: dict[str, str], output: Path, *args: str, until: str = "worker running"
) -> AsyncIterator[WorkerProcess]:
    """Started and announced (``until`` in its output), stopped by SIGTERM at the end."""
    with output.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            str(PHOTOCHANGER), "worker", *args, env=env, stdout=sink, stderr=sink
        )
    worker = WorkerProcess(proc, output)
    try:

        async def announced() -> bool:
            assert proc.returncode is None, f"worker exited early:\n{worker.text()}"
            return until in worker.text()

        await eventually(announced, within=30)
        yield worker
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), timeout=15) == 0, worker.text()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_a_worker_process_serves_its_provider_calls_and_the_shared_gauges(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    metrics_url = f"http://127.0.0.1:{port}/metrics"
    async with serve(database_url, tmp_path / "api", roles=API_ONLY) as svc:  # no worker here
        env = worker_env(
            database_url, svc, tmp_path / "worker", PHOTOCHANGER_METRICS_PORT=str(port)
        )
        async with worker_process(env, tmp_path / "worker.log") as worker:
            assert f"metrics at {metrics_url}" in worker.text()
            before = await scrape(metrics_url)

            answer = await svc.ingest("slot-001")
            assert answer.status_code == 200, answer.text

            async def counted() -> bool:
                after = await scrape(metrics_url)
                # The job gauges come from the database, cached 5 s: wait for the refresh.
                return (
                    value(after, CALLS, **LOCAL_OK) == 1
                    and value(after, "photochanger_jobs", state="succeeded") == 1
                )

            await eventually(counted, within=15)
            after = await scrape(metrics_url)
            from_the_api = samples((await svc.client.get("/metrics")).text)
        output = worker.text()

    assert value(before, CALLS, **LOCAL_OK) == 0
    assert value(before, "photochanger_jobs", state="succeeded") == 0
    assert value(after, "photochanger_provider_call_duration_seconds_count", provider="local") == 1
    # The API answered the booth; the worker made the call: each counts what it did itself.
    assert value(after, INGESTS, slot="slot-001", code="200") == 0
    assert value(from_the_api, INGESTS, slot="slot-001", code="200") == 1
    assert value(from_the_api, CALLS, **LOCAL_OK) == 0
    assert value(from_the_api, "photochanger_jobs", state="succeeded") == 1  # the same DB
    assert "process_resident_memory_bytes" in names(after)  # one process: its own metrics
    assert "Traceback" not in output and "ERROR" not in output, output


async def test_a_worker_metrics_port_in_use_is_refused_by_name(
    database_url: str, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with serve(database_url, tmp_path / "api", roles=API_ONLY) as svc:
            env = worker_env(database_url, svc, tmp_path / "worker")
            proc = await asyncio.create_subprocess_exec(
                str(PHOTOCHANGER),
                "worker",
                "--metrics-port",
                str(port),
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)

    assert proc.returncode == 1
    error = stderr.decode()
    assert f"Error: cannot serve metrics on 127.0.0.1:{port}: Address already in use" in error
    assert "Traceback" not in error
    assert b"worker running" not in stdout


async def test_metrics_off_wins_over_a_worker_metrics_port(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    async with serve(database_url, tmp_path / "api", roles=API_ONLY) as svc:
        env = worker_env(database_url, svc, tmp_path / "worker", PHOTOCHANGER_METRICS="off")
        log = tmp_path / "worker.log"
        async with worker_process(env, log, "--metrics-port", str(port)) as worker:
            with pytest.raises(httpx.ConnectError):
                await scrape(f"http://127.0.0.1:{port}/metrics")
            answer = await svc.ingest("slot-001")  # the worker works all the same
            output = worker.text()

    assert answer.status_code == 200, answer.text
    assert "metrics at" not in output
    assert f"PHOTOCHANGER_METRICS=off: no metrics on port {port}" in output


# --- serve --processes 2 ---------------------------------------------------------------------


@pytest.fixture
def two_processes(
    database_url: str, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    """``serve --processes 2`` on the test database: the parent, its base URL, its stderr."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
    env.pop(MULTIPROC_DIR_VARIABLE, None)
    env.update(
        {
            f"{PREFIX}DATABASE_URL": database_url,
            f"{PREFIX}DATA_DIR": str(tmp_path / "data"),
            f"{PREFIX}INGEST_PASSWORD": PASSWORD,
            f"{PREFIX}ACCESS_LOG": "false",
            f"{PREFIX}WORKER_POLL_INTERVAL_MS": "50",
        }
    )
    stderr_path = tmp_path / "stderr.txt"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [str(PHOTOCHANGER), "serve", "--processes", "2", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
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


async def children_up(base_url: str, parent: subprocess.Popen[str], stderr: Path) -> list[int]:
    """Both children answer; their pids."""
    deadline = time.monotonic() + 60
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=5, limits=limits) as client:
        while True:
            assert parent.poll() is None, f"serve exited early:\n{stderr.read_text()}"
            children = psutil.Process(parent.pid).children(recursive=True)
            if len(children) >= 2:
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        return [child.pid for child in children]
                except httpx.TransportError:
                    pass
            assert time.monotonic() < deadline, f"serve did not start:\n{stderr.read_text()}"
            await asyncio.sleep(0.1)


def ingests_counted_by_each(directory: Path) -> dict[int, float]:
    """What each child's own counter file holds: the counts are split between processes."""
    counted: dict[int, float] = {}
    for file in directory.glob("counter_*.db"):
        pid = int(file.stem.rsplit("_", 1)[1])
        merged = MultiProcessCollector.merge([str(file)])  # type: ignore[no-untyped-call]
        counted[pid] = sum(s.value for m in merged for s in m.samples if s.name == INGESTS)
    return counted


async def test_every_scrape_of_the_shared_port_counts_every_process(
    two_processes: tuple[subprocess.Popen[str], str, Path],
) -> None:
    parent, base_url, stderr = two_processes
    pids = await children_up(base_url, parent, stderr)
    directory = Path(psutil.Process(pids[0]).environ()[MULTIPROC_DIR_VARIABLE])
    assert directory.is_dir()

    limits = httpx.Limits(max_keepalive_connections=0)  # a new connection, any process
    sent = 0
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:

        async def ingest() -> int:
            answer = await client.post(
                "/ingest/slot-001",
                data={"password": PASSWORD},
                files={"fileToUpload": ("photo.jpg", jpeg_bytes(), "image/jpeg")},
            )
            return answer.status_code

        # Until both children have answered some: only then can one process's view be wrong.
        for _ in range(20):
            codes = await asyncio.gather(*(ingest() for _ in range(4)))
            assert codes == [200] * 4
            sent += 4
            counted = ingests_counted_by_each(directory)
            if sum(1 for n in counted.values() if n > 0) >= 2:
                break
        assert sum(1 for n in counted.values() if n > 0) >= 2, counted

        async def settled() -> bool:
            """Calls are counted as their jobs end, and each process caches the job gauges
            for 5 s: wait until a few scrapes in a row see everything."""
            for _ in range(4):
                scraped = await scrape(f"{base_url}/metrics")
                if (
                    value(scraped, CALLS, **LOCAL_OK) != sent
                    or value(scraped, "photochanger_jobs", state="succeeded") != sent
                ):
                    return False
            return True

        await eventually(settled, within=20)
        scrapes = [await scrape(f"{base_url}/metrics") for _ in range(12)]

    for scraped in scrapes:
        assert value(scraped, INGESTS, slot="slot-001", code="200") == sent
        assert value(scraped, "photochanger_ingest_duration_seconds_count") == sent
        assert value(scraped, CALLS, **LOCAL_OK) == sent
        # The database gauges once, not added up over the processes.
        assert value(scraped, "photochanger_jobs", state="succeeded") == sent
        assert value(scraped, "photochanger_queue_depth") == 0
        assert "process_resident_memory_bytes" not in names(scraped)  # whose would it be?

    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=30) == 0, stderr.read_text()
    assert not directory.exists()  # the next run starts from zero
    assert "Traceback" not in stderr.read_text()
