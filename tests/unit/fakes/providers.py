"""``ProviderAdapter`` and ``ProviderRegistry`` fakes that record every call."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from uuid import UUID

from application.ports import (
    ProviderAdapter,
    ProviderInput,
    ProviderOutput,
)
from domain.errors import (
    ProviderFailed,
)
from fakes.images import RESULT_PNG


class FakeProvider:
    """``ProviderAdapter`` that records every call. ``held=True`` parks each call on its own
    gate until ``release``; ``error`` makes calls fail; ``before_answer`` runs just before
    the answer (e.g. to let the job be finalized elsewhere meanwhile)."""

    def __init__(
        self,
        *,
        output: ProviderOutput | None = None,
        error: Exception | None = None,
        held: bool = False,
        before_answer: Callable[[ProviderInput], Awaitable[None]] | None = None,
    ) -> None:
        self.output = output or ProviderOutput(image=RESULT_PNG, mime="image/png")
        self.error = error
        self.held = held
        self.before_answer = before_answer
        self.calls: list[ProviderInput] = []
        self.gates: list[asyncio.Event] = []
        self.events: list[tuple[str, UUID]] = []
        self.cancelled: list[UUID] = []
        self.active = 0

    def release(self, index: int = 0) -> None:
        self.gates[index].set()

    def release_all(self) -> None:
        for gate in self.gates:
            gate.set()

    async def transform(self, request: ProviderInput) -> ProviderOutput:
        self.calls.append(request)
        self.events.append(("start", request.job_id))
        self.active += 1
        try:
            if self.held:
                gate = asyncio.Event()
                self.gates.append(gate)
                await gate.wait()
            else:
                await asyncio.sleep(0)
            if self.before_answer is not None:
                await self.before_answer(request)
            if self.error is not None:
                raise self.error
            return self.output
        except asyncio.CancelledError:
            self.cancelled.append(request.job_id)
            raise
        finally:
            self.active -= 1
            self.events.append(("end", request.job_id))


class FakeProviderRegistry:
    def __init__(self, providers: Mapping[str, ProviderAdapter]) -> None:
        self.providers = dict(providers)

    def get(self, provider: str) -> ProviderAdapter:
        try:
            return self.providers[provider]
        except KeyError:
            raise ProviderFailed(f"provider {provider!r} is not configured") from None
