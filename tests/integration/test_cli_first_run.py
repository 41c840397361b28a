"""What a new operator meets in the first minutes: ``serve`` started twice on one port, a port
or address that cannot be used, the console URL printed with the first password, a typo in a
variable, and commands that would otherwise do something surprising (save nothing, read an
empty stdin)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest
from click.testing import CliRunner, Result

from entrypoints.cli import main

PREFIX = "PHOTOCHANGER_"
SCRIPT = Path(sys.executable).with_name("photochanger")


@pytest.fixture(autouse=True)
def _no_ambient_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(PREFIX):
            monkeypatch.delenv(key)


def run_cli(data_dir: Path, *args: str, stdin: str | None = None, **env: str) -> Result:
    """The CLI in-process; ``env`` names variables without the prefix."""
    variables = {f"{PREFIX}DATA_DIR": str(data_dir), **{f"{PREFIX}{k}": v for k, v in env.items()}}
    return CliRunner().invoke(main, list(args), input=stdin, env=variables)


def refused(result: Result, *fragments: str, status: int = 1) -> str:
    """One ``Error: …`` line on stderr with every fragment, no traceback, nothing on stdout."""
    assert result.exit_code == status, f"exit {result.exit_code}: {result.output}"
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, f"{fragment!r} not in {result.stderr!r}"
    return result.stderr


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield int(other.getsockname()[1])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- serve: where it listens ---------------------------------------------------------------


def test_serve_on_a_taken_port_says_so_before_starting_anything(
    tmp_path: Path, taken_port: int
) -> None:
    stderr = refused(
        run_cli(tmp_path, "serve", "--port", str(taken_port)),
        f"cannot listen on 127.0.0.1:{taken_port}",
        "already in use",
        "--port or PHOTOCHANGER_PORT",
    )

    assert stderr.count("\n") == 1  # the one line, no log lines of a start-up
    assert not (tmp_path / "postgres").exists()  # the embedded database was never started


def test_a_taken_port_given_by_the_environment_is_refused_the_same_way(
    tmp_path: Path, taken_port: int
) -> None:
    refused(run_cli(tmp_path, "serve", PORT=str(taken_port)), f"127.0.0.1:{taken_port}", "in use")


@pytest.mark.parametrize("port", ["0", "70000", "-3"])
def test_serve_refuses_a_port_out_of_range_instead_of_using_another(
    tmp_path: Path, port: str
) -> None:
    # 70000 used to be served on 70000 mod 65536 = 4464, and 0 on the default 8000.
    refused(run_cli(tmp_path, "serve", "--port", port), "--port", "65535", status=2)


def test_serve_refuses_an_address_this_machine_does_not_have(tmp_path: Path) -> None:
    # 192.0.2.1 is TEST-NET-1 (RFC 5737): never assigned to a host; binding it fails locally.
    refused(
        run_cli(tmp_path, "serve", "--host", "192.0.2.1", "--port", str(free_port())),
        "cannot listen on 192.0.2.1:",
        "PHOTOCHANGER_HOST",
    )


# --- serve as `make run` starts it, twice ---------------------------------------------------


def _serve(port: int, env: Mapping[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(SCRIPT), "serve", "--port", str(port)],
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait_until_up(base_url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, "serve exited early"
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "serve did not start"
        time.sleep(0.1)


def test_first_start_prints_the_console_url_and_a_second_serve_is_refused_clearly(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
    env.update({f"{PREFIX}DATABASE_URL": database_url, f"{PREFIX}DATA_DIR": str(tmp_path)})
    first = _serve(port, env)
    try:
        _wait_until_up(f"http://127.0.0.1:{port}", first)
        second = subprocess.run(
            [str(SCRIPT), "serve", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        still_up = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        first.send_signal(signal.SIGTERM)
        out, err = first.communicate(timeout=30)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=10)

    assert first.returncode == 0, err
    console = f"http://127.0.0.1:{port}/admin"
    assert f"Operator console: {console}" in out
    # The first administrator's password comes with the URL to use it at.
    assert "password shown only this once" in err
    assert f"Log in to the operator console at {console}" in err

    assert second.returncode == 1
    assert second.stdout == ""
    assert second.stderr.startswith(f"Error: cannot listen on 127.0.0.1:{port}: ")
    assert "already in use" in second.stderr and "Traceback" not in second.stderr
    assert "Started server process" not in second.stderr  # nothing was started
    assert still_up.status_code == 200


# --- configuration typos -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "suggested"),
    [("PROT", "PHOTOCHANGER_PORT"), ("GEMINI_KEY", "PHOTOCHANGER_GEMINI_API_KEY")],
)
def test_an_unknown_variable_suggests_the_one_meant(
    tmp_path: Path, variable: str, suggested: str
) -> None:
    refused(
        run_cli(tmp_path, "slots", "list", **{variable: "1"}),
        f"unknown variable {PREFIX}{variable} (did you mean {suggested}?)",
    )


def test_a_bad_value_is_shown_as_given_so_a_stray_space_is_visible(tmp_path: Path) -> None:
    refused(run_cli(tmp_path, "slots", "list", PORT=" 8001"), "PHOTOCHANGER_PORT=' 8001': ")


# --- commands that must not do something surprising ----------------------------------------


def test_slots_set_without_a_change_is_refused_and_saves_nothing(
    database_url: str, tmp_path: Path
) -> None:
    def snapshot() -> tuple[object, int]:
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT updated_at FROM slot WHERE id = 'slot-001'").fetchone()
            (audits,) = conn.execute("SELECT count(*) FROM audit_log").fetchone() or (0,)
        assert row is not None
        return row[0], int(audits)

    before = snapshot()
    refused(
        run_cli(tmp_path, "slots", "set", "slot-001", DATABASE_URL=database_url),
        "nothing to change",
        "--active",
        status=2,
    )

    assert snapshot() == before


@pytest.mark.parametrize(
    "command",
    [("password", "set"), ("admins", "add", "maria"), ("admins", "set-password", "admin")],
    ids=" ".join,
)
def test_an_empty_stdin_is_named_as_such_not_as_a_short_password(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    # No database: the refusal comes before any connection.
    stderr = refused(run_cli(tmp_path, *command, stdin=""), "no password on stdin", status=2)

    assert "characters" not in stderr
    assert " ".join(command) in stderr  # how to pipe it, for this very command


# --- long-running commands stop cleanly on SIGTERM ------------------------------------------


def _postgres_on(data_dir: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if any(part.startswith(str(data_dir)) for part in cmdline) and "postgres" in cmdline[0]:
            found.append(process)
    return found


def test_the_purge_loop_stops_on_sigterm_and_takes_the_embedded_database_with_it(
    tmp_path: Path,
) -> None:
    # SIGTERM is what systemd and `docker stop` send; it used to kill the loop outright and
    # leave the embedded PostgreSQL running with nobody to stop it.
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
    env[f"{PREFIX}DATA_DIR"] = str(tmp_path / "data")  # no DATABASE_URL: embedded
    out_path, err_path = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with out_path.open("w") as out, err_path.open("w") as err:
        process = subprocess.Popen(
            [str(SCRIPT), "purge"], env=env, stdout=out, stderr=err, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while "purge running" not in out_path.read_text():
            assert process.poll() is None, err_path.read_text()
            assert time.monotonic() < deadline, err_path.read_text()
            time.sleep(0.1)
        assert _postgres_on(tmp_path / "data"), "the embedded database is not running"

        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    assert status == 0, err_path.read_text()
    assert "Traceback" not in err_path.read_text()
    assert _postgres_on(tmp_path / "data") == []
