"""The scenarios of issue 10, each returning plain results for the report.

Latency scenarios (1 at a time, 15 at once one per slot, 50 at once) send booth photos through
the Gemini adapter to the fake Gemini with a fixed provider latency; the *added* latency is
the booth's answer time minus that latency. The others: zero-latency throughput, 500 ingests
waiting on a 30 s provider, RSS over 1,000 ingests, and the old 10 KB local-provider run as
the overhead floor.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from photochanger_bench.load import (
    Sample,
    describe_statuses,
    first_errors,
    percentile,
    status_counts,
)
from photochanger_bench.measure import RssSampler, as_mib, rss_bytes, settled_rss, transactions
from photochanger_bench.photos import Photo, tiny_jpeg
from photochanger_bench.rig import Rig, Window, log


@dataclass(frozen=True)
class Profile:
    """How much of each scenario a run does; ``--quick`` uses a smaller one."""

    photos: tuple[str, ...]
    one_at_a_time: int  # sequential ingests per photo
    rounds_15: int  # bursts of 15
    rounds_50: int  # bursts of 50
    provider_latency_s: float
    throughput_total: int
    throughput_in_flight: int
    waiting_count: int
    waiting_latency_s: float
    rss_total: int
    rss_in_flight: int
    floor_levels: tuple[tuple[int, int], ...]  # (concurrency, rounds)
    settle_s: float
    idle_window_s: float


FULL = Profile(("1 MB", "4 MB"), 20, 3, 2, 2.0, 300, 32, 500, 30.0, 1000, 8,
               ((1, 10), (15, 3), (50, 2)), 11.5, 10.0)  # fmt: skip
QUICK = Profile(("1 MB",), 8, 1, 1, 2.0, 150, 32, 500, 30.0, 1000, 8,
                ((1, 5), (15, 1), (50, 1)), 11.0, 6.0)  # fmt: skip
NAMES = ("one", "fifteen", "fifty", "throughput", "waiting", "rss", "floor")
FLOOR_ENV = {"PHOTOCHANGER_LOCAL_CONCURRENCY": "64", "PHOTOCHANGER_WORKER_CONCURRENCY": "64"}


@dataclass
class LatencyResult:
    """One latency scenario: ``concurrency`` ingests at once, ``rounds`` times."""

    name: str
    photo: str
    concurrency: int
    rounds: int
    provider_latency_s: float
    samples: list[Sample]
    window: Window
    provider: dict[str, Any] = field(default_factory=dict)  # the fake's counters
    breakdown: dict[str, float] = field(default_factory=dict)

    @property
    def added_ms(self) -> list[float]:
        return [
            (s.seconds - self.provider_latency_s) * 1000 for s in self.samples if s.status == 200
        ]

    def summary(self) -> dict[str, Any]:
        added, n = self.added_ms, len(self.samples)
        return {
            "scenario": self.name,
            "photo": self.photo,
            "concurrency": self.concurrency,
            "ingests": n,
            "statuses": status_counts(self.samples),
            "errors": first_errors(self.samples),
            "added_ms": {f"p{q}": percentile(added, q) for q in (50, 95, 99)}
            | {"max": max(added, default=float("nan"))},
            "cpu_ms_per_ingest": self.window.cpu.per_ingest_ms(n),
            "db_tx_per_s": self.window.tx_per_s,
            "db_tx_per_ingest": self.window.tx / n if n else float("nan"),
            "wall_s": self.window.wall,
            "provider_max_in_flight": self.provider.get("max_in_flight"),
            "provider_refused": self.provider.get("refused"),
            "breakdown_p50_ms": self.breakdown,
        }


async def latency(
    rig: Rig, name: str, photo: Photo, concurrency: int, rounds: int, provider_s: float,
    slots: tuple[str, ...] | None = None,
) -> LatencyResult:  # fmt: skip
    booths = rig.booths(photo, slots) if slots else rig.booths(photo)
    log(f"{name}: {photo.label}, {concurrency} at once × {rounds} (provider {provider_s:g} s)")
    await rig.fake.reset()

    async def work() -> list[Sample]:
        if concurrency == 1:
            return await booths.one_by_one(rounds)
        collected: list[Sample] = []
        for _ in range(rounds):
            collected += await booths.burst(concurrency)
        return collected

    samples, window = await rig.window(work)
    result = LatencyResult(
        name, photo.label, concurrency, rounds, provider_s, samples, window,
        await rig.fake.stats(),
    )  # fmt: skip
    result.breakdown = breakdown(rig, samples, provider_s)
    log(f"  {describe_statuses(samples)}; added p50 {percentile(result.added_ms, 50):.0f} ms")
    return result


def breakdown(rig: Rig, samples: list[Sample], provider_s: float) -> dict[str, float]:
    """Median of admission (sent → job row created), processing (created → finalized, minus
    the provider's latency) and delivery (finalized → answer received), from the job rows."""
    ok = [s for s in samples if s.status == 200 and s.job_id]
    times = rig.need_probe().job_times([s.job_id for s in ok if s.job_id])
    parts: dict[str, list[float]] = {"admission": [], "processing": [], "delivery": []}
    for s in ok:
        created, finalized = times.get(s.job_id or "", (None, None))
        if created is None or finalized is None:
            continue
        parts["admission"].append((created - s.sent).total_seconds() * 1000)
        parts["processing"].append(((finalized - created).total_seconds() - provider_s) * 1000)
        parts["delivery"].append((s.arrival - finalized).total_seconds() * 1000)
    return {k: percentile(v, 50) for k, v in parts.items()}


async def throughput(rig: Rig, photo: Photo, total: int, in_flight: int) -> dict[str, Any]:
    log(f"throughput: {total} × {photo.label}, {in_flight} in flight, zero-latency provider")
    await rig.fake.set_latency(0.0)
    booths = rig.booths(photo)
    samples, window = await rig.window(lambda: booths.paced(total, in_flight))
    ok = sum(s.status == 200 for s in samples)
    log(f"  {describe_statuses(samples)} in {window.wall:.1f} s")
    return {
        "photo": photo.label,
        "ingests": total,
        "in_flight": in_flight,
        "statuses": status_counts(samples),
        "errors": first_errors(samples),
        "ingests_per_s": ok / window.wall,
        "cpu_ms_per_ingest": window.cpu.per_ingest_ms(total),
        "db_tx_per_s": window.tx_per_s,
        "wall_s": window.wall,
    }


async def waiting(rig: Rig, photo: Photo, count: int, provider_s: float) -> dict[str, Any]:
    """``count`` ingests at once on a slow provider: what waiting costs, and who gets a 200."""
    log(f"waiting: {count} × {photo.label} at once, provider {provider_s:g} s")
    await rig.fake.set_latency(provider_s)
    await rig.fake.reset()
    pid = rig.need_service().pid
    idle_rss = await asyncio.to_thread(settled_rss, pid)
    probe, booths = rig.need_probe(), rig.booths(photo)
    start, end = 0.5 * provider_s, 0.95 * provider_s  # admitted or refused; none answered
    with RssSampler(pid) as sampler:
        batch = asyncio.ensure_future(booths.burst(count))
        await asyncio.sleep(start)
        before = probe.snapshot()
        stats_mid = await rig.fake.stats()
        await asyncio.sleep(end - start)
        after = probe.snapshot()
        samples = await batch
    stats_end = await rig.fake.stats()
    tps = transactions(before, after) / (after.at - before.at)
    t0 = min(s.sent for s in samples)
    since = [((s.arrival - t0).total_seconds(), s.status) for s in samples]
    answered_before = sum(at < start for at, _ in since)
    refusals_until = max((at for at, status in since if status not in (200, 504)), default=0.0)
    log(f"  {describe_statuses(samples)}; {tps:.1f} tx/s while waiting")
    return {
        "photo": photo.label,
        "ingests": count,
        "provider_latency_s": provider_s,
        "statuses": status_counts(samples),
        "errors": first_errors(samples),
        "db_tx_per_s_while_waiting": tps,
        "waiting_in_window": sum(status in (200, 504) and at > end for at, status in since),
        "window_s": [start, end],
        "answered_before_window": answered_before,
        "last_refusal_s": refusals_until,
        "provider_calls_in_flight_mid": stats_mid.get("in_flight"),
        "provider_calls": stats_end.get("requests"),
        "provider_calls_cancelled": stats_end.get("client_gone"),
        "rss_idle_mib": as_mib(idle_rss),
        "rss_peak_mib": as_mib(sampler.peak),
        "idle_db_tx_per_s": rig.idle_tps,
    }


async def rss(rig: Rig, photo: Photo, total: int, in_flight: int) -> dict[str, Any]:
    """RSS of a fresh service: idle, after 100 ingests, after ``total`` (8 at a time)."""
    log(f"rss: fresh service, {total} × {photo.label}, {in_flight} at a time, zero latency")
    await rig.fake.set_latency(0.0)
    await rig.restart_service()
    pid = rig.need_service().pid
    booths = rig.booths(photo)
    idle = await asyncio.to_thread(settled_rss, pid)
    first = min(100, total)
    with RssSampler(pid) as sampler:
        samples = await booths.paced(first, in_flight)
        after_first = await asyncio.to_thread(settled_rss, pid)
        samples += await booths.paced(total - first, in_flight)
        after_all = await asyncio.to_thread(settled_rss, pid)
    log(f"  {describe_statuses(samples)}; RSS {as_mib(idle):.0f} → {as_mib(after_all):.0f} MiB")
    return {
        "photo": photo.label,
        "ingests": total,
        "in_flight": in_flight,
        "provider": "gemini (fake, zero latency)",
        "statuses": status_counts(samples),
        "errors": first_errors(samples),
        "rss_idle_mib": as_mib(idle),
        f"rss_after_{first}_mib": as_mib(after_first),
        "rss_after_all_mib": as_mib(after_all),
        "rss_peak_mib": as_mib(max(sampler.peak, rss_bytes(pid))),
    }


async def floor(rig: Rig, levels: tuple[tuple[int, int], ...]) -> list[LatencyResult]:
    """The old run: 10 KB JPEG, ``local`` provider with 2 s delay on slot-001, worker and
    local concurrency raised to 64 (not the defaults): the service's overhead with nothing
    queued and no bytes to move."""
    cli = rig.need_cli()
    await cli.local_slot("slot-001", 2000)
    await rig.restart_service(FLOOR_ENV)
    photo = tiny_jpeg()
    await rig.booths(photo, ("slot-001",)).burst(10)  # warm-up
    results = []
    for concurrency, rounds in levels:
        results.append(
            await latency(rig, "floor", photo, concurrency, rounds, 2.0, slots=("slot-001",))
        )
    await cli.gemini_slot("slot-001")
    return results
