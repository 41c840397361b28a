"""``GET /api/stats``: counts and exact percentiles over a seeded job history, checked against
values computed here in Python, independently of the SQL."""

from __future__ import annotations

import itertools
import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from admin_api import error_of, operators
from psycopg.types.json import Jsonb

from entrypoints.runtime import Roles

SLOTS = ("slot-001", "slot-002", "slot-003", "slot-007")
PROVIDERS = ("local", "gemini", "turbotext")
OUTCOMES = ("succeeded", "timeout", "provider_error", "cancelled", "storage_error", None)

INSERT = """
INSERT INTO job (id, slot_id, provider, operation, settings, status, is_finalized,
                 failure_reason, finalized_at, expires_at, created_at, updated_at, is_test)
VALUES (%(id)s, %(slot_id)s, %(provider)s, 'op', %(settings)s, %(status)s, %(is_finalized)s,
        %(failure_reason)s, %(finalized_at)s, %(expires_at)s, %(created_at)s, %(created_at)s,
        %(is_test)s)
"""


@dataclass(frozen=True)
class Seeded:
    slot_id: str
    provider: str
    outcome: str | None  # None: not finished yet
    created_at: datetime
    finalized_at: datetime | None
    is_test: bool

    @property
    def processing_ms(self) -> float | None:
        if self.outcome != "succeeded" or self.finalized_at is None:
            return None
        return (self.finalized_at - self.created_at) / timedelta(milliseconds=1)


def percentile_cont(values: list[float], fraction: float) -> float | None:
    """PostgreSQL's definition: linear interpolation between the two nearest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def expected_tally(jobs: list[Seeded]) -> dict[str, Any]:
    times = [ms for j in jobs if (ms := j.processing_ms) is not None]
    tally: dict[str, Any] = {"ingests": len(jobs)}
    for outcome in OUTCOMES[:-1]:
        tally[outcome] = sum(1 for j in jobs if j.outcome == outcome)
    tally["p50_ms"] = percentile_cont(times, 0.5)
    tally["p95_ms"] = percentile_cont(times, 0.95)
    return tally


def assert_tally(actual: dict[str, Any], expected: dict[str, Any], where: str) -> None:
    for key, value in expected.items():
        if key.startswith("p") and value is not None:
            assert actual[key] is not None and math.isclose(
                actual[key], value, rel_tol=1e-9, abs_tol=1e-3
            ), (where, key, actual[key], value)
        else:
            assert actual[key] == value, (where, key, actual[key], value)


def history(now: datetime, count: int) -> list[Seeded]:
    """Jobs over the last 30 hours (some before a 24 h window, none within 10 minutes of its
    edge), every outcome, a few still running, a few test runs."""
    rng = random.Random(8)
    jobs = []
    for _ in range(count):
        age = timedelta(minutes=rng.uniform(1, 30 * 60))
        if abs(age - timedelta(hours=24)) < timedelta(minutes=10):
            continue
        created = now - age
        outcome = rng.choices(OUTCOMES, weights=(70, 8, 8, 4, 2, 8))[0]
        finalized = (
            None if outcome is None else created + timedelta(milliseconds=rng.uniform(300, 45_000))
        )
        jobs.append(
            Seeded(
                slot_id=rng.choice(SLOTS),
                provider=rng.choice(PROVIDERS),
                outcome=outcome,
                created_at=created,
                finalized_at=finalized,
                is_test=rng.random() < 0.05,
            )
        )
    return jobs


async def seed(pool: Any, jobs: list[Seeded]) -> None:
    async with pool.connection() as conn, conn.cursor() as cur:
        await cur.executemany(
            INSERT,
            [
                {
                    "id": uuid.uuid4(),
                    "slot_id": j.slot_id,
                    "provider": j.provider,
                    "settings": Jsonb({}),
                    "status": "pending" if j.outcome is None else "processing",
                    "is_finalized": j.outcome is not None,
                    "failure_reason": None if j.outcome in (None, "succeeded") else j.outcome,
                    "finalized_at": j.finalized_at,
                    # Past deadlines would be purge's business, which is not running here.
                    "expires_at": j.created_at + timedelta(days=2),
                    "created_at": j.created_at,
                    "is_test": j.is_test,
                }
                for j in jobs
            ],
        )


def bucket_of(moment: datetime, seconds: int) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((moment - epoch) // timedelta(seconds=seconds)) * timedelta(seconds=seconds)


async def test_stats_over_a_seeded_history_match_an_independent_computation(
    database_url: str, tmp_path: Path
) -> None:
    async with operators(database_url, tmp_path, roles=Roles()) as ops:  # no worker, no purge
        jobs = history(datetime.now(UTC), 400)
        await seed(ops.svc.container.pool(), jobs)

        response = await ops.viewer.get("/api/stats?window=24h")

        assert response.status_code == 200, response.text
        stats = response.json()
        since = datetime.fromisoformat(stats["since"])
        until = datetime.fromisoformat(stats["until"])
        assert until - since == timedelta(hours=24) and stats["bucket_seconds"] == 3600
        counted = [j for j in jobs if since <= j.created_at < until and not j.is_test]
        assert 200 < len(counted) < len(jobs)  # the window and the test flag both matter
        assert_tally(stats["total"], expected_tally(counted), "total")
        assert set(stats["slots"]) == {f"slot-{n:03d}" for n in range(1, 16)}
        for slot_id, tally in stats["slots"].items():
            assert_tally(
                tally, expected_tally([j for j in counted if j.slot_id == slot_id]), slot_id
            )
        assert set(stats["providers"]) >= set(PROVIDERS)
        for provider in PROVIDERS:
            mine = [j for j in counted if j.provider == provider]
            assert_tally(stats["providers"][provider], expected_tally(mine), provider)
        starts = [datetime.fromisoformat(b["start"]) for b in stats["series"]]
        assert starts[0] == bucket_of(since, 3600) and starts[-1] == bucket_of(until, 3600)
        assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(starts))
        for bucket, start in zip(stats["series"], starts, strict=True):
            mine = [j for j in counted if bucket_of(j.created_at, 3600) == start]
            assert_tally(bucket, expected_tally(mine), f"bucket {start}")

        hour = (await ops.viewer.get("/api/stats?window=1h")).json()
        recent = [
            j
            for j in jobs
            if datetime.fromisoformat(hour["since"])
            <= j.created_at
            < datetime.fromisoformat(hour["until"])
            and not j.is_test
        ]
        assert_tally(hour["total"], expected_tally(recent), "1h")
        assert hour["bucket_seconds"] == 300 and len(hour["series"]) in (12, 13)
        week = (await ops.viewer.get("/api/stats?window=7d")).json()
        assert_tally(week["total"], expected_tally([j for j in jobs if not j.is_test]), "7d")


async def test_an_unknown_window_is_400_and_stats_need_a_login(
    database_url: str, tmp_path: Path
) -> None:
    async with operators(database_url, tmp_path, roles=Roles()) as ops:
        error_of(await ops.viewer.get("/api/stats?window=2d"), 400, "invalid_request")
        error_of(await ops.anonymous.get("/api/stats"), 401, "unauthorized")
        default = (await ops.viewer.get("/api/stats")).json()
        assert default["window"] == "24h" and default["total"]["ingests"] == 0
        assert default["total"]["p50_ms"] is None
