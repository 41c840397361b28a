"""PreviewDeadlines: the TTLs a typed sync timeout would give, refused like UpdateSettings."""

from __future__ import annotations

import math

import pytest
from fakes import FakeClock, InMemorySettingsRepository
from operator_fakes import InMemoryAuditLog

from application.app_settings_admin import SettingsChanges, UpdateSettings
from application.settings_preview import DeadlinePreview, PreviewDeadlines
from domain.deadlines import PRODUCT_BOUNDS, TimeoutBounds
from domain.errors import InvalidConfiguration


@pytest.mark.parametrize("seconds", [45, 48, 52.5, 60])
async def test_the_preview_is_what_saving_would_give(seconds: float) -> None:
    preview = await PreviewDeadlines(bounds=PRODUCT_BOUNDS)(seconds)
    # SPEC §3, written out here rather than through the domain functions under test
    link = min(max(seconds, 45), 60)
    assert preview == DeadlinePreview(
        sync_timeout_sec=seconds,
        public_link_ttl_sec=link,
        ingest_ttl_sec=min(seconds, link),
        job_deadline_sec=max(seconds, link),
    )


@pytest.mark.parametrize("seconds", [44.9, 60.1, 0, -50, 1e9, math.nan, math.inf])
async def test_a_value_saving_would_refuse_is_refused_with_the_same_words(seconds: float) -> None:
    with pytest.raises(InvalidConfiguration) as previewed:
        await PreviewDeadlines(bounds=PRODUCT_BOUNDS)(seconds)
    update = UpdateSettings(
        settings=InMemorySettingsRepository(),
        bounds=PRODUCT_BOUNDS,
        audit=InMemoryAuditLog(),
        clock=FakeClock(),
    )
    with pytest.raises(InvalidConfiguration) as saved:
        await update(SettingsChanges(sync_timeout_sec=seconds, actor="ann"))
    assert previewed.value.message == saved.value.message
    assert previewed.value.details == saved.value.details


async def test_narrowed_bounds_clamp_the_link_ttl() -> None:
    preview = await PreviewDeadlines(bounds=TimeoutBounds(1, 3))(0.5 + 0.5)
    assert (preview.public_link_ttl_sec, preview.job_deadline_sec) == (1, 1)
