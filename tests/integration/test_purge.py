"""PurgeArtifacts against real PostgreSQL and files (SPEC §6), and the public answers after it.

Time passes through an injected clock that runs ahead of the real one (``ShiftedClock``), so
"an hour later" costs nothing; the HTTP side keeps the real clock, as a running service would.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import astuple, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from service_harness import eventually, jpeg_bytes, png_bytes, serve
from service_harness import test_settings as make_settings

from adapters.clock import SystemClock
from application.purge_artifacts import PurgeArtifacts, PurgePolicy, PurgeReport
from domain.job import FailureReason, Job, JobResult, JobStatus, Payload
from domain.media import MediaArea, MediaObject
from entrypoints.container import Container
from entrypoints.runtime import Roles, build_container, running

API_ONLY = Roles(provision_password=True)
HOUR = 3600.0
PHOTOCHANGER = Path(sys.executable).parent / "photochanger"


class ShiftedClock:
    """The ``Clock`` port running ``offset`` ahead of real time; waiting stays real."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset
        self._real = SystemClock()

    def now(self) -> datetime:
        return self._real.now() + self.offset

    async def sleep(self, seconds: float) -> None:
        await self._real.sleep(seconds)

    async def wait_for_event(self, event: asyncio.Event, seconds: float) -> bool:
        return await self._real.wait_for_event(event, seconds)


def purge_at(
    container: Container,
    seconds_ahead: float = 0.0,
    *,
    orphan_grace: float = HOUR,
) -> PurgeArtifacts:
    """The container's purge, but seeing a clock ``seconds_ahead`` of real time."""
    return PurgeArtifacts(
        jobs=container.jobs(),
        media_objects=container.media_objects(),
        storage=container.storage(),
        artifacts=container.artifacts(),
        clock=ShiftedClock(timedelta(seconds=seconds_ahead)),
        policy=PurgePolicy(orphan_grace_seconds=orphan_grace),
    )


@asynccontextmanager
async def opened(database_url: str, data_dir: Path) -> AsyncIterator[Container]:
    """A container with its pool open and no background loop (no worker, no purge)."""
    container = build_container(make_settings(database_url, data_dir), database_url)
    async with running(container, Roles()):
        yield container


def real_now() -> datetime:
    return datetime.now(UTC)


def media_file(container: Container, path: str) -> Path:
    return Path(container.storage().absolute_path(path))


def age(file: Path, seconds: float) -> None:
    """Make ``file`` look ``seconds`` old."""
    stamp = time.time() - seconds
    os.utime(file, (stamp, stamp))


async def add_job(
    container: Container,
    *,
    expires_in: float,
    payload_expires_in: float | None = None,
    with_payload: bool = True,
) -> Job:
    """An unfinalized job inserted through the repository, its photo stored through storage."""
    now = real_now()
    expires_at = now + timedelta(seconds=expires_in)
    payload = None
    if with_payload:
        stored = await container.storage().save_bytes(
            MediaArea.PAYLOAD, jpeg_bytes(), mime="image/jpeg"
        )
        payload = Payload(
            path=stored.path,
            mime=stored.mime,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            expires_at=now + timedelta(seconds=payload_expires_in or expires_in),
        )
    job = Job(
        id=uuid.uuid4(),
        slot_id="slot-001",
        provider="local",
        operation="grayscale",
        settings={},
        expires_at=expires_at,
        created_at=min(now, expires_at),
        updated_at=min(now, expires_at),
        payload=payload,
    )
    assert await container.jobs().add_if_capacity(job, max_unfinished=100)
    return job


async def finish_with_result(
    container: Container, job: Job, *, result_expires_in: float
) -> JobResult:
    """Finalize ``job`` successfully as a worker would, with a real result file."""
    image = png_bytes()
    stored = await container.storage().save_bytes(MediaArea.RESULTS, image, mime="image/png")
    result = JobResult(
        file_path=stored.path,
        mime=stored.mime,
        size_bytes=stored.size_bytes,
        checksum=stored.sha256,
        expires_at=real_now() + timedelta(seconds=result_expires_in),
    )
    assert await container.jobs().finalize_success(job.id, result, now=real_now())
    return result


async def add_link(container: Container, job: Job, *, expires_in: float) -> MediaObject:
    """A temporary public link to a job input, with its file in ``public/``."""
    stored = await container.storage().save_bytes(MediaArea.PUBLIC, png_bytes(), mime="image/png")
    now = real_now()
    link = MediaObject(
        id=uuid.uuid4(),
        job_id=job.id,
        path=stored.path,
        mime=stored.mime,
        size_bytes=stored.size_bytes,
        expires_at=now + timedelta(seconds=expires_in),
        created_at=now,
    )
    await container.media_objects().add(link)
    return link


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


