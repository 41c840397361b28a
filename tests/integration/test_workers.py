"""Workers against real PostgreSQL: racing claimers, a worker killed mid-job, a graceful stop.

The API runs without a worker in these tests; jobs are processed by separate worker
"processes" (separate containers with their own pools, or a real ``photochanger worker``
subprocess), which is how the service scales out (SPEC §5, §9).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
from service_harness import Service, serve
from service_harness import test_settings as make_settings

from adapters.postgres.pool import transaction
from application.claim_job import ClaimAndProcess
from application.process_job import Outcome
from domain.job import FailureReason, Job, JobStatus
from entrypoints.container import Container
from entrypoints.runtime import Roles, build_container, running
from entrypoints.worker import WorkerLanes

API_ONLY = Roles(provision_password=True)
PHOTOCHANGER = Path(sys.executable).parent / "photochanger"


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    """Poll ``check`` until it holds; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def all_jobs(svc: Service) -> list[Job]:
    async with transaction(svc.container.pool()) as cur:
        await cur.execute("SELECT id FROM job ORDER BY created_at, id")
        ids = [row["id"] for row in await cur.fetchall()]
    jobs = [await svc.container.jobs().get(job_id) for job_id in ids]
    return [job for job in jobs if job is not None]


async def the_job(svc: Service) -> Job | None:
    jobs = await all_jobs(svc)
    assert len(jobs) <= 1
    return jobs[0] if jobs else None


def files_in(svc: Service, area: str) -> list[Path]:
    return [p for p in (svc.settings.media_path / area).iterdir() if p.is_file()]


class CountingClaims(ClaimAndProcess):
    """The container's ClaimAndProcess, counting the outcomes of this worker's steps."""

    def __init__(self, container: Container) -> None:
        super().__init__(
            jobs=container.jobs(),
            process=container.process_job(),
            clock=container.clock(),
            lease=container.lease(),
        )
        self.outcomes: Counter[Outcome] = Counter()

    async def __call__(
        self, *, worker_id: str, on_claimed: Callable[[], None] | None = None
    ) -> Outcome | None:
        outcome = await super().__call__(worker_id=worker_id, on_claimed=on_claimed)
        if outcome is not None:
            self.outcomes[outcome] += 1
        return outcome


@asynccontextmanager
async def worker_process(
    database_url: str, data_dir: Path, *, worker_id: str, concurrency: int, **overrides: Any
) -> AsyncIterator[CountingClaims]:
    """A worker as a separate process would run it: its own container and pool, an explicit
    worker id (so the test can tell the two apart) and lanes cancelled on exit."""
    settings = make_settings(database_url, data_dir, worker_concurrency=concurrency, **overrides)
    container = build_container(settings, database_url)
    async with running(container, Roles()):
        step = CountingClaims(container)
        lanes = WorkerLanes(
            step,
            container.work_tokens(),
            worker_id=worker_id,
            concurrency=concurrency,
            poll_interval=settings.worker_idle_poll_seconds(serves_ingests=False),
        )
        task = asyncio.create_task(lanes.run(), name=f"lanes-{worker_id}")
        try:
            yield step
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task


async def test_two_workers_share_the_queue_and_process_each_job_once(
    database_url: str, tmp_path: Path
) -> None:
    jobs_count = 20
    async with (
        serve(database_url, tmp_path, roles=API_ONLY) as svc,
        worker_process(database_url, tmp_path, worker_id="worker-a", concurrency=4) as a,
        worker_process(database_url, tmp_path, worker_id="worker-b", concurrency=4) as b,
    ):
        await svc.set_sync_timeout(15)
        await svc.configure("slot-001", settings={"delay_ms": 150})
        responses = await asyncio.gather(*(svc.ingest() for _ in range(jobs_count)))

        assert [r.status_code for r in responses] == [200] * jobs_count
        job_ids = {uuid.UUID(r.headers["x-job-id"]) for r in responses}
        assert len(job_ids) == jobs_count

        jobs = await all_jobs(svc)
        assert {job.id for job in jobs} == job_ids
        for job in jobs:
            assert job.succeeded, job
            assert job.attempts == 1, f"job {job.id} was claimed {job.attempts} times"
            assert job.lease_owner is None and job.lease_expires_at is None
            assert job.result is not None and job.result.file_path is not None

        # Each job finalized once, by one of the two workers; both took part.
        assert a.outcomes[Outcome.SUCCEEDED] + b.outcomes[Outcome.SUCCEEDED] == jobs_count
        assert set(a.outcomes) | set(b.outcomes) == {Outcome.SUCCEEDED}, (a.outcomes, b.outcomes)
        assert a.outcomes[Outcome.SUCCEEDED] > 0 and b.outcomes[Outcome.SUCCEEDED] > 0
        assert len(files_in(svc, "results")) == jobs_count
        assert files_in(svc, "payload") == []


