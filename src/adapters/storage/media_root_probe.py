"""``FilesystemMediaRootProbe``: how much MEDIA_ROOT holds and whether it still takes photos,
for the operator's status page — the same walk as the ``media_root_bytes`` gauge and the same
check as ``/readyz``."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.metrics.media_usage import directory_bytes
from adapters.storage.readiness import media_root_status
from application.service_status import DiskState


class FilesystemMediaRootProbe:
    """Implements ``application.service_status.MediaRootProbe``."""

    def __init__(self, root: Path, *, min_free_bytes: int) -> None:
        self._root = Path(root)
        self._min_free_bytes = min_free_bytes

    async def used_bytes(self) -> int:
        return await asyncio.to_thread(directory_bytes, self._root)

    async def disk_state(self) -> DiskState:
        condition = await media_root_status(self._root, min_free_bytes=self._min_free_bytes)
        return DiskState(free_bytes=await asyncio.to_thread(self._free_bytes), condition=condition)

    def _free_bytes(self) -> int | None:
        try:
            return shutil.disk_usage(self._root).free
        except OSError:
            return None


if TYPE_CHECKING:  # mypy proves the adapter satisfies its port
    from application.service_status import MediaRootProbe

    _port: type[MediaRootProbe] = FilesystemMediaRootProbe
