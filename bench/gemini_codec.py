"""CPU and memory of the Gemini wire format per call, on realistic sizes (issue 10).

Times building + encoding the ``generateContent`` request for a booth photo (~1 MB and ~4 MB
JPEG) and decoding a camelCase answer carrying a ~1 MB PNG, in this process, with the adapter's
own functions; prints CPU ms (median and best of N) and the peak of Python allocations during
one call (how many copies of the image it makes). ``--call`` also times whole
``GeminiProvider.transform`` calls (HTTP included, this process's CPU only) against the bench's
fake Gemini started in its own process::

    .venv/bin/python bench/gemini_codec.py [--repeat 40] [--call]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

from adapters.clock import SystemClock
from adapters.providers.gemini import GeminiProvider
from adapters.providers.gemini_protocol import build_call, parse_response
from application.ports import InputImage, ProviderInput
from photochanger_bench.fake_gemini import API_KEY
from photochanger_bench.photos import PHOTO_1MB, PHOTO_4MB, RESULT_PNG, make_photo


def answer(image: bytes) -> bytes:
    """A Gemini 2.5 answer as the real API words it (camelCase, text then the image)."""
    part = {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(image).decode()}}
    candidate = {
        "content": {"parts": [{"text": "Here is the edited photo."}, part], "role": "model"},
        "finishReason": "STOP",
        "index": 0,
    }
    body = {
        "candidates": [candidate],
        "usageMetadata": {"promptTokenCount": 1290, "totalTokenCount": 2580},
        "modelVersion": "gemini-2.5-flash-image",
        "responseId": "bench",
    }
    return json.dumps(body).encode()


def request_for(photo: bytes) -> ProviderInput:
    return ProviderInput(
        job_id=uuid4(),
        operation="image_edit",
        settings={"prompt": "Turn the photo into a watercolour painting"},
        photo=InputImage(mime="image/jpeg", data=photo),
        templates={},
        deadline=datetime.now(UTC) + timedelta(seconds=60),
    )


def cpu_ms(work: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median and best CPU time of ``work`` in ms (GC run between calls, not during)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        started = time.process_time()
        work()
        times.append((time.process_time() - started) * 1000)
    return statistics.median(times), min(times)


def peak_mib(work: Callable[[], Any]) -> float:
    """Peak of Python allocations during one call, MiB (what the copies of the image cost)."""
    gc.collect()
    tracemalloc.start()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1048576


async def transform_cpu_ms(base_url: str, photo: bytes, repeat: int) -> tuple[float, float]:
    """Median and best CPU time of whole ``transform`` calls (after a warm-up)."""
    provider = GeminiProvider(base_url=base_url, api_key=API_KEY, clock=SystemClock())
    times = []
    try:
        for n in range(repeat + 5):
            gc.collect()
            started = time.process_time()
            await provider.transform(request_for(photo))
            if n >= 5:
                times.append((time.process_time() - started) * 1000)
    finally:
        await provider.aclose()
    return statistics.median(times), min(times)


def whole_calls(repeat: int) -> None:
    """Start the bench's fake Gemini (zero latency) in its own process and time calls to it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        image = Path(tmp) / "result.png"
        image.write_bytes(make_photo(RESULT_PNG).data)
        command = [sys.executable, "-m", "photochanger_bench.fake_gemini", "--port", str(port)]
        fake = subprocess.Popen(
            [*command, "--image", str(image), "--latency", "0"], cwd=Path(__file__).parent
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            for spec in (PHOTO_1MB, PHOTO_4MB):
                photo = make_photo(spec).data
                median, best = asyncio.run(
                    transform_cpu_ms(f"http://127.0.0.1:{port}", photo, repeat)
                )
                label = f"whole call, {spec.label} JPEG"
                print(f"{label:<28} {len(photo):>12,} {median:>10.2f} {best:>7.2f}")
        finally:
            fake.terminate()
            fake.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--call", action="store_true", help="also time whole transform calls")
    args = parser.parse_args()
    rows: list[tuple[str, int, float, float, float]] = []
    for spec in (PHOTO_1MB, PHOTO_4MB):
        photo = make_photo(spec).data
        request = request_for(photo)

        def encode(request: ProviderInput = request) -> bytes:
            return build_call(request).encode()

        label = f"encode request, {spec.label} JPEG"
        rows.append((label, len(photo), *cpu_ms(encode, args.repeat), peak_mib(encode)))
    result = make_photo(RESULT_PNG).data
    raw = answer(result)

    def decode() -> Any:
        return parse_response(raw)

    assert decode().image == result
    rows.append(("decode answer, PNG", len(result), *cpu_ms(decode, args.repeat), peak_mib(decode)))
    print(f"{'step':<28} {'image bytes':>12} {'CPU ms p50':>10} {'best':>7} {'peak MiB':>9}")
    for name, size, median, best, peak in rows:
        print(f"{name:<28} {size:>12,} {median:>10.2f} {best:>7.2f} {peak:>9.1f}")
    if args.call:
        whole_calls(args.repeat)


if __name__ == "__main__":
    main()
