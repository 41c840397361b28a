"""How many bytes the files under ``MEDIA_ROOT`` take, for the ``media_root_bytes`` gauge."""

from __future__ import annotations

import os
from pathlib import Path


def directory_bytes(root: Path) -> int:
    """Sum of the sizes of regular files under ``root`` (symlinks are not followed).

    Blocking: run it in a thread. Files or folders that vanish during the walk (purge runs
    concurrently) or cannot be read are skipped rather than failing the scrape; a missing
    ``root`` is 0 bytes."""
    total = 0
    folders = [root]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            folders.append(Path(entry.path))
                        elif entry.is_file(follow_symlinks=False):
                            total += entry.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue
        except OSError:
            continue
    return total
