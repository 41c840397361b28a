"""Counters shared on disk by processes that share one port (``serve --processes N``).

A scrape of the shared port reaches whichever process accepts the connection, so each process
answering only its own counters would make them jump between scrapes. prometheus_client's
multiprocess mode keeps every value in a memory-mapped file per process under
``PROMETHEUS_MULTIPROC_DIR``; a scrape adds the files up. The client library decides where
values live when it is first imported, so the parent sets the variable before its children
start (they are spawned and import everything afresh), to a fresh directory: stale files of
an earlier run would be counted again.

No ``mark_process_dead`` is needed: it only deletes the files of "live" gauges, and these
processes have none (the gauges are computed from the database and the disk at scrape time).
A dead child's counter files stay, so a total never goes backwards when uvicorn replaces it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def shared_counters_dir() -> str | None:
    """The directory this process's values are kept in, when it is one of several."""
    return os.environ.get(MULTIPROC_DIR_VARIABLE) or None


@contextlib.contextmanager
def counters_shared_on_disk() -> Iterator[Path]:
    """Point the processes started inside the block at a fresh directory (the parent's
    environment is theirs); delete it and restore the environment afterwards."""
    previous = os.environ.get(MULTIPROC_DIR_VARIABLE)
    directory = Path(tempfile.mkdtemp(prefix="photochanger-metrics-"))
    os.environ[MULTIPROC_DIR_VARIABLE] = str(directory)
    try:
        yield directory
    finally:
        if previous is None:
            os.environ.pop(MULTIPROC_DIR_VARIABLE, None)
        else:
            os.environ[MULTIPROC_DIR_VARIABLE] = previous
        shutil.rmtree(directory, ignore_errors=True)
