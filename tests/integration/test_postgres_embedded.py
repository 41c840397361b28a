"""The embedded server helper: starts as root, creates the app database, tolerates a joiner."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil
import psycopg

from adapters.postgres.embedded import EmbeddedPostgres

JOIN_AND_LEAVE = """
import sys
from pathlib import Path
from adapters.postgres.embedded import start_embedded_postgres
print(start_embedded_postgres(Path(sys.argv[1])))
"""


def test_start_creates_the_database_and_a_second_process_reuses_the_server(
    tmp_path: Path,
) -> None:
    pgdata = tmp_path / "nested" / "pgdata"  # the parent is created on demand
    server = EmbeddedPostgres(pgdata, cleanup_mode="delete")
    try:
        url = server.start()
        assert server.start() == url  # idempotent
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("photochanger",)

        joined = subprocess.run(
            [sys.executable, "-c", JOIN_AND_LEAVE, str(pgdata)],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert joined.stdout.strip() == url  # same server, same socket
        assert joined.stderr == ""  # no start-up noise

        with psycopg.connect(url) as conn:  # the joiner left; our handle keeps it running
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        server.stop()
    assert not pgdata.exists()


def test_a_killed_process_does_not_keep_the_server_running_forever(tmp_path: Path) -> None:
    pgdata = tmp_path / "pgdata"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(dead.stdout)
    first = EmbeddedPostgres(pgdata, cleanup_mode="stop")
    url = first.start()
    first.stop()
    # A process that was SIGKILLed never removes itself from the wheel's handle file.
    (pgdata / ".handle_pids.json").write_text(f"[{dead_pid}]")

    server = EmbeddedPostgres(pgdata, cleanup_mode="stop")
    assert server.start() == url
    server.stop()

    assert not (pgdata / "postmaster.pid").exists(), "the last live handle stopped the server"


def test_a_killed_process_not_yet_reaped_counts_as_gone(tmp_path: Path) -> None:
    """Regression: ``kill -9`` of ``serve`` then a quick restart: the killed process was still
    a zombie (its parent had not reaped it), was counted alive, and the server never stopped."""
    pgdata = tmp_path / "pgdata"
    zombie = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        zombie.kill()
        deadline = time.monotonic() + 10
        while psutil.Process(zombie.pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "the killed child never became a zombie"
            time.sleep(0.01)
        first = EmbeddedPostgres(pgdata, cleanup_mode="stop")
        url = first.start()
        first.stop()
        (pgdata / ".handle_pids.json").write_text(f"[{zombie.pid}]")

        server = EmbeddedPostgres(pgdata, cleanup_mode="stop")
        assert server.start() == url
        server.stop()

        assert not (pgdata / "postmaster.pid").exists(), "the zombie did not keep it running"
    finally:
        zombie.wait()
