"""Defaults that serve an event (SPEC §5): with nothing but a provider's URL and key set, the
15 booths of an event shooting together never wait for each other's provider calls, and the
HTTP connection pool never caps the calls the concurrency setting allows."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

from fake_gemini import DEFAULT_KEY, fake_gemini_server, small_png
from service_harness import serve

from adapters.clock import SystemClock
from adapters.providers.gemini import GeminiProvider
from application.ports import InputImage, ProviderInput
from entrypoints.config import load_settings

SLOTS = [f"slot-{n:03d}" for n in range(1, 16)]
LATENCY = 2.0


async def test_fifteen_booths_one_per_slot_are_at_gemini_together_with_default_settings(
    database_url: str, tmp_path: Path
) -> None:
    defaults = load_settings({})
    async with (
        fake_gemini_server(latency=LATENCY) as fake,
        # Only what a deployment must set for Gemini; the harness adds the database, a
        # password and short test deadlines, never a concurrency setting.
        serve(
            database_url, tmp_path, gemini_api_key=DEFAULT_KEY, gemini_base_url=fake.base_url
        ) as svc,
    ):
        settings = svc.settings
        assert (settings.worker_concurrency, settings.gemini_concurrency) == (
            defaults.worker_concurrency,
            defaults.gemini_concurrency,
        )
        for slot in SLOTS:
            await svc.configure(
                slot, provider="gemini", operation="image_edit", settings={"prompt": "p"},
                is_active=True,
            )  # fmt: skip
        started = time.monotonic()
        responses = await asyncio.gather(*(svc.ingest(slot) for slot in SLOTS))
        elapsed = time.monotonic() - started

        assert [r.status_code for r in responses] == [200] * 15
        arrivals = sorted(r.arrived_at for r in fake.requests)
        assert len(arrivals) == 15
        # Every call lasts LATENCY; all 15 started within less than that, so all 15 were at
        # the provider at the same time: nobody waited for a free concurrency slot.
        assert arrivals[-1] - arrivals[0] < LATENCY
        assert elapsed < 2 * LATENCY  # one round, not several


def job(seconds: float) -> ProviderInput:
    return ProviderInput(
        job_id=uuid4(),
        operation="image_edit",
        settings={"prompt": "p"},
        photo=InputImage(mime="image/png", data=small_png()),
        templates={},
        deadline=datetime.now(UTC) + timedelta(seconds=seconds),
    )


async def test_the_connection_pool_follows_the_concurrency_setting() -> None:
    """httpx's default pool (100 connections) held the 101st call back whatever the setting
    said; the adapter's pool is as large as its concurrency setting."""
    calls = 110
    async with fake_gemini_server(latency=60.0) as fake:
        provider = GeminiProvider(
            base_url=fake.base_url, api_key=fake.api_key, clock=SystemClock(),
            max_connections=calls,
        )  # fmt: skip
        tasks = [asyncio.create_task(provider.transform(job(seconds=60))) for _ in range(calls)]
        try:
            await fake.wait_until(
                lambda f: sum(r.outcome == "waiting" for r in f.requests) == calls, timeout=20
            )
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await provider.aclose()
