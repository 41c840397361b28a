"""``ProviderCallObserver`` that keeps what it was told."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProviderCallRecord:
    provider: str
    outcome: str
    seconds: float | None
    slot_id: str | None


class RecordingMetrics:
    """``ProviderCallObserver`` that keeps what it was told."""

    def __init__(self) -> None:
        self.provider_calls: list[ProviderCallRecord] = []

    def provider_call(
        self,
        provider: str,
        outcome: str,
        seconds: float | None = None,
        *,
        slot_id: str | None = None,
    ) -> None:
        self.provider_calls.append(ProviderCallRecord(provider, outcome, seconds, slot_id))
