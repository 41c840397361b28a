"""Command line: run the scenarios, print the Markdown table, optionally write JSON.

Exit status: 0 when the run completed (targets may still be missed: read the table), 1 when
the service or the environment misbehaved, 130 on Ctrl-C. The processes are always stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from photochanger_bench import report, scenarios
from photochanger_bench.measure import jsonable
from photochanger_bench.photos import PHOTO_1MB, make_photo
from photochanger_bench.rig import Rig, log
from photochanger_bench.service import BenchError

DESCRIPTION = """\
PhotoChanger ingest benchmark on realistic booth photos: the real `photochanger serve` with
its default configuration, 15 Gemini slots, and a protocol-faithful fake Gemini in its own
process. Scenarios: one (1 at a time), fifteen (15 at once, one per slot), fifty (50 at once),
throughput (zero-latency provider), waiting (500 at once on a 30 s provider), rss (1,000
ingests 8 at a time on a fresh service), floor (the old 10 KB local-provider run)."""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="ingest_bench.py", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument(
        "--quick", action="store_true", help="1 MB photo only, fewer repetitions (~7 min)"
    )
    parser.add_argument(
        "--scenario", action="append", choices=scenarios.NAMES, metavar="NAME",
        help=f"run only this scenario (repeatable): {', '.join(scenarios.NAMES)}",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results here")
    parser.add_argument(
        "--service-env", action="append", default=[], metavar="PHOTOCHANGER_X=VALUE",
        help="extra service setting, e.g. to measure a change (the report lists it)",
    )  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, database)")
    return parser.parse_args(argv)


def machine() -> dict[str, Any]:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "load_before": " ".join(f"{v:.2f}" for v in os.getloadavg()),
        "when": time.strftime("%Y-%m-%d %H:%M %Z"),
    }


async def run(args: argparse.Namespace, results: dict[str, Any]) -> None:
    profile = scenarios.QUICK if args.quick else scenarios.FULL
    chosen = set(args.scenario or scenarios.NAMES)
    extra = dict(item.split("=", 1) for item in args.service_env)
    if any(not key.startswith("PHOTOCHANGER_") for key in extra):
        raise BenchError("--service-env takes PHOTOCHANGER_NAME=VALUE")
    results["settings"] = (
        "defaults, plus " + ", ".join(f"{k}={v}" for k, v in extra.items())
        if extra else "defaults (only the Gemini URL and key, database, data dir and port set)"
    )  # fmt: skip
    rig = Rig(settle_s=profile.settle_s, keep=args.keep, service_env=extra)
    try:
        photos = rig.photos(profile.photos)
        results["photos"] = [p.describe() for p in photos] + [
            f"Gemini's answer {rig.result_image.describe()}"
        ]
        for line in results["photos"]:
            log(line)
        await rig.start()
        log("warm-up: 15 ingests, then the idle database load")
        await rig.booths(photos[0]).burst(15)
        results["idle_db_tx_per_s"] = await rig.measure_idle(profile.idle_window_s)
        await latency_scenarios(rig, profile, photos, chosen, results)
        one_mb = make_photo(PHOTO_1MB)
        if "throughput" in chosen:
            results["throughput"] = await scenarios.throughput(
                rig, one_mb, profile.throughput_total, profile.throughput_in_flight
            )
        if "waiting" in chosen:
            results["waiting"] = await scenarios.waiting(
                rig, one_mb, profile.waiting_count, profile.waiting_latency_s
            )
        if "rss" in chosen:
            results["rss"] = await scenarios.rss(
                rig, one_mb, profile.rss_total, profile.rss_in_flight
            )
        if "floor" in chosen:
            floor = await scenarios.floor(rig, profile.floor_levels)
            results["latency"] += [r.summary() for r in floor]
    finally:
        results["code"] = sorted(set(rig.code_versions))
        if rig.service is not None:
            results["service_log"] = rig.service.log_notes()
        rig.close()


async def latency_scenarios(
    rig: Rig, profile: scenarios.Profile, photos: list[Any], chosen: set[str],
    results: dict[str, Any],
) -> None:  # fmt: skip
    plan = [
        ("one", 1, profile.one_at_a_time),
        ("fifteen", 15, profile.rounds_15),
        ("fifty", 50, profile.rounds_50),
    ]
    latency = profile.provider_latency_s
    await rig.fake.set_latency(latency)
    for photo in photos:
        for name, concurrency, rounds in plan:
            if name in chosen:
                result = await scenarios.latency(rig, name, photo, concurrency, rounds, latency)
                results["latency"].append(result.summary())


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    results: dict[str, Any] = {"quick": args.quick, "latency": [], "machine": machine()}
    code = 0
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        asyncio.run(run(args, results))
    except KeyboardInterrupt:
        log("interrupted; the processes were stopped")
        results["aborted"], code = "interrupted", 130
    except (BenchError, OSError, AssertionError) as exc:
        log(f"benchmark aborted: {exc}")
        results["aborted"], code = str(exc).splitlines()[0], 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    results["machine"]["load_after"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(report.markdown(results))
    if args.json:
        args.json.write_text(json.dumps(jsonable(results), indent=2, default=str) + "\n")
        log(f"results written to {args.json}")
    return code


if __name__ == "__main__":
    sys.exit(main())
