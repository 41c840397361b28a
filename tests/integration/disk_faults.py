"""Real disk failures for tests: a small tmpfs mounted over a folder, filled up or read-only.

Mounting needs root (CAP_SYS_ADMIN). Where that is missing (or ``TEST_DISKS=inject``), the
same errno is raised instead at the OS boundary of the two modules under test: the ``open``
that ``FilesystemMediaStorage`` creates its temp files with, and the ``os.open`` of the
readiness probe. Either way the code under test sees an ``OSError`` with the real errno.
"""

from __future__ import annotations

import errno
import functools
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from adapters.storage import filesystem, readiness

MIB = 1024 * 1024


@functools.cache
def mount_permitted() -> bool:
    if os.environ.get("TEST_DISKS") == "inject" or shutil.which("mount") is None:
        return False
    probe = Path(f"/tmp/photochanger-mount-probe-{os.getpid()}")
    probe.mkdir(exist_ok=True)
    try:
        mounted = _run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe))
        if mounted:
            _run("umount", str(probe))
        return mounted
    finally:
        probe.rmdir()


def _run(*command: str) -> bool:
    return subprocess.run(command, capture_output=True, check=False).returncode == 0


class Disks:
    """Breaks folders for one test; the ``disks`` fixture undoes everything afterwards."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.mounting = mount_permitted()
        self._monkeypatch = monkeypatch
        self._mounts: list[Path] = []
        self._refused: dict[Path, int] = {}

    def full(self, directory: Path, *, size_bytes: int = 3 * MIB, free_bytes: int = 0) -> None:
        """``directory`` becomes a ``size_bytes`` disk with about ``free_bytes`` left."""
        directory.mkdir(parents=True, exist_ok=True)
        if not self.mounting:
            self._refuse(directory, errno.ENOSPC)
            return
        self._mount(directory, f"size={size_bytes}")
        ballast = shutil.disk_usage(directory).free - free_bytes
        with open(directory / "ballast", "wb") as f:  # not in an area: no one else reads it
            f.write(b"\0" * ballast)

    def read_only(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        if not self.mounting:
            self._refuse(directory, errno.EROFS)
            return
        self._mount(directory, "size=1m,ro")

    def undo(self) -> None:
        for directory in reversed(self._mounts):
            subprocess.run(["umount", "-l", str(directory)], check=True)
        self._mounts.clear()

    def _mount(self, directory: Path, options: str) -> None:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(directory)],
            check=True,
            capture_output=True,
        )
        self._mounts.append(directory)

    def _refuse(self, directory: Path, code: int) -> None:
        if not self._refused:
            self._monkeypatch.setattr(filesystem, "open", self._open, raising=False)
            self._monkeypatch.setattr(readiness, "os", _RefusingOs(self))
        self._refused[directory.resolve()] = code

    def check(self, path: str | os.PathLike[str]) -> None:
        """Raise the errno of a refused folder that ``path`` lies in (injection mode)."""
        target = Path(path).resolve()
        for directory, code in self._refused.items():
            if target.is_relative_to(directory):
                raise OSError(code, os.strerror(code), str(path))

    def _open(self, path: Any, *args: Any, **kwargs: Any) -> Any:
        self.check(path)
        return open(path, *args, **kwargs)


class _RefusingOs:
    """``os`` for the readiness module, with ``open`` refusing in broken folders."""

    def __init__(self, disks: Disks) -> None:
        self._disks = disks

    def open(self, path: Any, *args: Any, **kwargs: Any) -> int:
        self._disks.check(path)
        return os.open(path, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)
