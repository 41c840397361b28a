"""The booth's ``hash`` field: scheme by length, never fatal, counted instead of warned."""

from __future__ import annotations

import asyncio
import hashlib
import logging

import pytest
from fakes import JPEG, RESULT_PNG, ScriptedWorker, SubmitIngestFactory, finished, ingest_command

from application.declared_hash import DeclaredHash, HashCheck
from application.submit_ingest import SubmitIngest


@pytest.mark.parametrize(
    ("text", "algorithm"),
    [
        ("d41d8cd98f00b204e9800998ecf8427e", "md5"),
        ("DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", "sha1"),
        (" " + "ab" * 32 + "\n", "sha256"),
        ("ab" * 20 + "zz", None),  # 42 characters: no known scheme
        ("zz" * 20, None),  # SHA-1 sized but not hex
        ("", None),
    ],
)
def test_the_scheme_follows_the_length(text: str, algorithm: str | None) -> None:
    assert DeclaredHash.parse(text).algorithm == algorithm


@pytest.mark.parametrize("name", ["md5", "sha1", "sha256"])
async def test_each_scheme_matches_the_photo_it_describes(
    submit_ingest: SubmitIngest, worker: ScriptedWorker, name: str
) -> None:
    declared = hashlib.new(name, JPEG).hexdigest().upper()
    submitting = asyncio.create_task(submit_ingest(ingest_command(declared_hash=declared)))
    await worker.succeed(await worker.claim())
    assert (await finished(submitting)).image == RESULT_PNG
    assert submit_ingest.hash_mismatches == {}


@pytest.mark.parametrize(
    ("declared", "verdict"),
    [
        (
            hashlib.new("sha1", b"another photo", usedforsecurity=False).hexdigest(),
            HashCheck.MISMATCH,
        ),
        (
            hashlib.new("md5", b"another photo", usedforsecurity=False).hexdigest(),
            HashCheck.MISMATCH,
        ),
        ("crc32:1234abcd", HashCheck.UNKNOWN_SCHEME),
    ],
)
async def test_a_mismatch_or_unknown_scheme_is_counted_and_logged_at_debug(
    build_submit_ingest: SubmitIngestFactory,
    worker: ScriptedWorker,
    caplog: pytest.LogCaptureFixture,
    declared: str,
    verdict: HashCheck,
) -> None:
    submit_ingest = build_submit_ingest()
    seen: list[HashCheck] = []
    submit_ingest.on_hash_mismatch = seen.append
    caplog.set_level(logging.DEBUG, logger="application.submit_ingest")
    submitting = asyncio.create_task(submit_ingest(ingest_command(declared_hash=declared)))
    await worker.succeed(await worker.claim())

    assert (await finished(submitting)).image == RESULT_PNG
    assert submit_ingest.hash_mismatches == {verdict: 1}
    assert seen == [verdict]
    records = [r for r in caplog.records if "declared hash" in r.getMessage()]
    assert [r.levelno for r in records] == [logging.DEBUG]
