"""What the full-ingest tests through each provider share: templates and slots set up as an
operator would, the jobs as the database holds them, the service's own log, and the service
wired to a fake provider over real sockets."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

from fake_gemini import DEFAULT_KEY as GEMINI_KEY
from fake_gemini import FakeGemini
from fake_openai import DEFAULT_KEY as OPENAI_KEY
from fake_openai import FakeOpenAI
from fake_turbotext import FakeTurbotext
from service_harness import Service, eventually, serve

from application.manage_templates import NewTemplate
from domain.job import Job
from domain.media import TemplateMedia

PROMPT = "Turn the guests into a watercolour painting"


async def template(svc: Service, data: bytes, label: str) -> TemplateMedia:
    async def chunks() -> AsyncIterator[bytes]:
        yield data

    return await svc.container.add_template()(
        NewTemplate(label=label, image=chunks(), actor="test")
    )


async def activate(
    svc: Service, provider: str, operation: str, settings: dict[str, Any], slot: str = "slot-005"
) -> None:
    await svc.configure(
        slot, provider=provider, operation=operation, settings=settings, is_active=True
    )


async def job_of(svc: Service, response_job_id: str) -> Job:
    job = await svc.container.jobs().get(UUID(response_job_id))
    assert job is not None
    return job


async def unfinished_jobs(svc: Service) -> list[Job]:
    async with svc.container.pool().connection() as conn:
        cursor = await conn.execute("SELECT id FROM job WHERE NOT is_finalized")
        ids = [row[0] for row in await cursor.fetchall()]
    return [await job_of(svc, str(job_id)) for job_id in ids]


async def worker_is_done_with(svc: Service, job_id: str) -> Job:
    """The worker removes the job's payload only after its provider call has ended, and only
    it does (purge is off in these tests): once the payload is gone, no provider request for
    this job can follow."""

    async def payload_removed() -> bool:
        job = await job_of(svc, job_id)
        return job.is_finalized and job.payload is None

    await eventually(payload_removed, within=15)
    return await job_of(svc, job_id)


class LogRecorder(logging.Handler):
    """Collects every record the service logs (attached once the service has set up its
    logging, which replaces pytest's own capture handler)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@contextmanager
def recorded_logs() -> Iterator[LogRecorder]:
    recorder = LogRecorder()
    root = logging.getLogger()
    root.addHandler(recorder)
    try:
        yield recorder
    finally:
        root.removeHandler(recorder)


def gemini_service(database_url: str, tmp_path: Path, fake: FakeGemini, **overrides: Any) -> Any:
    return serve(
        database_url,
        tmp_path,
        gemini_api_key=GEMINI_KEY,
        gemini_base_url=fake.base_url,
        run_purge=False,
        **overrides,
    )


def openai_service(database_url: str, tmp_path: Path, fake: FakeOpenAI, **overrides: Any) -> Any:
    return serve(
        database_url,
        tmp_path,
        openai_api_key=OPENAI_KEY,
        openai_base_url=fake.base_url,
        run_purge=False,
        **overrides,
    )


def turbotext_service(
    database_url: str, tmp_path: Path, fake: FakeTurbotext, **overrides: Any
) -> Any:
    """The service with its own address as PUBLIC_BASE_URL, so the fake downloads the job's
    inputs from ``/public/media/{id}`` over a real socket."""
    return serve(
        database_url,
        tmp_path,
        public_links=True,
        turbotext_api_key=fake.api_key,
        turbotext_base_url=fake.base_url,
        turbotext_poll_interval_sec=0.05,
        run_purge=False,
        **overrides,
    )