# --- jobs and payloads --------------------------------------------------------------------------


async def test_an_overdue_job_is_timed_out_and_its_payload_deleted(
    database_url: str, tmp_path: Path
) -> None:
    async with opened(database_url, tmp_path) as container:
        overdue = await add_job(container, expires_in=5)
        # Payload expiry is its own TTL: it may come before the job deadline.
        open_job = await add_job(container, expires_in=60, payload_expires_in=5)
        assert overdue.payload is not None and open_job.payload is not None
        overdue_file = media_file(container, overdue.payload.path)
        open_file = media_file(container, open_job.payload.path)

        assert await purge_at(container, 0)() == PurgeReport(), "nothing is due yet"
        assert overdue_file.exists() and open_file.exists()

        report = await purge_at(container, 6)()

        assert report == PurgeReport(timed_out=1, payloads=2)
        job = await container.jobs().get(overdue.id)
        assert job is not None and job.is_finalized
        assert job.failure_reason is FailureReason.TIMEOUT
        assert job.finalized_at is not None and job.finalized_at >= job.expires_at
        assert job.lease_owner is None and job.payload is None
        assert not overdue_file.exists()

        still_open = await container.jobs().get(open_job.id)
        assert still_open is not None and not still_open.is_finalized
        assert still_open.status is JobStatus.PENDING and still_open.payload is None
        assert not open_file.exists()


# --- public links --------------------------------------------------------------------------------


async def test_an_expired_public_link_answers_410_and_keeps_its_row(
    database_url: str, tmp_path: Path
) -> None:
    async with serve(database_url, tmp_path, roles=API_ONLY) as svc:
        container = svc.container
        job = await add_job(container, expires_in=60, with_payload=False)
        link = await add_link(container, job, expires_in=10)
        assert link.path is not None
        link_file = media_file(container, link.path)

        before = await svc.client.get(f"/public/media/{link.id}")
        assert before.status_code == 200
        assert before.content == link_file.read_bytes()
        assert before.headers["content-type"] == "image/png"

        assert await purge_at(container, 5)() == PurgeReport(), "the link is still valid"
        assert (await svc.client.get(f"/public/media/{link.id}")).status_code == 200

        assert await purge_at(container, 11)() == PurgeReport(links=1)
        assert not link_file.exists()
        row = await container.media_objects().get(link.id)
        assert row is not None and row.path is None, "row kept, file forgotten"
        assert_error(await svc.client.get(f"/public/media/{link.id}"), 410, "gone")
        assert_error(await svc.client.get(f"/public/media/{uuid.uuid4()}"), 404, "not_found")
        unchanged = await container.jobs().get(job.id)
        assert unchanged is not None and not unchanged.is_finalized


async def test_links_of_a_finalized_job_go_before_they_expire(
    database_url: str, tmp_path: Path
) -> None:
    async with serve(database_url, tmp_path, roles=API_ONLY) as svc:
        container = svc.container
        job = await add_job(container, expires_in=60, with_payload=False)
        link = await add_link(container, job, expires_in=60)
        assert link.path is not None
        assert await container.jobs().finalize_failure(
            job.id, FailureReason.CANCELLED, now=real_now()
        )

        assert await purge_at(container, 0)() == PurgeReport(links=1)
        assert not media_file(container, link.path).exists()
        assert_error(await svc.client.get(f"/public/media/{link.id}"), 410, "gone")


# --- results -------------------------------------------------------------------------------------


async def test_an_expired_result_is_deleted_and_then_answers_410(
    database_url: str, tmp_path: Path
) -> None:
    async with serve(database_url, tmp_path) as svc:
        container = svc.container
        response = await svc.ingest()
        assert response.status_code == 200, response.text
        job_id = uuid.UUID(response.headers["x-job-id"])

        async def settled() -> bool:  # payload removed once the job is final
            row = await container.jobs().get(job_id)
            return row is not None and row.payload is None

        await eventually(settled)
        job = await container.jobs().get(job_id)
        assert job is not None and job.result is not None and job.result.file_path is not None
        result_file = media_file(container, job.result.file_path)
        retention = (await container.app_settings().load()).result_retention_sec

        download = await svc.client.get(f"/public/results/{job_id}")
        assert download.status_code == 200 and download.content == response.content

        assert await purge_at(container, retention - 60)() == PurgeReport()
        assert (await svc.client.get(f"/public/results/{job_id}")).status_code == 200

        assert await purge_at(container, retention + 1)() == PurgeReport(results=1)
        assert not result_file.exists()
        row = await container.jobs().get(job_id)
        assert row is not None and row.succeeded
        assert row.result is not None and row.result.file_path is None, "metadata kept"
        assert row.result.checksum == job.result.checksum
        assert_error(await svc.client.get(f"/public/results/{job_id}"), 410, "gone")
        assert_error(await svc.client.get(f"/public/results/{uuid.uuid4()}"), 404, "not_found")


