"""Where the service's CPU goes per ingest: a py-spy profile of ``photochanger serve``.

The same rig as the benchmark (default settings, fake Gemini in its own process); py-spy
samples the service's threads while they hold the GIL (``--gil``, without pausing it), so
the shares are of the Python-side CPU, which is most of the service's (the rest is the
kernel moving bytes and the file threads' hashing). Samples are put in buckets by the
activity they belong to (first match, in the order of ``ACTIVITIES``) and the top frames
are listed. py-spy is not a project dependency: install it anywhere (``pip install
--target /tmp/pyspy py-spy``) and pass ``--py-spy``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

from photochanger_bench.photos import PHOTO_1MB, PHOTO_4MB, make_photo
from photochanger_bench.rig import Rig, log

# (bucket, substring of a frame in the sample's stack); the first match wins.
ACTIVITIES: tuple[tuple[str, str], ...] = (
    ("ingest: multipart form", "read_multipart_form"),
    ("ingest: photo to disk (hash, sniff)", "save_stream"),
    ("ingest: settings, slot, password, job row", "SubmitIngest._admit"),
    ("ingest: wait for the job (poller)", "SharedCompletionPoller"),
    ("ingest: final row and result file", "SubmitIngest._outcome"),
    ("ingest: answer sent", "ASGIResponse"),
    ("worker: claim", "claim_next"),
    ("worker: read the photo", "_build_input"),
    ("worker: Gemini JSON encode", "GeminiCall.encode"),
    ("worker: Gemini JSON decode", "parse_response"),
    ("worker: HTTP to Gemini (httpx)", "GeminiProvider._exchange"),
    ("worker: result to disk", "save_bytes"),
    ("worker: finalize, payload removal", "ProcessJob._process"),
    ("worker: lease heartbeat", "LeaseKeeper"),
    ("worker: lanes, other", "WorkerLanes"),
    ("ingest: handler, other", "build_ingest_handlers"),
    ("ingest: Litestar, middleware", "run_asgi"),
    ("uvicorn: reading requests", "httptools_impl"),
    ("purge loop", "run_purge_loop"),
    # Callbacks the loop runs outside any task's stack:
    ("database driver callbacks (psycopg)", "psycopg"),
    ("HTTP client callbacks (httpx, h11, anyio)", "anyio"),
    ("HTTP client callbacks (httpx, h11, anyio)", "h11/"),
    ("HTTP client callbacks (httpx, h11, anyio)", "httpcore/"),
    ("ingest: multipart form", "multipart.py"),
    ("asyncio plumbing (futures, timers, threads)", "asyncio/"),
    ("thread hand-offs (to_thread)", "concurrent/futures"),
    ("event loop (uvloop, C)", "Runner.run"),
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="profile_service.py", description=__doc__)
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy", metavar="PATH")
    parser.add_argument(
        "--scenario", choices=("one", "fifteen", "throughput"), default="one",
        help="one: 1 at a time, 2 s provider; fifteen: bursts of 15; throughput: 32 in "
        "flight, zero-latency provider",
    )  # fmt: skip
    parser.add_argument("--photo", choices=("1 MB", "4 MB"), default="1 MB")
    parser.add_argument("--ingests", type=int, default=20)
    parser.add_argument("--rate", type=int, default=250, help="samples per second")
    parser.add_argument("--top", type=int, default=25, help="top frames listed")
    parser.add_argument("--raw", type=Path, help="also keep py-spy's raw stacks here")
    parser.add_argument("--service-env", action="append", default=[], metavar="NAME=VALUE")
    return parser.parse_args(argv)


def service_cpu(pid: int) -> float:
    process = psutil.Process(pid)
    total = sum(process.cpu_times()[:2])
    for child in process.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.Error:
            continue
    return total


def bucket_of(stack: str) -> str:
    frames = stack.split(";")
    if "thread.py:81)" in frames[-1] or "epoll" in frames[-1]:
        return "idle (should not be sampled)"
    # Without the process line (it names the command) and the event loop's own frame.
    inner = ";".join(f for f in frames[1:] if "asyncio/runners.py" not in f)
    for name, frame in ACTIVITIES[:-1]:
        if frame in inner:
            return name
    if frames[-1].startswith("Runner.run"):
        return ACTIVITIES[-1][0]  # time in uvloop's C code: sockets, callbacks
    return "other"


def summarize(raw: Path, top: int) -> dict[str, object]:
    buckets: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        total += int(count)
        buckets[bucket_of(stack)] += int(count)
        leaves[stack.split(";")[-1]] += int(count)
    share = {k: round(100 * v / total, 1) for k, v in buckets.most_common()} if total else {}
    frames = {k: round(100 * v / total, 1) for k, v in leaves.most_common(top)} if total else {}
    return {"samples": total, "activities_pct": share, "top_frames_pct": frames}


async def workload(rig: Rig, args: argparse.Namespace) -> int:
    photo = make_photo(PHOTO_1MB if args.photo == "1 MB" else PHOTO_4MB)
    booths = rig.booths(photo)
    if args.scenario == "throughput":
        await rig.fake.set_latency(0.0)
        return len(await booths.paced(args.ingests, 32))
    await rig.fake.set_latency(2.0)
    if args.scenario == "one":
        return len(await booths.one_by_one(args.ingests))
    done = 0
    while done < args.ingests:
        done += len(await booths.burst(15))
    return done


async def run(args: argparse.Namespace) -> dict[str, object]:
    extra = dict(item.split("=", 1) for item in args.service_env)
    rig = Rig(settle_s=1.0, keep=False, service_env=extra)
    raw = args.raw or Path(tempfile.mkstemp(prefix="photochanger-profile-", suffix=".txt")[1])
    try:
        await rig.start()
        await rig.fake.set_latency(0.0)
        await rig.booths(make_photo(PHOTO_1MB)).burst(15)  # warm-up
        pid = rig.need_service().pid
        assert pid is not None
        argv = [args.py_spy, "record", "--gil", "--nonblocking", "--subprocesses"]
        argv += ["-r", str(args.rate), "-p", str(pid), "-o", str(raw), "--format", "raw"]
        spy = await asyncio.create_subprocess_exec(
            *argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        await asyncio.sleep(1.5)  # py-spy attaches
        cpu, started = service_cpu(pid), time.monotonic()
        ingests = await workload(rig, args)
        cpu, wall = service_cpu(pid) - cpu, time.monotonic() - started
        spy.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(spy.communicate(), timeout=60)
        if not raw.exists() or raw.stat().st_size == 0:
            raise RuntimeError(f"py-spy wrote nothing: {err.decode(errors='replace')[-500:]}")
        log(f"{ingests} ingests in {wall:.1f} s; service CPU {1000 * cpu / ingests:.1f} ms each")
        return {
            "scenario": args.scenario,
            "photo": args.photo,
            "ingests": ingests,
            "service_cpu_ms_per_ingest": round(1000 * cpu / max(ingests, 1), 1),
            **summarize(raw, args.top),
        }
    finally:
        rig.close()
        if args.raw is None:
            raw.unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not shutil.which(args.py_spy) and not os.access(args.py_spy, os.X_OK):
        print(f"py-spy not found ({args.py_spy}); pass --py-spy PATH", file=sys.stderr)
        return 1
    result = asyncio.run(run(args))
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0
