"""Everything a scenario needs, set up once: database, fake Gemini, service, CLI, meters.

Also the measuring window every scenario uses: CPU of each party and the service's database
transactions while the work runs (see ``measure`` for how the settle pause is accounted).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from photochanger_bench.load import Booths
from photochanger_bench.measure import Cpu, CpuMeter, DbProbe, transactions
from photochanger_bench.photos import RESULT_PNG, Photo, make_photo
from photochanger_bench.service import (
    HOST,
    PASSWORD,
    Cli,
    Database,
    FakeGeminiProcess,
    Service,
    code_version,
    service_environment,
)

T = TypeVar("T")
SLOTS = tuple(f"slot-{n:03d}" for n in range(1, 16))


def log(message: str) -> None:
    import sys

    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Window:
    """One measured stretch of work: wall seconds, service transactions, CPU by party."""

    wall: float
    tx: float  # service transactions during the work (settle time charged at the idle rate)
    cpu: Cpu

    @property
    def tx_per_s(self) -> float:
        return self.tx / self.wall if self.wall > 0 else float("nan")


class Rig:
    """Owns the processes of one run; ``close()`` always stops them."""

    def __init__(self, *, settle_s: float, keep: bool, service_env: Mapping[str, str]) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="photochanger-bench-"))
        self.keep = keep
        self.settle_s = settle_s
        self.service_env = dict(service_env)
        self.db = Database(self.tmp)
        self.fake = FakeGeminiProcess(self.tmp)
        self.meter = CpuMeter()
        self.idle_tps = 0.0
        self.code_versions: list[str] = []
        self.probe: DbProbe | None = None
        self.service: Service | None = None
        self.cli: Cli | None = None
        self.result_image = make_photo(RESULT_PNG)

    async def start(self) -> None:
        log("starting embedded PostgreSQL")
        url = await asyncio.to_thread(self.db.start)
        self.meter.postgres_pid = self.db.postmaster_pid
        self.probe = DbProbe(url)
        image_path = self.tmp / "gemini-result.png"
        image_path.write_bytes(self.result_image.data)
        log(f"starting the fake Gemini (answers {self.result_image.describe()})")
        await self.fake.start(image_path, self.result_image.mime, latency=0.0)
        self.meter.provider_pid = self.fake.pid
        env = service_environment(url, self.tmp / "data", self.fake.base_url, self.service_env)
        self.cli = Cli(env)
        log("configuring the ingest password and 15 Gemini slots through the CLI")
        await self.cli.set_password(PASSWORD)
        for slot in SLOTS:
            await self.cli.gemini_slot(slot)
        self.service = Service(env, self.tmp)
        await self.restart_service()

    async def restart_service(self, extra: Mapping[str, str] | None = None) -> None:
        service = self.need_service()
        service.stop()
        log("starting photochanger serve" + (f" with {dict(extra)}" if extra else ""))
        self.code_versions.append(code_version())  # src/ is edited live: say what ran
        await service.start(extra)
        self.meter.service_pid = service.pid

    def need_service(self) -> Service:
        assert self.service is not None, "the rig is not started"
        return self.service

    def need_cli(self) -> Cli:
        assert self.cli is not None, "the rig is not started"
        return self.cli

    def need_probe(self) -> DbProbe:
        assert self.probe is not None, "the rig is not started"
        return self.probe

    def booths(self, photo: Photo, slots: tuple[str, ...] = SLOTS) -> Booths:
        return Booths(HOST, self.need_service().port, photo, slots, PASSWORD)

    async def measure_idle(self, seconds: float) -> float:
        """Transactions/s with nothing to do (worker claim polls, purge): the background."""
        probe = self.need_probe()
        await asyncio.sleep(self.settle_s)
        before = probe.snapshot()
        await asyncio.sleep(seconds)
        after = probe.snapshot()
        self.idle_tps = transactions(before, after) / (after.at - before.at)
        return self.idle_tps

    async def window(self, work: Callable[[], Awaitable[T]]) -> tuple[T, Window]:
        """Run ``work`` and measure it; waits ``settle_s`` after it for the counters."""
        probe = self.need_probe()
        before, cpu_before, started = probe.snapshot(), self.meter.read(), time.monotonic()
        result = await work()
        wall = time.monotonic() - started
        cpu = self.meter.read() - cpu_before
        await asyncio.sleep(self.settle_s)
        after = probe.snapshot()
        settle = max(after.at - before.at - wall, 0.0)
        tx = transactions(before, after) - self.idle_tps * settle
        return result, Window(wall, tx, cpu)

    def photos(self, specs: tuple[str, ...]) -> list[Photo]:
        from photochanger_bench.photos import PHOTO_1MB, PHOTO_4MB

        known = {PHOTO_1MB.label: PHOTO_1MB, PHOTO_4MB.label: PHOTO_4MB}
        return [make_photo(known[label]) for label in specs]

    def close(self) -> None:
        if self.service is not None:
            self.service.stop()
        self.fake.stop()
        if self.probe is not None:
            self.probe.close()
        self.db.stop()
        if self.keep:
            log(f"kept {self.tmp} (service and fake logs, media, database)")
        else:
            with contextlib.suppress(OSError):
                shutil.rmtree(self.tmp, ignore_errors=True)
