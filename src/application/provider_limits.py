"""Per-provider concurrency limits: the excess waits its turn (within its deadline)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping


class ProviderLimits:
    """One semaphore per provider name; providers not listed get ``default``."""

    def __init__(self, limits: Mapping[str, int], *, default: int = 4) -> None:
        if any(n < 1 for n in limits.values()) or default < 1:
            raise ValueError("provider concurrency limits must be at least 1")
        self._limits = dict(limits)
        self._default = default
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    def slot_for(self, provider: str) -> asyncio.Semaphore:
        sem = self._semaphores.get(provider)
        if sem is None:
            sem = asyncio.Semaphore(self._limits.get(provider, self._default))
            self._semaphores[provider] = sem
        return sem
