"""ListSlots and GetSlot: the fifteen slots with today's outcomes, their ingest URL and their
latest results (SPEC §10 "Slots")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from application.ports import Clock, SlotRepository
from application.query_ports import OutcomeCounts, RecentResult, SlotActivity
from domain.errors import SlotNotFound
from domain.slot import Slot

RECENT_RESULTS = 12


def start_of_day(now: datetime) -> datetime:
    """ "Today" is the UTC day: the same for every operator and process."""
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class ServiceAddress:
    """Where booths and browsers reach this service: ``PHOTOCHANGER_PUBLIC_BASE_URL`` when
    set, else the address the operator's request came to."""

    public_base_url: str | None
    request_base_url: str

    @property
    def base(self) -> str:
        return (self.public_base_url or self.request_base_url).rstrip("/")

    def ingest_url(self, slot_id: str) -> str:
        return f"{self.base}/ingest/{slot_id}"

    def result_url(self, job_id: UUID) -> str:
        return f"{self.base}/public/results/{job_id}"


@dataclass(frozen=True, slots=True)
class SlotOverview:
    slot: Slot
    ingest_url: str
    today: OutcomeCounts


@dataclass(frozen=True, slots=True)
class SlotResult:
    result: RecentResult
    result_url: str


@dataclass(frozen=True, slots=True)
class SlotDetail:
    overview: SlotOverview
    recent_results: list[SlotResult]


class ListSlots:
    """All slots with the outcomes of today's jobs (test runs not counted)."""

    def __init__(self, *, slots: SlotRepository, activity: SlotActivity, clock: Clock) -> None:
        self._slots = slots
        self._activity = activity
        self._clock = clock

    async def __call__(self, address: ServiceAddress) -> list[SlotOverview]:
        today = await self._activity.outcomes_since(start_of_day(self._clock.now()))
        return [
            SlotOverview(
                slot=slot,
                ingest_url=address.ingest_url(slot.id),
                today=today.get(slot.id, OutcomeCounts()),
            )
            for slot in await self._slots.list()
        ]

    async def one(self, slot: Slot, address: ServiceAddress) -> SlotOverview:
        """The overview of a slot just saved (``PUT`` answers the new slot in this shape)."""
        today = await self._activity.outcomes_since(start_of_day(self._clock.now()))
        return SlotOverview(
            slot=slot,
            ingest_url=address.ingest_url(slot.id),
            today=today.get(slot.id, OutcomeCounts()),
        )


class GetSlot:
    """One slot, today's outcomes and its latest results that can still be downloaded."""

    def __init__(self, *, slots: SlotRepository, activity: SlotActivity, clock: Clock) -> None:
        self._slots = slots
        self._activity = activity
        self._clock = clock

    async def __call__(self, slot_id: str, address: ServiceAddress) -> SlotDetail:
        slot = await self._slots.get(slot_id)
        if slot is None:
            raise SlotNotFound(f"slot {slot_id!r} does not exist (slot-001..slot-015)")
        now = self._clock.now()
        today = await self._activity.outcomes_since(start_of_day(now))
        results = await self._activity.recent_results(slot.id, now=now, limit=RECENT_RESULTS)
        overview = SlotOverview(
            slot=slot,
            ingest_url=address.ingest_url(slot.id),
            today=today.get(slot.id, OutcomeCounts()),
        )
        return SlotDetail(
            overview=overview,
            recent_results=[SlotResult(r, address.result_url(r.job_id)) for r in results],
        )