# --- idempotence and concurrency -----------------------------------------------------------------

AHEAD = 30.0  # every scenario item below is due AHEAD seconds from now, none is due now
DUE = PurgeReport(timed_out=1, payloads=1, links=1, results=1, orphans=1)


async def one_of_each_due(container: Container) -> list[Path]:
    """Something for every purge step, due at ``now + AHEAD``; returns the files to go."""
    overdue = await add_job(container, expires_in=10)
    linked = await add_job(container, expires_in=120, with_payload=False)
    link = await add_link(container, linked, expires_in=10)
    done = await add_job(container, expires_in=120, with_payload=False)
    result = await finish_with_result(container, done, result_expires_in=10)
    orphan = await container.storage().save_bytes(MediaArea.RESULTS, png_bytes(), mime="image/png")
    age(media_file(container, orphan.path), HOUR - AHEAD / 3)  # past the grace only at AHEAD
    assert overdue.payload and link.path and result.file_path
    return [
        media_file(container, path)
        for path in (overdue.payload.path, link.path, result.file_path, orphan.path)
    ]


async def test_a_second_round_finds_nothing_left(database_url: str, tmp_path: Path) -> None:
    async with opened(database_url, tmp_path) as container:
        doomed = await one_of_each_due(container)
        assert await purge_at(container, 0)() == PurgeReport()

        assert await purge_at(container, AHEAD)() == DUE
        assert [f for f in doomed if f.exists()] == []
        assert await purge_at(container, AHEAD)() == PurgeReport()
        assert await container.jobs().count_unfinished() == 1  # only the still-open linked job


async def test_two_rounds_at_once_from_two_processes_do_no_harm(
    database_url: str, tmp_path: Path
) -> None:
    async with opened(database_url, tmp_path) as one, opened(database_url, tmp_path) as other:
        doomed = await one_of_each_due(one)

        first, second = await asyncio.gather(
            purge_at(one, AHEAD)(), purge_at(other, AHEAD)(), return_exceptions=True
        )

        assert isinstance(first, PurgeReport) and isinstance(second, PurgeReport)
        total = {
            f.name: a + b
            for f, a, b in zip(fields(PurgeReport), astuple(first), astuple(second), strict=True)
        }
        # Conditional updates and idempotent deletes: one final state, each orphan deleted once.
        assert total["timed_out"] == 1
        assert total["orphans"] == 1
        # Both rounds may select the same rows, but only the one whose conditional clear wins
        # counts it.
        assert total["payloads"] == 1
        assert total["links"] == 1
        assert total["results"] == 1
        assert [f for f in doomed if f.exists()] == []
        assert await purge_at(one, AHEAD)() == PurgeReport()
        assert await purge_at(other, AHEAD)() == PurgeReport()


# --- the cron command ----------------------------------------------------------------------------


async def test_purge_once_command_prints_a_json_report(database_url: str, tmp_path: Path) -> None:
    async with opened(database_url, tmp_path) as container:
        overdue = await add_job(container, expires_in=-1)
        assert overdue.payload is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOCHANGER_")}
        env.update(
            PHOTOCHANGER_DATABASE_URL=database_url,
            PHOTOCHANGER_DATA_DIR=str(tmp_path / "cli-data"),
            PHOTOCHANGER_MEDIA_ROOT=str(container.settings().media_path),
            PHOTOCHANGER_LOG_LEVEL="WARNING",
        )
        proc = await asyncio.create_subprocess_exec(
            str(PHOTOCHANGER),
            "purge",
            "--once",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)

        assert proc.returncode == 0, stderr.decode()
        assert b"Traceback" not in stderr, stderr.decode()
        report = json.loads(stdout.decode().strip().splitlines()[-1])
        assert report == {
            "timed_out": 1,
            "payloads": 1,
            "links": 0,
            "results": 0,
            "orphans": 0,
        }
        job = await container.jobs().get(overdue.id)
        assert job is not None and job.failure_reason is FailureReason.TIMEOUT
        assert job.payload is None
        assert not media_file(container, overdue.payload.path).exists()
        assert astuple(await purge_at(container, 0)()) == astuple(PurgeReport())
