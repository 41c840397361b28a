"""Booth clients: pre-built multipart requests sent over plain sockets.

A full HTTP client (httpx: ~4 ms of CPU per request) would compete for the two cores with the
service it measures, so each request is built once per photo and slot and written as bytes on
a fresh connection (``Connection: close``), the way DSLR Remote Pro posts one shot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import cycle

from photochanger_bench.photos import Photo

BOUNDARY = "photochanger-bench-boundary"
REQUEST_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Sample:
    """One ingest as the booth saw it."""

    status: int  # 0 = transport error
    seconds: float  # first byte sent → whole answer received
    sent: datetime
    arrival: datetime
    slot: str
    answer_bytes: int = 0
    job_id: str | None = None
    error: str | None = None


class Booths:
    """Pre-built ingest requests for one photo, one per slot; ``next()`` goes round-robin."""

    def __init__(self, host: str, port: int, photo: Photo, slots: Sequence[str], password: str):
        self.host, self.port, self.photo = host, port, photo
        body = (
            (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="password"\r\n\r\n'
                f'{password}\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="booth"'
                f"\r\n\r\nbench\r\n--{BOUNDARY}\r\n"
                f'Content-Disposition: form-data; name="fileToUpload"; '
                f'filename="{photo.filename}"\r\nContent-Type: {photo.mime}\r\n\r\n'
            ).encode()
            + photo.data
            + f"\r\n--{BOUNDARY}--\r\n".encode()
        )
        self.body = body  # one copy shared by every slot's request
        self.heads = {
            slot: (
                f"POST /ingest/{slot} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode()
            for slot in slots
        }
        self._order = cycle(list(slots))

    def next_slot(self) -> str:
        return next(self._order)

    async def ingest(self, slot: str | None = None) -> Sample:
        """Send one photo and read the whole answer; never raises for network trouble."""
        slot = slot or self.next_slot()
        sent = datetime.now(UTC)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                answer = await exchange(self.host, self.port, [self.heads[slot], self.body])
        except (OSError, TimeoutError) as exc:
            elapsed = time.perf_counter() - started
            return Sample(0, elapsed, sent, datetime.now(UTC), slot, error=repr(exc))
        elapsed = time.perf_counter() - started
        return parse_answer(answer, elapsed, sent, datetime.now(UTC), slot)

    async def burst(self, count: int) -> list[Sample]:
        """``count`` ingests sent at the same moment, spread over the slots."""
        return list(await asyncio.gather(*(self.ingest() for _ in range(count))))

    async def one_by_one(self, count: int) -> list[Sample]:
        """The next photo only after the previous answer: one booth shooting."""
        return [await self.ingest() for _ in range(count)]

    async def paced(self, count: int, in_flight: int) -> list[Sample]:
        """``count`` ingests with at most ``in_flight`` outstanding at any time."""
        gate = asyncio.Semaphore(in_flight)

        async def one() -> Sample:
            async with gate:
                return await self.ingest()

        return list(await asyncio.gather(*(one() for _ in range(count))))


async def exchange(host: str, port: int, chunks: Sequence[bytes]) -> bytes:
    """Write ``chunks`` on a new connection and read until the server closes it."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.writelines(chunks)
        await writer.drain()
        return await reader.read()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def parse_answer(
    answer: bytes, elapsed: float, sent: datetime, arrival: datetime, slot: str
) -> Sample:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return Sample(0, elapsed, sent, arrival, slot, error=f"not HTTP: {answer[:80]!r}")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines[1:])
    }
    job_id, error = headers.get("x-job-id"), None
    if status != 200:
        try:
            detail = json.loads(body)["error"]
            error = f"{detail.get('code')}: {detail.get('message')}"
            job_id = (detail.get("details") or {}).get("job_id", job_id)
        except (ValueError, KeyError, TypeError, AttributeError):
            error = body[:200].decode("utf-8", "replace")
    return Sample(status, elapsed, sent, arrival, slot, len(body), job_id, error)


async def http_get(host: str, port: int, path: str) -> tuple[int, bytes]:
    """A tiny GET (readiness, fake's stats) without an HTTP client library."""
    return await http_call(host, port, "GET", path)


async def http_call(
    host: str, port: int, method: str, path: str, body: bytes = b""
) -> tuple[int, bytes]:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {len(body)}\r\n"
        "Content-Type: application/json\r\nConnection: close\r\n\r\n"
    ).encode()
    answer = await exchange(host, port, [head, body])
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def status_counts(samples: Sequence[Sample]) -> dict[str, int]:
    counts = Counter(str(s.status or "transport error") for s in samples)
    return dict(sorted(counts.items()))


def describe_statuses(samples: Sequence[Sample]) -> str:
    return ", ".join(f"{n} × {status}" for status, n in status_counts(samples).items())


def first_errors(samples: Sequence[Sample], limit: int = 3) -> list[str]:
    """Distinct error messages of the failed ingests, most common first."""
    counts = Counter(s.error for s in samples if s.status != 200 and s.error)
    return [f"{n} × {text}" for text, n in counts.most_common(limit)]
