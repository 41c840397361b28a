"""TestRun: try a slot — inactive, or with settings not saved yet — on a real photo through
the real pipeline (job, worker, provider, deadline), as SPEC §10 asks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from application.ports import Clock, SlotRepository, TemplateRepository
from application.submit_ingest import IngestCommand, IngestResult, SubmitIngest
from domain.errors import InvalidConfiguration, SlotNotFound
from domain.slot import Slot


@dataclass(frozen=True, slots=True)
class TestRunCommand:
    __test__ = False  # not a pytest class

    slot_id: str
    photo: AsyncIterator[bytes]
    actor: str
    settings: Mapping[str, Any] | None = None  # unsaved settings to try instead of the slot's


@dataclass(frozen=True, slots=True)
class TestRunResult:
    __test__ = False

    result: IngestResult
    elapsed_ms: int  # photo received → result ready, on the service's clock


class TestRun:
    """The slot's provider and operation with its own or the given settings, checked by the
    same catalogue rule as saving an active slot (every required setting present, every
    referenced template existing). The job is marked ``is_test``: it shows in the job list but
    not in counts or stats. Answers like an ingest: the image, or the same errors."""

    __test__ = False

    def __init__(
        self,
        *,
        slots: SlotRepository,
        templates: TemplateRepository,
        submit: SubmitIngest,
        clock: Clock,
    ) -> None:
        self._slots = slots
        self._templates = templates
        self._submit = submit
        self._clock = clock

    async def __call__(self, cmd: TestRunCommand) -> TestRunResult:
        slot = await self._slots.get(cmd.slot_id)
        if slot is None:
            raise SlotNotFound(f"slot {cmd.slot_id!r} does not exist (slot-001..slot-015)")
        started = self._clock.now()
        trial = slot.reconfigure(now=started, settings=cmd.settings, is_active=True)
        await self._check_templates(trial)
        result = await self._submit.run_test(
            IngestCommand(
                slot_id=slot.id,
                password="",
                photo=cmd.photo,
                client=f"test-run:{cmd.actor}",
                metadata={"test_run_by": cmd.actor},
                is_test=True,
            ),
            provider=trial.provider,
            operation=trial.operation,
            settings=trial.settings,
        )
        elapsed = self._clock.now() - started
        return TestRunResult(result=result, elapsed_ms=int(elapsed.total_seconds() * 1000))

    async def _check_templates(self, trial: Slot) -> None:
        for field, template_id in trial.template_ids().items():
            if await self._templates.get(UUID(template_id)) is None:
                raise InvalidConfiguration(
                    f"{field}: template {template_id} does not exist", {"field": field}
                )
