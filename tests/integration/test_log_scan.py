"""The log scan itself: it finds what it must, and a session that logs a secret fails."""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import log_scan
from log_scan import find_leaks

HERE = Path(__file__).parent


def test_a_planted_secret_is_found_and_never_shown() -> None:
    findings = find_leaks(
        [("app", "login with pw=planted-pass-1 ok"), ("app", "nothing here")],
        ["planted-pass-1"],
    )
    [finding] = findings
    assert finding.logger == "app" and finding.what.startswith("secret pl…(14 chars)")
    assert "planted-pass-1" not in f"{finding}" and "<SECRET>" in finding.excerpt


def test_long_base64_runs_and_bearer_credentials_are_found() -> None:
    image = base64.b64encode(os.urandom(300)).decode()
    findings = find_leaks(
        [
            ("a", f"body: {image}"),
            ("b", "Authorization: Bearer abcdef0123456789"),
            ("c", "x" * 200),  # 200 characters is still allowed
            ("d", "check PHOTOCHANGER_GEMINI_API_KEY; job 12345678-1234-5678-1234-567812345678"),
        ],
        ["short"],  # under MIN_SECRET_CHARS: ignored rather than matching ordinary words
    )
    assert [(f.logger, f.what) for f in findings] == [
        ("a", "a base64 run"),
        ("b", "a Bearer credential"),
    ]
    assert image not in findings[0].excerpt


def _inner_session(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    """A separate pytest run with only the log-scan plugin, on a planted test module."""
    (tmp_path / "test_planted.py").write_text(textwrap.dedent(body))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    plugins = ["-p", "log_scan", "-p", "no:cacheprovider", "-p", "no:asyncio"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *plugins, "-c", os.devnull, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )


PLANTED = """
    import asyncio
    import logging

    import log_scan
    from adapters.security.password import ScryptPasswordHasher


    def test_a_registered_token_is_logged():
        log_scan.register_secret("planted-token-0123")
        logging.getLogger("entrypoints.demo").warning("token is planted-token-0123")


    def test_a_password_the_service_checked_is_logged():
        asyncio.run(ScryptPasswordHasher(n=2**4).hash("planted-password-9"))  # registers it
        logging.getLogger("application.demo").debug("typed %s", "planted-password-9")
"""


def test_a_session_that_logs_a_secret_fails(tmp_path: Path) -> None:
    done = _inner_session(tmp_path, PLANTED)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 passed" in done.stdout  # the tests themselves pass: the scan fails the session
    assert "log scan: secrets or image bytes were logged" in done.stdout
    assert "entrypoints.demo: secret pl…(18 chars)" in done.stdout
    assert "application.demo: secret pl…(18 chars)" in done.stdout  # DEBUG is scanned too
    assert "planted-token-0123" not in done.stdout and "planted-password-9" not in done.stdout


def test_a_clean_session_passes(tmp_path: Path) -> None:
    done = _inner_session(
        tmp_path,
        """
        import logging

        import log_scan


        def test_clean():
            log_scan.register_secret("planted-token-0123")
            logging.getLogger("entrypoints.demo").warning("nothing secret here")
        """,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no secret, no image bytes" in done.stdout


def test_this_session_is_being_scanned() -> None:
    assert log_scan.collecting()
    before = log_scan._collector.count
    logging.getLogger("entrypoints.demo").info("counted")
    assert log_scan._collector.count == before + 1
