"""NO_IMAGE answers are kept per job (``job.no_image_count``, migration 0008) by the worker and
summed by ``/api/stats`` per slot and provider, for the dashboard's provider health badge."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from admin_api import operators
from fake_gemini import DEFAULT_KEY as GEMINI_KEY
from fake_gemini import fake_gemini_server
from psycopg.types.json import Jsonb

from entrypoints.runtime import Roles

PROMPT = "a watercolour"


async def no_image_count(ops: Any, job_id: str) -> int:
    async with ops.svc.container.pool().connection() as conn:
        cursor = await conn.execute("SELECT no_image_count FROM job WHERE id = %s", (UUID(job_id),))
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def test_the_worker_counts_no_image_answers_on_the_job_and_stats_sum_them(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        fake_gemini_server(script=["no_image", "image", *["no_image"] * 3]) as fake,
        operators(
            database_url,
            tmp_path,
            gemini_api_key=GEMINI_KEY,
            gemini_base_url=fake.base_url,
            gemini_no_image_attempts=3,
            run_purge=False,
        ) as ops,
    ):
        await ops.svc.configure(
            "slot-005",
            provider="gemini",
            operation="image_edit",
            settings={"prompt": PROMPT},
            is_active=True,
        )
        once = await ops.svc.ingest("slot-005")  # NO_IMAGE, then the image
        assert once.status_code == 200, once.text
        # kept before the job was finalized: readable as soon as the booth has its answer
        assert await no_image_count(ops, once.headers["X-Job-Id"]) == 1

        failed = await ops.svc.ingest("slot-005")  # NO_IMAGE three times: provider_error
        assert failed.status_code == 502, failed.text
        assert await no_image_count(ops, failed.json()["error"]["details"]["job_id"]) == 3
        clean = await ops.svc.ingest("slot-001")  # local: no such answers
        assert clean.status_code == 200
        assert await no_image_count(ops, clean.headers["X-Job-Id"]) == 0

        stats = (await ops.viewer.get("/api/stats?window=1h")).json()

        gemini = stats["providers"]["gemini"]
        assert (gemini["no_image_answers"], gemini["no_image_jobs"], gemini["ingests"]) == (4, 2, 2)
        assert stats["slots"]["slot-005"]["no_image_answers"] == 4
        assert stats["providers"]["local"]["no_image_jobs"] == 0
        assert stats["total"]["no_image_answers"] == 4
        assert sum(b["no_image_answers"] for b in stats["series"]) == 4


INSERT = """
INSERT INTO job (id, slot_id, provider, operation, settings, status, is_finalized,
                 failure_reason, finalized_at, expires_at, created_at, updated_at, is_test,
                 no_image_count)
VALUES (%(id)s, %(slot_id)s, %(provider)s, 'image_edit', %(settings)s, 'processing', true,
        %(failure_reason)s, %(created_at)s, %(expires_at)s, %(created_at)s, %(created_at)s,
        %(is_test)s, %(no_image_count)s)
"""


async def test_stats_sum_no_image_counts_per_slot_and_provider_over_a_seeded_history(
    database_url: str, tmp_path: Path
) -> None:
    rng = random.Random(9)
    now = datetime.now(UTC)
    jobs = [
        {
            "id": uuid.uuid4(),
            "slot_id": rng.choice(("slot-003", "slot-004", "slot-009")),
            "provider": rng.choice(("gemini", "openai")),
            "settings": Jsonb({}),
            "failure_reason": rng.choice((None, "provider_error")),
            # inside the last 24 h but away from its edge; a few outside it
            "created_at": now - timedelta(minutes=rng.uniform(5, 26 * 60)),
            "is_test": rng.random() < 0.1,
            "no_image_count": rng.choice((0, 0, 0, 1, 2, 3)),
        }
        for _ in range(200)
    ]
    for job in jobs:
        job["expires_at"] = job["created_at"] + timedelta(days=2)
    async with operators(database_url, tmp_path, roles=Roles()) as ops:
        async with ops.svc.container.pool().connection() as conn, conn.cursor() as cur:
            await cur.executemany(INSERT, jobs)

        stats = (await ops.viewer.get("/api/stats?window=24h")).json()

        since = datetime.fromisoformat(stats["since"])
        counted = [j for j in jobs if j["created_at"] >= since and not j["is_test"]]
        assert len(counted) < len(jobs)
        for key, groups in (("slot_id", stats["slots"]), ("provider", stats["providers"])):
            for name, tally in groups.items():
                mine = [j for j in counted if j[key] == name]
                assert tally["no_image_answers"] == sum(j["no_image_count"] for j in mine), name
                assert tally["no_image_jobs"] == sum(1 for j in mine if j["no_image_count"]), name
        assert stats["total"]["no_image_answers"] == sum(j["no_image_count"] for j in counted)
