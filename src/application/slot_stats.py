"""GetStats: what happened over the last hour, day or week, per slot, per provider and per
time bucket (SPEC §10 "Stats"), computed from the job rows."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from application.ports import Clock
from application.query_ports import StatsQueries, Tally
from domain.providers import PROVIDERS
from domain.slot import SLOT_IDS

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class StatsWindow(enum.StrEnum):
    HOUR = "1h"
    DAY = "24h"
    WEEK = "7d"

    @property
    def length(self) -> timedelta:
        return {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}[
            self.value
        ]

    @property
    def bucket_seconds(self) -> int:
        """5 min, 1 h and 6 h: 12, 24 and 28 points on a chart."""
        return {"1h": 300, "24h": 3600, "7d": 6 * 3600}[self.value]


def bucket_start(moment: datetime, bucket_seconds: int) -> datetime:
    """Buckets are aligned to multiples of their length since the epoch (as in the SQL)."""
    offset = (moment - _EPOCH) // timedelta(seconds=bucket_seconds)
    return _EPOCH + offset * timedelta(seconds=bucket_seconds)


@dataclass(frozen=True, slots=True)
class StatsReport:
    window: StatsWindow
    since: datetime
    until: datetime
    bucket_seconds: int
    total: Tally
    by_slot: dict[str, Tally]  # every slot, zeros included
    by_provider: dict[str, Tally]  # every known provider, and any other a job still names
    series: list[tuple[datetime, Tally]]  # every bucket of the window, oldest first


class GetStats:
    """Jobs created in the window (test runs left out). Processing time is created →
    finalized of succeeded jobs: what the booth waited for its photo."""

    def __init__(self, *, stats: StatsQueries, clock: Clock) -> None:
        self._stats = stats
        self._clock = clock

    async def __call__(self, window: StatsWindow) -> StatsReport:
        until = self._clock.now()
        since = until - window.length
        seconds = window.bucket_seconds
        tallies = await self._stats.tally(since=since, until=until, bucket_seconds=seconds)
        step = timedelta(seconds=seconds)
        first, last = bucket_start(since, seconds), bucket_start(until, seconds)
        buckets = [first + n * step for n in range((last - first) // step + 1)]
        return StatsReport(
            window=window,
            since=since,
            until=until,
            bucket_seconds=seconds,
            total=tallies.total,
            by_slot={slot: tallies.by_slot.get(slot, Tally()) for slot in SLOT_IDS},
            by_provider={
                name: tallies.by_provider.get(name, Tally())
                for name in sorted({*PROVIDERS, *tallies.by_provider})
            },
            series=[(start, tallies.by_bucket.get(start, Tally())) for start in buckets],
        )