async def test_with_the_default_idle_poll_a_serve_process_claims_its_own_photos_at_once(
    database_url: str, tmp_path: Path
) -> None:
    """In ``serve`` the idle claim poll defaults to a second (it only looks for other
    processes' jobs): the process's own ingest wakes a lane directly, so no photo waits for
    the poll. Were it left to the poll, each would wait half a second on average."""
    async with serve(database_url, tmp_path, worker_poll_interval_ms=None) as svc:
        assert svc.settings.worker_idle_poll_seconds(serves_ingests=True) == 1.0
        await svc.configure("slot-001", settings={"delay_ms": 0})
        for _ in range(5):
            assert (await svc.ingest()).status_code == 200
        jobs = await all_jobs(svc)
    assert len(jobs) == 5
    for job in jobs:
        assert job.finalized_at is not None
        assert (job.finalized_at - job.created_at).total_seconds() < 0.5, job


# --- a real worker process, killed mid-job ---------------------------------------------------


def cli_env(database_url: str, svc: Service, data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment of a ``photochanger`` subprocess on the test database and media root."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOCHANGER_")}
    env.update(
        PHOTOCHANGER_DATABASE_URL=database_url,
        PHOTOCHANGER_DATA_DIR=str(data_dir),
        PHOTOCHANGER_MEDIA_ROOT=str(svc.settings.media_path),
        PHOTOCHANGER_SYNC_TIMEOUT_MIN_SEC="0.5",
        PHOTOCHANGER_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class WorkerSubprocess:
    """``photochanger worker`` with its output in files (no pipe to drain)."""

    def __init__(self, proc: asyncio.subprocess.Process, output: Path) -> None:
        self.proc = proc
        self.output = output

    @property
    def pid(self) -> int:
        return self.proc.pid

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    async def ready(self) -> None:
        async def announced() -> bool:
            assert self.proc.returncode is None, f"worker exited early:\n{self.text()}"
            return "worker running" in self.text()

        await eventually(announced, within=30)

    async def stop(self, sig: int) -> int:
        self.proc.send_signal(sig)
        return await asyncio.wait_for(self.proc.wait(), timeout=15)


@asynccontextmanager
async def worker_subprocess(env: dict[str, str], output: Path) -> AsyncIterator[WorkerSubprocess]:
    with output.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            str(PHOTOCHANGER), "worker", env=env, stdout=sink, stderr=sink
        )
    worker = WorkerSubprocess(proc, output)
    try:
        await worker.ready()
        yield worker
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def ingest_with_worker_killed_mid_job(
    database_url: str, svc: Service, tmp_path: Path, *, sync_timeout: float, delay_ms: int
) -> tuple[asyncio.Task[httpx.Response], float, Job, str]:
    """Start an ingest, let a real worker process claim it, SIGKILL that process mid-job.

    Returns the in-flight ingest, when it started, the row as the dead worker left it and
    the dead worker's output.
    """
    await svc.set_sync_timeout(sync_timeout)
    await svc.configure("slot-001", settings={"delay_ms": delay_ms})
    env = cli_env(
        database_url,
        svc,
        tmp_path / "worker-data",
        PHOTOCHANGER_LEASE_SEC="1",
        PHOTOCHANGER_WORKER_POLL_INTERVAL_MS="50",
    )
    async with worker_subprocess(env, tmp_path / "worker.log") as worker:
        started = time.monotonic()
        ingest = asyncio.create_task(svc.ingest())

        async def processed_by_the_subprocess() -> bool:
            job = await the_job(svc)
            return (
                job is not None
                and job.status is JobStatus.PROCESSING
                and job.lease_owner is not None
                and job.lease_owner.endswith(f":{worker.pid}")
            )

        await eventually(processed_by_the_subprocess)
        assert await worker.stop(signal.SIGKILL) == -signal.SIGKILL
        output = worker.text()
    assert "Traceback" not in output and "ERROR" not in output, output

    left = await the_job(svc)
    assert left is not None
    assert not left.is_finalized and left.status is JobStatus.PROCESSING, "stuck until the lease"
    assert left.attempts == 1 and left.lease_expires_at is not None
    assert not ingest.done()
    return ingest, started, left, output


