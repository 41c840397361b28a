"""Temporary public links to a job's inputs, for providers that download them (SPEC §2, §8)."""

from __future__ import annotations

import uuid

from application.ports import (
    Clock,
    InputImage,
    MediaObjectRepository,
    MediaStorage,
    SettingsRepository,
)
from domain.deadlines import TimeoutBounds, calculate_artifact_expiry
from domain.errors import InvalidConfiguration
from domain.job import Job
from domain.media import MediaArea, MediaObject


class PublishInputs:
    """Copy each input into ``MEDIA_ROOT/public`` and register a MediaObject for it, so the
    link's file lives and dies on its own (purging a link never touches the payload or a
    template). ``expires_at = calculate_artifact_expiry(now, job.expires_at, T_public_link_ttl)``:
    a link never outlives its job and is never extended."""

    def __init__(
        self,
        *,
        media_objects: MediaObjectRepository,
        storage: MediaStorage,
        settings: SettingsRepository,
        clock: Clock,
        bounds: TimeoutBounds,
        public_base_url: str | None,
    ) -> None:
        self._media_objects = media_objects
        self._storage = storage
        self._settings = settings
        self._clock = clock
        self._bounds = bounds
        self._base_url = public_base_url.rstrip("/") if public_base_url else None

    async def link_ttl_seconds(self) -> float:
        """``T_public_link_ttl`` from the current sync timeout (one query per job)."""
        app = await self._settings.load()
        return app.public_link_ttl(self._bounds)

    async def publish(self, job: Job, data: bytes, *, mime: str, ttl_seconds: float) -> InputImage:
        """Store a copy, register its link, and return the input as the provider sees it."""
        if self._base_url is None:
            raise InvalidConfiguration(
                f"provider {job.provider} downloads its inputs by URL, but "
                "PHOTOCHANGER_PUBLIC_BASE_URL is not set"
            )
        stored = await self._storage.save_bytes(MediaArea.PUBLIC, data, mime=mime)
        now = self._clock.now()
        link = MediaObject(
            id=uuid.uuid4(),
            job_id=job.id,
            path=stored.path,
            mime=stored.mime,
            size_bytes=stored.size_bytes,
            expires_at=calculate_artifact_expiry(now, job.expires_at, ttl_seconds),
            created_at=now,
        )
        try:
            await self._media_objects.add(link)
        except BaseException:
            await self._storage.delete(stored.path)  # no row, no file: nothing is left behind
            raise
        return InputImage(mime=stored.mime, url=f"{self._base_url}/public/media/{link.id}")
