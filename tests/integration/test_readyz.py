"""``GET /readyz``: ready only when the database answers and MEDIA_ROOT takes writes with
enough free space; otherwise 503 with the reason per check in ``details``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from disk_faults import Disks
from service_harness import serve

from adapters.storage.filesystem import FilesystemMediaStorage
from adapters.storage.readiness import media_root_status
from entrypoints.runtime import Roles

API_ONLY = Roles(provision_password=True)


@pytest.fixture
def disks(monkeypatch: pytest.MonkeyPatch) -> Iterator[Disks]:
    broken = Disks(monkeypatch)
    yield broken
    broken.undo()


def not_ready(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 503, response.text
    body = response.json()["error"]
    assert body["code"] == "service_unavailable"
    assert body["message"] == "the service is not ready"
    return body["details"]  # type: ignore[no-any-return]


async def test_ready_when_the_database_answers_and_media_root_takes_writes(
    database_url: str, tmp_path: Path
) -> None:
    async with serve(database_url, tmp_path, roles=API_ONLY) as svc:
        response = await svc.client.get("/readyz")
        assert response.status_code == 200
        assert response.json() == {"status": "ready"}
        for area in ("payload", "results", "public", "templates"):
            assert list((svc.settings.media_path / area).iterdir()) == [], "probe cleaned up"


async def test_not_ready_below_the_free_space_threshold(database_url: str, tmp_path: Path) -> None:
    huge = 1 << 60  # more than any disk has
    async with serve(database_url, tmp_path, roles=API_ONLY, media_min_free_bytes=huge) as svc:
        details = not_ready(await svc.client.get("/readyz"))

    assert details["database"] == "ok"
    assert details["media_root"].startswith("free space ")
    assert details["media_root"].endswith(" below 1099511627776.0 MiB")


async def test_not_ready_when_media_root_is_not_writable(
    database_url: str, tmp_path: Path, disks: Disks
) -> None:
    media = tmp_path / "media"
    FilesystemMediaStorage(media)
    disks.read_only(media / "results")
    async with serve(database_url, tmp_path, roles=API_ONLY, media_root=str(media)) as svc:
        details = not_ready(await svc.client.get("/readyz"))

    assert details == {"database": "ok", "media_root": "not writable: read-only file system"}
    assert str(tmp_path) not in str(details)


async def test_a_full_area_is_reported_even_when_the_root_has_room(
    tmp_path: Path, disks: Disks
) -> None:
    """An area on its own (full) mount: the free-space figure of the root cannot see it, the
    probe write can."""
    media = tmp_path / "media"
    FilesystemMediaStorage(media)
    disks.full(media / "public", size_bytes=1024 * 1024)

    status = await media_root_status(media, min_free_bytes=0)

    assert status == "not writable: no space left on device"
    assert sorted(p.name for p in (media / "public").iterdir()) in ([], ["ballast"])


async def test_missing_area_folders_are_created_as_the_storage_would(tmp_path: Path) -> None:
    media = tmp_path / "media"

    assert await media_root_status(media, min_free_bytes=0) == "ok"
    assert sorted(p.name for p in media.iterdir()) == ["payload", "public", "results", "templates"]


async def test_a_media_root_that_cannot_be_created_is_not_writable(tmp_path: Path) -> None:
    (tmp_path / "media").write_bytes(b"a file where the folder should be")

    status = await media_root_status(tmp_path / "media", min_free_bytes=0)

    assert status.startswith("not writable: ")


async def test_not_ready_when_the_database_does_not_answer(
    database_url: str, tmp_path: Path
) -> None:
    async with serve(database_url, tmp_path, roles=API_ONLY) as svc:
        await svc.container.pool().close()
        details = not_ready(await svc.client.get("/readyz"))

    assert details == {"database": "not reachable", "media_root": "ok"}