async def test_a_killed_workers_job_is_reclaimed_after_its_lease_and_still_answered(
    database_url: str, tmp_path: Path
) -> None:
    async with serve(database_url, tmp_path, roles=API_ONLY, lease_sec=1) as svc:
        # Timeline: claimed and killed ~0.1 s in; lease lapses ≤ 1 s later; the second
        # attempt takes 2.5 s, so the answer comes at ~4 s, well before the 8 s deadline.
        ingest, _, dead, _ = await ingest_with_worker_killed_mid_job(
            database_url, svc, tmp_path, sync_timeout=8, delay_ms=2500
        )
        rescuer = build_container(make_settings(database_url, tmp_path, lease_sec=1), database_url)
        async with running(rescuer, Roles(worker=True)):

            async def reclaimed() -> bool:
                job = await svc.container.jobs().get(dead.id)
                return job is not None and job.attempts == 2

            await eventually(reclaimed)
            job = await svc.container.jobs().get(dead.id)
            assert job is not None and job.lease_owner is not None
            assert job.lease_owner.endswith(f":{os.getpid()}"), "held by this process now"
            assert job.lease_owner != dead.lease_owner
            assert dead.lease_expires_at is not None
            assert job.updated_at >= dead.lease_expires_at, "re-claimed only once the lease lapsed"

            response = await asyncio.wait_for(ingest, timeout=10)

        assert response.status_code == 200, response.text
        assert uuid.UUID(response.headers["x-job-id"]) == dead.id
        job = await svc.container.jobs().get(dead.id)
        assert job is not None and job.succeeded and job.attempts == 2
        assert job.result is not None and job.result.size_bytes == len(response.content)
        assert job.payload is None and files_in(svc, "payload") == []
        assert len(files_in(svc, "results")) == 1


async def test_a_killed_workers_job_without_time_left_ends_in_one_timeout(
    database_url: str, tmp_path: Path
) -> None:
    sync_timeout = 2.5
    async with serve(database_url, tmp_path, roles=API_ONLY, lease_sec=1) as svc:
        # Killed ~0.1 s in; re-claimed ≤ ~1.1 s in; the second 2.5 s attempt cannot end
        # before the 2.5 s deadline, so the booth gets 504 at the deadline.
        ingest, started, dead, _ = await ingest_with_worker_killed_mid_job(
            database_url, svc, tmp_path, sync_timeout=sync_timeout, delay_ms=2500
        )
        rescuer = build_container(make_settings(database_url, tmp_path, lease_sec=1), database_url)
        async with running(rescuer, Roles(worker=True)):

            async def reclaimed() -> bool:
                job = await svc.container.jobs().get(dead.id)
                return job is not None and job.attempts == 2

            await eventually(reclaimed, within=sync_timeout)
            response = await asyncio.wait_for(ingest, timeout=10)
            elapsed = time.monotonic() - started

            assert response.status_code == 504, response.text
            assert response.json()["error"]["code"] == "timeout"
            assert sync_timeout <= elapsed < sync_timeout + 0.75, f"504 after {elapsed:.3f}s"

            async def worker_done() -> bool:  # the rescuer gave up and removed the payload
                job = await svc.container.jobs().get(dead.id)
                return job is not None and job.payload is None

            await eventually(worker_done)

        report = await svc.container.purge_artifacts()()
        assert report.timed_out == 0, "already finalized by the API or the worker"
        job = await svc.container.jobs().get(dead.id)
        assert job is not None and job.is_finalized
        assert job.failure_reason is FailureReason.TIMEOUT
        assert job.attempts == 2
        assert job.finalized_at is not None and job.finalized_at >= job.expires_at
        assert job.result is None
        assert await svc.container.jobs().count_unfinished() == 0
        assert files_in(svc, "results") == [] and files_in(svc, "payload") == []


# --- graceful stop ----------------------------------------------------------------------------


async def test_a_stopped_worker_hands_its_job_back_and_another_finishes_it(
    database_url: str, tmp_path: Path
) -> None:
    async with serve(database_url, tmp_path, roles=API_ONLY) as svc:
        await svc.set_sync_timeout(8)
        await svc.configure("slot-001", settings={"delay_ms": 1000})
        ingest = asyncio.create_task(svc.ingest())

        first = build_container(make_settings(database_url, tmp_path), database_url)
        async with running(first, Roles(worker=True)):

            async def in_progress() -> bool:
                job = await the_job(svc)
                return job is not None and job.status is JobStatus.PROCESSING

            await eventually(in_progress)
            claimed = await the_job(svc)
            assert claimed is not None and claimed.lease_owner is not None
            assert claimed.lease_owner.endswith(f":{os.getpid()}")
        # Leaving ``running`` cancelled the lanes mid-job: the job is back in the queue at
        # once, not after its (3 s) lease.
        back = await svc.container.jobs().get(claimed.id)
        assert back is not None and not back.is_finalized
        assert back.status is JobStatus.PENDING
        assert back.lease_owner is None and back.lease_expires_at is None
        assert back.attempts == 1 and back.payload is not None
        assert files_in(svc, "results") == []
        assert not ingest.done()

        second = build_container(make_settings(database_url, tmp_path), database_url)
        async with running(second, Roles(worker=True)):
            response = await asyncio.wait_for(ingest, timeout=10)

        assert response.status_code == 200, response.text
        job = await svc.container.jobs().get(claimed.id)
        assert job is not None and job.succeeded and job.attempts == 2
        assert len(files_in(svc, "results")) == 1


async def test_sigterm_stops_a_worker_process_handing_its_job_back(
    database_url: str, tmp_path: Path
) -> None:
    async with serve(database_url, tmp_path, roles=API_ONLY) as svc:
        await svc.set_sync_timeout(8)
        await svc.configure("slot-001", settings={"delay_ms": 1000})
        # A 10 s lease: only the hand-back, not a lapse, can free the job in time.
        env = cli_env(
            database_url,
            svc,
            tmp_path / "worker-data",
            PHOTOCHANGER_LEASE_SEC="10",
            PHOTOCHANGER_WORKER_POLL_INTERVAL_MS="50",
        )
        async with worker_subprocess(env, tmp_path / "worker.log") as worker:
            ingest = asyncio.create_task(svc.ingest())

            async def processed_by_the_subprocess() -> bool:
                job = await the_job(svc)
                return (
                    job is not None
                    and job.status is JobStatus.PROCESSING
                    and job.lease_owner is not None
                    and job.lease_owner.endswith(f":{worker.pid}")
                )

            await eventually(processed_by_the_subprocess)
            assert await worker.stop(signal.SIGTERM) == 0
            output = worker.text()
        assert "Traceback" not in output and "ERROR" not in output, output

        back = await the_job(svc)
        assert back is not None and not back.is_finalized
        assert back.status is JobStatus.PENDING and back.lease_owner is None

        rescuer = build_container(make_settings(database_url, tmp_path), database_url)
        async with running(rescuer, Roles(worker=True)):
            response = await asyncio.wait_for(ingest, timeout=10)
        assert response.status_code == 200, response.text
        job = await svc.container.jobs().get(back.id)
        assert job is not None and job.succeeded and job.attempts == 2
